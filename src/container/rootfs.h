// The container's root filesystem, built by the init in its own mount namespace: the root bound
// onto itself, every mount of the config, the device nodes, pivot_root, then the masked and
// read-only paths. Every path the bundle or the image controls is resolved inside the root to a
// file descriptor (core/confined_path.h) and acted on through it: a symlink swapped in by a
// co-tenant of a shared volume cannot lead a mount, a node or a chmod out of the root.
#pragma once

#include <string>

#include "container/launcher.h"
#include "container/oci_config.h"
#include "core/error.h"
#include "core/fd.h"

namespace spectrum::container {

// Propagation of "/" (the config's, runc's rslave by default), the root's parent mount made
// private (nothing made below it propagates back to the caller's namespace, whatever "/" is),
// the root bound onto itself, the mounts and the devices. Returns the fd of the root mount.
Result<UniqueFd> build_rootfs(const Config& config, const Cgroup& cgroup, const std::string& root);

// pivot_root into the mount `root_fd` holds; the old root is detached.
Result<void> pivot_into(int root_fd);

// After the pivot: masked paths, read-only paths, the read-only root.
Result<void> mask_and_protect_paths(const Config& config);

}  // namespace spectrum::container
