// `exec`: a new process in a running container (its namespaces and cgroup), and the process
// settings (rlimits, terminal, user, capabilities, seccomp, execve) the init applies too.
#include <fcntl.h>
#include <grp.h>
#include <linux/capability.h>
#include <linux/close_range.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <csignal>
#include <cstring>

#include "container/launcher.h"
#include "container/launcher_internal.h"
#include "container/try.h"

namespace spectrum::container {
namespace launch {

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

Result<UniqueFd> connect_console(const std::string& path) {
  if (path.empty()) return fail("process.terminal: needs --console-socket");
  UniqueFd console(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!console) return fail_errno("--console-socket: socket");
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::snprintf(addr.sun_path, sizeof addr.sun_path, "%s", path.c_str());
  if (::connect(console.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0)
    return fail_errno("--console-socket: connect " + path);
  return console;
}

Result<Terminal> new_terminal() {
  Terminal t;
  t.master.reset(::open("/dev/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC));
  if (!t.master) return fail_errno("process.terminal: open /dev/ptmx (is /dev/pts mounted?)");
  if (::unlockpt(t.master.get()) != 0) return fail_errno("process.terminal: unlockpt");
  char name[64];
  if (::ptsname_r(t.master.get(), name, sizeof name) != 0) return fail_errno("process.terminal: ptsname");
  t.slave.reset(::open(name, O_RDWR | O_NOCTTY | O_CLOEXEC));
  if (!t.slave) return fail_errno(std::string("process.terminal: open ") + name);
  return t;
}

Result<void> send_terminal(int console_socket, int master) {
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
  std::memcpy(CMSG_DATA(cmsg), &master, sizeof(int));
  if (::sendmsg(console_socket, &msg, MSG_NOSIGNAL) < 0)
    return fail_errno("--console-socket: send the terminal");
  return {};
}

Result<void> take_new_terminal(int console_socket) {
  auto [master, slave] = SPECTRUM_TRY(new_terminal());
  SPECTRUM_TRY(send_terminal(console_socket, master.get()));
  if (::setsid() < 0) return fail_errno("setsid");
  if (::ioctl(slave.get(), TIOCSCTTY, 0) != 0) return fail_errno("process.terminal: TIOCSCTTY");
  for (int fd = 0; fd < 3; ++fd)
    if (::dup2(slave.get(), fd) < 0) return fail_errno("process.terminal: dup2");
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

[[noreturn]] void exec_process(const Process& p, const std::string& executable,
                               const std::optional<SeccompProgram>& seccomp, int error_fd) {
  Error error = exec_or_fail(p, executable, seccomp).error();
  std::string line = "spectrum: " + error.message() + "\n";
  (void)!::write(error_fd, line.data(), line.size());
  ::_exit(error.exit_status() == 125 ? 1 : error.exit_status());
}

}  // namespace launch

using namespace launch;

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
    // Every hierarchy or none, as runc: a process left outside one would escape its limit.
    if (auto joined = Cgroup::adopt(request.cgroup_dirs).add_process(0); !joined)
      fail_child("join the container's cgroups: " + joined.error().message());
    // The console socket is a host path: connect before entering the container's mounts.
    UniqueFd console;
    if (process.terminal) {
      auto connected = connect_console(request.console_socket);
      if (!connected) fail_child(connected.error().message());
      console = std::move(*connected);
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

}  // namespace spectrum::container
