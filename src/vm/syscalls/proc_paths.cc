// /proc in the path calls (fs/proc.h): a guest path under /proc is a synthetic node, or, through
// a magic link (root, cwd, exe, fd/N), another guest path that is then resolved inside the root
// like any other. Only paths the guest names under /proc come here: a symlink in the root
// filesystem that points into /proc is the root filesystem's own /proc directory (usually empty).
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <cstring>

#include "vm/fs/root.h"
#include "vm/kernel/proc_source.h"
#include "vm/syscalls/syscalls.h"

namespace spectrum::vm::syscalls {

namespace {

constexpr int kMaxLinkHops = 40;  // as Linux's MAXSYMLINKS

// A host file holding `text`, sealed so that nothing changes it: reads, seeks, fstat and mmap of
// it are the host's.
GuestResult<UniqueFd> sealed_text(const std::string& text) {
  UniqueFd fd(::memfd_create("spectrum-proc", MFD_CLOEXEC | MFD_ALLOW_SEALING));
  if (!fd) return std::unexpected(errno);
  for (std::size_t done = 0; done < text.size();) {
    const ssize_t n = ::write(fd.get(), text.data() + done, text.size() - done);
    if (n <= 0) return std::unexpected(n < 0 ? errno : EIO);
    done += static_cast<std::size_t>(n);
  }
  if (::lseek(fd.get(), 0, SEEK_SET) != 0 ||
      ::fcntl(fd.get(), F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_SEAL) != 0)
    return std::unexpected(errno);
  return fd;
}

}  // namespace

// The path is walked component by component, as the kernel walks it: a magic link met on the way
// (self, root, cwd, exe, fd/N) is replaced by its target and the walk goes on from there, so
// "/proc/self/cwd/../x" is the parent of the working directory. A path that never enters /proc
// comes back unchanged, for the host's walk inside the root.
GuestResult<ProcResolved> resolve_proc(Process& p, const std::string& absolute, bool follow) {
  const auto joined = [](const std::vector<std::string>& parts, std::size_t from = 0) {
    std::string out;
    for (std::size_t i = from; i < parts.size(); ++i) out += "/" + parts[i];
    return out.empty() ? std::string("/") : out;
  };
  if (absolute.find("proc") == std::string::npos) return ProcResolved{absolute, std::nullopt};
  // "/proc/self/", "/proc/self/." and the like name the directory, so a final link is followed.
  if (absolute.ends_with("/") || absolute.ends_with("/.") || absolute.ends_with("/..")) follow = true;
  std::string path = absolute;
  auto source = kernel::proc_source(p);
  for (int hops = 0;; ++hops) {
    if (hops > kMaxLinkHops) return std::unexpected(ELOOP);
    const std::vector<std::string> parts = vfs::path_components(path);
    std::vector<std::string> stack;
    bool entered = false, restarted = false;
    for (std::size_t i = 0; i < parts.size() && !restarted; ++i) {
      const std::string& part = parts[i];
      if (part == ".") continue;
      if (part == "..") {
        if (!stack.empty()) stack.pop_back();
        continue;
      }
      stack.push_back(part);
      if (stack[0] != "proc" || stack.size() < 2) continue;
      entered = true;
      bool last = true;
      for (std::size_t j = i + 1; j < parts.size(); ++j) last = last && parts[j] == ".";
      auto node = vfs::proc_lookup(joined(stack), *source, false);
      if (!node) return std::unexpected(node.error());
      // The last component, unless a link to follow, is the node itself (made once: a maps or
      // status text is not made again below).
      if (last && (node->kind != vfs::ProcNode::Kind::link || !follow))
        return ProcResolved{joined(stack), std::move(*node)};
      if (node->kind != vfs::ProcNode::Kind::link) continue;
      const std::string& target = node->text;
      if (target.empty() || target[0] != '/') {
        if (target.find(':') != std::string::npos) {  // pipe:[N], socket:[N], ...: fd/N itself
          if (!last) return std::unexpected(ENOTDIR);
          auto fd_node = vfs::proc_lookup(joined(stack), *source, true);
          if (!fd_node) return std::unexpected(fd_node.error());
          return ProcResolved{joined(stack), std::move(*fd_node)};
        }
        stack.back() = target;  // self -> PID
        continue;
      }
      // root, cwd, exe, fd/N of a file: the walk goes on from the target.
      path = target + joined(parts, i + 1);
      if (last) path = target;
      restarted = true;
    }
    if (restarted) continue;
    if (stack.empty() || stack[0] != "proc")  // never in /proc, or out of it again by ".."
      return ProcResolved{entered ? joined(stack) : path, std::nullopt};
    auto node = vfs::proc_lookup(joined(stack), *source, follow);
    if (!node) return std::unexpected(node.error());
    return ProcResolved{joined(stack), std::move(*node)};
  }
}

struct stat proc_node_stat(const vfs::ProcNode& node) {
  struct stat st {};
  st.st_dev = makedev(0, 21);
  st.st_ino = node.ino;
  st.st_blksize = 1024;
  switch (node.kind) {
    case vfs::ProcNode::Kind::directory:
      st.st_mode = S_IFDIR | 0555;
      st.st_nlink = 2;
      break;
    case vfs::ProcNode::Kind::link:
    case vfs::ProcNode::Kind::fd:
      st.st_mode = S_IFLNK | 0777;
      st.st_nlink = 1;
      st.st_size = static_cast<off_t>(node.text.size());
      break;
    default:
      st.st_mode = S_IFREG | 0444;  // size 0, as Linux's /proc files: their text is made when read
      st.st_nlink = 1;
      break;
  }
  return st;
}

GuestResult<struct stat> stat_proc(Process& p, const vfs::ProcNode& node) {
  if (node.kind != vfs::ProcNode::Kind::fd) return proc_node_stat(node);
  // fd/N followed to a description with no path: what that description is.
  auto file = kernel::proc_open_file(p, node.pid, node.fd);
  if (!file) return std::unexpected(ENOENT);
  if (file->device != vfs::Device::none) return vfs::device_stat(file->device);
  struct stat st;
  if (!file->host || ::fstat(file->host.get(), &st) != 0) return std::unexpected(EBADF);
  return st;
}

SyscallResult open_proc(Process& p, const vfs::ProcNode& node, int flags) {
  const bool cloexec = flags & O_CLOEXEC;
  switch (node.kind) {
    case vfs::ProcNode::Kind::link:
      return SyscallResult::error(ELOOP);  // O_NOFOLLOW on a link (O_PATH of one is not kept)
    case vfs::ProcNode::Kind::directory: {
      if (writes(flags)) return SyscallResult::error(EISDIR);
      Process::OpenFile file;
      file.directory = true;
      file.proc_directory = true;
      file.path = node.path;
      return SyscallResult::ret(TRY_GUEST(p.install_fd(std::move(file), cloexec)));
    }
    case vfs::ProcNode::Kind::file: {
      if (flags & O_DIRECTORY) return SyscallResult::error(ENOTDIR);
      if (writes(flags)) return SyscallResult::error(EACCES);
      Process::OpenFile file;
      file.host = TRY_GUEST(sealed_text(node.text));
      file.path = node.path;
      file.status_flags = flags & O_NONBLOCK;
      return SyscallResult::ret(TRY_GUEST(p.install_fd(std::move(file), cloexec)));
    }
    case vfs::ProcNode::Kind::fd: {
      auto file = kernel::proc_open_file(p, node.pid, node.fd);
      if (!file) return SyscallResult::error(ENOENT);
      if (file->socket) return SyscallResult::error(ENXIO);  // as Linux for a socket
      if (file->device != vfs::Device::none) {
        Process::OpenFile device;
        device.device = file->device;
        device.device_access = flags & O_ACCMODE;
        device.status_flags = flags & (O_APPEND | O_NONBLOCK);
        return SyscallResult::ret(TRY_GUEST(p.install_fd(std::move(device), cloexec)));
      }
      // A pipe, stdio or eventfd: the same description (Linux opens the pipe anew; the ends and
      // the data are the same).
      return SyscallResult::ret(TRY_GUEST(p.files().install({file, cloexec})));
    }
    case vfs::ProcNode::Kind::redirect:
      break;
  }
  return SyscallResult::error(ENOENT);
}

SyscallResult getdents_proc(Process& p, Process::OpenFile& dir, std::uint64_t buffer, std::uint64_t size) {
  if (dir.proc_position == 0) {
    auto node = vfs::proc_lookup(dir.path, *kernel::proc_source(p), true);
    if (!node || node->kind != vfs::ProcNode::Kind::directory) return SyscallResult::error(ENOENT);
    dir.proc_entries = std::move(node->entries);
  }
  std::vector<std::uint8_t> out;
  const std::size_t room = std::min<std::uint64_t>(size, 1 << 16);
  while (dir.proc_position < dir.proc_entries.size()) {
    const vfs::DirEntry& e = dir.proc_entries[dir.proc_position];
    // struct linux_dirent64: ino, off, reclen, type, name and its NUL, padded to 8 bytes.
    const std::size_t length = (19 + e.name.size() + 1 + 7) & ~std::size_t{7};
    if (out.size() + length > room) break;
    const std::size_t at = out.size();
    out.resize(at + length, 0);
    const std::uint64_t ino = e.ino, next = dir.proc_position + 1;
    const auto reclen = static_cast<std::uint16_t>(length);
    std::memcpy(&out[at], &ino, 8);
    std::memcpy(&out[at + 8], &next, 8);
    std::memcpy(&out[at + 16], &reclen, 2);
    out[at + 18] = e.type;
    std::memcpy(&out[at + 19], e.name.data(), e.name.size());
    ++dir.proc_position;
  }
  if (out.empty() && dir.proc_position < dir.proc_entries.size()) return SyscallResult::error(EINVAL);
  TRY_GUEST_VOID(p.space().write(buffer, out));
  return SyscallResult::ret(static_cast<std::int64_t>(out.size()));
}

struct stat proc_directory_stat(const Process::OpenFile& dir) {
  vfs::ProcNode node;
  node.kind = vfs::ProcNode::Kind::directory;
  node.ino = vfs::proc_inode(dir.path);
  return proc_node_stat(node);
}

}  // namespace spectrum::vm::syscalls
