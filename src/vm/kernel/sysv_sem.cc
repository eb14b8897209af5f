#include "vm/kernel/sysv_sem.h"

#include <sys/ipc.h>
#include <sys/sem.h>

#include <algorithm>
#include <cerrno>
#include <ctime>

namespace spectrum::vm::kernel {

GuestResult<int> SysvSem::get(std::int32_t key, int nsems, int flags, int pid) {
  (void)pid;  // a set records its creator's ids only (cuid, cgid)
  if (nsems < 0 || nsems > kMaxPerSet) return std::unexpected(EINVAL);
  if (key != IPC_PRIVATE) {
    for (const auto& [id, set] : sets_) {
      if (set.key != key) continue;
      if ((flags & IPC_CREAT) && (flags & IPC_EXCL)) return std::unexpected(EEXIST);
      if (static_cast<std::size_t>(nsems) > set.sems.size()) return std::unexpected(EINVAL);
      return id;
    }
    if (!(flags & IPC_CREAT)) return std::unexpected(ENOENT);
  }
  if (nsems == 0) return std::unexpected(EINVAL);
  if (sets_.size() >= static_cast<std::size_t>(kMaxSets) || semaphores_ + nsems > kMaxSemaphores)
    return std::unexpected(ENOSPC);
  Set set;
  set.key = key;
  set.sems.resize(static_cast<std::size_t>(nsems));
  set.mode = static_cast<std::uint32_t>(flags) & 0777;
  set.ctime = std::time(nullptr);
  const int id = next_id_++;
  sets_.emplace(id, std::move(set));
  semaphores_ += nsems;
  return id;
}

SysvSem::Set* SysvSem::find(int id) {
  const auto it = sets_.find(id);
  return it == sets_.end() ? nullptr : &it->second;
}

void SysvSem::remove(int id) {
  const auto it = sets_.find(id);
  if (it == sets_.end()) return;
  semaphores_ -= static_cast<int>(it->second.sems.size());
  sets_.erase(it);
  for (auto w = waits_.begin(); w != waits_.end();) {
    if (w->second.id != id) {
      ++w;
      continue;
    }
    removed_waits_[w->first] = id;
    w = waits_.erase(w);
  }
  for (auto& [pid, adjustments] : adjustments_)
    std::erase_if(adjustments, [&](const auto& entry) { return entry.first.first == id; });
}

GuestResult<std::optional<SysvSem::Wait>> SysvSem::operate(int task, int pid, int id, std::span<const Op> ops,
                                                           std::optional<std::chrono::nanoseconds> timeout) {
  const auto now = std::chrono::steady_clock::now();
  if (const auto removed = removed_waits_.find(task); removed != removed_waits_.end()) {
    const bool mine = removed->second == id;
    removed_waits_.erase(removed);
    if (mine) return std::unexpected(EIDRM);
  }
  // The deadline of this call: set by its first try, kept by its retries.
  std::optional<std::chrono::steady_clock::time_point> deadline;
  if (const auto waiting = waits_.find(task); waiting != waits_.end() && waiting->second.id == id)
    deadline = waiting->second.deadline;
  else if (timeout)
    deadline = now + *timeout;
  waits_.erase(task);
  Set* set = find(id);
  if (!set) return std::unexpected(EINVAL);
  for (const Op& op : ops)
    if (op.num >= set->sems.size()) return std::unexpected(EFBIG);
  // All or nothing: the operations in order on a copy of the values.
  std::vector<int> values(set->sems.size());
  std::transform(set->sems.begin(), set->sems.end(), values.begin(),
                 [](const Semaphore& s) { return s.value; });
  for (const Op& op : ops) {
    int& value = values[op.num];
    const bool can = op.op > 0 ? true : op.op < 0 ? value >= -op.op : value == 0;
    if (!can) {
      if ((op.flags & IPC_NOWAIT) || (deadline && now >= *deadline)) return std::unexpected(EAGAIN);
      Wait wait{id, op.num, op.op == 0, deadline};
      waits_[task] = wait;
      return wait;
    }
    if (value + op.op > kMaxValue) return std::unexpected(ERANGE);
    value += op.op;
  }
  for (const Op& op : ops) {
    set->sems[op.num].value = values[op.num];
    set->sems[op.num].pid = pid;
    if (op.flags & SEM_UNDO) adjustments_[pid][{id, op.num}] -= op.op;
  }
  set->otime = std::time(nullptr);
  return std::nullopt;
}

int SysvSem::waiters(int id, std::uint16_t num, bool for_zero) const {
  return static_cast<int>(std::count_if(waits_.begin(), waits_.end(), [&](const auto& entry) {
    return entry.second.id == id && entry.second.num == num && entry.second.for_zero == for_zero;
  }));
}

void SysvSem::clear_adjustments(int id, std::optional<std::uint16_t> num) {
  for (auto& [pid, adjustments] : adjustments_)
    std::erase_if(adjustments, [&](const auto& entry) {
      return entry.first.first == id && (!num || entry.first.second == *num);
    });
}

void SysvSem::exit_process(int pid) {
  const auto it = adjustments_.find(pid);
  if (it == adjustments_.end()) return;
  for (const auto& [where, adjustment] : it->second) {
    Set* set = find(where.first);
    if (!set || where.second >= set->sems.size()) continue;
    Semaphore& sem = set->sems[where.second];
    sem.value = std::clamp(sem.value + adjustment, 0, kMaxValue);
    sem.pid = pid;
  }
  adjustments_.erase(it);
}

}  // namespace spectrum::vm::kernel
