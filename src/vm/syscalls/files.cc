// File descriptors and I/O: read/write and their vector and positioned forms, close, lseek, the
// dup family, fcntl, ioctl (terminal queries), sendfile. The host fd behind each guest fd does the
// I/O; every guest buffer is translated page by page (guest_iovecs) before the host sees it.
#include <asm/termbits.h>
#include <fcntl.h>
#include <linux/futex.h>
#include <linux/openat2.h>
#include <linux/sched.h>
#include <poll.h>
#include <seccomp.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/random.h>
#include <sys/resource.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/sysinfo.h>
#include <sys/uio.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <climits>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <optional>

#include "vm/kernel/kernel.h"
#include "vm/syscalls/syscalls.h"

namespace spectrum::vm::syscalls {

using x86::kPageMask;
using x86::kPageSize;

// The host's structures are copied to the guest as they are: both are x86-64 Linux. Pinned here
// so a different host ABI fails to build instead of corrupting guest memory.
static_assert(sizeof(struct stat) == 144);
static_assert(sizeof(struct statfs) == 120);
static_assert(sizeof(struct statx) == 256);
static_assert(sizeof(struct utsname) == 6 * 65);
static_assert(sizeof(struct sysinfo) == 112);
static_assert(sizeof(struct timespec) == 16 && sizeof(struct timeval) == 16);
static_assert(sizeof(struct termios) == 36, "the kernel's termios (asm/termbits.h), not glibc's");
static_assert(sizeof(struct winsize) == 8);
// A write to a pipe nobody reads: the workload gets SIGPIPE as on Linux (the monitor itself ignores
// SIGPIPE, so it sees EPIPE instead of dying of it).
SyscallResult write_result(Process& p, long r) {
  if (r < 0 && errno == EPIPE) {
    SyscallResult sig = p.kernel() ? p.kernel()->raise(p, SIGPIPE) : signal_self(p, 1, SIGPIPE);
    if (sig.kind == SyscallResult::Kind::signal) return sig;
    return SyscallResult::error(EPIPE);
  }
  return SyscallResult::ret(host_result(r));
}

// ---- file descriptors and I/O ----

// Whether a host fd has `events` now (a poll of 0 ms).
bool ready(int fd, short events) {
  pollfd pfd{fd, events, 0};
  return ::poll(&pfd, 1, 0) != 0;
}

// Before a read or write that may block: the guest's O_NONBLOCK is decided here for a shared stdio
// description (its host flags stay the invoker's) and for the monitor's own non-blocking fds.
// A blocking guest call on a description that is not ready waits as a "block" outcome, so the
// monitor never sleeps in the host call while another task could run.
std::optional<SyscallResult> before_io(const Process::OpenFile& f, bool is_write) {
  if (!f.shared && !f.emulated_block) return std::nullopt;
  const short events = is_write ? POLLOUT : POLLIN;
  if (f.shared && ready(f.host.get(), events)) return std::nullopt;
  if (f.emulated_block) return std::nullopt;  // the host call itself says EAGAIN
  if (f.status_flags & O_NONBLOCK) return SyscallResult::error(EAGAIN);
  return SyscallResult::block_on(f.host.get(), events);
}
// After it: EAGAIN from a monitor-made non-blocking fd is a block unless the guest asked for
// O_NONBLOCK.
SyscallResult after_io(Process& p, const Process::OpenFile& f, bool is_write, long r) {
  if (r < 0 && errno == EAGAIN && f.emulated_block && !(f.status_flags & O_NONBLOCK))
    return SyscallResult::block_on(f.host.get(), is_write ? POLLOUT : POLLIN);
  return is_write ? write_result(p, r) : SyscallResult::ret(host_result(r));
}

SyscallResult sys_read_write(Process& p, const SyscallRequest& req, bool is_write, bool positional) {
  auto* e = p.fd(static_cast<std::int64_t>(ARG(0)));
  if (!e) return SyscallResult::error(EBADF);
  const int fd = e->host.get();
  if (positional && (e->shared || e->emulated_block)) return SyscallResult::error(ESPIPE);
  const std::uint64_t length = std::min<std::uint64_t>(ARG(2), kMaxIo);
  if (length == 0) return SyscallResult::ret(0);
  auto iov = TRY_GUEST(p.guest_iovecs(ARG(1), length, is_write ? Access::read : Access::write));
  if (e->device != vfs::Device::none)
    return SyscallResult::ret(is_write ? vfs::device_write(e->device, length)
                                       : vfs::device_read(e->device, iov));
  if (auto early = before_io(*e, is_write)) return *early;
  shared_pages_out(p, fd);
  const int count = static_cast<int>(std::min<std::size_t>(iov.size(), IOV_MAX));
  long r = positional ? (is_write ? ::pwritev(fd, iov.data(), count, static_cast<off_t>(ARG(3)))
                                  : ::preadv(fd, iov.data(), count, static_cast<off_t>(ARG(3))))
                      : (is_write ? ::writev(fd, iov.data(), count) : ::readv(fd, iov.data(), count));
  if (is_write && r > 0) shared_pages_in(p, fd);
  return after_io(p, *e, is_write, r);
}
SyscallResult sys_read(Process& p, const SyscallRequest& req) { return sys_read_write(p, req, false, false); }
SyscallResult sys_write(Process& p, const SyscallRequest& req) { return sys_read_write(p, req, true, false); }
SyscallResult sys_pread64(Process& p, const SyscallRequest& req) {
  return sys_read_write(p, req, false, true);
}
SyscallResult sys_pwrite64(Process& p, const SyscallRequest& req) {
  return sys_read_write(p, req, true, true);
}

// readv/writev, and preadv/pwritev(2) when `positional` (offset in ARG(3); for the "2" calls an
// offset of -1 means the file position, and only flags 0 are served).
SyscallResult sys_vector_io(Process& p, const SyscallRequest& req, bool is_write, bool positional = false,
                            bool with_flags = false) {
  auto* e = p.fd(static_cast<std::int64_t>(ARG(0)));
  if (!e) return SyscallResult::error(EBADF);
  if (with_flags && ARG(5) != 0) return SyscallResult::error(EOPNOTSUPP);
  const auto offset = static_cast<std::int64_t>(ARG(3));
  if (with_flags && offset == -1) positional = false;
  if (positional && (e->shared || e->emulated_block)) return SyscallResult::error(ESPIPE);
  if (positional && offset < 0) return SyscallResult::error(EINVAL);
  if (ARG(2) > IOV_MAX) return SyscallResult::error(EINVAL);
  std::vector<::iovec> host;
  std::uint64_t total = 0;
  for (std::uint64_t i = 0; i < ARG(2); ++i) {
    struct GuestIovec {
      std::uint64_t base, length;
    };
    auto v = TRY_GUEST(read_struct<GuestIovec>(p, ARG(1) + i * sizeof(GuestIovec)));
    if (v.length > kMaxIo - total) return SyscallResult::error(EINVAL);
    total += v.length;
    if (v.length == 0) continue;
    auto part = TRY_GUEST(p.guest_iovecs(v.base, v.length, is_write ? Access::read : Access::write));
    host.insert(host.end(), part.begin(), part.end());
  }
  if (host.empty()) return SyscallResult::ret(0);
  if (e->device != vfs::Device::none)
    return SyscallResult::ret(is_write ? vfs::device_write(e->device, total)
                                       : vfs::device_read(e->device, host));
  if (auto early = before_io(*e, is_write)) return *early;
  const int count = static_cast<int>(std::min<std::size_t>(host.size(), IOV_MAX));
  const int fd = e->host.get();
  shared_pages_out(p, fd);
  const long r = positional ? (is_write ? ::pwritev(fd, host.data(), count, offset)
                                        : ::preadv(fd, host.data(), count, offset))
                            : (is_write ? ::writev(fd, host.data(), count) : ::readv(fd, host.data(), count));
  if (is_write && r > 0) shared_pages_in(p, fd);
  return after_io(p, *e, is_write, r);
}
SyscallResult sys_readv(Process& p, const SyscallRequest& req) { return sys_vector_io(p, req, false); }
SyscallResult sys_writev(Process& p, const SyscallRequest& req) { return sys_vector_io(p, req, true); }
SyscallResult sys_preadv(Process& p, const SyscallRequest& req) { return sys_vector_io(p, req, false, true); }
SyscallResult sys_pwritev(Process& p, const SyscallRequest& req) { return sys_vector_io(p, req, true, true); }
SyscallResult sys_preadv2(Process& p, const SyscallRequest& req) {
  return sys_vector_io(p, req, false, true, true);
}
SyscallResult sys_pwritev2(Process& p, const SyscallRequest& req) {
  return sys_vector_io(p, req, true, true, true);
}

SyscallResult sys_close(Process& p, const SyscallRequest& req) {
  if (!p.files().close(static_cast<std::int64_t>(ARG(0)))) return SyscallResult::error(EBADF);
  return SyscallResult::ret(0);
}

SyscallResult sys_lseek(Process& p, const SyscallRequest& req) {
  auto* e = p.fd(static_cast<std::int64_t>(ARG(0)));
  if (!e) return SyscallResult::error(EBADF);
  if (e->shared || e->emulated_block) return SyscallResult::error(ESPIPE);
  if (e->device != vfs::Device::none) return SyscallResult::ret(0);
  if (e->proc_directory) {  // rewinddir, seekdir: an entry's index (its d_off)
    if (ARG(2) != SEEK_SET || static_cast<std::int64_t>(ARG(1)) < 0) return SyscallResult::error(EINVAL);
    e->proc_position = ARG(1);
    return SyscallResult::ret(static_cast<std::int64_t>(ARG(1)));
  }
  const int fd = e->host.get();
  return SyscallResult::ret(host_result(::lseek(fd, static_cast<off_t>(ARG(1)), static_cast<int>(ARG(2)))));
}

// dup: a second fd on the same description (shared offset and flags, as in Linux).
SyscallResult dup_to(Process& p, std::uint64_t old_fd, std::int64_t new_fd, bool cloexec, int lowest = 0) {
  auto* e = p.files().get(static_cast<std::int64_t>(old_fd));
  if (!e) return SyscallResult::error(EBADF);
  Process::FdEntry entry{e->file, cloexec};
  if (new_fd < 0) return SyscallResult::ret(TRY_GUEST(p.files().install(std::move(entry), lowest)));
  return SyscallResult::ret(TRY_GUEST(p.files().install_at(std::move(entry), new_fd)));
}
SyscallResult sys_dup(Process& p, const SyscallRequest& req) { return dup_to(p, ARG(0), -1, false); }
SyscallResult sys_dup2(Process& p, const SyscallRequest& req) {
  if (ARG(0) == ARG(1))
    return p.fd(static_cast<std::int64_t>(ARG(0))) ? SyscallResult::ret(ARG(1)) : SyscallResult::error(EBADF);
  return dup_to(p, ARG(0), static_cast<std::int64_t>(ARG(1)), false);
}
SyscallResult sys_dup3(Process& p, const SyscallRequest& req) {
  if (ARG(0) == ARG(1) || (ARG(2) & ~std::uint64_t{O_CLOEXEC})) return SyscallResult::error(EINVAL);
  return dup_to(p, ARG(0), static_cast<std::int64_t>(ARG(1)), ARG(2) & O_CLOEXEC);
}

SyscallResult sys_fcntl(Process& p, const SyscallRequest& req) {
  auto* entry = p.files().get(static_cast<std::int64_t>(ARG(0)));
  if (!entry) return SyscallResult::error(EBADF);
  auto* e = entry->file.get();
  switch (ARG(1)) {
    case F_GETFD:
      return SyscallResult::ret(entry->cloexec ? FD_CLOEXEC : 0);
    case F_SETFD:
      entry->cloexec = ARG(2) & FD_CLOEXEC;
      return SyscallResult::ret(0);
    case F_GETFL: {
      if (e->device != vfs::Device::none) return SyscallResult::ret(e->device_access | e->status_flags);
      const int flags = ::fcntl(e->host.get(), F_GETFL);
      if (flags < 0 || !(e->shared || e->emulated_block))
        return SyscallResult::ret(host_result(flags) & ~O_CLOEXEC);
      return SyscallResult::ret((flags & ~(O_CLOEXEC | O_APPEND | O_NONBLOCK)) | e->status_flags);
    }
    case F_SETFL:
      if (e->shared || e->emulated_block || e->device != vfs::Device::none) {  // the guest's view only
        e->status_flags = static_cast<int>(ARG(2)) & (O_APPEND | O_NONBLOCK);
        return SyscallResult::ret(0);
      }
      return SyscallResult::ret(
          host_result(::fcntl(e->host.get(), F_SETFL, static_cast<int>(ARG(2)) & (O_APPEND | O_NONBLOCK))));
    case F_DUPFD:
    case F_DUPFD_CLOEXEC:
      if (ARG(2) >= p.files().soft_limit) return SyscallResult::error(EINVAL);
      return dup_to(p, ARG(0), -1, ARG(1) == F_DUPFD_CLOEXEC, static_cast<int>(ARG(2)));
    default:
      return SyscallResult::error(EINVAL);
  }
}

// close_range(first, last, flags): bounded by the fd table, whatever `last` says.
SyscallResult sys_close_range(Process& p, const SyscallRequest& req) {
  constexpr std::uint64_t kUnshare = 2, kCloexec = 4;
  if (ARG(2) & ~(kUnshare | kCloexec) || ARG(0) > ARG(1) || ARG(0) > 0xffffffffu)
    return SyscallResult::error(EINVAL);
  const std::uint64_t last = std::min<std::uint64_t>(ARG(1), kMaxFds - 1);
  for (std::uint64_t fd = ARG(0); fd <= last; ++fd) {
    if (ARG(2) & kCloexec) {
      if (auto* e = p.files().get(static_cast<std::int64_t>(fd))) e->cloexec = true;
    } else {
      (void)p.files().close(static_cast<std::int64_t>(fd));
    }
  }
  return SyscallResult::ret(0);
}

// pipe/pipe2: a host pipe the monitor owns, non-blocking on the host (see OpenFile).
SyscallResult sys_pipe2(Process& p, const SyscallRequest& req) {
  if (ARG(1) & ~std::uint64_t{O_CLOEXEC | O_NONBLOCK | O_DIRECT}) return SyscallResult::error(EINVAL);
  int ends[2];
  if (::pipe2(ends, O_CLOEXEC | O_NONBLOCK) != 0) return SyscallResult::error(errno);
  UniqueFd read_end(ends[0]), write_end(ends[1]);
  const bool cloexec = ARG(1) & O_CLOEXEC;
  const int flags = static_cast<int>(ARG(1)) & O_NONBLOCK;
  auto pipe_end = [&](UniqueFd fd, int mode) {
    Process::OpenFile f;
    f.host = std::move(fd);
    f.emulated_block = true;
    f.status_flags = flags | mode;
    return f;
  };
  const int r = TRY_GUEST(p.install_fd(pipe_end(std::move(read_end), 0), cloexec));
  auto w = p.install_fd(pipe_end(std::move(write_end), 0), cloexec);
  if (!w) {
    p.files().close(r);
    return SyscallResult::error(w.error());
  }
  const std::array<int, 2> guest{r, *w};
  if (auto ok = write_struct(p, ARG(0), guest); !ok) {
    p.files().close(r);
    p.files().close(*w);
    return SyscallResult::error(ok.error());
  }
  return SyscallResult::ret(0);
}
SyscallResult sys_pipe(Process& p, const SyscallRequest& req) {
  SyscallRequest with_flags = req;
  with_flags.args[1] = 0;
  return sys_pipe2(p, with_flags);
}

// flock: the host's lock on the host file description, which guest processes share as they share
// the description (fork, dup) and do not across two opens, as in Linux. A lock another holds is
// waited for as a retried call (made again whenever another task has run), never in the host's
// flock, which would stop every task. A /dev file has no host description: its locks always succeed.
SyscallResult sys_flock(Process& p, const SyscallRequest& req) {
  const auto* e = p.fd(static_cast<std::int64_t>(ARG(0)));
  if (!e) return SyscallResult::error(EBADF);
  const int op = static_cast<int>(ARG(1)), kind = op & ~LOCK_NB;
  if ((ARG(1) & ~std::uint64_t{LOCK_SH | LOCK_EX | LOCK_UN | LOCK_NB}) ||
      (kind != LOCK_SH && kind != LOCK_EX && kind != LOCK_UN))
    return SyscallResult::error(EINVAL);
  if (e->device != vfs::Device::none) return SyscallResult::ret(0);
  if (::flock(e->host.get(), kind | LOCK_NB) == 0) return SyscallResult::ret(0);
  if (errno != EWOULDBLOCK || (op & LOCK_NB)) return SyscallResult::error(errno);
  return {SyscallResult::Kind::block, 0, {}, {}, {}, {}};
}

SyscallResult sys_ioctl(Process& p, const SyscallRequest& req) {
  auto* entry = p.files().get(static_cast<std::int64_t>(ARG(0)));
  if (!entry) return SyscallResult::error(EBADF);
  // The requests Linux answers for any file before its driver (do_vfs_ioctl): libuv (node) sets
  // every stdio pipe non-blocking with FIONBIO, and an ENOTTY there ended node at its first
  // console.log.
  switch (ARG(1)) {
    case FIOCLEX:
    case FIONCLEX:
      entry->cloexec = ARG(1) == FIOCLEX;
      return SyscallResult::ret(0);
    case FIONBIO: {
      const int on = TRY_GUEST(read_struct<int>(p, ARG(2)));
      const SyscallResult flags = sys_fcntl(p, {SYS_fcntl, {ARG(0), F_GETFL}});
      if (flags.value < 0) return flags;
      const std::uint64_t next = on ? (flags.value | O_NONBLOCK) : (flags.value & ~std::int64_t{O_NONBLOCK});
      return sys_fcntl(p, {SYS_fcntl, {ARG(0), F_SETFL, next}});
    }
    default:
      break;
  }
  // A synthetic device has no host fd; none of them is a terminal (isatty(/dev/null) is ENOTTY)
  // or answers FIONREAD.
  if (entry->file->device != vfs::Device::none) return SyscallResult::error(ENOTTY);
  int fd = host_fd(p, ARG(0));
  if (fd < 0) return SyscallResult::error(EBADF);
  if (ARG(1) == FIONREAD) {  // what a read would get now: a regular file's rest, a pipe's or socket's bytes
    int available = 0;
    if (::ioctl(fd, FIONREAD, &available) != 0) return SyscallResult::error(errno);
    TRY_GUEST_VOID(write_struct(p, ARG(2), available));
    return SyscallResult::ret(0);
  }
  // Only the terminal queries programs make to decide how to format output.
  if (ARG(1) == TCGETS) {
    struct termios t;
    if (::ioctl(fd, TCGETS, &t) != 0) return SyscallResult::error(errno);
    TRY_GUEST_VOID(write_struct(p, ARG(2), t));
    return SyscallResult::ret(0);
  }
  if (ARG(1) == TIOCGWINSZ) {
    struct winsize w;
    if (::ioctl(fd, TIOCGWINSZ, &w) != 0) return SyscallResult::error(errno);
    TRY_GUEST_VOID(write_struct(p, ARG(2), w));
    return SyscallResult::ret(0);
  }
  return SyscallResult::error(ENOTTY);
}

// copy_file_range between two files of the root: the host's own call (a reflink or an in-kernel
// copy), as coreutils' cat and cp try first (its ENOSYS was a line on every cp's stderr).
SyscallResult sys_copy_file_range(Process& p, const SyscallRequest& req) {
  if (ARG(5) != 0) return SyscallResult::error(EINVAL);
  const Process::OpenFile* from = p.fd(static_cast<std::int64_t>(ARG(0)));
  const Process::OpenFile* to = p.fd(static_cast<std::int64_t>(ARG(2)));
  if (!from || !to) return SyscallResult::error(EBADF);
  // Only regular files: a /dev file or the invoker's stdio is not one (EINVAL, as Linux).
  if (from->device != vfs::Device::none || to->device != vfs::Device::none || from->shared || to->shared)
    return SyscallResult::error(EINVAL);
  const int in = host_fd(p, ARG(0)), out = host_fd(p, ARG(2));
  if (in < 0 || out < 0) return SyscallResult::error(EBADF);
  loff_t in_offset = 0, out_offset = 0;
  if (ARG(1)) in_offset = TRY_GUEST(read_struct<loff_t>(p, ARG(1)));
  if (ARG(3)) out_offset = TRY_GUEST(read_struct<loff_t>(p, ARG(3)));
  shared_pages_out(p, in);
  shared_pages_out(p, out);
  const long r = ::copy_file_range(in, ARG(1) ? &in_offset : nullptr, out, ARG(3) ? &out_offset : nullptr,
                                   std::min<std::uint64_t>(ARG(4), kMaxIo), 0);
  if (r < 0) return after_io(p, *to, true, r);
  if (r > 0) shared_pages_in(p, out);
  if (ARG(1)) TRY_GUEST_VOID(write_struct(p, ARG(1), in_offset));
  if (ARG(3)) TRY_GUEST_VOID(write_struct(p, ARG(3), out_offset));
  return SyscallResult::ret(r);
}

SyscallResult sys_sendfile(Process& p, const SyscallRequest& req) {
  int out = host_fd(p, ARG(0)), in = host_fd(p, ARG(1));
  if (out < 0 || in < 0) return SyscallResult::error(EBADF);
  // Into a pipe or socket: a full one blocks the guest (a "block" outcome), as write does; a
  // closed one is EPIPE and SIGPIPE.
  const Process::OpenFile& to = *p.fd(static_cast<std::int64_t>(ARG(0)));
  if (auto early = before_io(to, true)) return *early;
  const std::size_t count = std::min<std::uint64_t>(ARG(3), kMaxIo);
  shared_pages_out(p, in);
  shared_pages_out(p, out);
  off_t offset = 0;
  if (ARG(2) != 0) offset = TRY_GUEST(read_struct<off_t>(p, ARG(2)));
  const long r = ::sendfile(out, in, ARG(2) != 0 ? &offset : nullptr, count);
  if (r < 0) return after_io(p, to, true, r);
  if (r > 0) shared_pages_in(p, out);
  if (ARG(2) != 0) TRY_GUEST_VOID(write_struct(p, ARG(2), offset));
  return SyscallResult::ret(r);
}

}  // namespace spectrum::vm::syscalls
