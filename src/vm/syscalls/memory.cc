// The workload's memory calls (brk, mmap, munmap, mprotect, mremap, madvise), acting on the
// AddressSpace the monitor owns. Every range a guest names is checked by the AddressSpace (user
// half, canonical, no wrap) before any walk, and every walk goes over the mapped regions, never
// page by page over the range asked for: no loop's length is the guest's choice.
#include <sys/mman.h>

#include <climits>
#include <cstring>

#include "vm/kernel/kernel.h"
#include "vm/syscalls/syscalls.h"

namespace spectrum::vm::syscalls {

using x86::kPageMask;
using x86::kPageSize;

void shared_pages_out(Process& p, int fd) {
  if (auto* k = p.kernel())
    if (auto* files = k->shared_files_in_use()) files->before_io(fd);
}
void shared_pages_in(Process& p, int fd) {
  if (auto* k = p.kernel())
    if (auto* files = k->shared_files_in_use()) files->after_change(fd);
}

SyscallResult sys_brk(Process& p, const SyscallRequest& req) {
  const std::uint64_t wanted = ARG(0);
  const auto unchanged = SyscallResult::ret(static_cast<std::int64_t>(p.mm().brk));
  if (wanted < p.mm().brk_start || wanted >= AddressSpace::kUserEnd) return unchanged;
  const std::uint64_t old_end = page_up(p.mm().brk), new_end = page_up(wanted);
  if (new_end > old_end) {
    if (!p.space().range_free(old_end, new_end - old_end)) return unchanged;
    if (!p.space().map(old_end, new_end - old_end, kProtRead | kProtWrite, false, true)) return unchanged;
    p.space().populate(old_end, new_end - old_end);  // malloc grows the heap to write into it
  } else if (new_end < old_end) {
    (void)p.space().unmap(new_end, old_end - new_end);
  }
  p.mm().brk = wanted;
  return SyscallResult::ret(static_cast<std::int64_t>(wanted));
}

SyscallResult sys_mmap(Process& p, const SyscallRequest& req) {
  const std::uint64_t hint = ARG(0), length = ARG(1), offset = ARG(5);
  const unsigned prot = static_cast<unsigned>(ARG(2));
  const int flags = static_cast<int>(ARG(3));
  const int guest_fd = static_cast<int>(ARG(4));
  if (length == 0 || length > AddressSpace::kUserEnd || (offset & kPageMask))
    return SyscallResult::error(EINVAL);
  if (prot & ~unsigned{PROT_READ | PROT_WRITE | PROT_EXEC}) return SyscallResult::error(EINVAL);
  bool anonymous = flags & MAP_ANONYMOUS;
  const int sharing = flags & MAP_SHARED_VALIDATE;
  if (sharing != MAP_PRIVATE && sharing != MAP_SHARED) return SyscallResult::error(EINVAL);
  const kernel::OpenFile* file = anonymous ? nullptr : p.fd(guest_fd);
  if (file && file->device != vfs::Device::none) {
    // /dev/zero maps as anonymous memory, shared with fork's children under MAP_SHARED (the
    // older programs' way to get either); the other synthetic devices cannot be mapped.
    if (file->device != vfs::Device::zero) return SyscallResult::error(ENODEV);
    anonymous = true;
  }
  // A shared file mapping shares the kernel's cached frames of the file (kernel/shared_files.h).
  const bool shared_file = !anonymous && sharing == MAP_SHARED;
  if (shared_file && !p.kernel()) return SyscallResult::error(ENODEV);
  const std::uint64_t size = page_up(length);
  std::uint64_t address;
  if (flags & (MAP_FIXED | MAP_FIXED_NOREPLACE)) {
    if (hint & kPageMask) return SyscallResult::error(EINVAL);
    // Outside user space map() below refuses it; inside, NOREPLACE needs the whole range free.
    if ((flags & MAP_FIXED_NOREPLACE) && hint >= AddressSpace::kUserLowest && hint < AddressSpace::kUserEnd &&
        size <= AddressSpace::kUserEnd - hint && !p.space().range_free(hint, size))
      return SyscallResult::error(EEXIST);
    address = hint;
  } else {
    // The hint is taken when the range it names is free user space below the stack's reserved
    // gap (AddressSpace::kMmapTop); else the top-down search.
    address = !(hint & kPageMask) && size <= AddressSpace::kMmapTop &&
                      hint <= AddressSpace::kMmapTop - size && p.space().range_free(hint, size)
                  ? hint
                  : 0;
    if (!address) address = TRY_GUEST(p.space().find_free(size));
  }
  int source = -1;
  if (!anonymous) {
    source = host_fd(p, static_cast<std::uint64_t>(guest_fd));
    if (source < 0) return SyscallResult::error(EBADF);
  }
  const bool shared_memory = anonymous && sharing == MAP_SHARED;  // fork shares it instead of copying
  if (shared_file) {
    // As Linux: the file must be open for reading, and for writing too where the mapping is.
    const int access = ::fcntl(source, F_GETFL) & O_ACCMODE;
    if (access == O_WRONLY || ((prot & PROT_WRITE) && access != O_RDWR)) return SyscallResult::error(EACCES);
    auto& files = p.kernel()->shared_files(p);
    auto frames = files.frames_of(source, offset, size / kPageSize);
    if (!frames) return SyscallResult::error(frames.error());
    if (auto mapped = p.space().map_frames(address, *frames, prot, access == O_RDWR); !mapped) {
      files.release_unused();
      return SyscallResult::error(mapped.error());
    }
  } else {
    if (!anonymous) shared_pages_out(p, source);  // the private copy reads what the mappings wrote
    // Writable anonymous memory is about to be written: its host pages are made now (see
    // GuestMemory::populate), in huge pages where they fit, unless the caller said it will use
    // little of it (thread stacks, MAP_NORESERVE reservations). What the host backs is what the
    // guest's --memory already allowed.
    const bool populated =
        anonymous && (prot & PROT_WRITE) && !(flags & (MAP_STACK | MAP_NORESERVE | MAP_GROWSDOWN));
    TRY_GUEST_VOID(p.space().map(address, size, anonymous ? prot : unsigned{PROT_READ | PROT_WRITE},
                                 shared_memory, populated));
    if (!anonymous) {
      // A private file mapping is a copy of the file's bytes (the rest of the last page stays zero).
      auto iov = p.guest_iovecs(address, length, Access::write);
      long n =
          iov ? ::preadv(source, iov->data(), static_cast<int>(std::min<std::size_t>(iov->size(), IOV_MAX)),
                         static_cast<off_t>(offset))
              : -1;
      if (n < 0) {
        int err = iov ? errno : iov.error();
        (void)p.space().unmap(address, size);
        return SyscallResult::error(err == EISDIR ? ENODEV : err);
      }
      TRY_GUEST_VOID(p.space().protect(address, size, prot));
    }
    if (populated) p.space().populate(address, size);
  }
  if (!anonymous && file && !file->path.empty())
    p.mm().name_range(address, address + size, file->path);
  else if (shared_memory)
    p.mm().name_range(address, address + size, "/dev/zero (deleted)");  // Linux's name for it
  else
    p.mm().forget_names(address, address + size);
  p.mm().forget_attaches(address, address + size);  // a System V attach mapped over
  return SyscallResult::ret(static_cast<std::int64_t>(address));
}

SyscallResult sys_munmap(Process& p, const SyscallRequest& req) {
  if (ARG(0) & kPageMask || ARG(1) == 0) return SyscallResult::error(EINVAL);
  TRY_GUEST_VOID(p.space().unmap(ARG(0), ARG(1)));
  // (unmap checked the range: inside user space, no wrap)
  p.mm().forget_names(ARG(0), ARG(0) + page_up(ARG(1)));
  p.mm().forget_attaches(ARG(0), ARG(0) + page_up(ARG(1)));
  if (auto* files = p.kernel() ? p.kernel()->shared_files_in_use() : nullptr) files->release_unused();
  collect_sysv_segments(p);
  return SyscallResult::ret(0);
}
SyscallResult sys_msync(Process& p, const SyscallRequest& req) {
  const std::uint64_t flags = ARG(2);
  if ((ARG(0) & kPageMask) || (flags & ~std::uint64_t{MS_ASYNC | MS_SYNC | MS_INVALIDATE}) ||
      ((flags & MS_ASYNC) && (flags & MS_SYNC)))
    return SyscallResult::error(EINVAL);
  if (ARG(1) == 0) return SyscallResult::ret(0);
  if (!p.space().range_mapped(ARG(0), page_up(ARG(1)))) return SyscallResult::error(ENOMEM);
  // Private and anonymous pages have nowhere to go; shared file pages are written back.
  if (auto* files = p.kernel() ? p.kernel()->shared_files_in_use() : nullptr) files->write_back_all();
  return SyscallResult::ret(0);
}
SyscallResult sys_mprotect(Process& p, const SyscallRequest& req) {
  if (ARG(0) & kPageMask) return SyscallResult::error(EINVAL);
  if (ARG(1) == 0) return SyscallResult::ret(0);
  const unsigned prot = static_cast<unsigned>(ARG(2)) & 7;
  TRY_GUEST_VOID(p.space().protect(ARG(0), ARG(1), prot));
  // malloc's arenas reserve PROT_NONE and make pieces writable as they grow, to write them.
  if (prot & PROT_WRITE) p.space().populate(ARG(0), ARG(1));
  return SyscallResult::ret(0);
}
// Moving a mapping moves its frames (contents, protection and sharing go along); glibc's realloc
// of large blocks is the user. The walk is bounded by the old mapping, which must be mapped memory.
SyscallResult sys_mremap(Process& p, const SyscallRequest& req) {
  const std::uint64_t old_address = ARG(0), flags = ARG(3);
  if ((old_address & kPageMask) || ARG(1) == 0 || ARG(2) == 0 || ARG(1) > AddressSpace::kUserEnd ||
      ARG(2) > AddressSpace::kUserEnd || (flags & ~std::uint64_t{MREMAP_MAYMOVE}))
    return SyscallResult::error(EINVAL);
  const std::uint64_t old_size = page_up(ARG(1)), new_size = page_up(ARG(2));
  if (!p.space().range_mapped(old_address, old_size)) return SyscallResult::error(EFAULT);
  const std::uint64_t pte = p.space().entry(old_address);
  const bool shared = pte & x86::kPteShared;  // a shared mapping grows with shared pages
  const unsigned prot = user_prot(pte);
  if (new_size <= old_size) {
    if (new_size < old_size) {
      TRY_GUEST_VOID(p.space().unmap(old_address + new_size, old_size - new_size));
      p.mm().forget_names(old_address + new_size, old_address + old_size);
    }
    return SyscallResult::ret(static_cast<std::int64_t>(old_address));
  }
  if (new_size <= AddressSpace::kUserEnd - old_address &&
      p.space().range_free(old_address + old_size, new_size - old_size)) {
    TRY_GUEST_VOID(p.space().map(old_address + old_size, new_size - old_size, prot, shared));
    return SyscallResult::ret(static_cast<std::int64_t>(old_address));
  }
  if (!(flags & MREMAP_MAYMOVE)) return SyscallResult::error(ENOMEM);
  const std::uint64_t target = TRY_GUEST(p.space().find_free(new_size));
  TRY_GUEST_VOID(p.space().map(target + old_size, new_size - old_size, prot, shared));
  if (auto moved = p.space().move(old_address, old_size, target); !moved) {
    (void)p.space().unmap(target + old_size, new_size - old_size);
    return SyscallResult::error(moved.error());
  }
  // The name goes with the mapping (a file's, or shared memory's).
  std::string name;
  if (auto at = p.mm().names.upper_bound(old_address);
      at != p.mm().names.begin() && std::prev(at)->second.end > old_address)
    name = std::prev(at)->second.name;
  p.mm().forget_names(old_address, old_address + old_size);
  if (name.empty())
    p.mm().forget_names(target, target + new_size);
  else
    p.mm().name_range(target, target + new_size, name);
  return SyscallResult::ret(static_cast<std::int64_t>(target));
}

SyscallResult sys_madvise(Process& p, const SyscallRequest& req) {
  if (ARG(0) & kPageMask) return SyscallResult::error(EINVAL);
  if (ARG(1) == 0) return SyscallResult::ret(0);
  // Only user memory: the kernel area (GDT, IDT, TSS, the kernel's code) is not the workload's
  // to discard. Private anonymous memory reads as zero afterwards.
  if (ARG(2) == MADV_DONTNEED) TRY_GUEST_VOID(p.space().discard(ARG(0), ARG(1)));
  return SyscallResult::ret(0);
}

}  // namespace spectrum::vm::syscalls
