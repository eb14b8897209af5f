#include "core/rootfs_view.h"

#include <fcntl.h>
#include <ftw.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <string>
#include <utility>

#include "core/fd.h"
#include "core/workload.h"

namespace spectrum {
namespace {

// Once per process: a mount namespace of spectrum's own, whose mounts never propagate to the
// host's (a slave receives the host's later mounts but sends none back), with a small tmpfs at
// kRootfsViewsDir to hold each view's mount points. The views' directory on the host stays an
// empty one.
struct ViewsNamespace {
  std::string dir;              // where the views' tmpfs is mounted
  bool user_namespace = false;  // spectrum entered a user namespace of its own to get it
};

// Without CAP_SYS_ADMIN (a user of the vm or sandbox tier, in the kvm group or not): a user
// namespace that maps only the caller's own uid and gid gives spectrum the right to mount in a
// mount namespace of its own, and nothing on the host. Linux allows tmpfs and (since 5.11)
// overlayfs there. Files of ids the map lacks (root's, in a rootfs made by root) look owned by
// the overflow id, and the workload can change them in the view no more than the user could in
// the directory: the view is as writable as the rootfs is to its user.
Result<void> enter_user_namespace() {
  const uid_t uid = ::geteuid();
  const gid_t gid = ::getegid();
  if (::unshare(CLONE_NEWUSER | CLONE_NEWNS) != 0)
    return fail_errno(
        "a copy-on-write view of --rootfs needs a mount namespace of its own, and this user may not "
        "create a user namespace for it; --rootfs-writable runs on the directory itself: unshare");
  auto write = [](const char* path, const std::string& text) -> Result<void> {
    UniqueFd fd(::open(path, O_WRONLY | O_CLOEXEC));
    if (!fd || ::write(fd.get(), text.data(), text.size()) != static_cast<ssize_t>(text.size()))
      return fail_errno(std::string("rootfs view: write ") + path);
    return {};
  };
  SPECTRUM_TRY(write("/proc/self/setgroups", "deny"));
  SPECTRUM_TRY(write("/proc/self/uid_map", std::to_string(uid) + " " + std::to_string(uid) + " 1\n"));
  SPECTRUM_TRY(write("/proc/self/gid_map", std::to_string(gid) + " " + std::to_string(gid) + " 1\n"));
  return {};
}

// The views' directory of a user: /run/spectrum is root's. It is only a mount point (an empty
// directory that stays, as /run/spectrum/views does): the tmpfs over it is in spectrum's
// namespace alone.
Result<std::string> user_views_dir() {
  const char* runtime = std::getenv("XDG_RUNTIME_DIR");
  std::string dir = runtime && *runtime == '/' ? std::string(runtime) + "/spectrum-views"
                                               : "/tmp/spectrum-views-" + std::to_string(::geteuid());
  if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST) return fail_errno("rootfs view: mkdir " + dir);
  return dir;
}

Result<const ViewsNamespace*> enter_private_views_namespace() {
  static ViewsNamespace entered;
  if (!entered.dir.empty()) return &entered;
  ViewsNamespace ns;
  if (::unshare(CLONE_NEWNS) != 0) {
    if (errno != EPERM)
      return fail_errno(
          "a copy-on-write view of --rootfs needs a mount namespace of its own; "
          "--rootfs-writable runs on the directory itself: unshare");
    SPECTRUM_TRY(enter_user_namespace());
    ns.user_namespace = true;
  }
  if (::mount(nullptr, "/", nullptr, MS_REC | MS_SLAVE, nullptr) != 0)
    return fail_errno("rootfs view: make spectrum's mounts private");
  if (ns.user_namespace) {
    ns.dir = SPECTRUM_TRY(user_views_dir());
  } else {
    ::mkdir("/run/spectrum", 0711);
    if (::mkdir(kRootfsViewsDir, 0700) != 0 && errno != EEXIST)
      return fail_errno(std::string("rootfs view: mkdir ") + kRootfsViewsDir);
    ns.dir = kRootfsViewsDir;
  }
  if (::mount("spectrum-views", ns.dir.c_str(), "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC,
              "mode=0700,size=1m") != 0)
    return fail_errno("rootfs view: mount a tmpfs on " + ns.dir);
  entered = std::move(ns);
  return &entered;
}

int remove_entry(const char* path, const struct stat*, int, FTW*) { return ::remove(path); }

// Removes a tree without following links out of it (only ever the overlay's work directory).
void remove_tree(const std::string& path) {
  ::nftw(path.c_str(), remove_entry, 16, FTW_DEPTH | FTW_PHYS | FTW_MOUNT);
}

Result<void> make_dir(const std::string& path, mode_t mode, const char* what) {
  if (::mkdir(path.c_str(), mode) != 0) return fail_errno(std::string(what) + ": mkdir " + path);
  return {};
}

}  // namespace

