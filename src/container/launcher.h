// Starting a container's init: the runtime side (cgroup, id maps, hooks, the wait for the init to
// be ready) and the init side (namespaces, mounts, pivot_root, devices, masked paths, sysctl,
// hostname, rlimits, console, exec fifo, user, capabilities, no_new_privs, seccomp, execve).
// Used by `create`/`run` (with an exec fifo: the init waits for `start`) and by the container tier
// (no fifo: the init execs as soon as it is ready).
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "container/handler.h"
#include "container/oci_config.h"
#include "core/cgroup.h"
#include "core/error.h"
#include "core/fd.h"

namespace spectrum::container {

struct LaunchOptions {
  std::string exec_fifo;       // empty: exec at once; else the init blocks opening it for writing
  std::string console_socket;  // with process.terminal: where the pty master is sent
  std::string seccomp_cache;   // directory of compiled filters; empty: compile every time
  std::string cgroup_path;     // relative to each hierarchy
  std::vector<std::string> v1_controllers;  // hierarchies to use on v1 (each costs a mkdir)
  int stdio[3] = {-1, -1, -1};              // fds for the init's 0,1,2; -1: inherit
  bool die_with_runtime = false;            // the init dies if the runtime does (tier mode)
  bool new_session_keyring = true;          // false with --no-new-keyring
  int preserve_fds = 0;                     // fds 3..3+N-1 pass into the container; the rest are closed
  // Runs the prestart and createRuntime hooks once the namespaces exist (state JSON of the caller).
  std::function<Result<void>(pid_t)> on_runtime_hooks;
  // The state JSON handed to createContainer/startContainer hooks inside the container.
  std::string hook_state;
  // Another tier's engine or monitor, run by the init in place of execve (container/handler.h).
  const InPlaceRun* in_place = nullptr;
};

struct LaunchedContainer {
  pid_t pid = -1;
  UniqueFd pidfd;
  // The container's group, in the v1 devices hierarchy too where the config limits devices; the
  // OCI runtime keeps its paths() in the state.
  std::optional<Cgroup> cgroup;
};

Result<LaunchedContainer> launch_container(const Config& config, const LaunchOptions& options);

// The runtime's own command line (main's argv): an init that runs another tier's workload in
// place of execve rewrites it to the workload's argv, so that ps, `ctr task ps` and `podman top`
// show the module rather than `spectrum create ...`.
void remember_command_line(int argc, char** argv);

// Applies process settings in an already set-up container (exec): used by the exec path.
struct ExecRequest {
  pid_t init_pid = -1;
  const Config* config = nullptr;  // the container's (seccomp, namespaces)
  Process process;
  std::string console_socket;
  std::string seccomp_cache;
  CgroupPaths cgroup_dirs;  // the container's group, joined before entering its namespaces
  int preserve_fds = 0;     // fds 3..3+N-1 of the caller pass into the container; the rest never do
};
// Returns the host pid of the new process (a child of the intermediate, reparented to the subreaper).
Result<pid_t> exec_in_container(const ExecRequest& request);

// Runs one hook with `state_json` on its stdin; an error names the hook and its exit status.
Result<void> run_hook(const Hook& hook, const std::string& state_json, std::string_view kind);

}  // namespace spectrum::container
