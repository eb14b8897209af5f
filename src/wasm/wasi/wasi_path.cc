// wasi_snapshot_preview1 path_* calls: every guest path resolved below a directory of the fd
// table (open_guest_path: core/confined_path.h), never as a host string.
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

// ---- path_* ----
Errno Functions::path_open(Wasi& w, const GuestMemory& m, std::uint32_t dirfd, std::uint32_t lookup_flags,
                           GuestPtr path_ptr, std::uint32_t path_len, std::uint32_t open_flags,
                           std::uint64_t rights_base, std::uint64_t rights_inheriting, std::uint32_t fdflags,
                           GuestPtr fd_out) {
  auto dir = lookup_dir(w, dirfd);
  if (!dir) return dir.error();
  auto path = read_path(m, path_ptr, path_len);
  if (!path) return path.error();
  if (!m.bytes(fd_out, 4)) return Errno::fault;
  using namespace abi;
  bool wants_write =
      (rights_base & (rights::fd_write | rights::fd_allocate | rights::fd_filestat_set_size)) ||
      (fdflags & fdflags::append) || (open_flags & (oflags::creat | oflags::trunc));
  bool wants_read = rights_base & (rights::fd_read | rights::fd_readdir);
  if (wants_write && (*dir)->read_only) return Errno::rofs;
  if (wants_write && !w.read_only_dirs_.empty()) {
    // What would be written (the existing object, or the directory a new one goes in) decides.
    const bool follow = lookup_flags & lookupflags::symlink_follow;
    auto existing = open_guest_path((*dir)->host_fd, *path, O_PATH | (follow ? 0 : O_NOFOLLOW));
    if (existing) {
      if (shadowed(w, **dir, existing->get(), false)) return Errno::rofs;
    } else if (existing.error() == Errno::noent && (open_flags & oflags::creat)) {
      auto at = open_parent((*dir)->host_fd, *path);
      if (at && shadowed(w, **dir, at->parent.get(), true)) return Errno::rofs;
    }
  }
  std::uint64_t flags = wants_write ? (wants_read ? O_RDWR : O_WRONLY) : O_RDONLY;
  if (open_flags & oflags::creat) flags |= O_CREAT;
  if (open_flags & oflags::excl) flags |= O_EXCL;
  if (open_flags & oflags::trunc) flags |= O_TRUNC;
  if (open_flags & oflags::directory) flags |= O_DIRECTORY;
  if (fdflags & fdflags::append) flags |= O_APPEND;
  if (fdflags & fdflags::nonblock) flags |= O_NONBLOCK;
  if (fdflags & (fdflags::dsync | fdflags::rsync)) flags |= O_DSYNC;
  if (fdflags & fdflags::sync) flags |= O_SYNC;
  if (!(lookup_flags & lookupflags::symlink_follow)) flags |= O_NOFOLLOW;
  auto fd = open_guest_path((*dir)->host_fd, *path, flags, 0666, &w.interrupted_);
  // A directory opened for writing (a guest's O_RDWR default) is still a directory: retry read-only.
  if (!fd && fd.error() == Errno::isdir && !(open_flags & (oflags::creat | oflags::trunc)) &&
      !(rights_base & rights::fd_write))
    fd = open_guest_path((*dir)->host_fd, *path, (flags & ~std::uint64_t{O_ACCMODE}) | O_RDONLY);
  if (!fd) return fd.error();
  struct stat st {};
  if (::fstat(fd->get(), &st) != 0) return last_error();
  std::uint32_t slot = 0;
  while (slot < w.fds_.size() && w.fds_[slot]) ++slot;
  if (slot >= kMaxFds) return Errno::mfile;
  auto entry = std::make_unique<Entry>();
  entry->host_fd = fd->get();
  entry->owned = std::move(*fd);
  entry->type = filetype_of(st.st_mode);
  entry->root = (*dir)->root;
  entry->read_only = (*dir)->read_only || shadowed(w, **dir, entry->host_fd, S_ISDIR(st.st_mode));
  entry->rights_base =
      rights_base & (*dir)->rights_inheriting & (entry->read_only ? ~abi::rights::writing : ~0ull);
  entry->rights_inheriting = rights_inheriting & (*dir)->rights_inheriting;
  if (slot == w.fds_.size())
    w.fds_.push_back(std::move(entry));
  else
    w.fds_[slot] = std::move(entry);
  m.store<std::uint32_t>(fd_out, slot);
  return Errno::success;
}

