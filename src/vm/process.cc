#include "vm/process.h"

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

#include "vm/syscalls.h"

namespace spectrum::vm {

using x86::kPageMask;
using x86::kPageSize;
using namespace syscalls;

namespace {

// Lexical normalisation of an absolute guest path (the kernel still resolves it inside the root).
std::string normalize(const std::string& path) {
  std::vector<std::string> parts;
  std::size_t i = 0;
  while (i < path.size()) {
    std::size_t j = path.find('/', i);
    if (j == std::string::npos) j = path.size();
    std::string part = path.substr(i, j - i);
    if (part == "..") {
      if (!parts.empty()) parts.pop_back();
    } else if (!part.empty() && part != ".") {
      parts.push_back(part);
    }
    i = j + 1;
  }
  std::string out;
  for (const auto& p : parts) out += "/" + p;
  return out.empty() ? "/" : out;
}

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
static_assert(sizeof(::iovec) == 16);

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
  auto* e = p.fd(static_cast<std::int64_t>(ARG(0)));
  if (!e) return SyscallResult::error(EBADF);
  const int fd = e->host.get();
  if (!is_write && e->shared && (e->status_flags & O_NONBLOCK) && would_block(fd))
    return SyscallResult::error(EAGAIN);  // as read: the guest's own O_NONBLOCK on a shared stdin
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
  if (!p.fd(static_cast<std::int64_t>(ARG(0)))) return SyscallResult::error(EBADF);
  p.fds_[ARG(0)].reset();
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
  if (new_fd >= kMaxFds) return SyscallResult::error(EBADF);
  if (p.fds_.size() <= static_cast<std::size_t>(new_fd)) p.fds_.resize(new_fd + 1);
  p.fds_[new_fd] = std::move(entry);
  return SyscallResult::ret(new_fd);
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

// ---- paths ----

constexpr int kAllowedOpenFlags = O_ACCMODE | O_CREAT | O_EXCL | O_NOCTTY | O_TRUNC | O_APPEND | O_NONBLOCK |
                                  O_DSYNC | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC | O_SYNC | O_PATH |
                                  O_NOATIME;

SyscallResult open_common(Process& p, int dirfd, std::uint64_t path_ptr, std::uint64_t flags,
                          std::uint64_t mode) {
  auto path = TRY_GUEST(read_path(p, path_ptr));
  auto absolute = TRY_GUEST(p.guest_path(dirfd, path));
  int f = static_cast<int>(flags) & kAllowedOpenFlags;
  if (p.config_.read_only && writes(f)) return SyscallResult::error(EROFS);
  auto host = TRY_GUEST(p.open_in_root(absolute, f, f & O_CREAT ? (mode & 07777 & ~p.umask_) : 0));
  struct stat st;
  bool is_dir = ::fstat(host.get(), &st) == 0 && S_ISDIR(st.st_mode);
  return SyscallResult::ret(
      TRY_GUEST(p.install_fd({std::move(host), normalize(absolute), is_dir, (f & O_CLOEXEC) != 0})));
}
SyscallResult sys_open(Process& p, const SyscallRequest& req) {
  return open_common(p, AT_FDCWD, ARG(0), ARG(1), ARG(2));
}
SyscallResult sys_openat(Process& p, const SyscallRequest& req) {
  return open_common(p, static_cast<int>(ARG(0)), ARG(1), ARG(2), ARG(3));
}

// An O_PATH fd of a guest path (optionally not following a final symlink).
GuestResult<UniqueFd> path_fd(Process& p, int dirfd, std::uint64_t path_ptr, bool follow, bool allow_empty) {
  auto path = p.space_.read_string(path_ptr, kMaxPath - 1);
  if (!path) return std::unexpected(path.error());
  if (path->empty()) {
    if (!allow_empty) return std::unexpected(ENOENT);
    if (dirfd == AT_FDCWD) return p.open_in_root(p.config_.cwd, O_PATH, 0);
    auto* e = p.fd(dirfd);
    if (!e) return std::unexpected(EBADF);
    int copy = ::fcntl(e->host.get(), F_DUPFD_CLOEXEC, 0);
    if (copy < 0) return std::unexpected(errno);
    return UniqueFd(copy);
  }
  auto absolute = p.guest_path(dirfd, *path);
  if (!absolute) return std::unexpected(absolute.error());
  return p.open_in_root(*absolute, O_PATH | (follow ? 0 : O_NOFOLLOW), 0);
}

SyscallResult stat_common(Process& p, int dirfd, std::uint64_t path_ptr, std::uint64_t buf, int flags) {
  auto fd = TRY_GUEST(path_fd(p, dirfd, path_ptr, !(flags & AT_SYMLINK_NOFOLLOW), flags & AT_EMPTY_PATH));
  struct stat st;
  if (::fstat(fd.get(), &st) != 0) return SyscallResult::error(errno);
  TRY_GUEST_VOID(write_struct(p, buf, st));
  return SyscallResult::ret(0);
}
SyscallResult sys_stat(Process& p, const SyscallRequest& req) {
  return stat_common(p, AT_FDCWD, ARG(0), ARG(1), 0);
}
SyscallResult sys_lstat(Process& p, const SyscallRequest& req) {
  return stat_common(p, AT_FDCWD, ARG(0), ARG(1), AT_SYMLINK_NOFOLLOW);
}
SyscallResult sys_newfstatat(Process& p, const SyscallRequest& req) {
  return stat_common(p, static_cast<int>(ARG(0)), ARG(1), ARG(2), static_cast<int>(ARG(3)));
}
SyscallResult sys_fstat(Process& p, const SyscallRequest& req) {
  int fd = host_fd(p, ARG(0));
  if (fd < 0) return SyscallResult::error(EBADF);
  struct stat st;
  if (::fstat(fd, &st) != 0) return SyscallResult::error(errno);
  TRY_GUEST_VOID(write_struct(p, ARG(1), st));
  return SyscallResult::ret(0);
}
SyscallResult sys_statx(Process& p, const SyscallRequest& req) {
  const int flags = static_cast<int>(ARG(2));
  auto fd = TRY_GUEST(
      path_fd(p, static_cast<int>(ARG(0)), ARG(1), !(flags & AT_SYMLINK_NOFOLLOW), flags & AT_EMPTY_PATH));
  struct statx st;
  if (::statx(fd.get(), "", AT_EMPTY_PATH | (flags & AT_STATX_SYNC_TYPE), static_cast<unsigned>(ARG(3)),
              &st) != 0)
    return SyscallResult::error(errno);
  TRY_GUEST_VOID(write_struct(p, ARG(4), st));
  return SyscallResult::ret(0);
}
SyscallResult sys_fstatfs(Process& p, const SyscallRequest& req) {
  int fd = host_fd(p, ARG(0));
  if (fd < 0) return SyscallResult::error(EBADF);
  struct statfs st;
  if (::fstatfs(fd, &st) != 0) return SyscallResult::error(errno);
  TRY_GUEST_VOID(write_struct(p, ARG(1), st));
  return SyscallResult::ret(0);
}

SyscallResult readlink_common(Process& p, int dirfd, std::uint64_t path_ptr, std::uint64_t buf,
                              std::uint64_t size) {
  if (static_cast<std::int64_t>(size) <= 0) return SyscallResult::error(EINVAL);
  // The one /proc link programs rely on (busybox, to find itself); the guest has no /proc.
  if (auto path = p.space_.read_string(path_ptr, kMaxPath - 1);
      path && *path == "/proc/self/exe" && !p.config_.executable.empty()) {
    const std::string& exe = p.config_.executable;
    const std::size_t n = std::min<std::size_t>(exe.size(), size);
    TRY_GUEST_VOID(p.space_.write(buf, {reinterpret_cast<const std::uint8_t*>(exe.data()), n}));
    return SyscallResult::ret(static_cast<std::int64_t>(n));
  }
  auto fd = TRY_GUEST(path_fd(p, dirfd, path_ptr, false, false));
  std::string target(std::min<std::uint64_t>(size, kMaxPath), '\0');
  long n = ::readlinkat(fd.get(), "", target.data(), target.size());
  if (n < 0) return SyscallResult::error(errno);
  TRY_GUEST_VOID(p.space_.write(
      buf, {reinterpret_cast<const std::uint8_t*>(target.data()), static_cast<std::size_t>(n)}));
  return SyscallResult::ret(n);
}
SyscallResult sys_readlink(Process& p, const SyscallRequest& req) {
  return readlink_common(p, AT_FDCWD, ARG(0), ARG(1), ARG(2));
}
SyscallResult sys_readlinkat(Process& p, const SyscallRequest& req) {
  return readlink_common(p, static_cast<int>(ARG(0)), ARG(1), ARG(2), ARG(3));
}

SyscallResult access_common(Process& p, int dirfd, std::uint64_t path_ptr, std::uint64_t mode, int flags) {
  auto fd = TRY_GUEST(path_fd(p, dirfd, path_ptr, !(flags & AT_SYMLINK_NOFOLLOW), flags & AT_EMPTY_PATH));
  if ((mode & W_OK) && p.config_.read_only) return SyscallResult::error(EROFS);
  return SyscallResult::ret(
      host_result(::syscall(SYS_faccessat2, fd.get(), "", static_cast<int>(mode), AT_EMPTY_PATH)));
}
SyscallResult sys_access(Process& p, const SyscallRequest& req) {
  return access_common(p, AT_FDCWD, ARG(0), ARG(1), 0);
}
SyscallResult sys_faccessat(Process& p, const SyscallRequest& req) {
  return access_common(p, static_cast<int>(ARG(0)), ARG(1), ARG(2), 0);
}
SyscallResult sys_faccessat2(Process& p, const SyscallRequest& req) {
  return access_common(p, static_cast<int>(ARG(0)), ARG(1), ARG(2), static_cast<int>(ARG(3)));
}

SyscallResult sys_getdents64(Process& p, const SyscallRequest& req) {
  int fd = host_fd(p, ARG(0));
  if (fd < 0) return SyscallResult::error(EBADF);
  std::vector<std::uint8_t> buffer(std::min<std::uint64_t>(ARG(2), 1 << 16));
  long n = ::syscall(SYS_getdents64, fd, buffer.data(), buffer.size());
  if (n < 0) return SyscallResult::error(errno);
  TRY_GUEST_VOID(p.space_.write(ARG(1), {buffer.data(), static_cast<std::size_t>(n)}));
  return SyscallResult::ret(n);
}

SyscallResult sys_getcwd(Process& p, const SyscallRequest& req) {
  const std::string& cwd = p.config_.cwd;
  if (ARG(1) < cwd.size() + 1) return SyscallResult::error(ERANGE);
  TRY_GUEST_VOID(
      p.space_.write(ARG(0), {reinterpret_cast<const std::uint8_t*>(cwd.c_str()), cwd.size() + 1}));
  return SyscallResult::ret(static_cast<std::int64_t>(cwd.size() + 1));
}
SyscallResult sys_chdir(Process& p, const SyscallRequest& req) {
  auto path = TRY_GUEST(read_path(p, ARG(0)));
  auto absolute = TRY_GUEST(p.guest_path(AT_FDCWD, path));
  TRY_GUEST(p.open_in_root(absolute, O_PATH | O_DIRECTORY, 0));
  p.config_.cwd = normalize(absolute);
  return SyscallResult::ret(0);
}
SyscallResult sys_fchdir(Process& p, const SyscallRequest& req) {
  auto* e = p.fd(static_cast<std::int64_t>(ARG(0)));
  if (!e) return SyscallResult::error(EBADF);
  if (!e->directory) return SyscallResult::error(ENOTDIR);
  p.config_.cwd = e->path;
  return SyscallResult::ret(0);
}

// Calls that change a directory entry: resolve the parent inside the root, act on the last name.
struct ParentAndName {
  UniqueFd parent;
  std::string name;
};
GuestResult<ParentAndName> parent_of(Process& p, int dirfd, std::uint64_t path_ptr) {
  if (p.config_.read_only) return std::unexpected(EROFS);
  auto path = read_path(p, path_ptr);
  if (!path) return std::unexpected(path.error());
  auto absolute = p.guest_path(dirfd, *path);
  if (!absolute) return std::unexpected(absolute.error());
  std::string full = *absolute;
  while (full.size() > 1 && full.back() == '/') full.pop_back();
  const auto slash = full.rfind('/');
  std::string name = full.substr(slash + 1);
  if (name.empty() || name == "." || name == "..") return std::unexpected(EINVAL);
  auto parent = p.open_in_root(slash == 0 ? "/" : full.substr(0, slash), O_PATH | O_DIRECTORY, 0);
  if (!parent) return std::unexpected(parent.error());
  return ParentAndName{std::move(*parent), name};
}
SyscallResult mkdir_common(Process& p, int dirfd, std::uint64_t path, std::uint64_t mode) {
  auto target = TRY_GUEST(parent_of(p, dirfd, path));
  return SyscallResult::ret(host_result(
      ::mkdirat(target.parent.get(), target.name.c_str(), static_cast<mode_t>(mode & 07777 & ~p.umask_))));
}
SyscallResult sys_mkdir(Process& p, const SyscallRequest& req) {
  return mkdir_common(p, AT_FDCWD, ARG(0), ARG(1));
}
SyscallResult sys_mkdirat(Process& p, const SyscallRequest& req) {
  return mkdir_common(p, static_cast<int>(ARG(0)), ARG(1), ARG(2));
}
SyscallResult unlink_common(Process& p, int dirfd, std::uint64_t path, int flags) {
  auto target = TRY_GUEST(parent_of(p, dirfd, path));
  return SyscallResult::ret(
      host_result(::unlinkat(target.parent.get(), target.name.c_str(), flags & AT_REMOVEDIR)));
}
SyscallResult sys_unlink(Process& p, const SyscallRequest& req) {
  return unlink_common(p, AT_FDCWD, ARG(0), 0);
}
SyscallResult sys_rmdir(Process& p, const SyscallRequest& req) {
  return unlink_common(p, AT_FDCWD, ARG(0), AT_REMOVEDIR);
}
SyscallResult sys_unlinkat(Process& p, const SyscallRequest& req) {
  return unlink_common(p, static_cast<int>(ARG(0)), ARG(1), static_cast<int>(ARG(2)));
}
SyscallResult rename_common(Process& p, int old_dir, std::uint64_t old_path, int new_dir,
                            std::uint64_t new_path, unsigned flags) {
  auto from = TRY_GUEST(parent_of(p, old_dir, old_path));
  auto to = TRY_GUEST(parent_of(p, new_dir, new_path));
  return SyscallResult::ret(host_result(
      ::renameat2(from.parent.get(), from.name.c_str(), to.parent.get(), to.name.c_str(), flags)));
}
SyscallResult sys_rename(Process& p, const SyscallRequest& req) {
  return rename_common(p, AT_FDCWD, ARG(0), AT_FDCWD, ARG(1), 0);
}
SyscallResult sys_renameat(Process& p, const SyscallRequest& req) {
  return rename_common(p, static_cast<int>(ARG(0)), ARG(1), static_cast<int>(ARG(2)), ARG(3), 0);
}
SyscallResult sys_renameat2(Process& p, const SyscallRequest& req) {
  return rename_common(p, static_cast<int>(ARG(0)), ARG(1), static_cast<int>(ARG(2)), ARG(3),
                       static_cast<unsigned>(ARG(4)));
}
SyscallResult sys_ftruncate(Process& p, const SyscallRequest& req) {
  auto* e = p.fd(static_cast<std::int64_t>(ARG(0)));
  if (!e) return SyscallResult::error(EBADF);
  if (e->shared) return SyscallResult::error(EINVAL);  // as for a pipe or terminal
  const int fd = e->host.get();
  return SyscallResult::ret(host_result(::ftruncate(fd, static_cast<off_t>(ARG(1)))));
}
SyscallResult sys_fsync(Process& p, const SyscallRequest& req) {
  int fd = host_fd(p, ARG(0));
  return fd < 0 ? SyscallResult::error(EBADF) : SyscallResult::ret(host_result(::fsync(fd)));
}
SyscallResult sys_umask(Process& p, const SyscallRequest& req) {
  unsigned old = p.umask_;
  p.umask_ = ARG(0) & 0777;
  return SyscallResult::ret(old);
}

// ---- refused with a reason ----

SyscallResult sys_fork_family(Process& p, const SyscallRequest& req) {
  if (req.number == SYS_clone && (ARG(0) & CLONE_VM)) {
    p.refuse_once(req.number, "clone with CLONE_VM (threads): the vm tier runs one thread on one vCPU");
    return SyscallResult::error(ENOSYS);
  }
  const char* what = req.number == SYS_fork     ? "fork"
                     : req.number == SYS_vfork  ? "vfork"
                     : req.number == SYS_clone3 ? "clone3"
                                                : "clone without CLONE_VM";
  p.refuse_once(req.number, std::string(what) + ": processes that fork are not supported by the vm tier yet");
  return SyscallResult::error(ENOSYS);
}

SyscallResult sys_no_rseq(Process&, const SyscallRequest&) { return SyscallResult::error(ENOSYS); }

struct Row {
  long number;
  Handler handler;
};
constexpr Row kTable[] = {
    {SYS_read, sys_read},
    {SYS_write, sys_write},
    {SYS_pread64, sys_pread64},
    {SYS_pwrite64, sys_pwrite64},
    {SYS_readv, sys_readv},
    {SYS_writev, sys_writev},
    {SYS_close, sys_close},
    {SYS_lseek, sys_lseek},
    {SYS_dup, sys_dup},
    {SYS_dup2, sys_dup2},
    {SYS_dup3, sys_dup3},
    {SYS_fcntl, sys_fcntl},
    {SYS_ioctl, sys_ioctl},
    {SYS_sendfile, sys_sendfile},
    {SYS_open, sys_open},
    {SYS_openat, sys_openat},
    {SYS_stat, sys_stat},
    {SYS_lstat, sys_lstat},
    {SYS_fstat, sys_fstat},
    {SYS_newfstatat, sys_newfstatat},
    {SYS_statx, sys_statx},
    {SYS_fstatfs, sys_fstatfs},
    {SYS_readlink, sys_readlink},
    {SYS_readlinkat, sys_readlinkat},
    {SYS_access, sys_access},
    {SYS_faccessat, sys_faccessat},
    {SYS_faccessat2, sys_faccessat2},
    {SYS_getdents64, sys_getdents64},
    {SYS_getcwd, sys_getcwd},
    {SYS_chdir, sys_chdir},
    {SYS_fchdir, sys_fchdir},
    {SYS_mkdir, sys_mkdir},
    {SYS_mkdirat, sys_mkdirat},
    {SYS_unlink, sys_unlink},
    {SYS_rmdir, sys_rmdir},
    {SYS_unlinkat, sys_unlinkat},
    {SYS_rename, sys_rename},
    {SYS_renameat, sys_renameat},
    {SYS_renameat2, sys_renameat2},
    {SYS_ftruncate, sys_ftruncate},
    {SYS_fsync, sys_fsync},
    {SYS_fdatasync, sys_fsync},
    {SYS_umask, sys_umask},
    {SYS_fadvise64, sys_zero},
    {SYS_brk, sys_brk},
    {SYS_mmap, sys_mmap},
    {SYS_munmap, sys_munmap},
    {SYS_mprotect, sys_mprotect},
    {SYS_madvise, sys_madvise},
    {SYS_mremap, sys_mremap},
    {SYS_arch_prctl, sys_arch_prctl},
    {SYS_prctl, sys_prctl},
    {SYS_set_tid_address, sys_one},
    {SYS_set_robust_list, sys_zero},
    {SYS_futex, sys_futex},
    {SYS_rt_sigaction, sys_rt_sigaction},
    {SYS_rt_sigprocmask, sys_rt_sigprocmask},
    {SYS_sigaltstack, sys_zero},
    {SYS_kill, sys_kill},
    {SYS_tkill, sys_tkill},
    {SYS_tgkill, sys_tgkill},
    {SYS_getpid, sys_one},
    {SYS_gettid, sys_one},
    {SYS_getppid, sys_zero},
    {SYS_getuid, sys_zero},
    {SYS_geteuid, sys_zero},
    {SYS_getgid, sys_zero},
    {SYS_getegid, sys_zero},
    {SYS_getpgrp, sys_one},
    {SYS_getpgid, sys_one},
    {SYS_getsid, sys_one},
    {SYS_setpgid, sys_zero},
    {SYS_sched_yield, sys_zero},
    {SYS_exit, sys_exit},
    {SYS_exit_group, sys_exit},
    {SYS_uname, sys_uname},
    {SYS_getrlimit, sys_getrlimit},
    {SYS_prlimit64, sys_prlimit64},
    {SYS_sched_getaffinity, sys_sched_getaffinity},
    {SYS_sysinfo, sys_sysinfo},
    {SYS_clock_gettime, sys_clock_gettime},
    {SYS_clock_getres, sys_clock_getres},
    {SYS_gettimeofday, sys_gettimeofday},
    {SYS_time, sys_time},
    {SYS_nanosleep, sys_nanosleep},
    {SYS_clock_nanosleep, sys_clock_nanosleep},
    {SYS_getrandom, sys_getrandom},
    {SYS_fork, sys_fork_family},
    {SYS_vfork, sys_fork_family},
    {SYS_clone, sys_fork_family},
    {SYS_clone3, sys_fork_family},
    // Answered ENOSYS on purpose, without a log line: glibc probes it at every start and copes.
    {SYS_rseq, sys_no_rseq},
};

constexpr std::size_t kTableSize = 512;
constexpr std::array<Handler, kTableSize> make_dispatch() {
  std::array<Handler, kTableSize> table{};
  for (const Row& row : kTable) table[static_cast<std::size_t>(row.number)] = row.handler;
  return table;
}
constexpr std::array<Handler, kTableSize> kDispatch = make_dispatch();

}  // namespace

Process::Process(AddressSpace& space, GuestMemory& memory, ProcessConfig config)
    : space_(space), memory_(memory), config_(std::move(config)) {
  fds_.resize(3);
  auto stdio = [&](UniqueFd& fd, int index) {
    if (!fd) return;
    const int flags = ::fcntl(fd.get(), F_GETFL);
    fds_[index] =
        FdEntry{std::move(fd), {}, false, false, true, flags < 0 ? 0 : flags & (O_APPEND | O_NONBLOCK)};
  };
  stdio(config_.stdin_fd, 0);
  stdio(config_.stdout_fd, 1);
  stdio(config_.stderr_fd, 2);
  config_.cwd = normalize(config_.cwd.empty() ? "/" : config_.cwd);
  const std::string base = config_.executable.substr(config_.executable.rfind('/') + 1);
  std::memcpy(thread_name_.data(), base.data(), std::min<std::size_t>(base.size(), 15));
}

void Process::log(const std::string& line) const {
  if (config_.log)
    config_.log(line);
  else
    std::fprintf(stderr, "%s\n", line.c_str());
}

void Process::refuse_once(std::uint64_t number, const std::string& why) {
  // Bounded whatever the guest calls: each number below 1024 once, all higher ones once together,
  // and at most kMaxRefusalLines lines in all (a flood of refusals cannot flood the log).
  constexpr unsigned kMaxRefusalLines = 32;
  if (number < refused_logged_.size()) {
    if (refused_logged_.test(number)) return;
    refused_logged_.set(number);
  } else {
    if (refused_high_logged_) return;
    refused_high_logged_ = true;
  }
  if (refused_lines_ > kMaxRefusalLines) return;
  if (++refused_lines_ > kMaxRefusalLines) {
    log("spectrum: vm: more refused syscalls; not logged any more in this run");
    return;
  }
  log("spectrum: vm: refused " + syscall_name(number) + " (syscall " + std::to_string(number) +
      ") with ENOSYS: " + why +
      (number >= refused_logged_.size() ? " (logged once for all numbers >= 1024)" : ""));
}

std::string Process::syscall_name(std::uint64_t number) {
  if (number < 1024) {
    if (char* name = seccomp_syscall_resolve_num_arch(SCMP_ARCH_X86_64, static_cast<int>(number))) {
      std::string out(name);
      std::free(name);
      return out;
    }
  }
  return "syscall_" + std::to_string(number);
}

bool Process::implemented(std::uint64_t number) { return number < kTableSize && kDispatch[number]; }

SyscallResult Process::handle(const SyscallRequest& request) {
  if (request.number < kTableSize) {
    if (Handler h = kDispatch[request.number]) return h(*this, request);
  }
  refuse_once(request.number, "not implemented by the vm tier");
  return SyscallResult::error(ENOSYS);
}

Process::FdEntry* Process::fd(std::int64_t guest_fd) {
  if (guest_fd < 0 || static_cast<std::size_t>(guest_fd) >= fds_.size() || !fds_[guest_fd]) return nullptr;
  return &*fds_[guest_fd];
}

GuestResult<int> Process::install_fd(FdEntry entry, int lowest) {
  for (std::size_t i = static_cast<std::size_t>(lowest); i < kMaxFds; ++i) {
    if (i >= fds_.size()) fds_.resize(i + 1);
    if (!fds_[i]) {
      fds_[i] = std::move(entry);
      return static_cast<int>(i);
    }
  }
  return std::unexpected(EMFILE);
}

GuestResult<std::string> Process::guest_path(int dirfd, const std::string& path) const {
  if (path.empty()) return std::unexpected(ENOENT);
  if (path.size() >= kMaxPath) return std::unexpected(ENAMETOOLONG);
  if (path.front() == '/') return path;
  std::string base;
  if (dirfd == AT_FDCWD) {
    base = config_.cwd;
  } else {
    if (dirfd < 0 || static_cast<std::size_t>(dirfd) >= fds_.size() || !fds_[dirfd])
      return std::unexpected(EBADF);
    if (!fds_[dirfd]->directory) return std::unexpected(ENOTDIR);
    base = fds_[dirfd]->path;
  }
  return base + (base.back() == '/' ? "" : "/") + path;
}

GuestResult<UniqueFd> Process::open_in_root(const std::string& absolute_path, int flags,
                                            unsigned mode) const {
  struct open_how how {};
  how.flags = static_cast<std::uint64_t>(flags | O_CLOEXEC);
  how.mode = (flags & O_CREAT) ? mode : 0;
  // The kernel resolves the path as if the root filesystem were "/": "..", absolute symlinks and
  // mounts never lead out, and /proc's magic links (/proc/self/root, /proc/*/fd/*) are refused.
  how.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS;
  // EAGAIN: a mount or rename anywhere on the host raced a ".." of the resolution (openat2(2)
  // asks the caller to retry); bounded, so the guest sees EAGAIN only on a host that never settles.
  long fd = -1;
  for (int attempt = 0; attempt < 16; ++attempt) {
    fd = ::syscall(SYS_openat2, config_.root.get(), absolute_path.c_str(), &how, sizeof how);
    if (fd >= 0 || errno != EAGAIN) break;
  }
  if (fd < 0) return std::unexpected(errno);
  return UniqueFd(static_cast<int>(fd));
}

GuestResult<std::vector<::iovec>> Process::guest_iovecs(std::uint64_t vaddr, std::uint64_t length,
                                                        Access access) const {
  std::vector<::iovec> out;
  if (length > AddressSpace::kUserEnd || vaddr > AddressSpace::kUserEnd - length)
    return std::unexpected(EFAULT);
  while (length > 0) {
    auto gpa = space_.translate(vaddr, access);
    if (!gpa) return std::unexpected(gpa.error());
    const std::uint64_t chunk = std::min<std::uint64_t>(length, kPageSize - (vaddr & kPageMask));
    std::uint8_t* host = memory_.at(*gpa, chunk);
    if (!host) return std::unexpected(EFAULT);
    if (!out.empty() && static_cast<std::uint8_t*>(out.back().iov_base) + out.back().iov_len == host)
      out.back().iov_len += chunk;
    else
      out.push_back({host, chunk});
    vaddr += chunk;
    length -= chunk;
  }
  return out;
}

}  // namespace spectrum::vm
