#include "core/confined_path.h"

#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace spectrum {
namespace {

// The uapi struct as the kernel reads it (OPEN_HOW_SIZE_VER0) and the flags taken from it.
static_assert(sizeof(open_how) == 24, "struct open_how: the kernel's OPEN_HOW_SIZE_VER0 is 24 bytes");
static_assert(offsetof(open_how, flags) == 0 && offsetof(open_how, mode) == 8 &&
              offsetof(open_how, resolve) == 16);
static_assert(RESOLVE_NO_MAGICLINKS == 0x02 && RESOLVE_BENEATH == 0x08 && RESOLVE_IN_ROOT == 0x10);

// Rounds of "create what is missing, then resolve again from the root" before giving up: each
// round either makes progress or lost a race to someone who keeps swapping the path.
constexpr int kMaxRounds = 64;

// The one openat2 call. Returns the fd or -1 with errno.
int openat2_retrying(int dir_fd, const char* path, std::uint64_t flags, mode_t mode, std::uint64_t resolve,
                     const std::atomic<bool>* interrupted) {
  open_how how{};
  how.flags = flags | O_CLOEXEC;
  how.mode = ((flags & O_CREAT) || (flags & O_TMPFILE) == O_TMPFILE) ? mode : 0;  // else EINVAL
  how.resolve = resolve;
  for (int i = 0; i < kMaxRounds;) {
    long fd = ::syscall(SYS_openat2, dir_fd, path, &how, sizeof how);
    if (fd >= 0) return static_cast<int>(fd);
    // EAGAIN: a rename raced with a ".." step; the kernel refuses rather than risk an escape.
    if (errno == EAGAIN) {
      ++i;
      continue;
    }
    if (errno != EINTR || (interrupted && interrupted->load(std::memory_order_relaxed))) return -1;
  }
  return -1;
}

// openat2 inside the root; "" is the root itself. Returns the fd or -1 with errno.
int open_confined(int root_fd, const std::string& relative, std::uint64_t flags) {
  return openat2_retrying(root_fd, relative.empty() ? "." : relative.c_str(), flags, 0,
                          RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS, nullptr);
}

std::vector<std::string> components(std::string_view path) {
  std::vector<std::string> out;
  std::size_t pos = 0;
  while (pos < path.size()) {
    std::size_t end = path.find('/', pos);
    if (end == std::string_view::npos) end = path.size();
    std::string_view part = path.substr(pos, end - pos);
    if (!part.empty() && part != ".") out.emplace_back(part);
    pos = end + 1;
  }
  return out;
}

std::string joined(const std::vector<std::string>& parts, std::size_t count) {
  std::string out;
  for (std::size_t i = 0; i < count; ++i) {
    if (i) out += '/';
    out += parts[i];
  }
  return out;
}

}  // namespace

std::string fd_path(int fd) { return "/proc/self/fd/" + std::to_string(fd); }

Result<UniqueFd> open_file_in_root(int root_fd, std::string_view path, int flags, mode_t mode) {
  const std::string p(path);
  UniqueFd fd(openat2_retrying(root_fd, p.empty() ? "." : p.c_str(), static_cast<std::uint64_t>(flags), mode,
                               RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS, nullptr));
  if (!fd) return fail_errno(p);
  return fd;
}

Result<UniqueFd> open_in_root(int root_fd, std::string_view path, Missing missing, mode_t file_mode) {
  const std::string shown = "/" + joined(components(path), components(path).size());
  std::string current(path);
  int links = 0;
  for (int round = 0; round < kMaxRounds; ++round) {
    const std::vector<std::string> parts = components(current);
    UniqueFd fd(open_confined(root_fd, joined(parts, parts.size()), O_PATH));
    if (fd) return fd;
    if (errno != ENOENT || missing == Missing::fail) return fail_errno(shown);
    // Find the first missing component and create it in the directory its prefix resolves to.
    UniqueFd parent(open_confined(root_fd, "", O_PATH | O_DIRECTORY));
    if (!parent) return fail_errno("open the root of " + shown);
    for (std::size_t i = 0; i < parts.size(); ++i) {
      UniqueFd next(open_confined(root_fd, joined(parts, i + 1), O_PATH));
      if (next) {
        parent = std::move(next);
        continue;
      }
      if (errno != ENOENT) return fail_errno(shown);
      if (parts[i] == "..") return fail_errno(shown, ENOENT);
      bool last = i + 1 == parts.size();
      int made = 0;
      if (last && missing == Missing::file) {
        // O_EXCL never follows a symlink and never opens what someone else put there first.
        UniqueFd file(::openat(parent.get(), parts[i].c_str(),
                               O_CREAT | O_EXCL | O_WRONLY | O_NOFOLLOW | O_CLOEXEC, file_mode));
        made = file ? 0 : errno;
      } else if (::mkdirat(parent.get(), parts[i].c_str(), 0755) != 0) {
        made = errno;
      }
      if (made != 0 && made != EEXIST) return fail_errno("create /" + joined(parts, i + 1), made);
      struct stat st {};
      if (made == EEXIST && ::fstatat(parent.get(), parts[i].c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0 &&
          S_ISLNK(st.st_mode)) {
        // A dangling symlink (an image's /var/run -> /run without /run): create its target, inside
        // the root as the kernel would resolve it: absolute from the root, relative from here.
        if (++links > 40) return fail_errno(shown, ELOOP);
        char target[4096];
        ssize_t n = ::readlinkat(parent.get(), parts[i].c_str(), target, sizeof target - 1);
        if (n <= 0) break;  // swapped meanwhile: resolve again
        target[n] = 0;
        std::string rest;
        for (std::size_t k = i + 1; k < parts.size(); ++k) rest += "/" + parts[k];
        current = (target[0] == '/' ? std::string() : joined(parts, i) + "/") + target + rest;
      }
      break;  // resolve again from the root: what was made may have been swapped meanwhile
    }
  }
  return fail("resolve " + shown + ": it kept changing while being created", EAGAIN);
}

Result<UniqueFd> open_beneath(int dir_fd, std::string_view path, std::uint64_t flags, mode_t mode,
                              const std::atomic<bool>* interrupted) {
  std::string text(path);
  int fd = openat2_retrying(dir_fd, text.c_str(), flags, mode, RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS,
                            interrupted);
  if (fd < 0) return fail_errno(text);
  return UniqueFd(fd);
}

Result<ParentAndName> open_parent_in_root(int root_fd, std::string_view path, bool create_parents) {
  std::vector<std::string> parts = components(path);
  if (parts.empty() || parts.back() == "..")
    return fail("/" + joined(parts, parts.size()) + ": names no file", EINVAL);
  ParentAndName out;
  out.name = parts.back();
  parts.pop_back();
  out.parent = SPECTRUM_TRY(open_in_root(root_fd, joined(parts, parts.size()),
                                         create_parents ? Missing::directory : Missing::fail));
  return out;
}

}  // namespace spectrum