Errno Functions::path_create_directory(Wasi& w, const GuestMemory& m, std::uint32_t dirfd, GuestPtr path_ptr,
                                       std::uint32_t path_len) {
  auto dir = lookup_writable_dir(w, dirfd);
  if (!dir) return dir.error();
  auto path = read_path(m, path_ptr, path_len);
  if (!path) return path.error();
  auto target = open_parent((*dir)->host_fd, *path);
  if (!target) return target.error() == Errno::inval ? Errno::exist : target.error();
  if (shadowed(w, **dir, target->parent.get(), true)) return Errno::rofs;
  return ::mkdirat(target->parent.get(), target->name.c_str(), 0777) == 0 ? Errno::success : last_error();
}

Errno Functions::path_remove_directory(Wasi& w, const GuestMemory& m, std::uint32_t dirfd, GuestPtr path_ptr,
                                       std::uint32_t path_len) {
  return remove(w, m, dirfd, path_ptr, path_len, AT_REMOVEDIR);
}

Errno Functions::path_unlink_file(Wasi& w, const GuestMemory& m, std::uint32_t dirfd, GuestPtr path_ptr,
                                  std::uint32_t path_len) {
  return remove(w, m, dirfd, path_ptr, path_len, 0);
}

Errno Functions::remove(Wasi& w, const GuestMemory& m, std::uint32_t dirfd, GuestPtr path_ptr,
                        std::uint32_t path_len, int flags) {
  auto dir = lookup_writable_dir(w, dirfd);
  if (!dir) return dir.error();
  auto path = read_path(m, path_ptr, path_len);
  if (!path) return path.error();
  bool trailing_slash = path->size() > 1 && path->back() == '/';
  auto target = open_parent((*dir)->host_fd, *path);
  if (!target) return target.error();
  if (trailing_slash && flags == 0) return Errno::notdir;
  if (shadowed(w, **dir, target->parent.get(), true)) return Errno::rofs;
  return ::unlinkat(target->parent.get(), target->name.c_str(), flags) == 0 ? Errno::success : last_error();
}

Errno Functions::path_rename(Wasi& w, const GuestMemory& m, std::uint32_t old_dirfd, GuestPtr old_ptr,
                             std::uint32_t old_len, std::uint32_t new_dirfd, GuestPtr new_ptr,
                             std::uint32_t new_len) {
  auto old_dir = lookup_writable_dir(w, old_dirfd);
  if (!old_dir) return old_dir.error();
  auto new_dir = lookup_writable_dir(w, new_dirfd);
  if (!new_dir) return new_dir.error();
  auto old_path = read_path(m, old_ptr, old_len);
  if (!old_path) return old_path.error();
  auto new_path = read_path(m, new_ptr, new_len);
  if (!new_path) return new_path.error();
  auto from = open_parent((*old_dir)->host_fd, *old_path);
  if (!from) return from.error();
  auto to = open_parent((*new_dir)->host_fd, *new_path);
  if (!to) return to.error();
  if (shadowed(w, **old_dir, from->parent.get(), true) || shadowed(w, **new_dir, to->parent.get(), true))
    return Errno::rofs;
  return ::renameat(from->parent.get(), from->name.c_str(), to->parent.get(), to->name.c_str()) == 0
             ? Errno::success
             : last_error();
}

Errno Functions::path_symlink(Wasi& w, const GuestMemory& m, GuestPtr old_ptr, std::uint32_t old_len,
                              std::uint32_t dirfd, GuestPtr new_ptr, std::uint32_t new_len) {
  auto dir = lookup_writable_dir(w, dirfd);
  if (!dir) return dir.error();
  // The link's text is the guest's business; following it later is confined like any path.
  auto contents = read_path(m, old_ptr, old_len);
  if (!contents) return contents.error();
  auto new_path = read_path(m, new_ptr, new_len);
  if (!new_path) return new_path.error();
  auto at = open_parent((*dir)->host_fd, *new_path);
  if (!at) return at.error() == Errno::inval ? Errno::exist : at.error();
  if (shadowed(w, **dir, at->parent.get(), true)) return Errno::rofs;
  return ::symlinkat(contents->c_str(), at->parent.get(), at->name.c_str()) == 0 ? Errno::success
                                                                                 : last_error();
}

