// Paths: open, stat, readlink, access, directories, the working directory, creating, removing and
// renaming entries. Every path is the guest's, resolved inside the root filesystem (fs/root.h).
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
#include <sys/sysmacros.h>
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

#include "vm/fs/devices.h"
#include "vm/fs/root.h"
#include "vm/kernel/kernel.h"
#include "vm/syscalls/syscalls.h"

namespace spectrum::vm::syscalls {

using vfs::normalize;

constexpr int kAllowedOpenFlags = O_ACCMODE | O_CREAT | O_EXCL | O_NOCTTY | O_TRUNC | O_APPEND | O_NONBLOCK |
                                  O_DSYNC | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC | O_SYNC | O_PATH |
                                  O_NOATIME;

// ETXTBSY when `absolute` is the program a live task runs (checked before an open that could
// truncate it). A path that does not resolve is left to the open itself.
GuestResult<void> not_running(Process& p, const std::string& absolute, bool follow) {
  if (!p.kernel()) return {};
  auto fd = p.open_in_root(absolute, O_PATH | (follow ? 0 : O_NOFOLLOW), 0);
  struct stat st;
  if (!fd || ::fstat(fd->get(), &st) != 0 || !S_ISREG(st.st_mode)) return {};
  if (p.kernel()->running_executable(st.st_dev, st.st_ino)) return std::unexpected(ETXTBSY);
  return {};
}

// /dev/pts/N (vfs::pts_index): a new host fd of that terminal where this process holds it.
GuestResult<UniqueFd> held_terminal(Process& p, unsigned index) {
  auto& files = p.files();
  for (std::size_t fd = 0; fd < files.size(); ++fd) {
    const kernel::FdEntry* e = files.get(static_cast<std::int64_t>(fd));
    struct stat st;
    if (!e || !e->file->host || ::fstat(e->file->host.get(), &st) != 0 || vfs::pts_index(st) != index)
      continue;
    const int copy = ::fcntl(e->file->host.get(), F_DUPFD_CLOEXEC, 0);
    if (copy < 0) return std::unexpected(errno);
    return UniqueFd(copy);
  }
  return std::unexpected(ENOENT);
}

SyscallResult open_common(Process& p, int dirfd, std::uint64_t path_ptr, std::uint64_t flags,
                          std::uint64_t mode) {
  auto path = TRY_GUEST(read_path(p, path_ptr));
  auto absolute = TRY_GUEST(p.guest_path(dirfd, path));
  int f = static_cast<int>(flags) & kAllowedOpenFlags;
  auto resolved = TRY_GUEST(resolve_proc(p, absolute, !(f & O_NOFOLLOW)));
  if (resolved.node) return open_proc(p, *resolved.node, f);
  absolute = std::move(resolved.path);
  const std::string normal = normalize(absolute);
  // One descriptor of any kind: its host fd (none for a synthetic device), path and flags.
  auto install = [&](Process::OpenFile file) -> SyscallResult {
    file.path = normal;
    file.status_flags = f & (O_APPEND | O_NONBLOCK);
    return SyscallResult::ret(TRY_GUEST(p.install_fd(std::move(file), (f & O_CLOEXEC) != 0)));
  };
  if (auto device = vfs::device_at(normal)) {
    if (f & O_DIRECTORY) return SyscallResult::error(ENOTDIR);
    Process::OpenFile file;
    file.device = *device;
    file.device_access = f & O_ACCMODE;
    return install(std::move(file));
  }
  if (vfs::below_device(normal)) return SyscallResult::error(ENOTDIR);
  if (const auto pts = vfs::pts_index(normal)) {
    if (f & O_DIRECTORY) return SyscallResult::error(ENOTDIR);
    // The invoker's terminal, shared as the stdio it came as: read, written, not changed.
    Process::OpenFile file;
    file.host = TRY_GUEST(held_terminal(p, *pts));
    file.shared = true;
    return install(std::move(file));
  }
  if ((f & O_ACCMODE) != O_RDONLY) TRY_GUEST_VOID(not_running(p, absolute, !(f & O_NOFOLLOW)));
  if (p.fs().read_only && writes(f)) return SyscallResult::error(EROFS);
  auto host = TRY_GUEST(p.open_in_root(absolute, f, f & O_CREAT ? (mode & 07777 & ~p.fs().umask) : 0));
  struct stat st;
  Process::OpenFile file;
  file.directory = ::fstat(host.get(), &st) == 0 && S_ISDIR(st.st_mode);
  file.host = std::move(host);
  return install(std::move(file));
}
SyscallResult sys_open(Process& p, const SyscallRequest& req) {
  return open_common(p, AT_FDCWD, ARG(0), ARG(1), ARG(2));
}
SyscallResult sys_openat(Process& p, const SyscallRequest& req) {
  return open_common(p, static_cast<int>(ARG(0)), ARG(1), ARG(2), ARG(3));
}

// What a guest path names: a /proc node, a synthetic device, or an O_PATH fd inside the root
// (optionally not following a final symlink).
struct PathTarget {
  std::optional<vfs::ProcNode> node;
  std::optional<vfs::Device> device;
  UniqueFd fd;
  bool terminal = false;  // fd is the invoker's terminal (/dev/pts/N): to stat, never to change
};
GuestResult<PathTarget> path_target(Process& p, int dirfd, std::uint64_t path_ptr, bool follow,
                                    bool allow_empty) {
  auto path = p.space().read_string(path_ptr, kMaxPath - 1);
  if (!path) return std::unexpected(path.error());
  PathTarget out;
  if (path->empty()) {
    if (!allow_empty) return std::unexpected(ENOENT);
    if (dirfd == AT_FDCWD) {
      auto resolved = resolve_proc(p, p.fs().cwd, true);
      if (!resolved) return std::unexpected(resolved.error());
      if (resolved->node) return PathTarget{std::move(resolved->node), {}, {}};
      auto fd = p.open_in_root(resolved->path, O_PATH, 0);
      if (!fd) return std::unexpected(fd.error());
      out.fd = std::move(*fd);
      return out;
    }
    auto* e = p.fd(dirfd);
    if (!e) return std::unexpected(EBADF);
    if (e->device != vfs::Device::none) {
      out.device = e->device;
      return out;
    }
    if (e->proc_directory) {
      auto resolved = resolve_proc(p, e->path, true);
      if (!resolved) return std::unexpected(resolved.error());
      if (resolved->node) return PathTarget{std::move(resolved->node), {}, {}};
    }
    int copy = ::fcntl(e->host.get(), F_DUPFD_CLOEXEC, 0);
    if (copy < 0) return std::unexpected(errno);
    out.fd = UniqueFd(copy);
    return out;
  }
  auto absolute = p.guest_path(dirfd, *path);
  if (!absolute) return std::unexpected(absolute.error());
  auto resolved = resolve_proc(p, *absolute, follow);
  if (!resolved) return std::unexpected(resolved.error());
  if (resolved->node) return PathTarget{std::move(resolved->node), {}, {}};
  const std::string normal = normalize(resolved->path);
  if (auto device = vfs::device_at(normal)) {
    out.device = device;
    return out;
  }
  if (const auto pts = vfs::pts_index(normal)) {
    auto terminal = held_terminal(p, *pts);
    if (!terminal) return std::unexpected(terminal.error());
    out.fd = std::move(*terminal);
    out.terminal = true;
    return out;
  }
  auto fd = p.open_in_root(resolved->path, O_PATH | (follow ? 0 : O_NOFOLLOW), 0);
  if (!fd) return std::unexpected(fd.error());
  out.fd = std::move(*fd);
  return out;
}
// An O_PATH fd of a guest path inside the root: a /proc entry, a synthetic device or the
// invoker's terminal is not one the guest may change (EACCES).
GuestResult<UniqueFd> path_fd(Process& p, int dirfd, std::uint64_t path_ptr, bool follow, bool allow_empty) {
  auto target = path_target(p, dirfd, path_ptr, follow, allow_empty);
  if (!target) return std::unexpected(target.error());
  if (target->node || target->device || target->terminal) return std::unexpected(EACCES);
  return std::move(target->fd);
}
// stat of what a guest path names.
GuestResult<struct stat> stat_target(Process& p, int dirfd, std::uint64_t path_ptr, bool follow,
                                     bool allow_empty) {
  auto target = path_target(p, dirfd, path_ptr, follow, allow_empty);
  if (!target) return std::unexpected(target.error());
  if (target->node) return stat_proc(p, *target->node);
  if (target->device) return vfs::device_stat(*target->device);
  struct stat st;
  if (::fstat(target->fd.get(), &st) != 0) return std::unexpected(errno);
  return st;
}

SyscallResult stat_common(Process& p, int dirfd, std::uint64_t path_ptr, std::uint64_t buf, int flags) {
  // (glibc's fstat is newfstatat(fd, "", AT_EMPTY_PATH): path_target serves a synthetic device's
  // and a /proc directory's fd, which have no host fd to stat.)
  auto st = TRY_GUEST(stat_target(p, dirfd, path_ptr, !(flags & AT_SYMLINK_NOFOLLOW), flags & AT_EMPTY_PATH));
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
  if (auto* e = p.fd(static_cast<std::int64_t>(ARG(0))); e && e->device != vfs::Device::none) {
    TRY_GUEST_VOID(write_struct(p, ARG(1), vfs::device_stat(e->device)));
    return SyscallResult::ret(0);
  }
  if (auto* e = p.fd(static_cast<std::int64_t>(ARG(0))); e && e->proc_directory) {
    TRY_GUEST_VOID(write_struct(p, ARG(1), proc_directory_stat(*e)));
    return SyscallResult::ret(0);
  }
  int fd = host_fd(p, ARG(0));
  if (fd < 0) return SyscallResult::error(EBADF);
  struct stat st;
  if (::fstat(fd, &st) != 0) return SyscallResult::error(errno);
  TRY_GUEST_VOID(write_struct(p, ARG(1), st));
  return SyscallResult::ret(0);
}
SyscallResult sys_statx(Process& p, const SyscallRequest& req) {
  const int flags = static_cast<int>(ARG(2));
  auto target = TRY_GUEST(path_target(p, static_cast<int>(ARG(0)), ARG(1), !(flags & AT_SYMLINK_NOFOLLOW),
                                      flags & AT_EMPTY_PATH));
  if (target.node || target.device) {
    // What statx's basic fields say of a synthetic entry, from its stat.
    const struct stat s =
        target.node ? TRY_GUEST(stat_proc(p, *target.node)) : vfs::device_stat(*target.device);
    struct statx st {};
    st.stx_mask = STATX_BASIC_STATS;
    st.stx_blksize = static_cast<std::uint32_t>(s.st_blksize);
    st.stx_nlink = static_cast<std::uint32_t>(s.st_nlink);
    st.stx_mode = static_cast<std::uint16_t>(s.st_mode);
    st.stx_ino = s.st_ino;
    st.stx_size = static_cast<std::uint64_t>(s.st_size);
    st.stx_rdev_major = major(s.st_rdev), st.stx_rdev_minor = minor(s.st_rdev);
    st.stx_dev_major = major(s.st_dev), st.stx_dev_minor = minor(s.st_dev);
    TRY_GUEST_VOID(write_struct(p, ARG(4), st));
    return SyscallResult::ret(0);
  }
  UniqueFd fd = std::move(target.fd);
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

SyscallResult sys_statfs(Process& p, const SyscallRequest& req) {
  auto target = TRY_GUEST(path_target(p, AT_FDCWD, ARG(0), true, false));
  struct statfs st {};
  if (target.fd) {
    if (::fstatfs(target.fd.get(), &st) != 0) return SyscallResult::error(errno);
  } else {  // the sandbox kernel's own /proc, and its /dev files (Linux's proc and devtmpfs)
    st.f_type = target.node ? 0x9fa0 /* PROC_SUPER_MAGIC */ : 0x01021994 /* TMPFS_MAGIC */;
    st.f_bsize = st.f_frsize = 4096;
    st.f_namelen = 255;
  }
  TRY_GUEST_VOID(write_struct(p, ARG(1), st));
  return SyscallResult::ret(0);
}

SyscallResult readlink_common(Process& p, int dirfd, std::uint64_t path_ptr, std::uint64_t buf,
                              std::uint64_t size) {
  if (static_cast<std::int64_t>(size) <= 0) return SyscallResult::error(EINVAL);
  auto named = TRY_GUEST(path_target(p, dirfd, path_ptr, false, false));
  if (named.node && named.node->kind == vfs::ProcNode::Kind::link) {  // /proc's links: exe, fd/N, ...
    const std::string& text = named.node->text;
    const std::size_t n = std::min<std::size_t>(text.size(), size);
    TRY_GUEST_VOID(p.space().write(buf, {reinterpret_cast<const std::uint8_t*>(text.data()), n}));
    return SyscallResult::ret(static_cast<std::int64_t>(n));
  }
  if (named.node || named.device || named.terminal) return SyscallResult::error(EINVAL);  // not a link
  UniqueFd fd = std::move(named.fd);
  std::string target(std::min<std::uint64_t>(size, kMaxPath), '\0');
  long n = ::readlinkat(fd.get(), "", target.data(), target.size());
  if (n < 0) return SyscallResult::error(errno);
  TRY_GUEST_VOID(p.space().write(
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
  auto target =
      TRY_GUEST(path_target(p, dirfd, path_ptr, !(flags & AT_SYMLINK_NOFOLLOW), flags & AT_EMPTY_PATH));
  if (target.device) return SyscallResult::ret(0);  // rw for everyone
  if (target.node) {
    const struct stat st = TRY_GUEST(stat_proc(p, *target.node));
    if ((mode & W_OK) && !(st.st_mode & 0222)) return SyscallResult::error(EACCES);
    if ((mode & X_OK) && !(st.st_mode & 0111)) return SyscallResult::error(EACCES);
    return SyscallResult::ret(0);
  }
  UniqueFd fd = std::move(target.fd);
  if ((mode & W_OK) && p.fs().read_only) return SyscallResult::error(EROFS);
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
  if (auto* e = p.fd(static_cast<std::int64_t>(ARG(0))); e && e->proc_directory)
    return getdents_proc(p, *e, ARG(1), ARG(2));
  int fd = host_fd(p, ARG(0));
  if (fd < 0) return SyscallResult::error(EBADF);
  std::vector<std::uint8_t> buffer(std::min<std::uint64_t>(ARG(2), 1 << 16));
  long n = ::syscall(SYS_getdents64, fd, buffer.data(), buffer.size());
  if (n < 0) return SyscallResult::error(errno);
  TRY_GUEST_VOID(p.space().write(ARG(1), {buffer.data(), static_cast<std::size_t>(n)}));
  return SyscallResult::ret(n);
}

SyscallResult sys_getcwd(Process& p, const SyscallRequest& req) {
  const std::string& cwd = p.fs().cwd;
  if (ARG(1) < cwd.size() + 1) return SyscallResult::error(ERANGE);
  TRY_GUEST_VOID(
      p.space().write(ARG(0), {reinterpret_cast<const std::uint8_t*>(cwd.c_str()), cwd.size() + 1}));
  return SyscallResult::ret(static_cast<std::int64_t>(cwd.size() + 1));
}
SyscallResult sys_chdir(Process& p, const SyscallRequest& req) {
  auto path = TRY_GUEST(read_path(p, ARG(0)));
  auto absolute = TRY_GUEST(p.guest_path(AT_FDCWD, path));
  auto resolved = TRY_GUEST(resolve_proc(p, absolute, true));
  if (resolved.node) {
    if (resolved.node->kind != vfs::ProcNode::Kind::directory) return SyscallResult::error(ENOTDIR);
    p.fs().cwd = resolved.node->path;
    return SyscallResult::ret(0);
  }
  TRY_GUEST(p.open_in_root(resolved.path, O_PATH | O_DIRECTORY, 0));
  p.fs().cwd = normalize(resolved.path);
  return SyscallResult::ret(0);
}
SyscallResult sys_fchdir(Process& p, const SyscallRequest& req) {
  auto* e = p.fd(static_cast<std::int64_t>(ARG(0)));
  if (!e) return SyscallResult::error(EBADF);
  if (!e->directory) return SyscallResult::error(ENOTDIR);
  p.fs().cwd = e->path;
  return SyscallResult::ret(0);
}

// Calls that change a directory entry: resolve the parent inside the root, act on the last name.
struct ParentAndName {
  UniqueFd parent;
  std::string name;
};
GuestResult<ParentAndName> parent_of(Process& p, int dirfd, std::uint64_t path_ptr) {
  if (p.fs().read_only) return std::unexpected(EROFS);
  auto path = read_path(p, path_ptr);
  if (!path) return std::unexpected(path.error());
  auto absolute = p.guest_path(dirfd, *path);
  if (!absolute) return std::unexpected(absolute.error());
  std::string full = *absolute;
  while (full.size() > 1 && full.back() == '/') full.pop_back();
  const auto slash = full.rfind('/');
  std::string name = full.substr(slash + 1);
  if (name.empty() || name == "." || name == "..") return std::unexpected(EINVAL);
  if (vfs::below_device(normalize(full))) return std::unexpected(ENOTDIR);
  // /proc is the sandbox kernel's (fs/proc.h): nothing is made, removed or renamed there (ENOENT,
  // as Linux's /proc/PID has no such entry), and the root filesystem's own /proc stays as it is.
  if (vfs::in_proc(normalize(full))) return std::unexpected(normalize(full) == "/proc" ? EBUSY : ENOENT);
  auto parent = p.open_in_root(slash == 0 ? "/" : full.substr(0, slash), O_PATH | O_DIRECTORY, 0);
  if (!parent) return std::unexpected(parent.error());
  return ParentAndName{std::move(*parent), name};
}
SyscallResult mkdir_common(Process& p, int dirfd, std::uint64_t path, std::uint64_t mode) {
  auto parent = parent_of(p, dirfd, path);
  // A name that exists is EEXIST before anything else, as in Linux: "/", "." and ".." (parent_of's
  // EINVAL), and any existing name on a read-only root. `mkdir -p /a/b` starts with mkdir("/").
  if (!parent && (parent.error() == EINVAL || parent.error() == EROFS)) {
    auto name = read_path(p, path);
    auto absolute = name ? p.guest_path(dirfd, *name) : GuestResult<std::string>(std::unexpected(EFAULT));
    if (absolute && p.open_in_root(*absolute, O_PATH, 0)) return SyscallResult::error(EEXIST);
  }
  auto target = TRY_GUEST(std::move(parent));
  return SyscallResult::ret(host_result(::mkdirat(target.parent.get(), target.name.c_str(),
                                                  static_cast<mode_t>(mode & 07777 & ~p.fs().umask))));
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
// link: the old name's last component is never followed by the host (linkat without
// AT_SYMLINK_FOLLOW on a parent resolved in the root); with AT_SYMLINK_FOLLOW the guest's symlink is
// resolved inside the root first and the link made to that O_PATH fd.
SyscallResult link_common(Process& p, int old_dir, std::uint64_t old_path, int new_dir,
                          std::uint64_t new_path, int flags) {
  if (flags & ~(AT_SYMLINK_FOLLOW | AT_EMPTY_PATH)) return SyscallResult::error(EINVAL);
  auto to = TRY_GUEST(parent_of(p, new_dir, new_path));
  if (flags & (AT_SYMLINK_FOLLOW | AT_EMPTY_PATH)) {
    auto from = TRY_GUEST(path_fd(p, old_dir, old_path, flags & AT_SYMLINK_FOLLOW, flags & AT_EMPTY_PATH));
    return SyscallResult::ret(
        host_result(::linkat(from.get(), "", to.parent.get(), to.name.c_str(), AT_EMPTY_PATH)));
  }
  auto from = TRY_GUEST(parent_of(p, old_dir, old_path));
  return SyscallResult::ret(
      host_result(::linkat(from.parent.get(), from.name.c_str(), to.parent.get(), to.name.c_str(), 0)));
}
SyscallResult sys_link(Process& p, const SyscallRequest& req) {
  return link_common(p, AT_FDCWD, ARG(0), AT_FDCWD, ARG(1), 0);
}
SyscallResult sys_linkat(Process& p, const SyscallRequest& req) {
  return link_common(p, static_cast<int>(ARG(0)), ARG(1), static_cast<int>(ARG(2)), ARG(3),
                     static_cast<int>(ARG(4)));
}
// symlink: the target is only text stored in the root filesystem; every later resolution of it is
// the kernel's walk inside the root (RESOLVE_IN_ROOT), so "/etc/passwd" or "../../.." stays inside.
SyscallResult symlink_common(Process& p, std::uint64_t target_ptr, int new_dir, std::uint64_t new_path) {
  auto target = TRY_GUEST(read_path(p, target_ptr));
  if (target.empty()) return SyscallResult::error(ENOENT);
  auto at = TRY_GUEST(parent_of(p, new_dir, new_path));
  return SyscallResult::ret(host_result(::symlinkat(target.c_str(), at.parent.get(), at.name.c_str())));
}
SyscallResult sys_symlink(Process& p, const SyscallRequest& req) {
  return symlink_common(p, ARG(0), AT_FDCWD, ARG(1));
}
SyscallResult sys_symlinkat(Process& p, const SyscallRequest& req) {
  return symlink_common(p, ARG(0), static_cast<int>(ARG(1)), ARG(2));
}
// chmod of a path: the file is found inside the root (an O_PATH fd; a guest symlink is followed
// there, never by the host), then changed through that fd with fchmodat2(AT_EMPTY_PATH) (Linux
// 6.6+); an older host gets a confined read-only open of it and fchmod.
SyscallResult chmod_path(Process& p, int dirfd, std::uint64_t path_ptr, std::uint64_t mode, int flags) {
  if (flags & ~(AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH)) return SyscallResult::error(EINVAL);
  if (p.fs().read_only) return SyscallResult::error(EROFS);
  auto fd = TRY_GUEST(path_fd(p, dirfd, path_ptr, !(flags & AT_SYMLINK_NOFOLLOW), flags & AT_EMPTY_PATH));
  const auto m = static_cast<mode_t>(mode & 07777);
  if (::syscall(kSysFchmodat2, fd.get(), "", m, AT_EMPTY_PATH) == 0) return SyscallResult::ret(0);
  if (errno != ENOSYS && errno != EINVAL) return SyscallResult::error(errno);
  struct stat st;
  if (::fstat(fd.get(), &st) != 0) return SyscallResult::error(errno);
  if (S_ISLNK(st.st_mode)) return SyscallResult::error(EOPNOTSUPP);  // as Linux for a link itself
  auto path = TRY_GUEST(read_path(p, path_ptr));
  auto absolute = TRY_GUEST(p.guest_path(dirfd, path));
  auto file = TRY_GUEST(p.open_in_root(absolute, O_RDONLY | O_NONBLOCK | O_NOCTTY, 0));
  return SyscallResult::ret(host_result(::fchmod(file.get(), m)));
}
SyscallResult sys_chmod(Process& p, const SyscallRequest& req) {
  return chmod_path(p, AT_FDCWD, ARG(0), ARG(1), 0);
}
SyscallResult sys_fchmodat(Process& p, const SyscallRequest& req) {
  return chmod_path(p, static_cast<int>(ARG(0)), ARG(1), ARG(2), 0);
}
SyscallResult sys_fchmodat2(Process& p, const SyscallRequest& req) {
  return chmod_path(p, static_cast<int>(ARG(0)), ARG(1), ARG(2), static_cast<int>(ARG(3)));
}
SyscallResult sys_fchmod(Process& p, const SyscallRequest& req) {
  auto* e = p.fd(static_cast<std::int64_t>(ARG(0)));
  if (!e) return SyscallResult::error(EBADF);
  if (e->device != vfs::Device::none) return SyscallResult::error(EPERM);  // the monitor's, not the guest's
  if (p.fs().read_only) return SyscallResult::error(EROFS);
  return SyscallResult::ret(host_result(::fchmod(e->host.get(), static_cast<mode_t>(ARG(1) & 07777))));
}
SyscallResult sys_ftruncate(Process& p, const SyscallRequest& req) {
  auto* e = p.fd(static_cast<std::int64_t>(ARG(0)));
  if (!e) return SyscallResult::error(EBADF);
  if (e->shared) return SyscallResult::error(EINVAL);  // as for a pipe or terminal
  const int fd = e->host.get();
  shared_pages_out(p, fd);
  const int r = ::ftruncate(fd, static_cast<off_t>(ARG(1)));
  shared_pages_in(p, fd);  // pages past the new end read as zero
  return SyscallResult::ret(host_result(r));
}
SyscallResult sys_truncate(Process& p, const SyscallRequest& req) {
  if (p.fs().read_only) return SyscallResult::error(EROFS);
  if (static_cast<std::int64_t>(ARG(1)) < 0) return SyscallResult::error(EINVAL);
  auto path = TRY_GUEST(read_path(p, ARG(0)));
  auto absolute = TRY_GUEST(p.guest_path(AT_FDCWD, path));
  auto resolved = TRY_GUEST(resolve_proc(p, absolute, true));
  if (resolved.node) return SyscallResult::error(EACCES);
  absolute = std::move(resolved.path);
  TRY_GUEST_VOID(not_running(p, absolute, true));
  auto fd = TRY_GUEST(p.open_in_root(absolute, O_WRONLY | O_NONBLOCK | O_NOCTTY, 0));
  struct stat st;
  if (::fstat(fd.get(), &st) == 0 && S_ISDIR(st.st_mode)) return SyscallResult::error(EISDIR);
  shared_pages_out(p, fd.get());
  const int r = ::ftruncate(fd.get(), static_cast<off_t>(ARG(1)));
  shared_pages_in(p, fd.get());
  return SyscallResult::ret(host_result(r));
}
SyscallResult sys_fsync(Process& p, const SyscallRequest& req) {
  int fd = host_fd(p, ARG(0));
  if (fd < 0) return SyscallResult::error(EBADF);
  shared_pages_out(p, fd);  // what the mappings wrote reaches the file first
  return SyscallResult::ret(host_result(::fsync(fd)));
}
SyscallResult sys_umask(Process& p, const SyscallRequest& req) {
  unsigned old = p.fs().umask;
  p.fs().umask = ARG(0) & 0777;
  return SyscallResult::ret(old);
}

SyscallResult sys_creat(Process& p, const SyscallRequest& req) {
  return open_common(p, AT_FDCWD, ARG(0), O_CREAT | O_WRONLY | O_TRUNC, ARG(1));
}

// ---- timestamps and ownership: the host's calls on the file the guest path names ----

using TimespecPair = std::array<timespec, 2>;
using TimevalPair = std::array<timeval, 2>;
using SecondsPair = std::array<std::int64_t, 2>;

// utimensat and its older forms. `times` null: now. A null path names dirfd's own file.
SyscallResult set_times(Process& p, int dirfd, std::uint64_t path_ptr, const timespec* times, int flags) {
  if (flags & ~(AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH)) return SyscallResult::error(EINVAL);
  if (path_ptr == 0) {
    const auto* e = p.fd(dirfd);
    if (!e) return SyscallResult::error(EBADF);
    if (e->device != vfs::Device::none || e->shared) return SyscallResult::error(EPERM);
    if (p.fs().read_only) return SyscallResult::error(EROFS);
    return SyscallResult::ret(host_result(::futimens(e->host.get(), times)));
  }
  auto fd = TRY_GUEST(path_fd(p, dirfd, path_ptr, !(flags & AT_SYMLINK_NOFOLLOW), flags & AT_EMPTY_PATH));
  if (p.fs().read_only) return SyscallResult::error(EROFS);
  return SyscallResult::ret(host_result(::utimensat(fd.get(), "", times, AT_EMPTY_PATH)));
}
SyscallResult sys_utimensat(Process& p, const SyscallRequest& req) {
  TimespecPair times{};
  if (ARG(2)) times = TRY_GUEST(read_struct<TimespecPair>(p, ARG(2)));
  return set_times(p, static_cast<int>(ARG(0)), ARG(1), ARG(2) ? times.data() : nullptr,
                   static_cast<int>(ARG(3)));
}
// utimes and futimesat: two timevals (microseconds).
SyscallResult times_of_timevals(Process& p, int dirfd, std::uint64_t path_ptr, std::uint64_t times_ptr) {
  if (!times_ptr) return set_times(p, dirfd, path_ptr, nullptr, 0);
  const auto tv = TRY_GUEST(read_struct<TimevalPair>(p, times_ptr));
  TimespecPair times{};
  for (int i = 0; i < 2; ++i) {
    if (tv[i].tv_usec < 0 || tv[i].tv_usec >= 1'000'000) return SyscallResult::error(EINVAL);
    times[i] = timespec{tv[i].tv_sec, tv[i].tv_usec * 1000};
  }
  return set_times(p, dirfd, path_ptr, times.data(), 0);
}
SyscallResult sys_utimes(Process& p, const SyscallRequest& req) {
  return times_of_timevals(p, AT_FDCWD, ARG(0), ARG(1));
}
SyscallResult sys_futimesat(Process& p, const SyscallRequest& req) {
  return times_of_timevals(p, static_cast<int>(ARG(0)), ARG(1), ARG(2));
}
SyscallResult sys_utime(Process& p, const SyscallRequest& req) {  // struct utimbuf: actime, modtime (s)
  if (!ARG(1)) return set_times(p, AT_FDCWD, ARG(0), nullptr, 0);
  const auto seconds = TRY_GUEST(read_struct<SecondsPair>(p, ARG(1)));
  const TimespecPair times{timespec{seconds[0], 0}, timespec{seconds[1], 0}};
  return set_times(p, AT_FDCWD, ARG(0), times.data(), 0);
}

// fchownat and its forms. The host decides (the monitor has no CAP_CHOWN: a change of owner is
// EPERM, a chown to the owner the file has is allowed).
SyscallResult chown_path(Process& p, int dirfd, std::uint64_t path_ptr, std::uint64_t uid, std::uint64_t gid,
                         int flags) {
  if (flags & ~(AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH)) return SyscallResult::error(EINVAL);
  auto fd = TRY_GUEST(path_fd(p, dirfd, path_ptr, !(flags & AT_SYMLINK_NOFOLLOW), flags & AT_EMPTY_PATH));
  if (p.fs().read_only) return SyscallResult::error(EROFS);
  return SyscallResult::ret(
      host_result(::fchownat(fd.get(), "", static_cast<uid_t>(uid), static_cast<gid_t>(gid), AT_EMPTY_PATH)));
}
SyscallResult sys_chown(Process& p, const SyscallRequest& req) {
  return chown_path(p, AT_FDCWD, ARG(0), ARG(1), ARG(2), 0);
}
SyscallResult sys_lchown(Process& p, const SyscallRequest& req) {
  return chown_path(p, AT_FDCWD, ARG(0), ARG(1), ARG(2), AT_SYMLINK_NOFOLLOW);
}
SyscallResult sys_fchownat(Process& p, const SyscallRequest& req) {
  return chown_path(p, static_cast<int>(ARG(0)), ARG(1), ARG(2), ARG(3), static_cast<int>(ARG(4)));
}
SyscallResult sys_fchown(Process& p, const SyscallRequest& req) {
  auto* e = p.fd(static_cast<std::int64_t>(ARG(0)));
  if (!e) return SyscallResult::error(EBADF);
  if (e->device != vfs::Device::none || e->shared) return SyscallResult::error(EPERM);
  if (p.fs().read_only) return SyscallResult::error(EROFS);
  return SyscallResult::ret(
      host_result(::fchown(e->host.get(), static_cast<uid_t>(ARG(1)), static_cast<gid_t>(ARG(2)))));
}

// mknod: FIFOs, sockets' names and regular files; the sandbox makes no device nodes (EPERM), and
// a directory is mkdir's (EPERM, as Linux).
SyscallResult mknod_common(Process& p, int dirfd, std::uint64_t path_ptr, std::uint64_t mode) {
  const mode_t type = static_cast<mode_t>(mode) & S_IFMT;
  if (type == S_IFCHR || type == S_IFBLK || type == S_IFDIR) return SyscallResult::error(EPERM);
  if (type != 0 && type != S_IFREG && type != S_IFIFO && type != S_IFSOCK)
    return SyscallResult::error(EINVAL);
  auto target = TRY_GUEST(parent_of(p, dirfd, path_ptr));
  const mode_t bits = static_cast<mode_t>(mode & 07777 & ~p.fs().umask);
  return SyscallResult::ret(
      host_result(::mknodat(target.parent.get(), target.name.c_str(), (type ? type : S_IFREG) | bits, 0)));
}
SyscallResult sys_mknod(Process& p, const SyscallRequest& req) {
  return mknod_common(p, AT_FDCWD, ARG(0), ARG(1));
}
SyscallResult sys_mknodat(Process& p, const SyscallRequest& req) {
  return mknod_common(p, static_cast<int>(ARG(0)), ARG(1), ARG(2));
}

// Extended attributes: none are kept, on any file (EOPNOTSUPP, as on a filesystem without them;
// ls and cp take that as "no ACL, no label"). The file must exist all the same.
SyscallResult sys_xattr_path(Process& p, const SyscallRequest& req) {
  const bool follow = req.number != SYS_lgetxattr && req.number != SYS_llistxattr &&
                      req.number != SYS_lsetxattr && req.number != SYS_lremovexattr;
  (void)TRY_GUEST(path_fd(p, AT_FDCWD, ARG(0), follow, false));
  return SyscallResult::error(EOPNOTSUPP);
}
SyscallResult sys_xattr_fd(Process& p, const SyscallRequest& req) {
  if (!p.fd(static_cast<std::int64_t>(ARG(0)))) return SyscallResult::error(EBADF);
  return SyscallResult::error(EOPNOTSUPP);
}

}  // namespace spectrum::vm::syscalls
