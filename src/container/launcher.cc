// The runtime side of a launch: the cgroup (and the v1 devices group), the clone of the init,
// id maps, oomScoreAdj, the prestart/createRuntime hooks, the wait for the init to be ready.
#include "container/launcher.h"

#include <fcntl.h>
#include <grp.h>
#include <linux/capability.h>
#include <linux/close_range.h>
#include <net/if.h>
#include <poll.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstring>
#include <thread>

#include "container/device_filter.h"
#include "container/launcher_internal.h"
#include "container/rootfs.h"
#include "container/seccomp_filter.h"
#include "container/try.h"
#include "core/scope_guard.h"

namespace spectrum::container {

Result<void> launch::send_message(int fd, char kind, std::string_view text) {
  std::string message(1, kind);
  message.append(text);
  // The channel is a socket, or a pipe when the init shares our memory. On the socket, a peer
  // that already died is EPIPE, not a SIGPIPE that would end the runtime before it reports why.
  ssize_t n = ::send(fd, message.data(), message.size(), MSG_NOSIGNAL);
  if (n < 0 && errno == ENOTSOCK) n = ::write(fd, message.data(), message.size());
  if (n < 0) return fail_errno("sync channel");
  return {};
}

namespace {

using namespace launch;

Result<void> write_proc(const std::string& path, std::string_view text) { return write_file(path, text); }

std::string map_text(const std::vector<IdMapping>& mappings) {
  std::string text;
  for (const IdMapping& m : mappings)
    text += std::to_string(m.container_id) + " " + std::to_string(m.host_id) + " " + std::to_string(m.size) +
            "\n";
  return text;
}

Result<int> clone_init(unsigned long flags) {
  long pid = ::syscall(SYS_clone, flags | SIGCHLD, nullptr, nullptr, nullptr, 0);
  if (pid < 0) return fail_errno("clone the container init");
  return static_cast<int>(pid);
}

}  // namespace

using namespace launch;

// ---- the runtime side ----------------------------------------------------------------------------

// net.* sysctls need a network namespace other than the host's: one joined by path may be ours.
Result<void> check_sysctl_network(const Config& config) {
  const Namespace* net = config.find_namespace(NamespaceKind::network);
  if (!net || net->path.empty()) return {};
  for (const auto& [key, value] : config.sysctl) {
    if (!key.starts_with("net.")) continue;
    struct stat theirs {
    }, ours{};
    if (::stat(net->path.c_str(), &theirs) != 0) return fail_errno("linux.namespaces: network " + net->path);
    if (::stat("/proc/self/ns/net", &ours) == 0 && ours.st_dev == theirs.st_dev &&
        ours.st_ino == theirs.st_ino)
      return fail("linux.sysctl." + key + ": sysctl \"" + key +
                  "\" is not allowed in the hosts network namespace");
  }
  return {};
}

Result<LaunchedContainer> launch_container(const Config& config, const LaunchOptions& options) {
  LaunchedContainer launched;
  SPECTRUM_TRY(check_sysctl_network(config));
  static const Result<CgroupLayout> layout = CgroupLayout::detect();
  if (!layout) return std::unexpected(layout.error());
  // On v1 a config that limits devices also gets a group in the devices hierarchy.
  std::vector<std::string> controllers = options.v1_controllers;
  bool v1_devices = !config.device_rules.empty() && layout->version == CgroupVersion::v1;
  if (v1_devices && controllers.empty())
    for (const auto& [controller, mount] : layout->v1_mounts) controllers.push_back(controller);
  if (v1_devices && layout->devices_mount.empty())
    return fail("linux.resources.devices: the devices cgroup controller is not mounted");
  if (v1_devices) controllers.emplace_back("devices");
  launched.cgroup.emplace(SPECTRUM_TRY(
      with_context(Cgroup::create(*layout, options.cgroup_path, controllers), "linux.resources")));
  Cgroup& group = *launched.cgroup;  // removed again on every failure below, until released
  SPECTRUM_TRY(with_context(group.apply(config.resources), "linux.resources"));
  if (!config.device_rules.empty()) {
    std::vector<DeviceRule> rules = effective_device_rules(config);
    if (v1_devices) {
      std::vector<std::pair<bool, std::string>> lines;
      for (const DeviceRule& rule : rules) lines.emplace_back(rule.allow, rule.to_v1_rule());
      SPECTRUM_TRY(with_context(group.restrict_devices_v1(lines), "linux.resources.devices"));
    } else {
      SPECTRUM_TRY(
          with_context(group.attach_device_program(build_device_program(rules)), "linux.resources.devices"));
    }
  }
  // Every failure below returns early: the group goes with it, and so does the init once cloned.
  ScopeGuard destroy_group([&] { (void)group.destroy(); });

  unsigned long flags = 0;
  for (const Namespace& ns : config.namespaces)
    if (ns.path.empty()) flags |= static_cast<unsigned long>(ns.clone_flag);
  // A pid namespace given by path is entered by the runtime: setns(pid) only affects children.
  UniqueFd own_pid_ns;
  if (const Namespace* pid_ns = config.find_namespace(NamespaceKind::pid); pid_ns && !pid_ns->path.empty()) {
    own_pid_ns.reset(::open("/proc/self/ns/pid_for_children", O_RDONLY | O_CLOEXEC));
    UniqueFd target(::open(pid_ns->path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!target || ::setns(target.get(), CLONE_NEWPID) != 0) {
      return fail_errno("linux.namespaces: cannot join pid namespace " + pid_ns->path);
    }
  }
  // Without anything the runtime must do between clone and exec (id maps, hooks, the exec fifo, a
  // terminal, a pid namespace to join), the init shares our memory with vfork semantics: no page
  // tables to copy and no copy-on-write faults on either side, the cheapest start there is. Not
  // under a memory limit: a fault of the init that the limit refuses would find no process the
  // OOM killer may kill (the memory is ours too) and retry forever.
  bool share_memory = options.exec_fifo.empty() && !options.in_place &&
                      !config.has_new_namespace(NamespaceKind::user) && config.hooks.empty() &&
                      !config.process.terminal && !own_pid_ns && !config.process.oom_score_adj &&
                      !config.resources.memory_limit;
  if (share_memory) {
    int error_pipe[2];
    if (::pipe2(error_pipe, O_CLOEXEC) != 0) {
      return fail_errno("pipe");
    }
    UniqueFd error_read(error_pipe[0]), error_write(error_pipe[1]);
    struct Start {
      const Config* config;
      const LaunchOptions* options;
      int error_fd;
      const Cgroup* cgroup;
    } start{&config, &options, error_write.get(), &group};
    constexpr std::size_t kStackSize = 1 << 20;
    void* stack =
        ::mmap(nullptr, kStackSize, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
    if (stack == MAP_FAILED) {
      return fail_errno("mmap the init's stack");
    }
    auto entry = [](void* arg) -> int {
      auto* s = static_cast<Start*>(arg);
      for (int fd = 0; fd < 3; ++fd)
        if (s->options->stdio[fd] >= 0 && s->options->stdio[fd] != fd) ::dup2(s->options->stdio[fd], fd);
      run_init(*s->config, *s->options, s->error_fd, *s->cgroup, true);
    };
    int pid = ::clone(entry, static_cast<char*>(stack) + kStackSize,
                      static_cast<int>(flags) | CLONE_VM | CLONE_VFORK | SIGCHLD, &start);
    int clone_errno = errno;
    ::munmap(stack, kStackSize);
    error_write.reset();
    if (pid < 0) {
      return fail_errno("clone the container init", clone_errno);
    }
    auto report = read_all(error_read.get());
    if (report && !report->empty()) {
      int status = 0;
      ::waitpid(pid, &status, 0);
      int code = WIFEXITED(status) ? WEXITSTATUS(status) : 1;
      ExitCode exit_code = code == 127   ? ExitCode::not_found
                           : code == 126 ? ExitCode::not_executable
                                         : ExitCode::spectrum_error;
      return fail(report->substr(1), 0, exit_code);
    }
    launched.pid = pid;
    launched.pidfd.reset(static_cast<int>(::syscall(SYS_pidfd_open, pid, 0)));
    destroy_group.dismiss();
    return launched;
  }
  int sync_fds[2];
  if (::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sync_fds) != 0) {
    return fail_errno("socketpair");
  }
  UniqueFd runtime_end(sync_fds[0]), init_end(sync_fds[1]);
  auto pid = clone_init(flags);
  if (own_pid_ns) (void)::setns(own_pid_ns.get(), CLONE_NEWPID);
  if (!pid) {
    return std::unexpected(pid.error());
  }
  if (*pid == 0) {
    runtime_end.reset();
    for (int fd = 0; fd < 3; ++fd)
      if (options.stdio[fd] >= 0 && options.stdio[fd] != fd) ::dup2(options.stdio[fd], fd);
    run_init(config, options, init_end.get(), group, false);
  }
  init_end.reset();
  launched.pid = *pid;
  launched.pidfd.reset(static_cast<int>(::syscall(SYS_pidfd_open, *pid, 0)));

  ScopeGuard kill_init([&] {
    ::kill(*pid, SIGKILL);
    ::waitpid(*pid, nullptr, 0);
  });
  if (config.has_new_namespace(NamespaceKind::user)) {
    std::string proc = "/proc/" + std::to_string(*pid);
    if (auto r = write_proc(proc + "/uid_map", map_text(config.uid_mappings)); !r)
      return std::unexpected(r.error().wrap("linux.uidMappings"));
    if (auto r = write_proc(proc + "/gid_map", map_text(config.gid_mappings)); !r)
      return std::unexpected(r.error().wrap("linux.gidMappings"));
    // The init, root of its user namespace, opens the exec fifo: it must own it, as with runc.
    auto host_id = [](const std::vector<IdMapping>& maps) -> std::uint32_t {
      for (const IdMapping& m : maps)
        if (m.container_id == 0) return m.host_id;
      return 0;
    };
    if (!options.exec_fifo.empty() &&
        ::chown(options.exec_fifo.c_str(), host_id(config.uid_mappings), host_id(config.gid_mappings)) != 0)
      return fail_errno("chown the exec fifo");
  }
  // The init builds its root filesystem while we move it into the cgroup: on cgroup v1 the move
  // waits for an RCU grace period (6-16 ms on a nested-virtualization host, more than the rest of
  // a container's start), time the init would otherwise spend waiting. It waits for kJoined
  // before anything that must happen inside the cgroup (docs/container.md: start-up order).
  if (auto r = send_message(runtime_end.get(), kGo); !r) return std::unexpected(r.error());
  if (auto r = group.add_process(*pid); !r) return std::unexpected(r.error());
  if (config.process.oom_score_adj)
    if (auto r = write_file("/proc/" + std::to_string(*pid) + "/oom_score_adj",
                            std::to_string(*config.process.oom_score_adj));
        !r)
      return std::unexpected(r.error().wrap("process.oomScoreAdj"));
  // Should the init have failed meanwhile, this fails too and its report is read below.
  (void)send_message(runtime_end.get(), kJoined);
  for (;;) {
    char message[4096];
    ssize_t n = ::recv(runtime_end.get(), message, sizeof message, 0);
    if (n < 0 && errno == EINTR) continue;
    // An init that failed before reading our messages closed its end with them unread: the
    // socket reports ECONNRESET once, before the failure report the init queued (a datagram
    // receive checks the error first). The next receive returns the report.
    if (n < 0 && errno == ECONNRESET) continue;
    if (n <= 0) {
      int status = 0;
      ::waitpid(*pid, &status, 0);
      kill_init.dismiss();  // reaped above: its pid may already be someone else's
      bool memory = config.resources.memory_limit && group.memory_limit_hits() > 0;
      return fail("the container init died during set-up (" +
                  (WIFSIGNALED(status) ? "signal " + std::to_string(WTERMSIG(status))
                                       : "exit " + std::to_string(WEXITSTATUS(status))) +
                  ")" +
                  (memory ? ": it hit the memory limit of " + std::to_string(*config.resources.memory_limit) +
                                " bytes (linux.resources.memory.limit too low?)"
                          : ""));
    }
    if (message[0] == kReady) break;
    if (message[0] == kFailed) {
      std::string text(message + 1, static_cast<std::size_t>(n - 1));
      return std::unexpected(Error(text));
    }
    if (message[0] == kRunHooks) {
      if (options.on_runtime_hooks)
        if (auto r = options.on_runtime_hooks(*pid); !r) return std::unexpected(r.error());
      if (auto r = send_message(runtime_end.get(), kGo); !r) return std::unexpected(r.error());
    }
  }
  kill_init.dismiss();
  destroy_group.dismiss();
  return launched;
}

// ---- hooks ----------------------------------------------------------------------------------------

Result<void> run_hook(const Hook& hook, const std::string& state_json, std::string_view kind) {
  int input[2];
  if (::pipe2(input, O_CLOEXEC) != 0) return fail_errno("pipe");
  UniqueFd read_end(input[0]), write_end(input[1]);
  pid_t pid = ::fork();
  if (pid < 0) return fail_errno("fork hook");
  if (pid == 0) {
    ::dup2(read_end.get(), 0);
    std::vector<char*> argv, envp;
    for (const std::string& a : hook.args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    for (const std::string& e : hook.env) envp.push_back(const_cast<char*>(e.c_str()));
    envp.push_back(nullptr);
    // A hook starts with no signal blocked, whatever the runtime blocked to receive its own.
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    ::execve(hook.path.c_str(), argv.data(), envp.data());
    ::_exit(127);
  }
  read_end.reset();
  (void)write_all(write_end.get(), state_json);
  write_end.reset();
  auto deadline =
      std::chrono::steady_clock::now() + std::chrono::seconds(hook.timeout_seconds.value_or(3600));
  int status = 0;
  for (;;) {
    pid_t done = ::waitpid(pid, &status, WNOHANG);
    if (done == pid) break;
    if (done < 0 && errno != EINTR) return fail_errno("wait for hook");
    if (std::chrono::steady_clock::now() > deadline) {
      ::kill(pid, SIGKILL);
      ::waitpid(pid, &status, 0);
      return fail("hooks." + std::string(kind) + ": " + hook.path + " timed out after " +
                  std::to_string(*hook.timeout_seconds) + " s");
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  if (WIFEXITED(status) && WEXITSTATUS(status) == 0) return {};
  return fail("hooks." + std::string(kind) + ": " + hook.path + " failed (" +
              (WIFSIGNALED(status) ? "signal " + std::to_string(WTERMSIG(status))
                                   : "exit " + std::to_string(WEXITSTATUS(status))) +
              ")");
}

}  // namespace spectrum::container