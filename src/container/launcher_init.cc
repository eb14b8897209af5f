// The container's init: joins or enters the namespaces, builds the root filesystem, pivots,
// masks paths, sets sysctls, hostname, rlimits and the console, waits on the exec fifo, then
// applies the process settings and execs the workload (or runs another tier's in place).
#include <fcntl.h>
#include <linux/close_range.h>
#include <net/if.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <csignal>
#include <cstdio>
#include <cstring>

#include "container/launcher.h"
#include "container/launcher_internal.h"
#include "container/rootfs.h"
#include "container/try.h"

namespace spectrum::container {
namespace launch {
namespace {

class Init {
 public:
  // `shared_memory`: cloned with CLONE_VM|CLONE_VFORK, the runtime is suspended until our execve,
  // so nothing waits for it; `sync_fd` is then a close-on-exec pipe that only carries errors.
  Init(const Config& config, const LaunchOptions& options, int sync_fd, const Cgroup& cgroup,
       bool shared_memory)
      : c_(config), o_(options), sync_(sync_fd), cgroup_(cgroup), shared_memory_(shared_memory) {}

  [[noreturn]] void run() {
    auto result = set_up();
    if (!result) {
      (void)send_message(sync_, kFailed, result.error().message());
      ::_exit(result.error().exit_status() == 125 ? 1 : result.error().exit_status());
    }
    auto exec_result = finish_and_exec();
    int status = exec_result.error().exit_status() == 125 ? 1 : exec_result.error().exit_status();
    if (shared_memory_) {
      (void)send_message(sync_, kFailed, exec_result.error().message());
      ::_exit(status);
    }
    // After the runtime learned we are ready, failures go to the container's stderr.
    std::string line = "spectrum init: " + exec_result.error().message() + "\n";
    (void)!::write(2, line.data(), line.size());
    ::_exit(status);
  }

 private:
  Result<void> wait_for_go() {
    if (shared_memory_) return {};
    return receive(kGo);
  }

  // Until kJoined the init is not yet in the container's cgroup (launch_container moves it
  // meanwhile): it builds its root there, and waits before it runs hooks or the workload's checks.
  Result<void> wait_for_cgroup() {
    if (shared_memory_ || joined_) return {};
    SPECTRUM_TRY(receive(kJoined));
    joined_ = true;
    return {};
  }

  Result<void> receive(char expected) {
    char byte = 0;
    if (::recv(sync_, &byte, 1, 0) != 1 || byte != expected)
      return fail("the runtime went away during set-up");
    return {};
  }

  Result<void> set_up();
  Result<void> join_namespaces();
  Result<void> mask_and_protect();
  Result<void> set_up_console();
  Result<void> look_up_program();
  [[noreturn]] void run_in_place();
  Result<void> finish_and_exec();

