// Private to the launcher's files: the sync channel between runtime and init, the process
// settings that the init and `exec` both apply, and the init's entry point.
#pragma once

#include <sys/types.h>

#include <optional>
#include <string>
#include <string_view>

#include "container/launcher.h"
#include "container/oci_config.h"
#include "container/seccomp_filter.h"
#include "core/error.h"
#include "core/fd.h"

namespace spectrum::container::launch {

// The messages between runtime and init on the sync socket (SOCK_SEQPACKET: one message each).
constexpr char kGo = 'G';        // runtime -> init: set-up may continue
constexpr char kJoined = 'J';    // runtime -> init: you are in the container's cgroup
constexpr char kRunHooks = 'H';  // init -> runtime: namespaces exist, run prestart hooks
constexpr char kReady = 'R';     // init -> runtime: waiting on the exec fifo (or exec'ing)
constexpr char kFailed = 'E';    // init -> runtime: followed by the one-line error

Result<void> send_message(int fd, char kind, std::string_view text = {});

// ---- process settings (launcher_exec.cc): the init and `exec` apply the same ones ----

// The program as execve must be given it: args[0] itself when it has a slash, else the first
// executable match along the process's PATH (runc's default PATH without one). "" if none.
std::string find_executable(const Process& process);
Result<void> set_rlimits(const Process& process);
// Makes a new terminal (the container's /dev/ptmx) this process's controlling terminal and stdio,
// and sends its master to the console socket with SCM_RIGHTS, as runc does.
Result<void> take_new_terminal(int console_socket);
// Its parts: the console socket at `path`, connected; a new terminal of this mount namespace's
// /dev/ptmx (master, slave); the master sent to the console socket.
Result<UniqueFd> connect_console(const std::string& path);
struct Terminal {
  UniqueFd master, slave;
};
Result<Terminal> new_terminal();
Result<void> send_terminal(int console_socket, int master);
// Groups, uid/gid, capabilities (bounding, then the sets, then ambient), no_new_privs, umask; the
// seccomp filter here when it must go in while CAP_SYS_ADMIN is still held.
Result<void> apply_user_and_capabilities(const Process& p, const std::optional<SeccompProgram>& seccomp);
// Loads the filter (with no_new_privs: the last thing before execve) and execs; returns only on failure.
Result<void> exec_or_fail(const Process& p, const std::string& executable,
                          const std::optional<SeccompProgram>& seccomp);
// The same, but a failure is written to `error_fd` and ends the process (126/127 as a shell does).
[[noreturn]] void exec_process(const Process& p, const std::string& executable,
                               const std::optional<SeccompProgram>& seccomp, int error_fd);

// ---- the init (launcher_init.cc) ----

// Sets the container up from inside its namespaces and execs the workload; never returns.
// `shared_memory`: cloned with CLONE_VM|CLONE_VFORK, the runtime is suspended until our execve,
// so nothing waits for it; `sync_fd` is then a close-on-exec pipe that only carries errors.
[[noreturn]] void run_init(const Config& config, const LaunchOptions& options, int sync_fd,
                           const Cgroup& cgroup, bool shared_memory);

}  // namespace spectrum::container::launch
