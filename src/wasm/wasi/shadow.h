// Read-only preopens seen through writable ones. `--rootfs R --mount R/locked:/locked:ro` gives the
// guest two ways to R/locked: its read-only preopen, and the writable "/" preopen with the path
// "locked/..." (wasi-libc takes "/./locked/file" that way). A mount namespace would make the inner
// mount shadow the directory; here the check is explicit: before a modification through a writable
// directory, the directory it acts in is walked up to the preopen's root, and reaching a read-only
// preopen's directory (same device and inode, so a host bind-mount alias is caught as well) refuses
// it with EROFS. Without both kinds of preopen nothing is checked.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <vector>

namespace spectrum::wasi {

// A directory's identity on the host.
struct DirId {
  std::uint64_t dev = 0, ino = 0;
  bool operator==(const DirId&) const = default;
  static DirId of(int fd);  // {0, 0} if fstat fails
};

class ReadOnlyDirs {
 public:
  void add(int dir_fd) { dirs_.push_back(DirId::of(dir_fd)); }
  void clear() { dirs_.clear(); }
  bool empty() const { return dirs_.empty(); }

  // Is the directory `dir_fd`, reached below the preopen whose directory is `root`, at or below
  // one of the read-only directories? Also true when the walk cannot tell (refuse what is unsure).
  bool covers_dir(int dir_fd, const DirId& root) const;
  // The same for any object opened beneath `root` (a file is judged by the directory holding it).
  bool covers(int fd, const DirId& root) const;

 private:
  bool contains(const DirId& id) const;
  std::vector<DirId> dirs_;
};

}  // namespace spectrum::wasi
