#include "vm/kernel/sysv_shm.h"

#include <sys/ipc.h>

#include <cerrno>
#include <ctime>

namespace spectrum::vm::kernel {

using x86::kPageSize;

SysvShm::~SysvShm() {
  for (auto& [id, segment] : segments_)
    for (std::uint64_t frame : segment.frames) frames_.release(frame);
}

GuestResult<int> SysvShm::get(std::int32_t key, std::uint64_t size, int flags, int pid) {
  if (key != IPC_PRIVATE) {
    for (auto& [id, segment] : segments_) {
      if (segment.removed || segment.key != key) continue;
      if ((flags & IPC_CREAT) && (flags & IPC_EXCL)) return std::unexpected(EEXIST);
      if (size > segment.size) return std::unexpected(EINVAL);
      return id;
    }
    if (!(flags & IPC_CREAT)) return std::unexpected(ENOENT);
  }
  if (size < 1 || size > (std::uint64_t{1} << 46)) return std::unexpected(EINVAL);
  if (segments_.size() >= kMaxSegments) return std::unexpected(ENOSPC);
  const std::uint64_t pages = x86::page_up(size) / kPageSize;
  if (pages > frames_.free_frames()) return std::unexpected(ENOMEM);
  Segment segment;
  segment.key = key;
  segment.size = size;
  segment.mode = static_cast<std::uint32_t>(flags) & 0777;
  segment.cpid = pid;
  segment.ctime = std::time(nullptr);
  for (std::uint64_t i = 0; i < pages; ++i) {
    auto frame = frames_.allocate();  // a new frame reads as zero
    if (!frame) {
      for (std::uint64_t made : segment.frames) frames_.release(made);
      return std::unexpected(frame.error());
    }
    segment.frames.push_back(*frame);
  }
  // An id is never used again: a stale one names no new segment.
  const int id = next_id_++;
  segments_.emplace(id, std::move(segment));
  return id;
}

SysvShm::Segment* SysvShm::find(int id) {
  auto it = segments_.find(id);
  return it == segments_.end() ? nullptr : &it->second;
}

std::uint64_t SysvShm::attaches(const Segment& s) const { return frames_.holders(s.frames.front()) - 1; }

void SysvShm::collect() {
  for (auto it = segments_.begin(); it != segments_.end();) {
    if (!it->second.removed || attaches(it->second) != 0) {
      ++it;
      continue;
    }
    for (std::uint64_t frame : it->second.frames) frames_.release(frame);
    it = segments_.erase(it);
  }
}

}  // namespace spectrum::vm::kernel
