// System V semaphores (semget, semop, semtimedop, semctl) in the sandbox's own IPC namespace: what
// Apache's and older servers' cross-process locks, and programs ported from other Unixes, use.
// A set is an array of values; semop applies all of its operations at once or none, and a call
// that would block is made again whenever another task has run (the kernel's retried calls), so
// every change to a set is seen by its waiters. SEM_UNDO adjustments belong to the process and are
// applied when it ends.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <vector>

#include "vm/memory.h"

namespace spectrum::vm::kernel {

class SysvSem {
 public:
  // Linux's defaults (SEMMSL, SEMMNI, SEMOPM, SEMVMX), but for SEMMNS: the semaphores live in the
  // monitor's memory, outside the guest's, so a workload may not make Linux's 32000 x 32000 of them.
  static constexpr int kMaxPerSet = 32000, kMaxSets = 32000, kMaxOps = 500, kMaxValue = 32767;
  static constexpr int kMaxSemaphores = 1 << 16;

  struct Semaphore {
    int value = 0;
    int pid = 0;  // the last process to change it (GETPID)
  };
  struct Set {
    std::int32_t key = 0;
    std::vector<Semaphore> sems;
    std::uint32_t mode = 0, uid = 0, gid = 0, cuid = 0, cgid = 0;
    std::int64_t otime = 0, ctime = 0;
  };
  struct Op {  // struct sembuf
    std::uint16_t num;
    std::int16_t op;
    std::int16_t flags;
  };
  // What a semop waits for, while it waits (GETNCNT, GETZCNT; semtimedop's deadline).
  struct Wait {
    int id = 0;
    std::uint16_t num = 0;
    bool for_zero = false;
    std::optional<std::chrono::steady_clock::time_point> deadline;
  };

  // semget: the id of the set with `key` (IPC_PRIVATE: always a new one), made with IPC_CREAT, as
  // Linux answers (ENOENT, EEXIST, EINVAL, ENOSPC: kMaxSets sets or kMaxSemaphores in all).
  GuestResult<int> get(std::int32_t key, int nsems, int flags, int pid);
  Set* find(int id);  // nullptr if there is none
  // IPC_RMID: the set is gone; its waiters' calls end with EIDRM.
  void remove(int id);

  // semop for `task` (a thread: the waiter) of process `pid`: nothing once applied; a Wait when it
  // must wait (until its deadline, if any: a first call with `timeout` sets it, the retries of the
  // same call keep it); or EAGAIN (IPC_NOWAIT, or semtimedop's deadline passed), EFBIG, ERANGE,
  // EINVAL, EIDRM.
  GuestResult<std::optional<Wait>> operate(int task, int pid, int id, std::span<const Op> ops,
                                           std::optional<std::chrono::nanoseconds> timeout);
  // A waiting call that ended otherwise (a signal): it no longer counts as waiting.
  void stop_waiting(int task) { waits_.erase(task); }
  int waiters(int id, std::uint16_t num, bool for_zero) const;  // GETNCNT, GETZCNT
  // SETVAL and SETALL: the adjustments every process holds for the semaphore are dropped.
  void clear_adjustments(int id, std::optional<std::uint16_t> num);
  // The process ended: its SEM_UNDO adjustments applied (within 0..kMaxValue), and dropped.
  void exit_process(int pid);
  const std::map<int, Set>& sets() const { return sets_; }
  int semaphores() const { return semaphores_; }

 private:
  std::map<int, Set> sets_;
  int next_id_ = 0;
  int semaphores_ = 0;                // in all sets
  std::map<int, Wait> waits_;         // by task
  std::map<int, int> removed_waits_;  // task -> the id removed while it waited
  // SEM_UNDO: per process, per (set, semaphore), what undoes its operations.
  std::map<int, std::map<std::pair<int, std::uint16_t>, int>> adjustments_;
};

}  // namespace spectrum::vm::kernel
