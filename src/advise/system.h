// A system file: the components of a distributed system and what each needs (docs/choosing.md
// "The system file"). Read with yaml-cpp; every error names the file, the line and the field.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/error.h"

namespace spectrum::advise {

enum class Trust { trusted, internal, untrusted };
std::string_view to_string(Trust trust);

struct Needs {
  bool arbitrary_syscalls = false;  // any Linux system call, not a portable subset
  bool devices = false;             // raw hardware or device files
  bool kernel_features = false;     // host kernel features (modules, eBPF, tuned sysctls)
  bool network_listen = false;      // accepts connections
  bool posix_fs = false;            // owners, modes, links, locks: a full POSIX file system
  bool gpu = false;
};

struct Component {
  std::string name;
  std::string program, rootfs, wasm, image;  // image: for --k8s (a placeholder when absent)
  Trust trust = Trust::internal;
  std::optional<double> startup_budget_seconds;
  std::optional<double> overhead_budget;  // allowed slowdown: 0.2 = 20% slower than native
  std::optional<std::uint64_t> memory_budget_bytes;
  Needs needs;
  bool portable = false;  // must run on several CPU architectures from one build
  // Whether the hosts it will run on offer hardware virtualization (/dev/kvm): most cloud VMs
  // without nested virtualization do not.
  bool virtualization = true;
  int instances = 1;
  int line = 0;  // where it is defined, for messages
};

// The workload `advise --measure` benchmarks on the spot (the file's optional `bench:` section).
struct MeasureSpec {
  std::string program, rootfs, wasm;
  std::vector<std::string> args;
};

struct System {
  std::string name;
  std::vector<Component> components;
  std::optional<MeasureSpec> bench;
};

Result<System> load_system(const std::string& path);
Result<System> parse_system(const std::string& text, const std::string& source_name);

}  // namespace spectrum::advise
