// getpriority and setpriority. The sandbox's tasks take turns on one vCPU, round robin, so a
// niceness is kept and answered (nice, renice, and what a program reads back) but not applied.
#include <sys/resource.h>

#include <algorithm>
#include <climits>

#include "vm/kernel/kernel.h"

namespace spectrum::vm::kernel {

SyscallResult Kernel::priority(Process& p, int which, int who, std::optional<int> set) {
  if (which != PRIO_PROCESS && which != PRIO_PGRP && which != PRIO_USER) return SyscallResult::error(EINVAL);
  if (who < 0) return SyscallResult::error(ESRCH);
  const Task& caller = task_of(p);
  const int group = which == PRIO_PGRP && who == 0 ? caller.pgid : who;
  const auto matches = [&](const Task& t) {
    if (t.state == Task::State::zombie) return false;
    if (which == PRIO_PROCESS) return who == 0 ? &t == &caller : t.pid == who;
    if (which == PRIO_PGRP) return t.pgid == group;
    return who == 0;  // PRIO_USER: every task is uid 0's
  };
  int best = INT_MAX;
  for (auto& t : tasks_) {
    if (!matches(*t)) continue;
    if (set) t->nice = std::clamp(*set, -20, 19);
    best = std::min(best, t->nice);
  }
  if (best == INT_MAX) return SyscallResult::error(ESRCH);
  return SyscallResult::ret(set ? 0 : 20 - best);  // the raw call's value; libc turns it into the nice
}

}  // namespace spectrum::vm::kernel
