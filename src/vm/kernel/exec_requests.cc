// Processes started from outside the sandbox (`spectrum exec` into a running vm or sandbox
// container, vm/exec_protocol.h): requests on the runtime's listening socket, served between two
// stops of the guest (the scheduler polls the socket with the tasks' fds; a lone busy task is
// preempted every time slice, so a request never waits for it to block).
#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include <algorithm>
#include <array>
#include <cstring>
#include <nlohmann/json.hpp>

#include "vm/arch/fp_state.h"
#include "vm/boot.h"
#include "vm/exec_protocol.h"
#include "vm/fs/root.h"
#include "vm/kernel/kernel.h"
#include "vm/monitor.h"

namespace spectrum::vm::kernel {

namespace {

constexpr const char* kDefaultPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

void reply(int fd, const nlohmann::json& message) {
  const std::string text = message.dump();
  iovec iov{const_cast<char*>(text.data()), text.size()};
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  (void)::sendmsg(fd, &msg, MSG_DONTWAIT | MSG_NOSIGNAL);
}

// One message and the descriptors it carried (closed with it whatever becomes of the message).
struct Message {
  ssize_t size = 0;  // <0: errno in `error`; 0: the client is gone
  int error = 0;
  bool truncated = false;
  std::string text;
  std::vector<UniqueFd> fds;
};

Message receive(int fd) {
  Message m;
  m.text.resize(exec_protocol::kMaxMessage);
  alignas(cmsghdr) char control[CMSG_SPACE(4 * sizeof(int))];
  iovec iov{m.text.data(), m.text.size()};
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = control;
  msg.msg_controllen = sizeof control;
  m.size = ::recvmsg(fd, &msg, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
  if (m.size < 0) {
    m.error = errno;
    return m;
  }
  for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c)) {
    if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS) continue;
    const std::size_t count = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
    for (std::size_t i = 0; i < count; ++i) {
      int received;
      std::memcpy(&received, CMSG_DATA(c) + i * sizeof(int), sizeof received);
      m.fds.emplace_back(received);
    }
  }
  m.truncated = msg.msg_flags & (MSG_TRUNC | MSG_CTRUNC);
  m.text.resize(static_cast<std::size_t>(m.size));
  return m;
}

// A JSON array of strings, or nullopt.
std::optional<std::vector<std::string>> strings(const nlohmann::json& j, const char* key) {
  std::vector<std::string> out;
  if (!j.contains(key)) return out;
  if (!j[key].is_array()) return std::nullopt;
  for (const auto& s : j[key]) {
    if (!s.is_string()) return std::nullopt;
    out.push_back(s.get<std::string>());
  }
  return out;
}

}  // namespace

void Kernel::set_exec_listener(UniqueFd listener) {
  exec_listener_ = std::move(listener);
  // accept4 below must never wait: the scheduler only asks when the poll said something came.
  if (const int flags = ::fcntl(exec_listener_.get(), F_GETFL); flags >= 0)
    (void)::fcntl(exec_listener_.get(), F_SETFL, flags | O_NONBLOCK);
  // A lone task that never blocks would keep the CPU, and a request would wait for it.
  (void)ctx_.start_time_slices();
}

void Kernel::exec_fds(std::vector<pollfd>& fds) const {
  if (exec_listener_) fds.push_back({exec_listener_.get(), POLLIN, 0});
  for (const ExecClient& c : exec_clients_) fds.push_back({c.connection.get(), POLLIN, 0});
}

void Kernel::serve_exec_requests() {
  if (!exec_listener_) return;
  // Only what is ready (a zero-timeout poll: the scheduler calls this at every switch).
  std::vector<pollfd> ready;
  exec_fds(ready);
  if (::poll(ready.data(), ready.size(), 0) <= 0) return;
  if (ready[0].revents) {
    for (;;) {
      const int connection = ::accept4(exec_listener_.get(), nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK);
      if (connection < 0) break;
      exec_clients_.push_back({UniqueFd(connection), 0});
    }
  }
  std::vector<int> readable;
  for (std::size_t k = 1; k < ready.size(); ++k)
    if (ready[k].revents) readable.push_back(ready[k].fd);
  for (const int fd : readable) {
    // The client by its connection, looked up again after anything that may end its process (its
    // end answers the client, which then leaves the list).
    auto client = [&]() -> ExecClient* {
      auto it = std::find_if(exec_clients_.begin(), exec_clients_.end(),
                             [&](const ExecClient& c) { return c.connection.get() == fd; });
      return it == exec_clients_.end() ? nullptr : &*it;
    };
    bool gone = false;
    while (client() && !gone) {
      Message m = receive(fd);
      if (m.size < 0 && (m.error == EAGAIN || m.error == EINTR)) break;
      if (m.size <= 0) {
        gone = true;
        break;
      }
      auto request = nlohmann::json::parse(m.text, nullptr, false);
      if (m.truncated || request.is_discarded() || !request.is_object()) {
        reply(fd, {{"error", "the exec request is not a JSON object of at most 256 KiB"}, {"status", 125}});
        gone = true;
      } else if (client()->pid == 0) {
        std::string error;
        int status = 125;
        const int pid = spawn(request, std::move(m.fds), error, status);
        if (pid <= 0) {
          reply(fd, {{"error", error}, {"status", status}});
          gone = true;
        } else {
          client()->pid = pid;
          reply(fd, {{"pid", pid}});
        }
      } else if (request.contains("signal") && request["signal"].is_number_integer()) {
        const auto sig = request["signal"].get<std::int64_t>();
        if (Task* t = find(client()->pid); t && sig > 0 && sig < 65 && t->state != Task::State::zombie)
          signal_from_outside(*t, static_cast<int>(sig));
      }
    }
    if (!gone || !client()) continue;
    // Its client is gone: the process goes too (SIGKILL), as when `runc exec`'s process dies.
    if (Task* t = client()->pid ? find(client()->pid) : nullptr; t && t->state != Task::State::zombie)
      signal_from_outside(*t, SIGKILL);
    if (ExecClient* c = client()) exec_clients_.erase(exec_clients_.begin() + (c - exec_clients_.data()));
  }
}

