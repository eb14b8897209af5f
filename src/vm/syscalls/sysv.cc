// System V shared memory: shmget, shmat, shmdt, shmctl over the sandbox kernel's segments
// (kernel/sysv_shm.h). An attach is a shared mapping of the segment's frames, named in
// /proc/PID/maps as Linux names it ("/SYSV0000abcd (deleted)").
#include <sys/shm.h>
#include <sys/syscall.h>

#include <cstdio>
#include <ctime>

#include "vm/kernel/kernel.h"
#include "vm/syscalls/syscalls.h"
#include "vm/syscalls/sysv_ipc.h"

namespace spectrum::vm::syscalls {

static_assert(sizeof(struct shmid_ds) == 112 && sizeof(struct ipc_perm) == 48,
              "the kernel's struct shmid64_ds of x86-64, which glibc's matches");
static_assert(sizeof(struct shminfo) == 72 && sizeof(struct shm_info) == 48,
              "the kernel's struct shminfo64 and shm_info of x86-64, which glibc's match");

void collect_sysv_segments(Process& p) {
  if (auto* shm = p.kernel() ? p.kernel()->sysv_shm_in_use() : nullptr) shm->collect();
}

SyscallResult sys_shmget(Process& p, const SyscallRequest& req) {
  if (!p.kernel()) return SyscallResult::error(ENOSYS);
  collect_sysv_segments(p);
  return SyscallResult::ret(TRY_GUEST(p.kernel()->sysv_shm(p).get(
      static_cast<std::int32_t>(ARG(0)), ARG(1), static_cast<int>(ARG(2)), sysv::caller(p))));
}

SyscallResult sys_shmat(Process& p, const SyscallRequest& req) {
  if (!p.kernel()) return SyscallResult::error(ENOSYS);
  const int id = static_cast<int>(ARG(0));
  const int flags = static_cast<int>(ARG(2));
  auto* segment = p.kernel()->sysv_shm(p).find(id);
  if (id < 0 || !segment) return SyscallResult::error(EINVAL);
  const std::uint64_t length = segment->frames.size() * x86::kPageSize;
  std::uint64_t address = ARG(1);
  if (address) {
    if (flags & SHM_RND) address &= ~(x86::kPageSize - 1);  // SHMLBA is a page on x86-64
    if (address & x86::kPageMask) return SyscallResult::error(EINVAL);
    if (!(flags & SHM_REMAP) && !p.space().range_free(address, length)) return SyscallResult::error(EINVAL);
  } else {
    if (flags & SHM_REMAP) return SyscallResult::error(EINVAL);
    address = TRY_GUEST(p.space().find_free(length));
  }
  const bool read_only = flags & SHM_RDONLY;
  const unsigned prot =
      kProtRead | (read_only ? 0u : unsigned{kProtWrite}) | ((flags & SHM_EXEC) ? kProtExec : 0u);
  if (auto mapped = p.space().map_frames(address, segment->frames, prot, !read_only); !mapped)
    return SyscallResult::error(mapped.error() == ENOMEM ? ENOMEM : EINVAL);
  // A mapping there before (SHM_REMAP) is gone, and so is any attach it was part of.
  p.mm().forget_attaches(address, address + length);
  p.mm().sysv_attaches[address] = {id, length};
  char name[32];
  std::snprintf(name, sizeof name, "/SYSV%08x (deleted)", static_cast<unsigned>(segment->key));
  p.mm().name_range(address, address + length, name);
  segment->lpid = sysv::caller(p);
  segment->atime = std::time(nullptr);
  return SyscallResult::ret(static_cast<std::int64_t>(address));
}

SyscallResult sys_shmdt(Process& p, const SyscallRequest& req) {
  if (!p.kernel()) return SyscallResult::error(ENOSYS);
  auto& attaches = p.mm().sysv_attaches;
  auto it = attaches.find(ARG(0));
  if (it == attaches.end()) return SyscallResult::error(EINVAL);
  const auto [id, length] = it->second;
  attaches.erase(it);
  (void)p.space().unmap(ARG(0), length);
  p.mm().forget_names(ARG(0), ARG(0) + length);
  if (auto* segment = p.kernel()->sysv_shm(p).find(id)) {
    segment->lpid = sysv::caller(p);
    segment->dtime = std::time(nullptr);
  }
  collect_sysv_segments(p);
  return SyscallResult::ret(0);
}

SyscallResult sys_shmctl(Process& p, const SyscallRequest& req) {
  if (!p.kernel()) return SyscallResult::error(ENOSYS);
  auto& shm = p.kernel()->sysv_shm(p);
  const int id = static_cast<int>(ARG(0));
  const int cmd = static_cast<int>(ARG(1)) & ~sysv::kIpc64;
  if (cmd == IPC_INFO || cmd == SHM_INFO) {  // ipcs, and the limits (Linux's defaults)
    const int highest = shm.segments().empty() ? 0 : shm.segments().rbegin()->first;
    if (cmd == IPC_INFO) {
      struct shminfo info {};
      info.shmmax = info.shmall = ~0ul >> 8;  // SHMMAX, SHMALL: "unlimited"
      info.shmmin = 1;
      info.shmmni = info.shmseg = kernel::SysvShm::kMaxSegments;
      TRY_GUEST_VOID(write_struct(p, ARG(2), info));
      return SyscallResult::ret(highest);
    }
    struct shm_info info {};
    info.used_ids = static_cast<int>(shm.segments().size());
    for (const auto& [segment_id, segment] : shm.segments()) info.shm_tot += segment.frames.size();
    info.shm_rss = info.shm_tot;  // guest memory is never swapped
    TRY_GUEST_VOID(write_struct(p, ARG(2), info));
    return SyscallResult::ret(highest);
  }
  auto* segment = id < 0 ? nullptr : shm.find(id);
  switch (cmd) {
    case IPC_STAT:
    case SHM_STAT:
    case SHM_STAT_ANY: {
      if (!segment) return SyscallResult::error(EINVAL);
      struct shmid_ds ds {};
      ds.shm_perm = sysv::permissions_of(*segment);
      if (segment->removed) ds.shm_perm.mode |= SHM_DEST;
      ds.shm_segsz = segment->size;
      ds.shm_atime = segment->atime, ds.shm_dtime = segment->dtime, ds.shm_ctime = segment->ctime;
      ds.shm_cpid = segment->cpid, ds.shm_lpid = segment->lpid;
      ds.shm_nattch = shm.attaches(*segment);
      TRY_GUEST_VOID(write_struct(p, ARG(2), ds));
      return SyscallResult::ret(cmd == IPC_STAT ? 0 : id);
    }
    case IPC_SET: {
      if (!segment) return SyscallResult::error(EINVAL);
      auto ds = TRY_GUEST(read_struct<struct shmid_ds>(p, ARG(2)));
      sysv::set_permissions(*segment, ds.shm_perm);
      segment->ctime = std::time(nullptr);
      return SyscallResult::ret(0);
    }
    case IPC_RMID:
      if (!segment) return SyscallResult::error(EINVAL);
      segment->removed = true;
      segment->key = IPC_PRIVATE;
      segment->ctime = std::time(nullptr);
      shm.collect();
      return SyscallResult::ret(0);
    case SHM_LOCK:
    case SHM_UNLOCK:  // guest memory is never swapped
      return segment ? SyscallResult::ret(0) : SyscallResult::error(EINVAL);
    default:
      return SyscallResult::error(EINVAL);
  }
}

}  // namespace spectrum::vm::syscalls
