// Spectrum's default container configuration: what `spectrum spec` writes and what
// `spectrum run --tier container` starts from. As tight as Docker's defaults: its capability set,
// masked and read-only paths, every namespace but the user one (network too unless asked), and an
// allow-list seccomp profile with the same intent as Docker's.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace spectrum::container {

struct DefaultSpecOptions {
  std::vector<std::string> args = {"sh"};
  std::string rootfs = "rootfs";
  bool host_network = false;
  bool with_seccomp = false;  // runc's `spec` has none; the container tier always adds it
  bool terminal = false;
};

nlohmann::json default_spec(const DefaultSpecOptions& options);
// The linux.seccomp object: default EPERM, allow-list, namespace-creating clone flags refused.
nlohmann::json default_seccomp_profile();
const std::vector<std::string>& default_capabilities();

}  // namespace spectrum::container
