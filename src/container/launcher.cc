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
#include "container/rootfs.h"
#include "container/seccomp_filter.h"
#include "container/try.h"

namespace spectrum::container {
namespace {

// ---- small helpers --------------------------------------------------------------------------

// The messages between runtime and init on the sync socket (SOCK_SEQPACKET: one message each).
constexpr char kGo = 'G';        // runtime -> init: set-up may continue
constexpr char kRunHooks = 'H';  // init -> runtime: namespaces exist, run prestart hooks
constexpr char kReady = 'R';     // init -> runtime: waiting on the exec fifo (or exec'ing)
constexpr char kFailed = 'E';    // init -> runtime: followed by the one-line error

Result<void> send_message(int fd, char kind, std::string_view text = {}) {
  std::string message(1, kind);
  message.append(text);
  // write(2), not send(2): the channel is a socket, or a pipe when the init shares our memory.
  if (::write(fd, message.data(), message.size()) < 0) return fail_errno("sync channel");
  return {};
}

Result<void> write_proc(const std::string& path, std::string_view text) { return write_file(path, text); }

std::string map_text(const std::vector<IdMapping>& mappings) {
  std::string text;
  for (const IdMapping& m : mappings)
    text += std::to_string(m.container_id) + " " + std::to_string(m.host_id) + " " + std::to_string(m.size) +
            "\n";
  return text;
}

// The program as execve must be given it: args[0] itself when it has a slash, else the first
// executable match along the process's PATH (runc's default PATH without one). "" if none.
std::string find_executable(const Process& process) {
  const std::string& program = process.args[0];
  if (program.find('/') != std::string::npos) return program;
  std::string_view path_env = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
  for (const std::string& e : process.env)
    if (e.starts_with("PATH=")) path_env = std::string_view(e).substr(5);
  for (std::size_t pos = 0; pos <= path_env.size();) {
    std::size_t end = path_env.find(':', pos);
    if (end == std::string_view::npos) end = path_env.size();
    std::string candidate = std::string(path_env.substr(pos, end - pos)) + "/" + program;
    if (::access(candidate.c_str(), X_OK) == 0) return candidate;
    pos = end + 1;
  }
  return {};
}

Result<void> set_rlimits(const Process& process) {
  for (const Rlimit& r : process.rlimits) {
    rlimit limit{r.soft, r.hard};
    if (::setrlimit(r.resource, &limit) != 0) {
      int err = errno;
      rlimit current{};
      ::getrlimit(r.resource, &current);
      if (err == EPERM && r.hard > current.rlim_max)
        return fail("process.rlimits: " + r.name + ": cannot raise the hard limit to " +
                        std::to_string(r.hard) + " above the current " + std::to_string(current.rlim_max) +
                        " (no CAP_SYS_RESOURCE)",
                    err);
      return fail_errno("process.rlimits: " + r.name, err);
    }
  }
  return {};
}

// Makes a new terminal (the container's /dev/ptmx) this process's controlling terminal and stdio,
// and sends its master to the console socket with SCM_RIGHTS, as runc does.
Result<void> take_new_terminal(int console_socket) {
  UniqueFd master(::open("/dev/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC));
  if (!master) return fail_errno("process.terminal: open /dev/ptmx (is /dev/pts mounted?)");
  if (::unlockpt(master.get()) != 0) return fail_errno("process.terminal: unlockpt");
  char name[64];
  if (::ptsname_r(master.get(), name, sizeof name) != 0) return fail_errno("process.terminal: ptsname");
  UniqueFd slave(::open(name, O_RDWR | O_NOCTTY));
  if (!slave) return fail_errno(std::string("process.terminal: open ") + name);
  char payload[] = "/dev/ptmx";
  iovec iov{payload, sizeof payload - 1};
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))] = {};
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = control;
  msg.msg_controllen = sizeof control;
  cmsghdr* cmsg = CMSG_FIRSTHDR(&msg);
  cmsg->cmsg_level = SOL_SOCKET;
  cmsg->cmsg_type = SCM_RIGHTS;
  cmsg->cmsg_len = CMSG_LEN(sizeof(int));
  int master_fd = master.get();
  std::memcpy(CMSG_DATA(cmsg), &master_fd, sizeof(int));
  if (::sendmsg(console_socket, &msg, MSG_NOSIGNAL) < 0)
    return fail_errno("--console-socket: send the terminal");
  if (::setsid() < 0) return fail_errno("setsid");
  if (::ioctl(slave.get(), TIOCSCTTY, 0) != 0) return fail_errno("process.terminal: TIOCSCTTY");
  for (int fd = 0; fd < 3; ++fd)
    if (::dup2(slave.get(), fd) < 0) return fail_errno("process.terminal: dup2");
  return {};
}

// ---- cgroups --------------------------------------------------------------------------------

constexpr unsigned kDefaultDeviceRuleCount = 9;
// Devices every container gets (runc's defaults): null, zero, full, tty, random, urandom,
// /dev/pts/*, /dev/ptmx, and mknod of any c/b node (the node is still useless without access).
const char* const kDefaultDeviceRules[kDefaultDeviceRuleCount] = {"c 1:3 rwm",   "c 1:5 rwm", "c 1:7 rwm",
                                                                  "c 5:0 rwm",   "c 1:8 rwm", "c 1:9 rwm",
                                                                  "c 136:* rwm", "c 5:2 rwm", "c 10:200 rwm"};

Result<std::string> make_devices_cgroup(const CgroupLayout& layout, const Config& config,
                                        const std::string& relative, std::vector<std::string>& owned) {
  (void)layout;
  const std::string& mount_point = devices_cgroup_mount();
  if (mount_point.empty())
    return fail("linux.resources.devices: the devices cgroup controller is not mounted");
  std::string dir = mount_point;
  std::size_t pos = 0;
  while (pos != std::string::npos) {
    std::size_t next = relative.find('/', pos);
    dir = mount_point + "/" + relative.substr(0, next);
    if (::mkdir(dir.c_str(), 0755) == 0)
      owned.push_back(dir);
    else if (errno != EEXIST)
      return fail_errno("cannot create cgroup " + dir);
    pos = next == std::string::npos ? next : next + 1;
  }
  for (const DeviceRule& rule : config.device_rules)
    SPECTRUM_TRY(write_file(dir + (rule.allow ? "/devices.allow" : "/devices.deny"), rule.to_v1_rule()));
  for (const char* rule : kDefaultDeviceRules) SPECTRUM_TRY(write_file(dir + "/devices.allow", rule));
  // Nodes the config asks for are usable, as with runc.
  for (const Device& d : config.devices)
    if (d.type != 'p')
      SPECTRUM_TRY(write_file(dir + "/devices.allow", std::string(1, d.type) + " " + std::to_string(d.major) +
                                                          ":" + std::to_string(d.minor) + " rwm"));
  return dir;
}

// ---- the init ---------------------------------------------------------------------------------

class Init {
 public:
  // `shared_memory`: cloned with CLONE_VM|CLONE_VFORK, the runtime is suspended until our execve,
  // so nothing waits for it; `sync_fd` is then a close-on-exec pipe that only carries errors.
  Init(const Config& config, const LaunchOptions& options, int sync_fd, const CgroupDirs& cgroups,
       bool shared_memory)
      : c_(config), o_(options), sync_(sync_fd), cgroups_(cgroups), shared_memory_(shared_memory) {}

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
    char byte = 0;
    ssize_t n = ::recv(sync_, &byte, 1, 0);
    if (n != 1 || byte != kGo) return fail("the runtime went away during set-up");
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
  const CgroupDirs& cgroups_;
  std::string root_;
  UniqueFd root_fd_;  // the root mount, between build_rootfs and the pivot
  UniqueFd fifo_;
  UniqueFd console_;
  std::string executable_;
  std::optional<SeccompProgram> seccomp_;
  bool shared_memory_ = false;
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
    for (const auto& [controller, dir] : cgroups_.dirs) SPECTRUM_TRY(write_file(dir + "/cgroup.procs", "0"));
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
  if (new_mount_ns) root_fd_ = SPECTRUM_TRY(build_rootfs(c_, cgroups_, root_));
  if (!c_.hooks.prestart.empty() || !c_.hooks.create_runtime.empty()) {
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

Result<void> apply_user_and_capabilities(const Process& p, const std::optional<SeccompProgram>& seccomp) {
  CapabilitySets caps = p.capabilities.value_or(CapabilitySets{});
  int last_cap = 40;
  if (auto text = read_file("/proc/sys/kernel/cap_last_cap")) last_cap = std::atoi(text->c_str());
  for (int cap = 0; cap <= last_cap; ++cap)
    if (!(caps.bounding & (std::uint64_t{1} << cap)) && ::prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) != 0 &&
        errno != EINVAL)
      return fail_errno("process.capabilities.bounding: drop capability " + std::to_string(cap));
  // Without no_new_privs the filter must go in while CAP_SYS_ADMIN is still held.
  if (seccomp && !p.no_new_privileges)
    if (int err = load_seccomp(*seccomp); err != 0) return fail_errno("linux.seccomp: load the filter", err);
  std::vector<gid_t> groups(p.user.additional_gids.begin(), p.user.additional_gids.end());
  if (::setgroups(groups.size(), groups.data()) != 0 && errno != EPERM)
    return fail_errno("process.user.additionalGids: setgroups");
  if (::prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) != 0) return fail_errno("keep capabilities");
  if (::setresgid(p.user.gid, p.user.gid, p.user.gid) != 0)
    return fail_errno("process.user.gid: setresgid " + std::to_string(p.user.gid));
  if (::setresuid(p.user.uid, p.user.uid, p.user.uid) != 0)
    return fail_errno("process.user.uid: setresuid " + std::to_string(p.user.uid));
  ::prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0);
  __user_cap_header_struct header{_LINUX_CAPABILITY_VERSION_3, 0};
  __user_cap_data_struct data[2] = {};
  // The kernel raises an ambient capability only if it is both permitted and inheritable; the
  // default configs of `runc spec` and `crun spec` list ambient ones without inheritable, and runc
  // and crun run them. So the permitted ambient ones join the inheritable set; one the config does
  // not permit stays out of the ambient set too (runc warns and goes on).
  caps.ambient &= caps.permitted;
  caps.inheritable |= caps.ambient;
  for (int i = 0; i < 2; ++i) {
    data[i].effective = static_cast<std::uint32_t>(caps.effective >> (32 * i));
    data[i].permitted = static_cast<std::uint32_t>(caps.permitted >> (32 * i));
    data[i].inheritable = static_cast<std::uint32_t>(caps.inheritable >> (32 * i));
  }
  if (::syscall(SYS_capset, &header, data) != 0) return fail_errno("process.capabilities: capset");
  ::prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0);
  for (int cap = 0; cap <= last_cap; ++cap)
    if (caps.ambient & (std::uint64_t{1} << cap))
      if (::prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, cap, 0, 0) != 0)
        return fail_errno("process.capabilities.ambient: raise capability " +
                          capability_names()[static_cast<std::size_t>(cap)]);
  if (p.no_new_privileges && ::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0)
    return fail_errno("process.noNewPrivileges");
  if (p.user.umask)
    ::umask(*p.user.umask);
  else
    ::umask(022);
  return {};
}

