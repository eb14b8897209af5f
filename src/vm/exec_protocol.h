// `spectrum exec` into a running vm or sandbox container: a process started in the sandbox
// kernel, never on the host. The runtime makes a listening SOCK_SEQPACKET socket at `create`, in
// the container's state directory (root's only), and hands it to the monitor (the container's
// init) as the descriptor kListenerEnv names. One JSON object per message:
//   client -> monitor  {"args": [...], "env": [...], "cwd": "/"} with SCM_RIGHTS stdin, stdout,
//                      stderr; later {"signal": N} to signal the process
//   monitor -> client  {"pid": N} once it runs, or {"error": TEXT, "status": 126|127};
//                      {"exit": WAIT_STATUS} when it ends (exit << 8, or the signal)
// The process is a session of its own with no parent in the sandbox (as an exec'd process has
// none in a container's pid namespace). A client that goes away takes its process with it
// (SIGKILL), as killing `runc exec`'s process does.
#pragma once

#include <cstddef>

namespace spectrum::vm::exec_protocol {

inline constexpr const char* kSocketName = "guest-exec.sock";
inline constexpr const char* kListenerEnv = "SPECTRUM_GUEST_EXEC_FD";
inline constexpr std::size_t kMaxMessage = 256 << 10;

}  // namespace spectrum::vm::exec_protocol