  const Config& c_;
  const LaunchOptions& o_;
  int sync_;
  const Cgroup& cgroup_;
  std::string root_;
  UniqueFd root_fd_;  // the root mount, between build_rootfs and the pivot
  UniqueFd fifo_;
  UniqueFd console_;
  std::string executable_;
  std::optional<SeccompProgram> seccomp_;
  bool shared_memory_ = false;
  bool joined_ = false;
};

Result<void> Init::join_namespaces() {
  // The user namespace first: it owns the others.
  auto join = [&](const Namespace& ns) -> Result<void> {
    UniqueFd fd(::open(ns.path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd)
      return fail_errno("linux.namespaces: cannot open " + std::string(namespace_type_name(ns.kind)) +
                        " namespace " + ns.path);
    if (::setns(fd.get(), ns.clone_flag) != 0)
      return fail_errno("linux.namespaces: cannot join " + std::string(namespace_type_name(ns.kind)) +
                        " namespace " + ns.path);
    return {};
  };
  for (const Namespace& ns : c_.namespaces)
    if (!ns.path.empty() && ns.kind == NamespaceKind::user) SPECTRUM_TRY(join(ns));
  for (const Namespace& ns : c_.namespaces)
    if (!ns.path.empty() && ns.kind != NamespaceKind::user && ns.kind != NamespaceKind::pid)
      SPECTRUM_TRY(join(ns));
  return {};
}

Result<void> Init::mask_and_protect() {
  for (const auto& [key, value] : c_.sysctl) {
    std::string path = "/proc/sys/" + key;
    std::replace(path.begin() + 10, path.end(), '.', '/');
    SPECTRUM_TRY(with_context(write_file(path, value), "linux.sysctl." + key));
  }
  return mask_and_protect_paths(c_);
}

Result<void> Init::set_up_console() {
  SPECTRUM_TRY(take_new_terminal(console_.get()));
  console_.reset();
  return {};
}

Result<void> Init::set_up() {
  if (o_.die_with_runtime) ::prctl(PR_SET_PDEATHSIG, SIGKILL);
  // Whatever the caller left open beyond the preserved fds must not reach the container.
  ::syscall(SYS_close_range, 3 + o_.preserve_fds, ~0u, CLOSE_RANGE_CLOEXEC);
  SPECTRUM_TRY(wait_for_go());
  if (shared_memory_)  // the runtime is suspended: join the cgroup ourselves
    SPECTRUM_TRY(cgroup_.add_process(0));
  if (c_.has_new_namespace(NamespaceKind::user)) {
    if (::setresgid(0, 0, 0) != 0 || ::setresuid(0, 0, 0) != 0)
      return fail_errno("become root in the user namespace");
  }
  SPECTRUM_TRY(join_namespaces());
  // A session of its own: kill(0, ...) in the container must not reach the caller's process group.
  if (!c_.process.terminal) ::setsid();
  // And a kernel keyring session of its own, so that keys of the host's session stay out of reach.
  if (o_.new_session_keyring && ::syscall(SYS_keyctl, 1 /* KEYCTL_JOIN_SESSION_KEYRING */, nullptr) < 0 &&
      errno != ENOSYS)
    return fail_errno("join a new session keyring");
  // Resolved before anything moves: the root, the fifo, the console socket, the seccomp program.
  char real_root[PATH_MAX];
  if (!::realpath(c_.root_path.c_str(), real_root)) return fail_errno("root.path: " + c_.root_path);
  root_ = real_root;
  struct stat st {};
  if (::stat(root_.c_str(), &st) != 0 || !S_ISDIR(st.st_mode))
    return fail("root.path: " + root_ + " is not a directory");
  if (!o_.exec_fifo.empty()) {
    fifo_.reset(::open(o_.exec_fifo.c_str(), O_PATH | O_CLOEXEC));
    if (!fifo_) return fail_errno("exec fifo " + o_.exec_fifo);
  }
  if (c_.process.terminal) {
    if (o_.console_socket.empty()) return fail("process.terminal: needs --console-socket");
    console_.reset(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    if (o_.console_socket.size() >= sizeof addr.sun_path) return fail("--console-socket: path too long");
    std::strcpy(addr.sun_path, o_.console_socket.c_str());
    if (::connect(console_.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0)
      return fail_errno("--console-socket: connect " + o_.console_socket);
  }
  if (c_.seccomp) seccomp_ = SPECTRUM_TRY(cached_seccomp(*c_.seccomp, o_.seccomp_cache));

  bool new_mount_ns = c_.find_namespace(NamespaceKind::mount) != nullptr;
  if (new_mount_ns) root_fd_ = SPECTRUM_TRY(build_rootfs(c_, cgroup_, root_));
  // A hook may find the container's cgroup from its pid: the init is in it before any hook runs.
  const bool runtime_hooks = !c_.hooks.prestart.empty() || !c_.hooks.create_runtime.empty();
  if (runtime_hooks || !c_.hooks.create_container.empty()) SPECTRUM_TRY(wait_for_cgroup());
  if (runtime_hooks) {
    SPECTRUM_TRY(send_message(sync_, kRunHooks));
    SPECTRUM_TRY(wait_for_go());
  }
  for (const Hook& hook : c_.hooks.create_container)
    SPECTRUM_TRY(run_hook(hook, o_.hook_state, "createContainer"));
  if (new_mount_ns) {
    SPECTRUM_TRY(pivot_into(root_fd_.get()));
    root_fd_.reset();
    SPECTRUM_TRY(mask_and_protect());
  } else {
    if (::chroot(root_.c_str()) != 0 || ::chdir("/") != 0) return fail_errno("chroot " + root_);
  }
  SPECTRUM_TRY(wait_for_cgroup());
  if (c_.has_new_namespace(NamespaceKind::network)) {
    // Bring loopback up like Docker's "none" network; one ioctl.
    UniqueFd sock(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
    ifreq req{};
    std::strcpy(req.ifr_name, "lo");
    req.ifr_flags = IFF_UP | IFF_LOOPBACK | IFF_RUNNING;
    if (sock) (void)::ioctl(sock.get(), SIOCSIFFLAGS, &req);
  }
  if (!c_.hostname.empty() && ::sethostname(c_.hostname.data(), c_.hostname.size()) != 0)
    return fail_errno("hostname");
  if (!c_.domainname.empty() && ::setdomainname(c_.domainname.data(), c_.domainname.size()) != 0)
    return fail_errno("domainname");
  SPECTRUM_TRY(set_rlimits(c_.process));
  if (o_.in_place) {
    // Another tier's workload: its own checks (the module or guest exists and can run) now.
    SPECTRUM_TRY(o_.in_place->check(c_));
  } else {
    SPECTRUM_TRY(look_up_program());
  }
  if (c_.process.terminal) SPECTRUM_TRY(set_up_console());
  if (!o_.die_with_runtime) ::prctl(PR_SET_PDEATHSIG, 0);
  if (!shared_memory_) {
    SPECTRUM_TRY(send_message(sync_, kReady));
    ::close(sync_);
  }
  return {};
}

// The program is looked up before `create` returns, so that it reports a missing one, as runc does.
Result<void> Init::look_up_program() {
  struct stat st {};
  const std::string& program = c_.process.args[0];
  executable_ = find_executable(c_.process);
  if (executable_.empty())
    return fail("process.args[0]: exec: \"" + program + "\": executable file not found in $PATH", ENOENT,
                ExitCode::not_found);
  if (::stat(executable_.c_str(), &st) != 0)
    return fail("process.args[0]: exec: \"" + program + "\": no such file or directory", ENOENT,
                ExitCode::not_found);
  if (S_ISDIR(st.st_mode) || ::access(executable_.c_str(), X_OK) != 0)
    return fail("process.args[0]: exec: \"" + program + "\": permission denied", EACCES,
                ExitCode::not_executable);
  return {};
}

Result<void> Init::finish_and_exec() {
  if (fifo_) {
    // Blocks until `start` opens the fifo for reading.
    std::string proc_path = "/proc/self/fd/" + std::to_string(fifo_.get());
    UniqueFd writer(::open(proc_path.c_str(), O_WRONLY | O_CLOEXEC));
    if (!writer) return fail_errno("open the exec fifo");
    if (::write(writer.get(), "0", 1) != 1) return fail_errno("write the exec fifo");
    fifo_.reset();
  }
  for (const Hook& hook : c_.hooks.start_container)
    SPECTRUM_TRY(run_hook(hook, o_.hook_state, "startContainer"));
  if (o_.in_place && o_.in_place->confines_itself) run_in_place();
  SPECTRUM_TRY(apply_user_and_capabilities(c_.process, seccomp_));
  if (::chdir(c_.process.cwd.c_str()) != 0) return fail_errno("process.cwd: " + c_.process.cwd);
  if (o_.in_place) run_in_place();
  if (shared_memory_) return exec_or_fail(c_.process, executable_, seccomp_);
  exec_process(c_.process, executable_, seccomp_, 2);
}

// The bytes of main's argv strings (contiguous, as the kernel lays them out): /proc/PID/cmdline.
char* command_line_begin = nullptr;
char* command_line_end = nullptr;

// setproctitle's technique: the workload's argv over the runtime's, NUL-padded (and cut short if
// longer); the name (comm) becomes the program's base name.
void show_as(const std::vector<std::string>& args) {
  if (args.empty()) return;
  std::string base = args[0].substr(args[0].rfind('/') == std::string::npos ? 0 : args[0].rfind('/') + 1);
  ::prctl(PR_SET_NAME, base.c_str(), 0, 0, 0);
  if (!command_line_begin || command_line_end <= command_line_begin) return;
  std::size_t room = static_cast<std::size_t>(command_line_end - command_line_begin);
  std::string text;
  for (const std::string& a : args) text.append(a).push_back('\0');
  if (text.size() > room) text.resize(room);
  std::memset(command_line_begin, 0, room);
  std::memcpy(command_line_begin, text.data(), text.size());
  command_line_begin[room - 1] = '\0';
}

// The other tier's workload runs in this process, as PID 1 of the container: the kernel delivers
// a signal to a namespace's init only where it has a handler, so the ones that end a process by
// default get one that ends it (as 128+N, the status a client reports for a death by signal N).
void end_by_signal(int signal) { ::_exit(128 + signal); }

void Init::run_in_place() {
  for (int signal : {SIGHUP, SIGINT, SIGQUIT, SIGTERM, SIGUSR1, SIGUSR2, SIGALRM}) {
    struct sigaction action {};
    action.sa_handler = end_by_signal;
    ::sigemptyset(&action.sa_mask);
    ::sigaction(signal, &action, nullptr);
  }
  sigset_t none;
  sigemptyset(&none);
  ::sigprocmask(SIG_SETMASK, &none, nullptr);
  if (seccomp_ && c_.process.no_new_privileges && !o_.in_place->confines_itself)
    if (int err = load_seccomp(*seccomp_); err != 0) {
      std::string line =
          "spectrum init: linux.seccomp: load the filter: " + std::string(std::strerror(err)) + "\n";
      (void)!::write(2, line.data(), line.size());
      ::_exit(1);
    }
  show_as(c_.process.args);
  int status = o_.in_place->run(c_);
  std::fflush(nullptr);
  ::_exit(status);
}

}  // namespace

void run_init(const Config& config, const LaunchOptions& options, int sync_fd, const Cgroup& cgroup,
              bool shared_memory) {
  Init(config, options, sync_fd, cgroup, shared_memory).run();
}

}  // namespace launch

void remember_command_line(int argc, char** argv) {
  if (argc < 1) return;
  launch::command_line_begin = argv[0];
  launch::command_line_end = argv[argc - 1] + std::strlen(argv[argc - 1]) + 1;
}

}  // namespace spectrum::container
