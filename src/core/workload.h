// The workload description shared by every tier: what to run, where, with which limits and stdio.
// A tier reads it and either runs it faithfully or refuses with an Error naming what it cannot do.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace spectrum {

struct Mount {
  std::string host_path;  // on the host
  std::string target;     // inside the workload's view (absolute)
  bool read_only = false;
};

struct Limits {
  std::optional<std::uint64_t> memory_bytes;
  std::optional<double> cpus;         // fraction of one CPU's time, e.g. 0.5 or 2
  std::optional<std::string> cpuset;  // CPU pinning in cpuset list syntax, e.g. "0-1,3"
  std::optional<std::uint64_t> max_pids;
  std::optional<std::chrono::nanoseconds> timeout;  // wall-clock

  bool any_cgroup_limit() const { return memory_bytes || cpus || cpuset || max_pids; }
};

struct Stdio {
  enum class Mode { inherit, file, capture, null };
  Mode mode = Mode::inherit;
  std::string path;  // for Mode::file

  static Stdio inherit() { return {}; }
  static Stdio captured() { return {Mode::capture, {}}; }
  static Stdio file(std::string p) { return {Mode::file, std::move(p)}; }
  static Stdio null() { return {Mode::null, {}}; }
};

struct Workload {
  std::string program;            // path or name looked up in PATH (tier-specific)
  std::vector<std::string> args;  // argv[1..]; argv[0] is the program as given
  std::vector<std::string> env;   // "KEY=VALUE"; empty means the tier's default environment
  bool inherit_env = true;        // native: start from the caller's environment
  std::string workdir;            // empty: the tier's default (native: current directory, others: /)
  std::string rootfs;             // empty: no root filesystem of its own
  bool rootfs_read_only = false;
  bool rootfs_writable = false;  // write through to rootfs instead of a private copy-on-write view
  std::string keep_changes;      // keep the view's upper layer in this directory (DIR/upper)
  std::vector<Mount> mounts;
  Limits limits;
  Stdio stdin_stream, stdout_stream, stderr_stream;
  bool host_network = false;  // container: share the host's network namespace

  // argv as the program sees it: program then args.
  std::vector<std::string> argv() const {
    std::vector<std::string> out;
    out.reserve(args.size() + 1);
    out.push_back(program);
    out.insert(out.end(), args.begin(), args.end());
    return out;
  }
};

}  // namespace spectrum
