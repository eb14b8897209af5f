#include "wasm/wasi/shadow.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <string>

#include "core/fd.h"

namespace spectrum::wasi {

DirId DirId::of(int fd) {
  struct stat st {};
  if (::fstat(fd, &st) != 0) return {};
  return {static_cast<std::uint64_t>(st.st_dev), static_cast<std::uint64_t>(st.st_ino)};
}

bool ReadOnlyDirs::contains(const DirId& id) const {
  for (const DirId& dir : dirs_)
    if (dir == id) return true;
  return false;
}

bool ReadOnlyDirs::covers_dir(int dir_fd, const DirId& root) const {
  if (dirs_.empty()) return false;
  // The walk is as long as the path below the preopen; the bound only guards against a loop.
  UniqueFd up;
  int fd = dir_fd;
  DirId id = DirId::of(fd);
  for (int depth = 0; depth < 4096; ++depth) {
    if (id == DirId{}) return true;
    if (contains(id)) return true;
    if (id == root) return false;
    up.reset(::openat(fd, "..", O_PATH | O_DIRECTORY | O_CLOEXEC));
    if (!up) return true;
    fd = up.get();
    const DirId parent = DirId::of(fd);
    if (parent == id) return false;  // the host's root: the object left the preopen (moved away)
    id = parent;
  }
  return true;
}

bool ReadOnlyDirs::covers(int fd, const DirId& root) const {
  if (dirs_.empty()) return false;
  struct stat st {};
  if (::fstat(fd, &st) != 0) return true;
  if (S_ISDIR(st.st_mode)) return covers_dir(fd, root);
  // A file has no "..": its directory is found through the path the kernel keeps for the fd (the
  // object was opened confined; the path only names where it is, it is not the guest's text).
  char buf[4096];
  const std::string link = "/proc/self/fd/" + std::to_string(fd);
  const ssize_t n = ::readlink(link.c_str(), buf, sizeof buf - 1);
  if (n <= 0 || buf[0] != '/') return true;
  std::string path(buf, static_cast<std::size_t>(n));
  path.erase(path.rfind('/'));
  UniqueFd parent(::open(path.empty() ? "/" : path.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
  if (!parent) return true;
  return covers_dir(parent.get(), root);
}

}  // namespace spectrum::wasi
