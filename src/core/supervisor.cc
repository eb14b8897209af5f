#include "core/supervisor.h"

#include <poll.h>
#include <sys/signalfd.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

namespace spectrum {

SignalGuard::SignalGuard() {
  sigemptyset(&set_);
  for (int sig : {SIGINT, SIGTERM, SIGHUP, SIGQUIT}) sigaddset(&set_, sig);
  ::sigprocmask(SIG_BLOCK, &set_, &old_);
  fd_.reset(::signalfd(-1, &set_, SFD_CLOEXEC | SFD_NONBLOCK));
}

SignalGuard::~SignalGuard() {
  fd_.reset();
  // Once a signal has ended the run, more of them (a held Ctrl-C, a storm) must not kill spectrum
  // before it reports what happened: they stay blocked, and those pending go with the process.
  if (!taken_) ::sigprocmask(SIG_SETMASK, &old_, nullptr);
}

int SignalGuard::take() {
  signalfd_siginfo info{};
  if (::read(fd_.get(), &info, sizeof info) != static_cast<ssize_t>(sizeof info)) return 0;
  taken_ = true;
  return static_cast<int>(info.ssi_signo);
}

namespace {

std::chrono::nanoseconds to_ns(const timeval& tv) {
  return std::chrono::seconds(tv.tv_sec) + std::chrono::microseconds(tv.tv_usec);
}

Result<ExitStatus> reap_with_usage(Child& child, rusage& usage) {
  siginfo_t info{};
  // The raw call: glibc's waitid has no rusage argument.
  while (::syscall(SYS_waitid, P_PIDFD, child.pidfd.get(), &info, WEXITED, &usage) != 0)
    if (errno != EINTR) return fail_errno("waitid");
  ExitStatus status;
  status.signaled = info.si_code == CLD_KILLED || info.si_code == CLD_DUMPED;
  status.code = info.si_status;
  child.release();
  return status;
}

}  // namespace

Result<SupervisedExit> supervise(Supervision& s) {
  auto kill_tree = [&] {
    if (s.kill_tree)
      s.kill_tree();
    else
      ::syscall(SYS_pidfd_send_signal, s.child->pidfd.get(), SIGKILL, nullptr, 0);
  };
  auto open_pipes = [&] {
    return std::any_of(s.pipes.begin(), s.pipes.end(), [](const CapturedPipe& p) { return bool(*p.fd); });
  };
  rusage children_before{};
  ::getrusage(RUSAGE_CHILDREN, &children_before);

  SupervisedExit exit;
  bool child_done = false, deadline_armed = s.deadline.has_value(), ran_after_exit = false;
  int interrupts = 0;
  std::vector<pollfd> fds;
  std::vector<CapturedPipe*> owners;
  while (!child_done || open_pipes()) {
    fds.clear();
    owners.clear();
    if (!child_done) {
      fds.push_back({s.child->pidfd.get(), POLLIN, 0});
      owners.push_back(nullptr);
      if (s.signals) {
        fds.push_back({s.signals->fd(), POLLIN, 0});
        owners.push_back(nullptr);
      }
    }
    for (CapturedPipe& pipe : s.pipes)
      if (*pipe.fd) {
        fds.push_back({pipe.fd->get(), POLLIN, 0});
        owners.push_back(&pipe);
      }
    int timeout_ms = -1;
    if (deadline_armed && !child_done) {
      auto left = std::chrono::ceil<std::chrono::milliseconds>(*s.deadline - SteadyClock::now()).count();
      timeout_ms = static_cast<int>(std::clamp<long long>(left, 0, 1 << 30));
    }
    int ready = ::poll(fds.data(), fds.size(), timeout_ms);
    if (ready < 0) {
      if (errno == EINTR) continue;
      Error error = Error::from_errno("poll", errno);
      kill_tree();
      s.child->kill_and_reap();
      return std::unexpected(error);
    }
    if (ready == 0 && deadline_armed && !child_done) {
      exit.timed_out = true;
      deadline_armed = false;
      kill_tree();
      continue;
    }
    for (std::size_t i = 0; i < fds.size(); ++i) {
      if (fds[i].revents == 0) continue;
      if (owners[i]) {
        drain_pipe(*owners[i]->fd, *owners[i]->into, owners[i]->truncated, owners[i]->limit);
      } else if (!child_done && fds[i].fd == s.child->pidfd.get()) {
        child_done = true;
        exit.ended = SteadyClock::now();
        exit.status = SPECTRUM_TRY(reap_with_usage(*s.child, exit.usage));
      } else if (!child_done && s.signals && fds[i].fd == s.signals->fd()) {
        // The first interrupt is the workload's to handle; a second one ends the whole tree.
        if (int sig = s.signals->take(); sig != 0 && interrupts++ == 0)
          ::syscall(SYS_pidfd_send_signal, s.child->pidfd.get(), sig, nullptr, 0);
        else if (sig != 0)
          kill_tree();
      }
    }
    // Once the main process is gone, descendants still holding a capture pipe are ended too.
    if (child_done && open_pipes() && s.after_exit && !ran_after_exit) {
      ran_after_exit = true;
      s.after_exit();
    }
  }
  if (s.after_exit) s.after_exit();
  rusage children_after{};
  ::getrusage(RUSAGE_CHILDREN, &children_after);
  // CPU of everything reaped meanwhile (orphans a subreaper collected too); peak of the child.
  timersub(&children_after.ru_utime, &children_before.ru_utime, &exit.usage.ru_utime);
  timersub(&children_after.ru_stime, &children_before.ru_stime, &exit.usage.ru_stime);
  return exit;
}

void record_exit(const SupervisedExit& exit, SteadyClock::time_point start,
                 std::optional<std::chrono::nanoseconds> timeout, RunResult& result) {
  result.wall_time = exit.ended - start;
  result.user_cpu = to_ns(exit.usage.ru_utime);
  result.system_cpu = to_ns(exit.usage.ru_stime);
  result.peak_memory_bytes =
      std::max(result.peak_memory_bytes, static_cast<std::uint64_t>(exit.usage.ru_maxrss) * 1024);
  if (exit.status.signaled) {
    result.outcome = Outcome::signaled;
    result.signal = exit.status.code;
  } else {
    result.outcome = Outcome::exited;
    result.exit_code = exit.status.code;
  }
  if (exit.timed_out) {
    result.outcome = Outcome::timed_out;
    result.detail = "timed out after " + std::to_string(timeout ? timeout->count() / 1000000 : 0) + " ms";
  }
}

}  // namespace spectrum
