// Threads: clone with CLONE_VM|CLONE_THREAD shares the memory context (one address space, so a
// switch between threads of a process changes no page tables), futex wait and wake across them,
// CLONE_CHILD_CLEARTID / set_tid_address, exit of one thread and exit_group of all.
#include "vm/kernel/kernel.h"
#include "vm/syscalls/syscalls.h"

namespace spectrum::vm::kernel {

namespace {
// The key a futex waits under, as Linux keys them: a private one (FUTEX_PRIVATE_FLAG, or on
// memory of this process alone) by the memory context and address; a shared one on shared memory
// (MAP_SHARED, anonymous or a file's) by the guest-physical address, the same in every process
// that maps the page: process-shared semaphores and mutexes wake across processes.
std::pair<const void*, std::uint64_t> futex_key(Process& p, std::uint64_t addr, bool private_op) {
  if (!private_op) {
    const std::uint64_t pte = p.space().entry(addr);  // the key only: the access was checked
    if ((pte & x86::kPtePresent) && (pte & x86::kPteShared))
      return {nullptr, (pte & x86::kPteAddressMask) | (addr & x86::kPageMask)};
  }
  return {&p.mm(), addr};
}
}  // namespace

SyscallResult Kernel::futex_wait(Process& p, std::uint64_t addr, std::uint32_t value,
                                 std::optional<std::chrono::steady_clock::time_point> deadline,
                                 bool private_op) {
  if (addr & 3) return SyscallResult::error(EINVAL);
  auto now = TRY_GUEST(syscalls::read_struct<std::uint32_t>(p, addr));
  if (now != value) return SyscallResult::error(EAGAIN);
  Task& self = task_of(p);
  self.futex = futex_key(p, addr, private_op);
  SyscallResult blocked = SyscallResult::error(ETIMEDOUT);  // the value if the deadline passes
  blocked.kind = SyscallResult::Kind::block;
  blocked.deadline = deadline;
  return blocked;
}

SyscallResult Kernel::futex_wake(Process& p, std::uint64_t addr, int count, bool private_op) {
  const auto key = futex_key(p, addr, private_op);
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