Errno Functions::path_link(Wasi& w, const GuestMemory& m, std::uint32_t old_dirfd, std::uint32_t old_flags,
                           GuestPtr old_ptr, std::uint32_t old_len, std::uint32_t new_dirfd, GuestPtr new_ptr,
                           std::uint32_t new_len) {
  auto old_dir = lookup_dir(w, old_dirfd);
  if (!old_dir) return old_dir.error();
  auto new_dir = lookup_writable_dir(w, new_dirfd);
  if (!new_dir) return new_dir.error();
  // A second name is a second way in: a file of a read-only preopen linked into a writable one
  // would be written through the new name. A host with the two as bind mounts says EXDEV.
  if ((*old_dir)->read_only) return Errno::xdev;
  auto old_path = read_path(m, old_ptr, old_len);
  if (!old_path) return old_path.error();
  auto new_path = read_path(m, new_ptr, new_len);
  if (!new_path) return new_path.error();
  // The source is opened confined (following its symlinks only when asked, and only inside),
  // then linked through its fd: linkat never resolves a guest path on its own.
  std::uint64_t flags = O_PATH | ((old_flags & abi::lookupflags::symlink_follow) ? 0 : O_NOFOLLOW);
  auto source = open_guest_path((*old_dir)->host_fd, *old_path, flags);
  if (!source) return source.error();
  auto to = open_parent((*new_dir)->host_fd, *new_path);
  if (!to) return to.error() == Errno::inval ? Errno::exist : to.error();
  if (shadowed(w, **old_dir, source->get(), false)) return Errno::xdev;
  if (shadowed(w, **new_dir, to->parent.get(), true)) return Errno::rofs;
  if (::linkat(AT_FDCWD, proc_fd_path(source->get()).c_str(), to->parent.get(), to->name.c_str(),
               AT_SYMLINK_FOLLOW) == 0)
    return Errno::success;
  return last_error();
}

Errno Functions::path_readlink(Wasi& w, const GuestMemory& m, std::uint32_t dirfd, GuestPtr path_ptr,
                               std::uint32_t path_len, GuestPtr buf, std::uint32_t buf_len,
                               GuestPtr bufused) {
  auto dir = lookup_dir(w, dirfd);
  if (!dir) return dir.error();
  auto path = read_path(m, path_ptr, path_len);
  if (!path) return path.error();
  std::uint8_t* out = m.bytes(buf, buf_len);
  if (!out || !m.bytes(bufused, 4)) return Errno::fault;
  auto link = open_guest_path((*dir)->host_fd, *path, O_PATH | O_NOFOLLOW);
  if (!link) return link.error();
  ssize_t n = ::readlinkat(link->get(), "", reinterpret_cast<char*>(out), buf_len);
  if (n < 0) return errno == ENOENT ? Errno::inval : last_error();  // "" of a non-link: ENOENT
  return store_size(m, bufused, static_cast<std::uint64_t>(n));
}

Errno Functions::path_filestat_get(Wasi& w, const GuestMemory& m, std::uint32_t dirfd, std::uint32_t flags,
                                   GuestPtr path_ptr, std::uint32_t path_len, GuestPtr out) {
  auto dir = lookup_dir(w, dirfd);
  if (!dir) return dir.error();
  auto path = read_path(m, path_ptr, path_len);
  if (!path) return path.error();
  std::uint64_t open_flags = O_PATH | ((flags & abi::lookupflags::symlink_follow) ? 0 : O_NOFOLLOW);
  auto fd = open_guest_path((*dir)->host_fd, *path, open_flags);
  if (!fd) return fd.error();
  struct stat st {};
  if (::fstatat(fd->get(), "", &st, AT_EMPTY_PATH) != 0) return last_error();
  return m.store(out, to_filestat(st)) ? Errno::success : Errno::fault;
}

Errno Functions::path_filestat_set_times(Wasi& w, const GuestMemory& m, std::uint32_t dirfd,
                                         std::uint32_t flags, GuestPtr path_ptr, std::uint32_t path_len,
                                         std::uint64_t atim, std::uint64_t mtim, std::uint32_t fst_flags) {
  auto dir = lookup_writable_dir(w, dirfd);
  if (!dir) return dir.error();
  auto path = read_path(m, path_ptr, path_len);
  if (!path) return path.error();
  auto times = utimens_times(atim, mtim, fst_flags);
  if (!times) return times.error();
  if (flags & abi::lookupflags::symlink_follow) {
    auto fd = open_guest_path((*dir)->host_fd, *path, O_PATH);
    if (!fd) return fd.error();
    if (shadowed(w, **dir, fd->get(), false)) return Errno::rofs;
    return ::utimensat(AT_FDCWD, proc_fd_path(fd->get()).c_str(), times->data(), 0) == 0 ? Errno::success
                                                                                         : last_error();
  }
  auto at = open_parent((*dir)->host_fd, *path);
  if (!at) return at.error();
  if (shadowed(w, **dir, at->parent.get(), true)) return Errno::rofs;
  return ::utimensat(at->parent.get(), at->name.c_str(), times->data(), AT_SYMLINK_NOFOLLOW) == 0
             ? Errno::success
             : last_error();
}

}  // namespace spectrum::wasi
