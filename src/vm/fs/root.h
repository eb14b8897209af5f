// The guest's file system: the host directory given as the root filesystem, confined by
// core/confined_path (openat2 RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS: "..", absolute and relative
// symlinks cannot leave it, /proc/*/root-style magic links are refused). Guest paths are kept as
// absolute strings only for the working directory and directory fds (for *at calls); every use
// goes through the kernel's walk inside the root.
#pragma once

#include <string>

namespace spectrum::vm::vfs {

// Lexical normalisation of an absolute guest path ("/a/./b/../c" -> "/a/c"); the kernel still
// resolves the result inside the root, so this only shapes what getcwd shows.
std::string normalize(const std::string& path);

}  // namespace spectrum::vm::vfs