void Kernel::signal_from_outside(Task& t, int sig) {
  if (send(t, sig, 0) != SendResult::terminates) return;
  GuestOutcome unused;  // never the workload (pid 1): its outcome is not this one's
  (void)ends_workload({SyscallResult::Kind::signal, sig, {}, {}, {}, {}}, t, unused);
}

bool Kernel::answer_exec_client(const Task& t) {
  auto it = std::find_if(exec_clients_.begin(), exec_clients_.end(),
                         [&](const ExecClient& c) { return c.pid == t.pid; });
  if (it == exec_clients_.end()) return false;
  reply(it->connection.get(), {{"exit", t.wait_status}});
  exec_clients_.erase(it);
  return true;
}

int Kernel::spawn(const nlohmann::json& request, std::vector<UniqueFd> stdio, std::string& error,
                  int& status) {
  auto args = strings(request, "args");
  auto env = strings(request, "env");
  const bool cwd_ok = !request.contains("cwd") || request["cwd"].is_string();
  const std::string cwd = cwd_ok && request.contains("cwd") ? request["cwd"].get<std::string>() : "/";
  if (!args || !env || !cwd_ok || args->empty() || (*args)[0].empty() || cwd.empty() || cwd[0] != '/') {
    error = "the exec request needs args (non-empty strings), env (strings) and an absolute cwd";
    return -1;
  }
  if (stdio.size() != 3) {
    error = "the exec request must carry stdin, stdout and stderr";
    return -1;
  }
  if (std::count_if(tasks_.begin(), tasks_.end(), [](const auto& o) { return !o->reaped; }) >= max_tasks_) {
    error = "the sandbox has --pids tasks already";
    return -1;
  }
  Task& init = *tasks_.front();
  if (!init.process || init.state == Task::State::zombie) {
    error = "the sandbox's init has ended";
    return -1;
  }
  auto space = init.process->space().fresh(kernel_area_ranges());
  if (!space) {
    error = std::string("no guest memory for the process: ") + std::strerror(space.error());
    return -1;
  }
  auto owned_space = std::make_unique<AddressSpace>(std::move(*space));
  if (auto prepared = ctx_.prepare_space(*owned_space); !prepared) {
    error = "no room for the process on the host: " + prepared.error().message();
    return -1;
  }
  auto process = std::make_unique<Process>(*init.process, std::move(owned_space), 0);
  // A process of its own: the invoker's stdio, default dispositions, nothing blocked, its cwd.
  process->files().close_all();
  for (int fd = 0; fd < 3; ++fd)
    process->install_invokers_file(std::move(stdio[static_cast<std::size_t>(fd)]), fd);
  for (auto& action : process->sighand().actions) action = {};
  process->sigmask_ = 0;
  const std::string dir = vfs::normalize(cwd);
  auto cwd_fd = process->open_in_root(dir, O_PATH | O_DIRECTORY, 0);
  if (!cwd_fd) {
    error = "cwd " + cwd + ": " + std::strerror(cwd_fd.error());
    return -1;
  }
  process->fs().cwd = dir;
  // The program: a path as given, else the first match on the request's PATH inside the root.
  std::string program = (*args)[0];
  if (program.find('/') == std::string::npos) {
    std::string path = kDefaultPath;
    for (const std::string& e : *env)
      if (e.starts_with("PATH=")) path = e.substr(5);
    std::string found;
    for (std::size_t at = 0; at <= path.size() && found.empty();) {
      const std::size_t colon = std::min(path.find(':', at), path.size());
      const std::string candidate = vfs::normalize(dir + "/" + path.substr(at, colon - at) + "/" + program);
      struct stat st {};
      if (auto fd = process->open_in_root(candidate, O_PATH, 0);
          fd && ::fstat(fd->get(), &st) == 0 && S_ISREG(st.st_mode) && (st.st_mode & 0111))
        found = candidate;
      at = colon + 1;
    }
    if (found.empty()) {
      error = "exec: \"" + program + "\": executable file not found in $PATH";
      status = 127;
      return -1;
    }
    program = found;
  }
  auto t = std::make_unique<Task>();
  t->pid = next_pid_++;
  t->tgid = t->pid, t->ppid = 0, t->pgid = t->pid, t->sid = t->pid;
  process->set_kernel(this, t->pid);
  t->process = process.get();
  t->owned = std::move(process);
  t->state = Task::State::ready;
  if (auto state = ctx_.extended_state(); state && !state->empty())
    t->extended_state = arch::fp_init(std::move(*state));
  tasks_.push_back(std::move(t));
  Task& task = *tasks_.back();
  Task* previous = current_;
  current_ = &task;
  const SyscallResult r = exec_program(*task.process, program, *args, *env);
  current_ = previous;
  if (r.kind != SyscallResult::Kind::value || r.value < 0 || !restart_at_) {
    restart_at_.reset();
    const int err =
        r.kind == SyscallResult::Kind::value && r.value < 0 ? static_cast<int>(-r.value) : ENOEXEC;
    error = "exec " + program + ": " + std::strerror(err);
    status = err == ENOENT ? 127 : 126;
    tasks_.pop_back();
    return -1;
  }
  task.regs = *restart_at_;
  restart_at_.reset();
  return task.pid;
}

}  // namespace spectrum::vm::kernel
