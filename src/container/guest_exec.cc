#include "container/guest_exec.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <csignal>
#include <cstring>
#include <nlohmann/json.hpp>
#include <optional>

#include "container/launcher_internal.h"
#include "container/try.h"
#include "vm/exec_protocol.h"

namespace spectrum::container {

namespace {

using vm::exec_protocol::kMaxMessage;
using vm::exec_protocol::kSocketName;

// A new SOCK_SEQPACKET socket and the exec socket's address, named through the state directory's
// descriptor (held with them): the directory's own path (a 64-character id under containerd's
// root) can be longer than sun_path holds.
struct ExecSocket {
  UniqueFd dir, socket;
  sockaddr_un address{};
};
Result<ExecSocket> exec_socket(const std::string& state_dir, const std::string& what) {
  ExecSocket s;
  s.dir.reset(::open(state_dir.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
  if (!s.dir) return fail_errno(what + ": " + state_dir);
  s.socket.reset(::socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0));
  if (!s.socket) return fail_errno(what + ": socket");
  s.address.sun_family = AF_UNIX;
  std::snprintf(s.address.sun_path, sizeof s.address.sun_path, "/proc/self/fd/%d/%s", s.dir.get(),
                kSocketName);
  return s;
}

Result<void> send_json(int fd, const nlohmann::json& message, const int* fds, int count) {
  const std::string text = message.dump();
  iovec iov{const_cast<char*>(text.data()), text.size()};
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  alignas(cmsghdr) char control[CMSG_SPACE(3 * sizeof(int))] = {};
  if (count > 0) {
    msg.msg_control = control;
    msg.msg_controllen = CMSG_SPACE(static_cast<std::size_t>(count) * sizeof(int));
    cmsghdr* c = CMSG_FIRSTHDR(&msg);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(static_cast<std::size_t>(count) * sizeof(int));
    std::memcpy(CMSG_DATA(c), fds, static_cast<std::size_t>(count) * sizeof(int));
  }
  if (::sendmsg(fd, &msg, MSG_NOSIGNAL) < 0) return fail_errno("exec: send the request to the sandbox");
  return {};
}

// The next message; an empty object when the monitor is gone.
Result<nlohmann::json> receive_json(int fd) {
  std::string text(kMaxMessage, '\0');
  ssize_t n;
  do n = ::recv(fd, text.data(), text.size(), 0);
  while (n < 0 && errno == EINTR);
  if (n < 0) return fail_errno("exec: read from the sandbox");
  if (n == 0) return nlohmann::json::object();
  text.resize(static_cast<std::size_t>(n));
  auto j = nlohmann::json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object())
    return fail("exec: the sandbox answered with something that is not JSON");
  return j;
}

// The signals a waiting exec passes on to its process: every one that can be caught, but the
// faults of its own, SIGCHLD and glibc's two.
sigset_t forwarded_signals() {
  sigset_t set;
  ::sigemptyset(&set);
  for (int sig = 1; sig <= SIGRTMAX; ++sig) {
    if (sig == SIGKILL || sig == SIGSTOP || sig == SIGCHLD || sig == SIGSEGV || sig == SIGBUS ||
        sig == SIGILL || sig == SIGFPE || sig == SIGTRAP || sig == SIGSYS || sig == 32 || sig == 33)
      continue;
    ::sigaddset(&set, sig);
  }
  return set;
}

// Waits for the process's end, passing on signals; its wait status (a vanished sandbox: SIGKILL,
// what becomes of an exec'd process when its container's init dies).
int wait_for_guest(int connection) {
  sigset_t set = forwarded_signals();
  ::sigprocmask(SIG_BLOCK, &set, nullptr);
  UniqueFd signals(::signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK));
  for (;;) {
    pollfd fds[2] = {{connection, POLLIN, 0}, {signals.get(), POLLIN, 0}};
    if (::poll(fds, signals ? 2 : 1, -1) < 0) {
      if (errno == EINTR) continue;
      return SIGKILL;
    }
    if (signals && fds[1].revents) {
      signalfd_siginfo info;
      while (::read(signals.get(), &info, sizeof info) == static_cast<ssize_t>(sizeof info))
        (void)send_json(connection, {{"signal", info.ssi_signo}}, nullptr, 0);
    }
    if (!fds[0].revents) continue;
    auto message = receive_json(connection);
    if (!message || message->empty()) return SIGKILL;
    if (message->contains("exit") && (*message)["exit"].is_number_integer())
      return (*message)["exit"].get<int>();
  }
}

int status_of(int wait_status) {
  return WIFSIGNALED(wait_status) ? 128 + WTERMSIG(wait_status) : WEXITSTATUS(wait_status);
}

// Ends this process as the guest's ended: the same exit code, or killed by the same signal.
[[noreturn]] void end_as(int wait_status) {
  if (WIFSIGNALED(wait_status)) {
    const int sig = WTERMSIG(wait_status);
    ::signal(sig, SIG_DFL);
    sigset_t set;
    ::sigemptyset(&set);
    ::sigaddset(&set, sig);
    ::sigprocmask(SIG_UNBLOCK, &set, nullptr);
    ::kill(::getpid(), sig);
    ::_exit(128 + sig);
  }
  ::_exit(WEXITSTATUS(wait_status));
}

}  // namespace

