// `spectrum exec` into a vm or sandbox container: the process runs in the container's sandbox
// kernel, as its workload does, never on the host kernel beside it (which a host exec into the
// monitor's namespaces would do: the runtime's ordinary exec is refused for these containers).
// The runtime's side of vm/exec_protocol.h.
#pragma once

#include <string>

#include "container/oci_config.h"
#include "core/error.h"
#include "core/fd.h"

namespace spectrum::container {

// At create: the listening socket in the container's state directory, for its monitor.
Result<UniqueFd> listen_for_guest_exec(const std::string& state_dir);

// Starts `process` in the sandbox of the container whose state directory is `state_dir`, with this
// process's stdin, stdout and stderr, or with process.terminal a new pty whose master goes to
// `console_socket` (as runc's exec -t). Without `detach` it waits and returns the exit status
// (128+N for a signal), forwarding the signals it is sent. With `detach` it leaves a small proxy
// process (its pid in `pid_file`, when given) that waits, forwards signals, and ends as the guest
// process ended (the same exit code, or killed by the same signal), which is what containerd's
// shim and podman wait for; 0 once the process runs.
Result<int> exec_in_guest(const std::string& state_dir, const std::string& id, const std::string& handler,
                          const Process& process, bool detach, const std::string& pid_file,
                          const std::string& console_socket);

}  // namespace spectrum::container
