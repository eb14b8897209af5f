// ITIMER_REAL (alarm, setitimer, getitimer): one per process, kept by the kernel against the host's
// monotonic clock. The scheduler fires the expired ones between two calls and sleeps no later than
// the nearest one, so a task blocked in pause() or read() gets its SIGALRM (EINTR or SA_RESTART as
// for any signal). A task spinning without system calls gets it at the end of a time slice (an armed
// timer starts them on KVM).
#include <algorithm>
#include <csignal>

#include "vm/kernel/kernel.h"

namespace spectrum::vm::kernel {

Kernel::TimerValue Kernel::set_real_timer(Process& p, std::optional<TimerValue> next) {
  const int tgid = task_of(p).tgid;
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

std::optional<std::chrono::steady_clock::time_point> Kernel::fire_timers() {
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