Result<UniqueFd> listen_for_guest_exec(const std::string& state_dir) {
  ExecSocket s = SPECTRUM_TRY(exec_socket(state_dir, "exec socket"));
  if (::bind(s.socket.get(), reinterpret_cast<const sockaddr*>(&s.address), sizeof s.address) != 0)
    return fail_errno("exec socket: bind in " + state_dir);
  // Whoever may connect may run programs in the sandbox: the runtime's own user only, whatever
  // the umask made of it.
  if (::chmod(s.address.sun_path, 0600) != 0) return fail_errno("exec socket: chmod in " + state_dir);
  if (::listen(s.socket.get(), 16) != 0) return fail_errno("exec socket: listen");
  return std::move(s.socket);
}

// Waits for the proxy, passing on the signals this process is sent; its status as exec's.
int wait_for_proxy(pid_t proxy) {
  sigset_t set = forwarded_signals();
  ::sigprocmask(SIG_BLOCK, &set, nullptr);
  UniqueFd signals(::signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK));
  UniqueFd pidfd(static_cast<int>(::syscall(SYS_pidfd_open, proxy, 0)));
  for (;;) {
    pollfd fds[2] = {{pidfd.get(), POLLIN, 0}, {signals.get(), POLLIN, 0}};
    if (::poll(fds, 2, -1) < 0 && errno != EINTR) break;
    signalfd_siginfo info;
    while (signals && ::read(signals.get(), &info, sizeof info) == static_cast<ssize_t>(sizeof info))
      ::kill(proxy, static_cast<int>(info.ssi_signo));
    if (fds[0].revents || !pidfd) break;
  }
  int status = 0;
  while (::waitpid(proxy, &status, 0) < 0 && errno == EINTR) {
  }
  return status_of(status);
}

Result<int> exec_in_guest(const std::string& state_dir, const std::string& id, const std::string& handler,
                          const Process& process, bool detach, const std::string& pid_file,
                          const std::string& console_socket) {
  // With a terminal: a new pty of the host's (the guest's stdio), its master to the console socket.
  std::optional<launch::Terminal> terminal;
  if (process.terminal) {
    UniqueFd console = SPECTRUM_TRY(launch::connect_console(console_socket));
    terminal = SPECTRUM_TRY(launch::new_terminal());
    SPECTRUM_TRY(launch::send_terminal(console.get(), terminal->master.get()));
    terminal->master.reset();
  }
  ExecSocket s = SPECTRUM_TRY(exec_socket(state_dir, "exec"));
  UniqueFd& connection = s.socket;
  if (::connect(connection.get(), reinterpret_cast<const sockaddr*>(&s.address), sizeof s.address) != 0)
    return fail("exec: container " + id + "'s sandbox takes no exec (" + std::strerror(errno) +
                "): its monitor has ended, or it was created by a Spectrum without exec into " + handler);
  const int stdio[3] = {terminal ? terminal->slave.get() : 0, terminal ? terminal->slave.get() : 1,
                        terminal ? terminal->slave.get() : 2};
  SPECTRUM_TRY(send_json(connection.get(),
                         {{"args", process.args}, {"env", process.env}, {"cwd", process.cwd}}, stdio, 3));
  nlohmann::json started = SPECTRUM_TRY(receive_json(connection.get()));
  if (started.contains("error")) {
    const int status = started.value("status", 125);
    return fail(started.value("error", std::string("exec failed")), 0,
                status == 126   ? ExitCode::not_executable
                : status == 127 ? ExitCode::not_found
                                : ExitCode::spectrum_error);
  }
  if (!started.contains("pid"))
    return fail("exec: container " + id + "'s sandbox ended before the process started");
  if (!detach && !terminal) return status_of(wait_for_guest(connection.get()));
  // The proxy that stands for the process: what containerd's shim waits for and signals. With a
  // terminal it is the terminal's session leader, so that the terminal's own signals (^C, a
  // resize's SIGWINCH) reach it, and through it the guest process.
  const pid_t proxy = ::fork();
  if (proxy < 0) return fail_errno("exec: fork");
  if (proxy == 0) {
    if (terminal && ::setsid() >= 0) (void)::ioctl(terminal->slave.get(), TIOCSCTTY, 0);
    // It holds none of the exec's stdio: its reader must see the end when the process ends.
    UniqueFd null(::open("/dev/null", O_RDWR | O_CLOEXEC));
    for (int fd = 0; fd < 3 && null; ++fd) ::dup2(null.get(), fd);
    end_as(wait_for_guest(connection.get()));
  }
  terminal.reset();
  connection.reset();
  if (!pid_file.empty()) SPECTRUM_TRY(write_new_file(pid_file, std::to_string(proxy)));
  return detach ? 0 : wait_for_proxy(proxy);
}

}  // namespace spectrum::container
