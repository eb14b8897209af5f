// Handlers: which tier runs a bundle given to the runc-compatible verbs. The container tier is
// this folder's own; the others (wasm, vm) run *inside* a container, in place of the process's
// execve: the container's init sets up namespaces, cgroup, root, user, capabilities and seccomp as
// for any container, then runs the tier's engine or monitor itself, so that ps, kill, pause,
// events --stats and delete work on it unchanged.
#pragma once

#include <functional>
#include <map>
#include <nlohmann/json_fwd.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "container/oci_config.h"
#include "core/error.h"

namespace spectrum::container {

enum class Handler { container, wasm, wasm_smart, vm, sandbox };
std::string_view handler_name(Handler handler);

// The annotations read, in the order they are consulted.
inline constexpr std::string_view kHandlerAnnotation = "run.oci.handler";
inline constexpr std::string_view kWasmVariantAnnotation = "module.wasm.image/variant";
// What containerd's CRI plugin sets on a pod's containers: "sandbox" for the pod's own (pause)
// container, which holds the pod's namespaces and runs no workload.
inline constexpr std::string_view kCriContainerTypeAnnotation = "io.kubernetes.cri.container-type";

// The handler a binary name stands for ("spectrum-wasm", "/usr/bin/spectrum-vm", ...), if any.
std::optional<Handler> handler_of_binary(std::string_view argv0);

// In order: the annotation run.oci.handler (wasm, wasm-smart, vm, krun = vm, sandbox), the
// annotation module.wasm.image/variant (compat = wasm, compat-smart = wasm-smart), the binary's
// name, else the container tier. An unknown value is an error naming the annotation. A CRI pod's
// sandbox (pause) container is always a container: a RuntimeClass whose handler is spectrum-wasm
// or spectrum-vm runs the pod's own container with the same binary, and a pause program is
// neither a module nor a guest.
Result<Handler> select_handler(const std::map<std::string, std::string>& annotations,
                               std::optional<Handler> by_binary);

// What another tier gives the container's init to run in place of execve.
struct InPlaceRun {
  // In the init, inside the container's root, before `create` returns: what the tier cannot run
  // is an error of `create` (exit 1, nothing left), not of the workload.
  std::function<Result<void>(const Config&)> check;
  // After `start`, as the process's user with its capabilities, rlimits and seccomp filter, in
  // process.cwd: runs the workload and returns the container's exit status (128+N for signal N).
  std::function<int(const Config&)> run;
  // In the runtime, before anything is made: what the tier needs in the container (a device).
  std::function<Result<void>(Config&)> prepare;
  // Runs with the init's privileges, before process.user, capabilities and seccomp are applied:
  // for a tier whose process confines itself and whose workload is not a host process (the vm
  // monitor makes its own mount namespace, drops every capability and installs its own
  // allow-list; the config's user and capabilities have no meaning for a guest).
  bool confines_itself = false;
};

// The tiers this binary carries besides the container (spectrum-oci carries none).
struct HandlerSet {
  const InPlaceRun* wasm = nullptr;
  const InPlaceRun* vm = nullptr;
  const InPlaceRun* sandbox = nullptr;
};

// The InPlaceRun for `handler` in `config` (wasm-smart resolved by the entrypoint), nullptr for
// the container tier, or an error naming why that handler cannot run here.
Result<const InPlaceRun*> in_place_for(Handler handler, const Config& config, const HandlerSet& handlers);

// The handlers part of `spectrum features`: the handler names, whether each is available in this
// binary, and the annotations read.
nlohmann::json handler_features(const HandlerSet& handlers);

}  // namespace spectrum::container
