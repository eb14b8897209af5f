#include "container/sealed_exe.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <cstdlib>
#include <string>
#include <vector>

#include "core/fd.h"

extern char** environ;

namespace spectrum::container {
namespace {

// Set across the re-exec so that a view that still is not read-only fails instead of looping; its
// value is the fd of the detached view, kept open across the exec (see release_sealed_view).
constexpr char kReexecMarker[] = "_SPECTRUM_SEALED_EXE";
int view_fd = -1;

// The view's fd as handed over by the process before the exec, if it is one (the same file as
// ours: a number in the environment alone proves nothing).
void adopt_view(int self) {
  const char* marker = std::getenv(kReexecMarker);
  int fd = marker ? std::atoi(marker) : -1;
  struct stat mine {
  }, theirs{};
  if (fd > 2 && ::fstat(self, &mine) == 0 && ::fstat(fd, &theirs) == 0 && mine.st_dev == theirs.st_dev &&
      mine.st_ino == theirs.st_ino) {
    ::fcntl(fd, F_SETFD, FD_CLOEXEC);
    view_fd = fd;
  }
  ::unsetenv(kReexecMarker);
}

bool read_only_to_everyone(int fd) {
  struct statvfs vfs {};
  if (::fstatvfs(fd, &vfs) == 0 && (vfs.f_flag & ST_RDONLY)) return true;
  int seals = ::fcntl(fd, F_GET_SEALS);
  return seals >= 0 && (seals & F_SEAL_WRITE) && (seals & F_SEAL_SEAL);
}

// The read-only view: a detached bind mount of the binary alone, made read-only before anyone can
// see it. It has no path in any namespace, so nothing can remount it writable.
UniqueFd read_only_clone() {
  UniqueFd tree(::open_tree(AT_FDCWD, "/proc/self/exe", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC));
  if (!tree) return tree;
  mount_attr attr{};
  attr.attr_set = MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV;
  if (::mount_setattr(tree.get(), "", AT_EMPTY_PATH, &attr, sizeof attr) != 0) tree.reset();
  return tree;
}

Result<UniqueFd> sealed_copy(int self) {
  UniqueFd memfd(::memfd_create("spectrum", MFD_CLOEXEC | MFD_ALLOW_SEALING));
  if (!memfd) return fail_errno("memfd_create");
  struct stat st {};
  if (::fstat(self, &st) != 0) return fail_errno("stat /proc/self/exe");
  off_t offset = 0;
  while (offset < st.st_size) {
    ssize_t n = ::sendfile(memfd.get(), self, &offset, static_cast<std::size_t>(st.st_size - offset));
    if (n <= 0) return fail_errno("copy /proc/self/exe");
  }
  if (::fcntl(memfd.get(), F_ADD_SEALS, F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE) != 0)
    return fail_errno("seal the copy of /proc/self/exe");
  return memfd;
}

std::vector<std::string> own_command_line() {
  std::vector<std::string> out;
  auto text = read_file("/proc/self/cmdline");
  if (!text) return out;
  for (std::size_t pos = 0; pos < text->size();) {
    std::size_t end = text->find('\0', pos);
    if (end == std::string::npos) end = text->size();
    out.push_back(text->substr(pos, end - pos));
    pos = end + 1;
  }
  return out;
}

}  // namespace

Result<void> ensure_sealed_runtime(char** argv) {
  UniqueFd self(::open("/proc/self/exe", O_RDONLY | O_CLOEXEC));
  if (!self) return fail_errno("open /proc/self/exe");
  if (read_only_to_everyone(self.get())) {
    adopt_view(self.get());
    return {};
  }
  if (std::getenv(kReexecMarker))
    return fail("cannot run from a read-only view of the runtime binary (the CVE-2019-5736 guard)");
  std::vector<std::string> words;
  std::vector<char*> args;
  if (!argv) {
    words = own_command_line();
    for (std::string& w : words) args.push_back(w.data());
    args.push_back(nullptr);
    argv = args.data();
  }
  UniqueFd view = read_only_clone();
  if (view) {
    // Closing the last fd of a detached mount unmounts it, and an unmount waits for an RCU grace
    // period (milliseconds on a busy host): the new image keeps the fd and closes it when that
    // wait no longer delays the container (release_sealed_view).
    ::fcntl(view.get(), F_SETFD, 0);
    ::setenv(kReexecMarker, std::to_string(view.get()).c_str(), 1);
  } else {
    view = SPECTRUM_TRY(sealed_copy(self.get()));
    ::setenv(kReexecMarker, "-1", 1);
  }
  ::execveat(view.get(), "", argv, environ, AT_EMPTY_PATH);
  int err = errno;
  ::unsetenv(kReexecMarker);
  return fail_errno("re-execute the runtime from a read-only view of itself", err);
}

}  // namespace spectrum::container

namespace spectrum::container {
void release_sealed_view() {
  if (view_fd >= 0) ::close(view_fd);
  view_fd = -1;
}
}  // namespace spectrum::container
