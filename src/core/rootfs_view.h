// The workload's copy-on-write view of --rootfs: `spectrum run` never changes the user's directory
// by accident. The view is an overlay whose lower layer is the rootfs and whose upper and work
// layers live on a tmpfs private to the run (or in --keep-changes DIR). Everything is mounted in a
// mount namespace of spectrum's own, made once per process: the host never sees the mounts, and
// when spectrum ends on any path, SIGKILL included, the kernel drops the namespace with the
// overlay and the tmpfs, so no collector of stale views is needed. Without CAP_SYS_ADMIN (a user
// of the vm or sandbox tier), spectrum first enters a user namespace mapping only its own ids,
// which lets it make that mount namespace (rootfs_view.cc says what differs there).
#pragma once

#include <string>
#include <vector>

#include "core/error.h"

namespace spectrum {

struct Workload;

class RootfsView {
 public:
  // The view `w` asks for: a private overlay by default, the rootfs itself with
  // `w.rootfs_writable`, an overlay whose upper layer stays in `w.keep_changes`/upper otherwise.
  static Result<RootfsView> open(const Workload& w);

  RootfsView(RootfsView&& other) noexcept;
  RootfsView& operator=(RootfsView&&) = delete;
  RootfsView(const RootfsView&) = delete;
  ~RootfsView();

  // The directory the workload gets as its root.
  const std::string& path() const { return path_; }

  // A directory the tier needs in the view (a mount point: the vm tier's /dev/shm), made where the
  // rootfs lacks it ("dev/shm": relative to the root). Only in an overlay view (the rootfs itself
  // is not changed). With --keep-changes, what it made goes out of DIR/upper again at the end,
  // with the parents the overlay copied up for it, each while it is empty: the kept changes are
  // the workload's alone.
  Result<void> ensure_directory(const std::string& relative);

 private:
  RootfsView() = default;
  std::string path_;               // the overlay's merged directory, or the rootfs itself
  std::string scratch_;            // the run's tmpfs (unmounted and removed at the end); empty if none
  std::string kept_work_;          // --keep-changes: DIR/work, removed at the end (DIR/upper stays)
  std::string kept_upper_;         // --keep-changes: DIR/upper
  std::vector<std::string> made_;  // ensure_directory's, relative, parents first
};

// The namespace's mount point of the views' tmpfs, per process ("/run/spectrum/views"; a user's is
// $XDG_RUNTIME_DIR/spectrum-views, or /tmp/spectrum-views-UID).
inline constexpr const char* kRootfsViewsDir = "/run/spectrum/views";

}  // namespace spectrum