// Loads the filter (with no_new_privs: the last thing before execve) and execs; returns only on failure.
Result<void> exec_or_fail(const Process& p, const std::string& executable,
                          const std::optional<SeccompProgram>& seccomp) {
  std::vector<char*> argv, envp;
  for (const std::string& a : p.args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  for (const std::string& e : p.env) envp.push_back(const_cast<char*>(e.c_str()));
  envp.push_back(nullptr);
  // The workload starts with no signal blocked, whatever the runtime blocked to receive its own.
  sigset_t none;
  sigemptyset(&none);
  ::sigprocmask(SIG_SETMASK, &none, nullptr);
  if (seccomp && p.no_new_privileges)
    if (int err = load_seccomp(*seccomp); err != 0) return fail_errno("linux.seccomp: load the filter", err);
  ::execve(executable.c_str(), argv.data(), envp.data());
  int err = errno;
  return fail("exec " + p.args[0] + ": " + std::strerror(err), err,
              err == ENOENT ? ExitCode::not_found : ExitCode::not_executable);
}

// The same, but a failure is written to `error_fd` and ends the process (126/127 as a shell does).
[[noreturn]] void exec_process(const Process& p, const std::string& executable,
                               const std::optional<SeccompProgram>& seccomp, int error_fd) {
  Error error = exec_or_fail(p, executable, seccomp).error();
  std::string line = "spectrum: " + error.message() + "\n";
  (void)!::write(error_fd, line.data(), line.size());
  ::_exit(error.exit_status() == 125 ? 1 : error.exit_status());
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

Result<int> clone_init(unsigned long flags) {
  long pid = ::syscall(SYS_clone, flags | SIGCHLD, nullptr, nullptr, nullptr, 0);
  if (pid < 0) return fail_errno("clone the container init");
  return static_cast<int>(pid);
}

}  // namespace

void remember_command_line(int argc, char** argv) {
  if (argc < 1) return;
  command_line_begin = argv[0];
  command_line_end = argv[argc - 1] + std::strlen(argv[argc - 1]) + 1;
}

// Core's layout knows only the controllers it manages; the devices hierarchy is found here.
const std::string& devices_cgroup_mount() {
  static const std::string mount_point = [] {
    auto mountinfo = read_file("/proc/self/mountinfo");
    if (!mountinfo) return std::string();
    std::size_t pos = 0;
    while (pos < mountinfo->size()) {
      std::size_t end = mountinfo->find('\n', pos);
      if (end == std::string::npos) end = mountinfo->size();
      std::string line = mountinfo->substr(pos, end - pos);
      pos = end + 1;
      if (line.find(" - cgroup ") == std::string::npos) continue;
      std::string options = line.substr(line.rfind(' ') + 1);
      if (("," + options + ",").find(",devices,") == std::string::npos) continue;
      std::size_t f4 = 0;
      for (int i = 0; i < 4; ++i) f4 = line.find(' ', f4) + 1;
      return line.substr(f4, line.find(' ', f4) - f4);
    }
    return std::string();
  }();
  return mount_point;
}

// ---- CgroupDirs ---------------------------------------------------------------------------------

std::string CgroupDirs::any() const {
  for (const char* preferred : {"", "pids", "memory", "freezer", "cpuacct", "cpu", "devices"}) {
    auto it = dirs.find(preferred);
    if (it != dirs.end()) return it->second;
  }
  return dirs.empty() ? std::string() : dirs.begin()->second;
}

std::vector<pid_t> CgroupDirs::processes() const {
  std::vector<pid_t> out;
  std::string dir = any();
  if (dir.empty()) return out;
  auto text = read_file(dir + "/cgroup.procs");
  if (!text) return out;
  std::size_t pos = 0;
  while (pos < text->size()) {
    std::size_t end = text->find('\n', pos);
    if (end == std::string::npos) end = text->size();
    if (end > pos) out.push_back(static_cast<pid_t>(std::atol(text->substr(pos, end - pos).c_str())));
    pos = end + 1;
  }
  return out;
}

Result<void> CgroupDirs::freeze(bool frozen_state) const {
  if (auto it = dirs.find(""); it != dirs.end())
    return write_file(it->second + "/cgroup.freeze", frozen_state ? "1" : "0");
  auto it = dirs.find("freezer");
  if (it == dirs.end()) return fail("the container has no freezer cgroup");
  SPECTRUM_TRY(write_file(it->second + "/freezer.state", frozen_state ? "FROZEN" : "THAWED"));
  for (int i = 0; i < 2000; ++i) {
    auto state = read_file(it->second + "/freezer.state");
    if (!state) break;
    if (state->starts_with(frozen_state ? "FROZEN" : "THAWED")) return {};
    std::this_thread::sleep_for(std::chrono::microseconds(500));
  }
  return fail("the freezer did not reach its state");
}

bool CgroupDirs::frozen() const {
  if (auto it = dirs.find(""); it != dirs.end()) {
    auto events = read_file(it->second + "/cgroup.events");
    return events && events->find("frozen 1") != std::string::npos;
  }
  auto it = dirs.find("freezer");
  if (it == dirs.end()) return false;
  auto state = read_file(it->second + "/freezer.state");
  return state && state->starts_with("FROZEN");
}

void CgroupDirs::kill_all(int signal) const {
  bool was_frozen = signal == SIGKILL && frozen();
  for (pid_t pid : processes()) ::kill(pid, signal);
  if (was_frozen) (void)freeze(false);
}

std::uint64_t CgroupDirs::memory_limit_hits() const {
  if (auto it = dirs.find(""); it != dirs.end()) {
    auto events = read_file(it->second + "/memory.events");
    std::size_t at = events ? events->find("\nmax ") : std::string::npos;
    return at == std::string::npos ? 0 : std::strtoull(events->c_str() + at + 5, nullptr, 10);
  }
  auto it = dirs.find("memory");
  if (it == dirs.end()) return 0;
  auto number = [&](const char* file) -> std::uint64_t {
    auto text = read_file(it->second + "/" + file);
    return text ? std::strtoull(text->c_str(), nullptr, 10) : 0;
  };
  // Charges of kernel memory that fail (a pipe's buffer, a mount) do not always count in failcnt;
  // a peak within a page of the limit says the same.
  std::uint64_t hits = number("memory.failcnt");
  std::uint64_t peak = number("memory.max_usage_in_bytes"), limit = number("memory.limit_in_bytes");
  if (hits == 0 && peak > 0 && peak + 4096 > limit) hits = 1;
  return hits;
}

Result<void> CgroupDirs::remove() const {
  for (int round = 0; round < 2000; ++round) {
    if (processes().empty()) break;
    if (round % 50 == 0) kill_all(SIGKILL);
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  Result<void> result;
  for (auto it = owned.rbegin(); it != owned.rend(); ++it) {
    int err = 0;
    for (int attempt = 0; attempt < 500; ++attempt) {
      if (::rmdir(it->c_str()) == 0 || errno == ENOENT) {
        err = 0;
        break;
      }
      err = errno;
      if (err != EBUSY) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    // A shared parent (e.g. "default" of containerd) still in use stays: that is expected.
    bool leaf = std::any_of(dirs.begin(), dirs.end(), [&](const auto& d) { return d.second == *it; });
    if (err != 0 && leaf && result) result = fail_errno("cannot remove cgroup " + *it, err);
  }
  return result;
}

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
  launched.cgroup.emplace(SPECTRUM_TRY(Cgroup::create(*layout, options.cgroup_path, options.v1_controllers)));
  SPECTRUM_TRY(with_context(launched.cgroup->apply(config.resources), "linux.resources"));
  CgroupDirs& dirs = launched.cgroup_dirs;
  if (layout->version == CgroupVersion::v2) {
    dirs.dirs[""] = launched.cgroup->path_of("");
  } else {
    for (const auto& [controller, mount] : layout->v1_mounts) {
      std::string dir = launched.cgroup->path_of(controller);
      if (!dir.empty()) dirs.dirs[controller] = dir;
    }
  }
  std::vector<std::string> devices_made;
  auto remove_cgroup = [&] {
    (void)launched.cgroup->destroy();
    for (auto it = devices_made.rbegin(); it != devices_made.rend(); ++it) ::rmdir(it->c_str());
  };
  if (!config.device_rules.empty()) {
    if (layout->version == CgroupVersion::v2) {
      if (auto attached =
              attach_device_program(build_device_program(effective_device_rules(config)), dirs.dirs[""]);
          !attached) {
        remove_cgroup();
        return std::unexpected(attached.error());
      }
    }
  }
  if (!config.device_rules.empty() && layout->version == CgroupVersion::v1) {
    auto dir = make_devices_cgroup(*layout, config, options.cgroup_path, devices_made);
    if (!dir) {
      remove_cgroup();
      return std::unexpected(dir.error());
    }
    dirs.dirs["devices"] = *dir;
  }
  // What `delete` removes later: the group's own directories (shared parents stay, as with runc).
  for (const auto& [controller, dir] : dirs.dirs)
    if (controller != "devices") dirs.owned.push_back(dir);
  dirs.owned.insert(dirs.owned.end(), devices_made.begin(), devices_made.end());

  unsigned long flags = 0;
  for (const Namespace& ns : config.namespaces)
    if (ns.path.empty()) flags |= static_cast<unsigned long>(ns.clone_flag);
  // A pid namespace given by path is entered by the runtime: setns(pid) only affects children.
  UniqueFd own_pid_ns;
  if (const Namespace* pid_ns = config.find_namespace(NamespaceKind::pid); pid_ns && !pid_ns->path.empty()) {
    own_pid_ns.reset(::open("/proc/self/ns/pid_for_children", O_RDONLY | O_CLOEXEC));
    UniqueFd target(::open(pid_ns->path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!target || ::setns(target.get(), CLONE_NEWPID) != 0) {
      remove_cgroup();
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
      remove_cgroup();
      return fail_errno("pipe");
    }
    UniqueFd error_read(error_pipe[0]), error_write(error_pipe[1]);
    struct Start {
      const Config* config;
      const LaunchOptions* options;
      int error_fd;
      const CgroupDirs* dirs;
    } start{&config, &options, error_write.get(), &dirs};
    constexpr std::size_t kStackSize = 1 << 20;
    void* stack =
        ::mmap(nullptr, kStackSize, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
    if (stack == MAP_FAILED) {
      remove_cgroup();
      return fail_errno("mmap the init's stack");
    }
    auto entry = [](void* arg) -> int {
      auto* s = static_cast<Start*>(arg);
      for (int fd = 0; fd < 3; ++fd)
        if (s->options->stdio[fd] >= 0 && s->options->stdio[fd] != fd) ::dup2(s->options->stdio[fd], fd);
      Init(*s->config, *s->options, s->error_fd, *s->dirs, true).run();
    };
    int pid = ::clone(entry, static_cast<char*>(stack) + kStackSize,
                      static_cast<int>(flags) | CLONE_VM | CLONE_VFORK | SIGCHLD, &start);
    int clone_errno = errno;
    ::munmap(stack, kStackSize);
    error_write.reset();
    if (pid < 0) {
      remove_cgroup();
      return fail_errno("clone the container init", clone_errno);
    }
    auto report = read_all(error_read.get());
    if (report && !report->empty()) {
      int status = 0;
      ::waitpid(pid, &status, 0);
      remove_cgroup();
      int code = WIFEXITED(status) ? WEXITSTATUS(status) : 1;
      ExitCode exit_code = code == 127   ? ExitCode::not_found
                           : code == 126 ? ExitCode::not_executable
                                         : ExitCode::spectrum_error;
      return fail(report->substr(1), 0, exit_code);
    }
    launched.pid = pid;
    launched.pidfd.reset(static_cast<int>(::syscall(SYS_pidfd_open, pid, 0)));
    return launched;
  }
  int sync_fds[2];
  if (::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sync_fds) != 0) {
    remove_cgroup();
    return fail_errno("socketpair");
  }
  UniqueFd runtime_end(sync_fds[0]), init_end(sync_fds[1]);
  auto pid = clone_init(flags);
  if (own_pid_ns) (void)::setns(own_pid_ns.get(), CLONE_NEWPID);
  if (!pid) {
    remove_cgroup();
    return std::unexpected(pid.error());
  }
  if (*pid == 0) {
    runtime_end.reset();
    for (int fd = 0; fd < 3; ++fd)
      if (options.stdio[fd] >= 0 && options.stdio[fd] != fd) ::dup2(options.stdio[fd], fd);
    Init(config, options, init_end.get(), dirs, false).run();
  }
  init_end.reset();
  launched.pid = *pid;
  launched.pidfd.reset(static_cast<int>(::syscall(SYS_pidfd_open, *pid, 0)));

  auto abort_launch = [&](Error error) -> std::unexpected<Error> {
    ::kill(*pid, SIGKILL);
    ::waitpid(*pid, nullptr, 0);
    remove_cgroup();
    return std::unexpected(std::move(error));
  };
  if (config.has_new_namespace(NamespaceKind::user)) {
    std::string proc = "/proc/" + std::to_string(*pid);
    if (auto r = write_proc(proc + "/uid_map", map_text(config.uid_mappings)); !r)
      return abort_launch(r.error().wrap("linux.uidMappings"));
    if (auto r = write_proc(proc + "/gid_map", map_text(config.gid_mappings)); !r)
      return abort_launch(r.error().wrap("linux.gidMappings"));
    // The init, root of its user namespace, opens the exec fifo: it must own it, as with runc.
    auto host_id = [](const std::vector<IdMapping>& maps) -> std::uint32_t {
      for (const IdMapping& m : maps)
        if (m.container_id == 0) return m.host_id;
      return 0;
    };
    if (!options.exec_fifo.empty() &&
        ::chown(options.exec_fifo.c_str(), host_id(config.uid_mappings), host_id(config.gid_mappings)) != 0)
      return abort_launch(Error::from_errno("chown the exec fifo"));
  }
  for (const auto& [controller, dir] : dirs.dirs) {
    if (controller != "devices") continue;  // the core group is joined below
    if (auto r = write_file(dir + "/cgroup.procs", std::to_string(*pid)); !r) return abort_launch(r.error());
  }
  if (auto r = launched.cgroup->add_process(*pid); !r) return abort_launch(r.error());
  if (config.process.oom_score_adj)
    if (auto r = write_file("/proc/" + std::to_string(*pid) + "/oom_score_adj",
                            std::to_string(*config.process.oom_score_adj));
        !r)
      return abort_launch(r.error().wrap("process.oomScoreAdj"));
  if (auto r = send_message(runtime_end.get(), kGo); !r) return abort_launch(r.error());
  for (;;) {
    char message[4096];
    ssize_t n = ::recv(runtime_end.get(), message, sizeof message, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      int status = 0;
      ::waitpid(*pid, &status, 0);
      bool memory = config.resources.memory_limit && dirs.memory_limit_hits() > 0;
      remove_cgroup();
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
      return abort_launch(Error(text));
    }
    if (message[0] == kRunHooks) {
      if (options.on_runtime_hooks)
        if (auto r = options.on_runtime_hooks(*pid); !r) return abort_launch(r.error());
      if (auto r = send_message(runtime_end.get(), kGo); !r) return abort_launch(r.error());
    }
  }
  return launched;
}

// ---- exec -----------------------------------------------------------------------------------------

Result<pid_t> exec_in_container(const ExecRequest& request) {
  const Process& process = request.process;
  // The preserved fds must be the caller's: a hole there would be filled by one of ours below.
  for (int fd = 3; fd < 3 + request.preserve_fds; ++fd)
    if (::fcntl(fd, F_GETFD) < 0)
      return fail("--preserve-fds " + std::to_string(request.preserve_fds) + ": descriptor " +
                  std::to_string(fd) + " is not open");
  std::optional<SeccompProgram> seccomp;
  if (request.config->seccomp)
    seccomp = SPECTRUM_TRY(cached_seccomp(*request.config->seccomp, request.seccomp_cache));
  std::string proc = "/proc/" + std::to_string(request.init_pid) + "/ns/";
  // Namespaces of the init that differ from ours, the user namespace first.
  std::vector<std::pair<UniqueFd, int>> namespaces;
  static constexpr std::pair<NamespaceKind, int> kOrder[] = {
      {NamespaceKind::user, CLONE_NEWUSER}, {NamespaceKind::ipc, CLONE_NEWIPC},
      {NamespaceKind::uts, CLONE_NEWUTS},   {NamespaceKind::network, CLONE_NEWNET},
      {NamespaceKind::pid, CLONE_NEWPID},   {NamespaceKind::cgroup, CLONE_NEWCGROUP},
      {NamespaceKind::mount, CLONE_NEWNS}};
  for (auto [kind, flag] : kOrder) {
    std::string name(namespace_proc_name(kind));
    struct stat theirs {
    }, ours{};
    if (::stat((proc + name).c_str(), &theirs) != 0)
      return fail_errno("container process " + std::to_string(request.init_pid));
    if (::stat(("/proc/self/ns/" + name).c_str(), &ours) == 0 && ours.st_ino == theirs.st_ino) continue;
    UniqueFd fd(::open((proc + name).c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd) return fail_errno("open " + proc + name);
    namespaces.emplace_back(std::move(fd), flag);
  }
  int report[2];
  if (::pipe2(report, O_CLOEXEC) != 0) return fail_errno("pipe");
  UniqueFd report_read(report[0]), report_write(report[1]);
  pid_t intermediate = ::fork();
  if (intermediate < 0) return fail_errno("fork");
  if (intermediate == 0) {
    report_read.reset();
    auto fail_child = [&](const std::string& message) {
      std::string line = "E" + message;
      (void)!::write(report_write.get(), line.data(), line.size());
      ::_exit(1);
    };
    for (const auto& [controller, dir] : request.cgroup_dirs.dirs)
      (void)write_file(dir + "/cgroup.procs", "0");
    // The console socket is a host path: connect before entering the container's mounts.
    UniqueFd console;
    if (process.terminal) {
      if (request.console_socket.empty()) fail_child("process.terminal: needs --console-socket");
      console.reset(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
      sockaddr_un addr{};
      addr.sun_family = AF_UNIX;
      std::snprintf(addr.sun_path, sizeof addr.sun_path, "%s", request.console_socket.c_str());
      if (::connect(console.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0)
        fail_child("--console-socket: connect " + request.console_socket + ": " + std::strerror(errno));
    }
    for (auto& [fd, flag] : namespaces)
      if (::setns(fd.get(), flag) != 0) fail_child("setns: " + std::string(std::strerror(errno)));
    int exec_errors[2];
    if (::pipe2(exec_errors, O_CLOEXEC) != 0) fail_child("pipe");
    pid_t child = ::fork();
    if (child < 0) fail_child(std::string("fork: ") + std::strerror(errno));
    if (child == 0) {
      ::close(exec_errors[0]);
      auto fail_grandchild = [&](const Error& e) {
        std::string line = e.message();
        (void)!::write(exec_errors[1], line.data(), line.size());
        ::_exit(1);
      };
      if (auto r = set_rlimits(process); !r) fail_grandchild(r.error());
      if (process.terminal)
        if (auto r = take_new_terminal(console.get()); !r) fail_grandchild(r.error());
      if (auto r = apply_user_and_capabilities(process, seccomp); !r) fail_grandchild(r.error());
      if (::chdir(process.cwd.c_str()) != 0)
        fail_grandchild(Error::from_errno("process.cwd: " + process.cwd));
      std::string executable = find_executable(process);
      if (executable.empty())
        fail_grandchild(
            Error("process.args[0]: exec: \"" + process.args[0] + "\": executable file not found in $PATH"));
      // Only stdio and the preserved fds cross into the container: whatever else the caller had
      // open (a directory of the host, a socket) is closed by the execve.
      for (int fd = 3; fd < 3 + request.preserve_fds; ++fd) (void)::fcntl(fd, F_SETFD, 0);
      if (::syscall(SYS_close_range, 3 + request.preserve_fds, ~0u, CLOSE_RANGE_CLOEXEC) != 0)
        fail_grandchild(Error::from_errno("close the caller's descriptors"));
      exec_process(process, executable, seccomp, exec_errors[1]);
    }
    ::close(exec_errors[1]);
    char buffer[1024];
    ssize_t n = ::read(exec_errors[0], buffer, sizeof buffer);
    if (n > 0) {
      ::waitpid(child, nullptr, 0);
      fail_child(std::string(buffer, static_cast<std::size_t>(n)));
    }
    std::string line = "P" + std::to_string(child);
    (void)!::write(report_write.get(), line.data(), line.size());
    ::_exit(0);
  }
  report_write.reset();
  auto text = read_all(report_read.get());
  ::waitpid(intermediate, nullptr, 0);
  if (!text || text->empty()) return fail("exec: the helper process died");
  if ((*text)[0] == 'E') return fail(text->substr(1));
  return static_cast<pid_t>(std::atol(text->c_str() + 1));
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
