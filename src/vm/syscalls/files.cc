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
#include <cerrno>
#include <climits>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <ctime>

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
    SyscallResult sig = signal_self(p, 1, SIGPIPE);
    if (sig.kind == SyscallResult::Kind::signal) return sig;
    return SyscallResult::error(EPIPE);
  }
  return SyscallResult::ret(host_result(r));
}

// ---- file descriptors and I/O ----

// A read the guest asked to be non-blocking on a shared stdio description: the host description's
// own flags stay as the invoker set them, so "would block" is decided by a poll first.
bool would_block(int fd) {
  pollfd pfd{fd, POLLIN, 0};
  return ::poll(&pfd, 1, 0) == 0;
}

SyscallResult sys_read_write(Process& p, const SyscallRequest& req, bool is_write, bool positional) {
  auto* e = p.fd(static_cast<std::int64_t>(ARG(0)));
  if (!e) return SyscallResult::error(EBADF);
  const int fd = e->host.get();
  if (positional && is_write && e->shared) return SyscallResult::error(ESPIPE);
  if (!is_write && e->shared && (e->status_flags & O_NONBLOCK) && would_block(fd))
    return SyscallResult::error(EAGAIN);
  const std::uint64_t length = std::min<std::uint64_t>(ARG(2), kMaxIo);
  if (length == 0) return SyscallResult::ret(0);
  auto iov = TRY_GUEST(p.guest_iovecs(ARG(1), length, is_write ? Access::read : Access::write));
  const int count = static_cast<int>(std::min<std::size_t>(iov.size(), IOV_MAX));
  long r = positional ? (is_write ? ::pwritev(fd, iov.data(), count, static_cast<off_t>(ARG(3)))
                                  : ::preadv(fd, iov.data(), count, static_cast<off_t>(ARG(3))))
                      : (is_write ? ::writev(fd, iov.data(), count) : ::readv(fd, iov.data(), count));
  return is_write ? write_result(p, r) : SyscallResult::ret(host_result(r));
}
SyscallResult sys_read(Process& p, const SyscallRequest& req) { return sys_read_write(p, req, false, false); }
SyscallResult sys_write(Process& p, const SyscallRequest& req) { return sys_read_write(p, req, true, false); }
SyscallResult sys_pread64(Process& p, const SyscallRequest& req) {
  return sys_read_write(p, req, false, true);
}
SyscallResult sys_pwrite64(Process& p, const SyscallRequest& req) {
  return sys_read_write(p, req, true, true);
}

SyscallResult sys_vector_io(Process& p, const SyscallRequest& req, bool is_write) {
  int fd = host_fd(p, ARG(0));
  if (fd < 0) return SyscallResult::error(EBADF);
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
  const int count = static_cast<int>(std::min<std::size_t>(host.size(), IOV_MAX));
  if (is_write) return write_result(p, ::writev(fd, host.data(), count));
  return SyscallResult::ret(host_result(::readv(fd, host.data(), count)));
}
SyscallResult sys_readv(Process& p, const SyscallRequest& req) { return sys_vector_io(p, req, false); }
SyscallResult sys_writev(Process& p, const SyscallRequest& req) { return sys_vector_io(p, req, true); }

SyscallResult sys_close(Process& p, const SyscallRequest& req) {
  if (!p.files().close(static_cast<std::int64_t>(ARG(0)))) return SyscallResult::error(EBADF);
  return SyscallResult::ret(0);
}

SyscallResult sys_lseek(Process& p, const SyscallRequest& req) {
  auto* e = p.fd(static_cast<std::int64_t>(ARG(0)));
  if (!e) return SyscallResult::error(EBADF);
  if (e->shared) return SyscallResult::error(ESPIPE);
  const int fd = e->host.get();
  return SyscallResult::ret(host_result(::lseek(fd, static_cast<off_t>(ARG(1)), static_cast<int>(ARG(2)))));
}

SyscallResult dup_to(Process& p, std::uint64_t old_fd, std::int64_t new_fd, bool cloexec) {
  auto* e = p.fd(static_cast<std::int64_t>(old_fd));
  if (!e) return SyscallResult::error(EBADF);
  UniqueFd copy(::fcntl(e->host.get(), F_DUPFD_CLOEXEC, 0));
  if (!copy) return SyscallResult::error(errno);
  Process::FdEntry entry{std::move(copy), e->path, e->directory, cloexec, e->shared, e->status_flags};
  if (new_fd < 0) return SyscallResult::ret(TRY_GUEST(p.install_fd(std::move(entry))));
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
  auto* e = p.fd(static_cast<std::int64_t>(ARG(0)));
  if (!e) return SyscallResult::error(EBADF);
  switch (ARG(1)) {
    case F_GETFD:
      return SyscallResult::ret(e->cloexec ? FD_CLOEXEC : 0);
    case F_SETFD:
      e->cloexec = ARG(2) & FD_CLOEXEC;
      return SyscallResult::ret(0);
    case F_GETFL: {
      const int flags = ::fcntl(e->host.get(), F_GETFL);
      if (flags < 0 || !e->shared) return SyscallResult::ret(host_result(flags) & ~O_CLOEXEC);
      return SyscallResult::ret((flags & ~(O_CLOEXEC | O_APPEND | O_NONBLOCK)) | e->status_flags);
    }
    case F_SETFL:
      if (e->shared) {  // the guest's view only: the invoker's description keeps its flags
        e->status_flags = static_cast<int>(ARG(2)) & (O_APPEND | O_NONBLOCK);
        return SyscallResult::ret(0);
      }
      return SyscallResult::ret(
          host_result(::fcntl(e->host.get(), F_SETFL, static_cast<int>(ARG(2)) & (O_APPEND | O_NONBLOCK))));
    case F_DUPFD:
    case F_DUPFD_CLOEXEC: {
      auto* src = e;
      UniqueFd copy(::fcntl(src->host.get(), F_DUPFD_CLOEXEC, 0));
      if (!copy) return SyscallResult::error(errno);
      if (ARG(2) >= kMaxFds) return SyscallResult::error(EINVAL);
      return SyscallResult::ret(
          TRY_GUEST(p.install_fd({std::move(copy), src->path, src->directory, ARG(1) == F_DUPFD_CLOEXEC,
                                  src->shared, src->status_flags},
                                 static_cast<int>(ARG(2)))));
    }
    default:
      return SyscallResult::error(EINVAL);
  }
}

SyscallResult sys_ioctl(Process& p, const SyscallRequest& req) {
  int fd = host_fd(p, ARG(0));
  if (fd < 0) return SyscallResult::error(EBADF);
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

SyscallResult sys_sendfile(Process& p, const SyscallRequest& req) {
  int out = host_fd(p, ARG(0)), in = host_fd(p, ARG(1));
  if (out < 0 || in < 0) return SyscallResult::error(EBADF);
  const std::size_t count = std::min<std::uint64_t>(ARG(3), kMaxIo);
  if (ARG(2) == 0) return SyscallResult::ret(host_result(::sendfile(out, in, nullptr, count)));
  off_t offset = TRY_GUEST(read_struct<off_t>(p, ARG(2)));
  long r = ::sendfile(out, in, &offset, count);
  if (r < 0) return SyscallResult::error(errno);
  TRY_GUEST_VOID(write_struct(p, ARG(2), offset));
  return SyscallResult::ret(r);
}

}  // namespace spectrum::vm::syscalls
