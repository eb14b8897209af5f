// System V shared memory (shmget, shmat, shmdt, shmctl) in the sandbox's own IPC namespace: what
// PostgreSQL, X11's MIT-SHM and older servers share memory with. A segment is guest frames that
// the segment holds until IPC_RMID, and each attach holds too (a shared mapping: fork's copy
// attaches as well); a removed segment's frames go back when its last attach does.
#pragma once

#include <cstdint>
#include <map>
#include <vector>

#include "vm/memory.h"

namespace spectrum::vm::kernel {

class SysvShm {
 public:
  struct Segment {
    std::int32_t key = 0;
    std::uint64_t size = 0;  // as asked; the frames cover it in whole pages
    std::vector<std::uint64_t> frames;
    std::uint32_t mode = 0, uid = 0, gid = 0, cuid = 0, cgid = 0;
    int cpid = 0, lpid = 0;
    std::int64_t atime = 0, dtime = 0, ctime = 0;
    bool removed = false;  // IPC_RMID: no key any more, gone with the last attach
  };
  // Linux's defaults: SHMMNI segments, of SHMMIN bytes at least.
  static constexpr std::size_t kMaxSegments = 4096;

  explicit SysvShm(FrameAllocator& frames) : frames_(frames) {}
  SysvShm(const SysvShm&) = delete;
  SysvShm& operator=(const SysvShm&) = delete;
  ~SysvShm();

  // shmget: the id of the segment with `key` (IPC_PRIVATE: always a new one), made with
  // IPC_CREAT, as Linux answers (ENOENT, EEXIST, EINVAL, ENOSPC, ENOMEM).
  GuestResult<int> get(std::int32_t key, std::uint64_t size, int flags, int pid);
  Segment* find(int id);                           // nullptr if there is none
  std::uint64_t attaches(const Segment& s) const;  // shm_nattch
  // Removed segments no mapping holds any more: their frames given back.
  void collect();
  const std::map<int, Segment>& segments() const { return segments_; }

 private:
  FrameAllocator& frames_;
  std::map<int, Segment> segments_;
  int next_id_ = 0;
};

}  // namespace spectrum::vm::kernel
