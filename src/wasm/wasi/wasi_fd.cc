// wasi_snapshot_preview1 fd_* calls: reads and writes, seeks, stats, directory listings.
#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <climits>
#include <ctime>

#include "wasm/wasi/functions.h"

namespace spectrum::wasi {

// ---- fd_* ----
CallResult Functions::fd_read(Wasi& w, const GuestMemory& m, std::uint32_t fd, GuestPtr iovs,
                              std::uint32_t iovs_len, GuestPtr nread) {
  return read_or_write(w, m, fd, iovs, iovs_len, std::nullopt, nread, false);
}

CallResult Functions::fd_pread(Wasi& w, const GuestMemory& m, std::uint32_t fd, GuestPtr iovs,
                               std::uint32_t iovs_len, std::uint64_t offset, GuestPtr nread) {
  return read_or_write(w, m, fd, iovs, iovs_len, offset, nread, false);
}

CallResult Functions::fd_write(Wasi& w, const GuestMemory& m, std::uint32_t fd, GuestPtr iovs,
                               std::uint32_t iovs_len, GuestPtr nwritten) {
  return read_or_write(w, m, fd, iovs, iovs_len, std::nullopt, nwritten, true);
}

CallResult Functions::fd_pwrite(Wasi& w, const GuestMemory& m, std::uint32_t fd, GuestPtr iovs,
                                std::uint32_t iovs_len, std::uint64_t offset, GuestPtr nwritten) {
  return read_or_write(w, m, fd, iovs, iovs_len, offset, nwritten, true);
}

CallResult Functions::read_or_write(Wasi& w, const GuestMemory& m, std::uint32_t fd, GuestPtr iovs,
                                    std::uint32_t iovs_len, std::optional<std::uint64_t> offset,
                                    GuestPtr count_out, bool write) {
  auto entry = lookup(w, fd);
  if (!entry) return returned(entry.error());
  if ((*entry)->type == Filetype::directory) return returned(Errno::isdir);
  if (write && (*entry)->read_only) return returned(Errno::rofs);
  auto host = host_iovecs(m, iovs, iovs_len);
  if (!host) return returned(host.error());
  if (!m.bytes(count_out, 4)) return returned(Errno::fault);
  if (offset && *offset > static_cast<std::uint64_t>(INT64_MAX)) return returned(Errno::inval);
  // Reads wait interruptibly; a write into a full pipe (or a read that blocks after all) is
  // ended by the embedder's signal (see Wasi::interrupt), as an open of a FIFO is.
  if (!offset && !write && !wait_ready(w, **entry, POLLIN)) return {CallResult::Kind::interrupted, 0};
  ssize_t n;
  int host_fd = (*entry)->host_fd;
  do {
    if (offset)
      n = write
              ? ::pwritev(host_fd, host->data(), static_cast<int>(host->size()), static_cast<off_t>(*offset))
              : ::preadv(host_fd, host->data(), static_cast<int>(host->size()), static_cast<off_t>(*offset));
    else
      n = write ? ::writev(host_fd, host->data(), static_cast<int>(host->size()))
                : ::readv(host_fd, host->data(), static_cast<int>(host->size()));
  } while (n < 0 && errno == EINTR && !w.interrupted());
  if (n < 0) return returned(last_error());
  return returned(store_size(m, count_out, static_cast<std::uint64_t>(n)));
}

CallResult Functions::returned(Errno error) {
  return {CallResult::Kind::returned, static_cast<std::uint32_t>(error)};
}

Errno Functions::fd_close(Wasi& w, const GuestMemory&, std::uint32_t fd) {
  auto entry = lookup(w, fd);
  if (!entry) return entry.error();
  w.fds_[fd].reset();
  return Errno::success;
}

Errno Functions::fd_renumber(Wasi& w, const GuestMemory&, std::uint32_t from, std::uint32_t to) {
  auto source = lookup(w, from);
  if (!source) return source.error();
  auto target = lookup(w, to);
  if (!target) return target.error();
  if (from != to) w.fds_[to] = std::move(w.fds_[from]);
  return Errno::success;
}

Errno Functions::fd_seek(Wasi& w, const GuestMemory& m, std::uint32_t fd, std::int64_t offset,
                         std::uint32_t whence, GuestPtr new_offset) {
  auto entry = lookup(w, fd);
  if (!entry) return entry.error();
  if ((*entry)->type == Filetype::directory) return Errno::isdir;
  int how;
  switch (static_cast<abi::Whence>(whence)) {
    case abi::Whence::set:
      how = SEEK_SET;
      break;
    case abi::Whence::cur:
      how = SEEK_CUR;
      break;
    case abi::Whence::end:
      how = SEEK_END;
      break;
    default:
      return Errno::inval;
  }
  if (!m.bytes(new_offset, 8)) return Errno::fault;
  off_t result = ::lseek((*entry)->host_fd, static_cast<off_t>(offset), how);
  if (result < 0) return last_error();
  m.store<std::uint64_t>(new_offset, static_cast<std::uint64_t>(result));
  return Errno::success;
}

Errno Functions::fd_tell(Wasi& w, const GuestMemory& m, std::uint32_t fd, GuestPtr offset) {
  return fd_seek(w, m, fd, 0, static_cast<std::uint32_t>(abi::Whence::cur), offset);
}

Errno Functions::fd_fdstat_get(Wasi& w, const GuestMemory& m, std::uint32_t fd, GuestPtr out) {
  auto entry = lookup(w, fd);
  if (!entry) return entry.error();
  abi::Fdstat stat{};
  stat.fs_filetype = (*entry)->type;
  int flags = ::fcntl((*entry)->host_fd, F_GETFL);
  if (flags < 0) return last_error();
  if (flags & O_APPEND) stat.fs_flags |= abi::fdflags::append;
  if (flags & O_NONBLOCK) stat.fs_flags |= abi::fdflags::nonblock;
  if (flags & O_DSYNC) stat.fs_flags |= abi::fdflags::dsync;
  if ((flags & O_SYNC) == O_SYNC) stat.fs_flags |= abi::fdflags::sync;
  stat.fs_rights_base = (*entry)->rights_base;
  stat.fs_rights_inheriting = (*entry)->rights_inheriting;
  return m.store(out, stat) ? Errno::success : Errno::fault;
}

Errno Functions::fd_fdstat_set_flags(Wasi& w, const GuestMemory&, std::uint32_t fd, std::uint32_t fdflags) {
  auto entry = lookup(w, fd);
  if (!entry) return entry.error();
  if (fdflags & ~std::uint32_t{abi::fdflags::append | abi::fdflags::nonblock}) return Errno::notsup;
  int flags = ::fcntl((*entry)->host_fd, F_GETFL);
  if (flags < 0) return last_error();
  flags &= ~(O_APPEND | O_NONBLOCK);
  if (fdflags & abi::fdflags::append) flags |= O_APPEND;
  if (fdflags & abi::fdflags::nonblock) flags |= O_NONBLOCK;
  return ::fcntl((*entry)->host_fd, F_SETFL, flags) == 0 ? Errno::success : last_error();
}

Errno Functions::fd_fdstat_set_rights(Wasi& w, const GuestMemory&, std::uint32_t fd, std::uint64_t base,
                                      std::uint64_t inheriting) {
  auto entry = lookup(w, fd);
  if (!entry) return entry.error();
  // Rights can only shrink.
  if ((base & ~(*entry)->rights_base) || (inheriting & ~(*entry)->rights_inheriting))
    return Errno::notcapable;
  (*entry)->rights_base = base;
  (*entry)->rights_inheriting = inheriting;
  return Errno::success;
}

Errno Functions::fd_filestat_get(Wasi& w, const GuestMemory& m, std::uint32_t fd, GuestPtr out) {
  auto entry = lookup(w, fd);
  if (!entry) return entry.error();
  struct stat st {};
  if (::fstat((*entry)->host_fd, &st) != 0) return last_error();
  return m.store(out, to_filestat(st)) ? Errno::success : Errno::fault;
}

Errno Functions::fd_filestat_set_size(Wasi& w, const GuestMemory&, std::uint32_t fd, std::uint64_t size) {
  auto entry = lookup(w, fd);
  if (!entry) return entry.error();
  if ((*entry)->read_only) return Errno::rofs;
  if (size > static_cast<std::uint64_t>(INT64_MAX)) return Errno::inval;
  return ::ftruncate((*entry)->host_fd, static_cast<off_t>(size)) == 0 ? Errno::success : last_error();
}

Expected<std::array<timespec, 2>> Functions::utimens_times(std::uint64_t atime_ns, std::uint64_t mtime_ns,
                                                           std::uint32_t fst_flags) {
  namespace fst = abi::fstflags;
  if ((fst_flags & fst::atim) && (fst_flags & fst::atim_now)) return std::unexpected(Errno::inval);
  if ((fst_flags & fst::mtim) && (fst_flags & fst::mtim_now)) return std::unexpected(Errno::inval);
  auto pick = [fst_flags](std::uint32_t set, std::uint32_t now, std::uint64_t ns) {
    if (fst_flags & now) return timespec{0, UTIME_NOW};
    if (fst_flags & set)
      return timespec{static_cast<time_t>(ns / 1'000'000'000ull), static_cast<long>(ns % 1'000'000'000ull)};
    return timespec{0, UTIME_OMIT};
  };
  return std::array<timespec, 2>{pick(fst::atim, fst::atim_now, atime_ns),
                                 pick(fst::mtim, fst::mtim_now, mtime_ns)};
}

Errno Functions::fd_filestat_set_times(Wasi& w, const GuestMemory&, std::uint32_t fd, std::uint64_t atim,
                                       std::uint64_t mtim, std::uint32_t fst_flags) {
  auto entry = lookup(w, fd);
  if (!entry) return entry.error();
  if ((*entry)->read_only) return Errno::rofs;
  auto times = utimens_times(atim, mtim, fst_flags);
  if (!times) return times.error();
  return ::futimens((*entry)->host_fd, times->data()) == 0 ? Errno::success : last_error();
}

Errno Functions::fd_sync(Wasi& w, const GuestMemory&, std::uint32_t fd) {
  auto entry = lookup(w, fd);
  if (!entry) return entry.error();
  return ::fsync((*entry)->host_fd) == 0 ? Errno::success : last_error();
}

Errno Functions::fd_datasync(Wasi& w, const GuestMemory&, std::uint32_t fd) {
  auto entry = lookup(w, fd);
  if (!entry) return entry.error();
  return ::fdatasync((*entry)->host_fd) == 0 ? Errno::success : last_error();
}

Errno Functions::fd_advise(Wasi& w, const GuestMemory&, std::uint32_t fd, std::uint64_t offset,
                           std::uint64_t len, std::uint32_t advice) {
  auto entry = lookup(w, fd);
  if (!entry) return entry.error();
  static constexpr int kAdvice[] = {POSIX_FADV_NORMAL,   POSIX_FADV_SEQUENTIAL, POSIX_FADV_RANDOM,
                                    POSIX_FADV_WILLNEED, POSIX_FADV_DONTNEED,   POSIX_FADV_NOREUSE};
  if (advice >= std::size(kAdvice)) return Errno::inval;
  if (offset > static_cast<std::uint64_t>(INT64_MAX) || len > static_cast<std::uint64_t>(INT64_MAX))
    return Errno::inval;
  int err = ::posix_fadvise((*entry)->host_fd, static_cast<off_t>(offset), static_cast<off_t>(len),
                            kAdvice[advice]);
  return err == 0 ? Errno::success : from_host(err);
}

Errno Functions::fd_allocate(Wasi& w, const GuestMemory&, std::uint32_t fd, std::uint64_t offset,
                             std::uint64_t len) {
  auto entry = lookup(w, fd);
  if (!entry) return entry.error();
  if ((*entry)->read_only) return Errno::rofs;
  if (offset > static_cast<std::uint64_t>(INT64_MAX) || len > static_cast<std::uint64_t>(INT64_MAX))
    return Errno::inval;
  int err = ::posix_fallocate((*entry)->host_fd, static_cast<off_t>(offset), static_cast<off_t>(len));
  return err == 0 ? Errno::success : from_host(err);
}

Errno Functions::fd_prestat_get(Wasi& w, const GuestMemory& m, std::uint32_t fd, GuestPtr out) {
  auto entry = lookup(w, fd);
  if (!entry) return entry.error();
  if ((*entry)->preopen_name.empty()) return Errno::badf;
  abi::Prestat prestat{abi::Preopentype::dir, static_cast<std::uint32_t>((*entry)->preopen_name.size())};
  return m.store(out, prestat) ? Errno::success : Errno::fault;
}

Errno Functions::fd_prestat_dir_name(Wasi& w, const GuestMemory& m, std::uint32_t fd, GuestPtr path,
                                     std::uint32_t len) {
  auto entry = lookup(w, fd);
  if (!entry) return entry.error();
  const std::string& name = (*entry)->preopen_name;
  if (name.empty()) return Errno::badf;
  if (len < name.size()) return Errno::nametoolong;
  std::uint8_t* p = m.bytes(path, name.size());
  if (!p) return Errno::fault;
  std::memcpy(p, name.data(), name.size());
  return Errno::success;
}

Errno Functions::fd_readdir(Wasi& w, const GuestMemory& m, std::uint32_t fd, GuestPtr buf,
                            std::uint32_t buf_len, std::uint64_t cookie, GuestPtr bufused) {
  auto entry = lookup_dir(w, fd);
  if (!entry) return entry.error();
  std::uint8_t* out = m.bytes(buf, buf_len);
  if (!out || !m.bytes(bufused, 4)) return Errno::fault;
  auto& listing = (*entry)->listing;
  if (cookie == 0 || listing.empty()) {
    // A fresh open file description: its own position, and the guest's fd is left untouched.
    int dup_fd = ::openat((*entry)->host_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dup_fd < 0) return last_error();
    DIR* dir = ::fdopendir(dup_fd);
    if (!dir) {
      ::close(dup_fd);
      return last_error();
    }
    listing.clear();
    while (dirent* d = ::readdir(dir)) {
      Filetype type = Filetype::unknown;
      switch (d->d_type) {
        case DT_REG:
          type = Filetype::regular_file;
          break;
        case DT_DIR:
          type = Filetype::directory;
          break;
        case DT_LNK:
          type = Filetype::symbolic_link;
          break;
        case DT_CHR:
          type = Filetype::character_device;
          break;
        case DT_BLK:
          type = Filetype::block_device;
          break;
        case DT_SOCK:
          type = Filetype::socket_stream;
          break;
        default:
          break;
      }
      listing.push_back({d->d_name, d->d_ino, type});
    }
    ::closedir(dir);
  }
  std::uint64_t used = 0;
  for (std::uint64_t index = cookie; index < listing.size() && used < buf_len; ++index) {
    const auto& item = listing[index];
    abi::Dirent header{index + 1, item.ino, static_cast<std::uint32_t>(item.name.size()), item.type};
    // The ABI allows a truncated last entry: the guest sees bufused == buf_len and asks again.
    std::uint64_t take = std::min<std::uint64_t>(sizeof header, buf_len - used);
    std::memcpy(out + used, &header, take);
    used += take;
    take = std::min<std::uint64_t>(item.name.size(), buf_len - used);
    std::memcpy(out + used, item.name.data(), take);
    used += take;
  }
  return store_size(m, bufused, used);
}

}  // namespace spectrum::wasi
