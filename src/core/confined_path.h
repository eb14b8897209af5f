// Paths resolved inside a root directory, to file descriptors, never to strings: a path a
// container (or a guest, or a bundle author) controls cannot lead the caller outside the root,
// even while someone swaps its components for symlinks (the CVE-2021-30465 class). The kernel
// does the walk (openat2 with RESOLVE_IN_ROOT: "/" and ".." stop at the root, absolute symlinks
// restart there; RESOLVE_NO_MAGICLINKS: no /proc/PID/fd-style jumps). What is missing is created
// through the fd of its parent, so what was checked is what is used.
//
// Two confinements: in a root (the container's filesystem: "/" and ".." stop at the root, as the
// workload itself would see it), and beneath a directory (WASI's preopens: "..", absolute paths
// and symlinks that leave the directory are refused with EXDEV, never clamped).
#pragma once

#include <sys/types.h>

#include <atomic>
#include <cstdint>
#include <string_view>

#include "core/error.h"
#include "core/fd.h"

namespace spectrum {

enum class Missing {
  fail,       // a missing path is an error (ENOENT)
  directory,  // create it and any missing parent directory
  file,       // create an empty regular file (parents as directories)
};

// An O_PATH fd of `path` resolved inside the directory `root_fd` as if it were "/". `missing`
// says what to create when the path (or a parent) does not exist; parents are made 0755, files
// `file_mode`. A creation that races with someone else's is retried from the root, a bounded
// number of times; the result is always inside the root.
Result<UniqueFd> open_in_root(int root_fd, std::string_view path, Missing missing = Missing::fail,
                              mode_t file_mode = 0644);

// The fd of the parent directory of `path` inside the root (created as directories if asked) and
// the last component ("" for the root itself): for mknodat, symlinkat, unlinkat.
struct ParentAndName {
  UniqueFd parent;
  std::string name;
};
Result<ParentAndName> open_parent_in_root(int root_fd, std::string_view path, bool create_parents);

// openat2 of `path` beneath the directory `dir_fd` (RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS) with
// open(2)'s `flags` (O_CLOEXEC added) and `mode` (used only with O_CREAT or O_TMPFILE). Escaping
// the directory fails with EXDEV; the error's sys_errno() is the kernel's. An open that can block
// (a FIFO without a partner) gives up with EINTR once `interrupted` is set; otherwise EINTR and the
// kernel's EAGAIN (a rename raced with a ".." step) are retried.
Result<UniqueFd> open_beneath(int dir_fd, std::string_view path, std::uint64_t flags, mode_t mode = 0,
                              const std::atomic<bool>* interrupted = nullptr);

// One open of `path` inside the root with open(2)'s `flags` and `mode` (O_CREAT, O_TRUNC, O_RDWR
// ...): no creation of parents, for a caller that hands the errno on (Error::sys_errno), such as
// the sandbox kernel's open(2). The path is resolved as by open_in_root.
Result<UniqueFd> open_file_in_root(int root_fd, std::string_view path, int flags, mode_t mode = 0);

// "/proc/self/fd/N": how mount(2), chmod and the like act on an O_PATH fd (the magic link leads to
// the exact file the fd holds, with no second lookup).
std::string fd_path(int fd);

}  // namespace spectrum