Result<RootfsView> RootfsView::open(const Workload& w) {
  RootfsView view;
  if (w.rootfs_writable) {
    if (!w.keep_changes.empty()) return fail("--keep-changes and --rootfs-writable exclude each other");
    view.path_ = w.rootfs;
    return view;
  }
  // The lower layer named through a descriptor: a rootfs path with ',' or ':' in it cannot
  // break the overlay's option string.
  // Opened inside the namespace: overlayfs refuses a layer whose mount is another namespace's.
  const ViewsNamespace* ns = SPECTRUM_TRY(enter_private_views_namespace());
  UniqueFd lower(::open(w.rootfs.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
  if (!lower) return fail_errno("--rootfs " + w.rootfs);

  static unsigned counter = 0;
  const std::string dir = ns->dir + "/" + std::to_string(counter++);
  SPECTRUM_TRY(make_dir(dir, 0700, "rootfs view"));
  std::string upper = dir + "/upper", work = dir + "/work";
  if (w.keep_changes.empty()) {
    // The run's changes live in memory (charged to the cgroup of whoever writes them) and go
    // with this tmpfs.
    if (::mount("spectrum-rootfs-view", dir.c_str(), "tmpfs", MS_NOSUID | MS_NODEV, "mode=0700") != 0) {
      int err = errno;
      ::rmdir(dir.c_str());
      return fail_errno("rootfs view: mount a tmpfs on " + dir, err);
    }
    view.scratch_ = dir;
    SPECTRUM_TRY(make_dir(upper, 0755, "rootfs view"));
    SPECTRUM_TRY(make_dir(work, 0700, "rootfs view"));
  } else {
    // DIR/upper keeps the changes (overlayfs' format: a deletion is a 0/0 character device);
    // the work directory must share its file system, so it sits beside it and goes at the end.
    if (::mkdir(w.keep_changes.c_str(), 0755) != 0 && errno != EEXIST)
      return fail_errno("--keep-changes: mkdir " + w.keep_changes);
    upper = w.keep_changes + "/upper";
    work = w.keep_changes + "/work";
    if (::mkdir(upper.c_str(), 0755) != 0)
      return fail_errno(errno == EEXIST
                            ? "--keep-changes: " + upper + " exists already (from an earlier run?)"
                            : "--keep-changes: mkdir " + upper);
    if (::mkdir(work.c_str(), 0700) != 0) return fail_errno("--keep-changes: mkdir " + work);
    view.kept_work_ = work;
    view.kept_upper_ = upper;
    view.scratch_ = dir;  // only the merged mount point lives there
  }
  const std::string merged = dir + "/merged";
  SPECTRUM_TRY(make_dir(merged, 0755, "rootfs view"));
  view.path_ = merged;  // from here on, an error's clean-up removes it too
  UniqueFd upper_fd(::open(upper.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
  UniqueFd work_fd(::open(work.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
  if (!upper_fd || !work_fd) return fail_errno("rootfs view: open " + upper);
  auto fd_path = [](const UniqueFd& fd) { return "/proc/self/fd/" + std::to_string(fd.get()); };
  // In a user namespace the trusted.* attributes overlayfs keeps its whiteouts and opaque
  // directories in are refused; user.* ones are not (on a tmpfs since Linux 6.6; before, overlayfs
  // mounts without attributes, and a directory made where a deleted one was fails with EIO).
  const std::string options = "lowerdir=" + fd_path(lower) + ",upperdir=" + fd_path(upper_fd) +
                              ",workdir=" + fd_path(work_fd) + (ns->user_namespace ? ",userxattr" : "");
  if (::mount("spectrum-rootfs", merged.c_str(), "overlay", 0, options.c_str()) != 0)
    return fail_errno("a copy-on-write view of --rootfs " + w.rootfs +
                      " (overlayfs; --rootfs-writable runs on the directory itself)");
  return view;
}

RootfsView::RootfsView(RootfsView&& other) noexcept
    : path_(std::move(other.path_)),
      scratch_(std::exchange(other.scratch_, {})),
      kept_work_(std::exchange(other.kept_work_, {})),
      kept_upper_(std::exchange(other.kept_upper_, {})),
      made_(std::exchange(other.made_, {})) {}

Result<void> RootfsView::ensure_directory(const std::string& relative) {
  if (scratch_.empty()) return {};  // the rootfs itself
  std::string prefix;
  for (std::size_t start = 0; start < relative.size();) {
    const std::size_t slash = relative.find('/', start);
    const std::size_t end = slash == std::string::npos ? relative.size() : slash;
    prefix += (prefix.empty() ? "" : "/") + relative.substr(start, end - start);
    start = end + 1;
    // Each parent is recorded too: the overlay copies it up into DIR/upper for the new entry.
    const std::string path = path_ + "/" + prefix;
    if (::mkdir(path.c_str(), 0755) != 0 && errno != EEXIST) return fail_errno("rootfs view: mkdir " + path);
    made_.push_back(prefix);
  }
  return {};
}

RootfsView::~RootfsView() {
  if (scratch_.empty()) return;  // the rootfs itself, or moved from
  // Detached: a process of the run that still holds a file there (none should) cannot keep the
  // mount from going; the tmpfs and its contents go with the last reference.
  ::umount2(path_.c_str(), MNT_DETACH);
  ::rmdir(path_.c_str());
  if (kept_work_.empty()) {
    ::umount2(scratch_.c_str(), MNT_DETACH);
  } else {
    remove_tree(kept_work_);
    // Deepest first; a directory the workload changed anything in is not empty and stays.
    for (auto it = made_.rbegin(); it != made_.rend(); ++it) ::rmdir((kept_upper_ + "/" + *it).c_str());
  }
  ::rmdir(scratch_.c_str());
}

}  // namespace spectrum
