#include "vm/fs/root.h"

#include <fcntl.h>

#include <vector>

#include "core/confined_path.h"
#include "vm/kernel/process.h"
#include "vm/syscalls/syscalls.h"

namespace spectrum::vm {

std::string vfs::normalize(const std::string& path) {
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

GuestResult<std::string> Process::guest_path(int dirfd, const std::string& path) {
  if (path.empty()) return std::unexpected(ENOENT);
  if (path.size() >= syscalls::kMaxPath) return std::unexpected(ENAMETOOLONG);
  if (path.front() == '/') return path;
  std::string base;
  if (dirfd == AT_FDCWD) {
    base = fs_->cwd;
  } else {
    const OpenFile* e = fd(dirfd);
    if (!e) return std::unexpected(EBADF);
    if (!e->directory) return std::unexpected(ENOTDIR);
    base = e->path;
  }
  return base + (base.back() == '/' ? "" : "/") + path;
}

GuestResult<UniqueFd> Process::open_in_root(const std::string& absolute_path, int flags,
                                            unsigned mode) const {
  auto fd = open_file_in_root(fs_->root.get(), absolute_path, flags | O_CLOEXEC,
                              (flags & O_CREAT) ? static_cast<mode_t>(mode) : 0);
  if (!fd) return std::unexpected(fd.error().sys_errno() ? fd.error().sys_errno() : EIO);
  return std::move(*fd);
}

}  // namespace spectrum::vm
