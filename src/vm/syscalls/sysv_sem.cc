// System V semaphores: semget, semop, semtimedop, semctl over the sandbox kernel's sets
// (kernel/sysv_sem.h). A semop that must wait blocks as a retried call: it is made again whenever
// another task has run, until it applies, its deadline passes or a signal interrupts it.
#include <sys/sem.h>
#include <sys/syscall.h>

#include <ctime>
#include <vector>

#include "vm/kernel/kernel.h"
#include "vm/syscalls/syscalls.h"
#include "vm/syscalls/sysv_ipc.h"

namespace spectrum::vm::syscalls {

using kernel::SysvSem;

static_assert(sizeof(struct semid_ds) == 104 && offsetof(struct semid_ds, sem_otime) == 48 &&
                  offsetof(struct semid_ds, sem_ctime) == 64 && offsetof(struct semid_ds, sem_nsems) == 80,
              "the kernel's struct semid64_ds of x86-64, which glibc's matches");
static_assert(sizeof(struct sembuf) == sizeof(SysvSem::Op) && sizeof(struct seminfo) == 40);

namespace {

SyscallResult semop(Process& p, std::uint64_t id, std::uint64_t ops_ptr, std::uint64_t count,
                    std::uint64_t timeout_ptr) {
  if (!p.kernel()) return SyscallResult::error(ENOSYS);
  const int set_id = static_cast<int>(id);  // an int in Linux's prototype: the high bits are not read
  if (count == 0 || set_id < 0) return SyscallResult::error(EINVAL);
  if (count > SysvSem::kMaxOps) return SyscallResult::error(E2BIG);
  std::vector<SysvSem::Op> ops(count);
  TRY_GUEST_VOID(p.space().read(
      ops_ptr, {reinterpret_cast<std::uint8_t*>(ops.data()), ops.size() * sizeof(SysvSem::Op)}));
  std::optional<std::chrono::nanoseconds> timeout;
  if (timeout_ptr) {
    const auto ts = TRY_GUEST(read_struct<struct timespec>(p, timeout_ptr));
    if (ts.tv_sec < 0 || ts.tv_nsec < 0 || ts.tv_nsec >= 1'000'000'000) return SyscallResult::error(EINVAL);
    timeout = std::chrono::seconds(std::min<std::int64_t>(ts.tv_sec, 1ll << 32)) +
              std::chrono::nanoseconds(ts.tv_nsec);
  }
  const auto wait = TRY_GUEST(
      p.kernel()->sysv_sem().operate(sysv::caller(p, SYS_gettid), sysv::caller(p), set_id, ops, timeout));
  if (!wait) return SyscallResult::ret(0);
  SyscallResult blocked = SyscallResult::error(EAGAIN);  // the value if the deadline passes
  blocked.kind = SyscallResult::Kind::block;
  blocked.deadline = wait->deadline;
  return blocked;
}

}  // namespace

SyscallResult sys_semget(Process& p, const SyscallRequest& req) {
  if (!p.kernel()) return SyscallResult::error(ENOSYS);
  return SyscallResult::ret(
      TRY_GUEST(p.kernel()->sysv_sem().get(static_cast<std::int32_t>(ARG(0)), static_cast<int>(ARG(1)),
                                           static_cast<int>(ARG(2)), sysv::caller(p))));
}

SyscallResult sys_semop(Process& p, const SyscallRequest& req) { return semop(p, ARG(0), ARG(1), ARG(2), 0); }

SyscallResult sys_semtimedop(Process& p, const SyscallRequest& req) {
  return semop(p, ARG(0), ARG(1), ARG(2), ARG(3));
}

SyscallResult sys_semctl(Process& p, const SyscallRequest& req) {
  if (!p.kernel()) return SyscallResult::error(ENOSYS);
  SysvSem& sem = p.kernel()->sysv_sem();
  const int id = static_cast<int>(ARG(0));
  const auto num = static_cast<std::uint64_t>(static_cast<std::uint32_t>(ARG(1)));
  const int cmd = static_cast<int>(ARG(2)) & ~sysv::kIpc64;
  const std::uint64_t arg = ARG(3);  // union semun: a value or a pointer
  if (cmd == IPC_INFO || cmd == SEM_INFO) {
    struct seminfo info {};
    info.semmni = SysvSem::kMaxSets;
    info.semmsl = SysvSem::kMaxPerSet;
    info.semmns = SysvSem::kMaxSemaphores;
    info.semopm = SysvSem::kMaxOps;
    info.semvmx = SysvSem::kMaxValue;
    info.semmnu = info.semmns, info.semmap = info.semmns, info.semume = SysvSem::kMaxOps;
    info.semusz = 20, info.semaem = 16384;
    if (cmd == SEM_INFO) {  // in use: sets, and semaphores
      info.semusz = static_cast<int>(sem.sets().size());
      info.semaem = sem.semaphores();
    }
    TRY_GUEST_VOID(write_struct(p, arg, info));
    return SyscallResult::ret(sem.sets().empty() ? 0 : sem.sets().rbegin()->first);
  }
  SysvSem::Set* set = id < 0 ? nullptr : sem.find(id);
  if (!set) return SyscallResult::error(EINVAL);
  const auto one = [&]() -> SysvSem::Semaphore* {
    return num < set->sems.size() ? &set->sems[num] : nullptr;
  };
  switch (cmd) {
    case IPC_STAT:
    case SEM_STAT:
    case SEM_STAT_ANY: {
      struct semid_ds ds {};
      ds.sem_perm = sysv::permissions_of(*set);
      ds.sem_otime = set->otime, ds.sem_ctime = set->ctime;
      ds.sem_nsems = set->sems.size();
      TRY_GUEST_VOID(write_struct(p, arg, ds));
      return SyscallResult::ret(cmd == IPC_STAT ? 0 : id);
    }
    case IPC_SET: {
      const auto ds = TRY_GUEST(read_struct<struct semid_ds>(p, arg));
      sysv::set_permissions(*set, ds.sem_perm);
      set->ctime = std::time(nullptr);
      return SyscallResult::ret(0);
    }
    case IPC_RMID:
      sem.remove(id);
      return SyscallResult::ret(0);
    case GETVAL:
    case GETPID:
    case GETNCNT:
    case GETZCNT: {
      const SysvSem::Semaphore* s = one();
      if (!s) return SyscallResult::error(EINVAL);
      if (cmd == GETVAL) return SyscallResult::ret(s->value);
      if (cmd == GETPID) return SyscallResult::ret(s->pid);
      return SyscallResult::ret(sem.waiters(id, static_cast<std::uint16_t>(num), cmd == GETZCNT));
    }
    case SETVAL: {
      SysvSem::Semaphore* s = one();
      if (!s) return SyscallResult::error(EINVAL);
      const auto value = static_cast<std::int32_t>(arg);
      if (value < 0 || value > SysvSem::kMaxValue) return SyscallResult::error(ERANGE);
      sem.clear_adjustments(id, static_cast<std::uint16_t>(num));
      s->value = value;
      s->pid = sysv::caller(p);
      set->ctime = std::time(nullptr);
      return SyscallResult::ret(0);
    }
    case GETALL:
    case SETALL: {
      std::vector<std::uint16_t> values(set->sems.size());
      const std::span<std::uint8_t> bytes{reinterpret_cast<std::uint8_t*>(values.data()), values.size() * 2};
      if (cmd == GETALL) {
        for (std::size_t i = 0; i < values.size(); ++i)
          values[i] = static_cast<std::uint16_t>(set->sems[i].value);
        TRY_GUEST_VOID(p.space().write(arg, bytes));
        return SyscallResult::ret(0);
      }
      TRY_GUEST_VOID(p.space().read(arg, bytes));
      for (std::uint16_t v : values)
        if (v > SysvSem::kMaxValue) return SyscallResult::error(ERANGE);
      sem.clear_adjustments(id, std::nullopt);
      const int pid = sysv::caller(p);
      for (std::size_t i = 0; i < values.size(); ++i) set->sems[i] = {values[i], pid};
      set->ctime = std::time(nullptr);
      return SyscallResult::ret(0);
    }
    default:
      return SyscallResult::error(EINVAL);
  }
}

}  // namespace spectrum::vm::syscalls
