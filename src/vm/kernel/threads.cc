// Threads: clone with CLONE_VM|CLONE_THREAD shares the memory context (one address space, so a
// switch between threads of a process changes no page tables), futex wait and wake across them,
// CLONE_CHILD_CLEARTID / set_tid_address, exit of one thread and exit_group of all.
#include "vm/kernel/kernel.h"
#include "vm/syscalls/syscalls.h"

namespace spectrum::vm::kernel {

SyscallResult Kernel::futex_wait(Process& p, std::uint64_t addr, std::uint32_t value,
                                 std::optional<std::chrono::steady_clock::time_point> deadline) {
  if (addr & 3) return SyscallResult::error(EINVAL);
  auto now = TRY_GUEST(syscalls::read_struct<std::uint32_t>(p, addr));
  if (now != value) return SyscallResult::error(EAGAIN);
  Task& self = task_of(p);
  self.futex = std::make_pair(static_cast<const void*>(&p.mm()), addr);
  SyscallResult blocked = SyscallResult::error(ETIMEDOUT);  // the value if the deadline passes
  blocked.kind = SyscallResult::Kind::block;
  blocked.deadline = deadline;
  return blocked;
}

SyscallResult Kernel::futex_wake(Process& p, std::uint64_t addr, int count) {
  const auto key = std::make_pair(static_cast<const void*>(&p.mm()), addr);
  int woken = 0;
  for (auto& t : tasks_) {
    if (woken >= count) break;
    if (t->state != Task::State::blocked || t->futex != key) continue;
    t->futex.reset();
    t->regs.rax = 0;
    t->state = Task::State::ready;
    ++woken;
  }
  return SyscallResult::ret(woken);
}

SyscallResult Kernel::set_tid_address(Process& p, std::uint64_t addr) {
  Task& self = task_of(p);
  self.clear_tid = addr;
  return SyscallResult::ret(self.pid);
}

SyscallResult Kernel::exit(Process& p, int status, bool group) {
  Task& self = task_of(p);
  if (!group && other_threads(self)) return {SyscallResult::Kind::exit_thread, status & 0xff, {}, {}, {}, {}};
  return {SyscallResult::Kind::exit, status & 0xff, {}, {}, {}, {}};
}

}  // namespace spectrum::vm::kernel
