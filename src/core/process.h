// Starting and supervising host processes: clone with vfork semantics and a pidfd, joining
// cgroups before exec, exec errors reported back to the parent, PATH lookup with docker's 126/127.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <csignal>
#include <optional>
#include <string>
#include <vector>

#include "core/error.h"
#include "core/fd.h"

namespace spectrum {

// Resolves `program` like execvp: a name without '/' is looked up in `path_env` (PATH).
// Errors: 127 when not found, 126 when found but not executable (or a directory).
Result<std::string> find_executable(const std::string& program, const std::string& path_env);

struct SpawnRequest {
  std::string executable;  // resolved path (find_executable)
  std::vector<std::string> argv;
  std::vector<std::string> env;
  std::string workdir;  // empty: inherit
  int stdin_fd = -1;    // -1: inherit
  int stdout_fd = -1;
  int stderr_fd = -1;
  std::vector<int> cgroup_procs_fds;  // the child joins these cgroup.procs files before exec
  bool die_with_parent = true;        // PR_SET_PDEATHSIG(SIGKILL)
};

// Owns a started process: unless it has been reaped, the destructor kills and reaps it, so an
// error on any path after spawn() leaves no process behind.
class Child {
 public:
  Child() = default;
  Child(pid_t started, UniqueFd started_pidfd) : pid(started), pidfd(std::move(started_pidfd)) {}
  Child(Child&& other) noexcept : pid(other.pid), pidfd(std::move(other.pidfd)) { other.pid = -1; }
  Child& operator=(Child&& other) noexcept;
  Child(const Child&) = delete;
  Child& operator=(const Child&) = delete;
  ~Child() { kill_and_reap(); }

  // SIGKILL and wait, if still owned; afterwards the Child is empty.
  void kill_and_reap();
  // The process has been reaped elsewhere: forget it.
  void release() {
    pid = -1;
    pidfd.reset();
  }

  pid_t pid = -1;
  UniqueFd pidfd;
};

// Starts the process and returns once it has exec'd (or failed to: then the error names the
// stage and carries 126/127 like a shell). The caller must have blocked the signals it wants to
// receive through a signalfd; the child starts with an empty signal mask and default handlers.
Result<Child> spawn(const SpawnRequest& request);

struct ExitStatus {
  bool signaled = false;
  int code = 0;  // exit code, or signal number when signaled
};

// Reaps the child (it must have exited) and releases it.
Result<ExitStatus> reap(Child& child);

// Kills and reaps every remaining child of this process (orphans inherited as subreaper).
void kill_and_reap_children();

// Builds an environment: the current one (if inherit) with `overrides` ("K=V") replacing keys.
std::vector<std::string> make_environment(bool inherit, const std::vector<std::string>& overrides);

}  // namespace spectrum
