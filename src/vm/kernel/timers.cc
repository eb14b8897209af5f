// Interval timers (alarm, setitimer, getitimer), one of each kind per process. ITIMER_REAL is kept
// against the host's monotonic clock: the scheduler fires the expired ones between two calls and
// sleeps no later than the nearest one, so a task blocked in pause() or read() gets its SIGALRM
// (EINTR or SA_RESTART as for any signal). ITIMER_VIRTUAL and ITIMER_PROF count the process's CPU
// time as the kernel charges it (Kernel::charge_cpu), checked at the same points. A task spinning
// without system calls gets its signal at the end of a time slice (an armed timer starts them on
// KVM), so these timers are as fine as the slice (10 ms), as Linux's are as fine as its tick.
#include <sys/time.h>

#include <algorithm>
#include <csignal>

#include "vm/kernel/kernel.h"

namespace spectrum::vm::kernel {

Kernel::TimerValue Kernel::set_timer(Process& p, int which, std::optional<TimerValue> next) {
  const int tgid = task_of(p).tgid;
  if (which != ITIMER_REAL) {
    const auto key = std::pair(tgid, which);
    charge_cpu();  // the calling task's time up to now
    const std::uint64_t used = group_cpu_ns(tgid);
    TimerValue old;
    if (auto it = cpu_timers_.find(key); it != cpu_timers_.end()) {
      old.value = std::chrono::nanoseconds(
          std::max<std::uint64_t>(it->second.deadline_ns > used ? it->second.deadline_ns - used : 0, 1000));
      old.interval = std::chrono::nanoseconds(it->second.interval_ns);
    }
    if (next) {
      if (next->value.count() == 0) {
        cpu_timers_.erase(key);
      } else {
        cpu_timers_[key] = {used + static_cast<std::uint64_t>(next->value.count()),
                            static_cast<std::uint64_t>(next->interval.count())};
        (void)ctx_.start_time_slices();  // a task that spins without calls is stopped to check it
      }
    }
    return old;
  }
  const auto now = std::chrono::steady_clock::now();
  TimerValue old;
  if (auto it = real_timers_.find(tgid); it != real_timers_.end()) {
    // An armed timer never reads back as zero (Linux rounds the remainder up to a tick).
    old.value = std::max<std::chrono::nanoseconds>(it->second.deadline - now, std::chrono::microseconds(1));
    old.interval = it->second.interval;
  }
  if (next) {
    if (next->value.count() == 0)
      real_timers_.erase(tgid);
    else {
      real_timers_[tgid] = {now + next->value, next->interval};
      (void)ctx_.start_time_slices();  // without them: at the task's next call, or never
    }
  }
  return old;
}

void Kernel::fire_cpu_timers() {
  if (cpu_timers_.empty()) return;
  charge_cpu();  // the running task's time up to now
  for (auto it = cpu_timers_.begin(); it != cpu_timers_.end();) {
    const auto [tgid, which] = it->first;
    Task* t = find(tgid);
    if (!t || t->state == Task::State::zombie || !t->process) {  // the process is gone
      it = cpu_timers_.erase(it);
      continue;
    }
    const std::uint64_t used = group_cpu_ns(tgid);
    if (it->second.deadline_ns <= used) {
      constexpr int kSiKernel = 0x80;
      const int sig = which == ITIMER_VIRTUAL ? SIGVTALRM : SIGPROF;
      if (send(*t, sig, 0, kSiKernel) == SendResult::terminates)
        t->process->pending_signals_ |= 1ull << (sig - 1);
      if (it->second.interval_ns == 0) {
        it = cpu_timers_.erase(it);
        continue;
      }
      // Missed periods are not made up: one signal.
      while (it->second.deadline_ns <= used) it->second.deadline_ns += it->second.interval_ns;
    }
    ++it;
  }
}

std::optional<std::chrono::steady_clock::time_point> Kernel::fire_timers() {
  fire_cpu_timers();
  std::optional<std::chrono::steady_clock::time_point> nearest;
  const auto now = std::chrono::steady_clock::now();
  for (auto it = real_timers_.begin(); it != real_timers_.end();) {
    Task* t = find(it->first);
    if (!t || t->state == Task::State::zombie || !t->process) {  // the process is gone
      it = real_timers_.erase(it);
      continue;
    }
    if (it->second.deadline <= now) {
      constexpr int kSiKernel = 0x80;  // SI_KERNEL, as Linux fills a timer's SIGALRM
      // Pending even with the default action: deliver() then ends the process, wherever it is.
      if (send(*t, SIGALRM, 0, kSiKernel) == SendResult::terminates)
        t->process->pending_signals_ |= 1ull << (SIGALRM - 1);
      if (it->second.interval.count() == 0) {
        it = real_timers_.erase(it);
        continue;
      }
      // Missed periods are not made up (one signal, as Linux coalesces a pending SIGALRM).
      while (it->second.deadline <= now) it->second.deadline += it->second.interval;
    }
    nearest = nearest ? std::min(*nearest, it->second.deadline) : it->second.deadline;
    ++it;
  }
  return nearest;
}

}  // namespace spectrum::vm::kernel
