// The monitor's self-confinement (the idea of Firecracker's jailer): once the VM exists it needs
// only its hypercalls' host calls, so it
//   1. enters a mount namespace of its own where "/" is the workload's root filesystem (with its
//      --mount binds) and nothing else of the host is reachable,
//   2. drops every capability (bounding set included) and sets no_new_privs,
//   3. installs a seccomp filter allowing only the host system calls its hypercalls make.
#pragma once

#include <linux/filter.h>

#include <span>
#include <string>
#include <vector>

#include "core/error.h"
#include "core/fd.h"
#include "core/workload.h"

namespace spectrum::vm {

// Makes `rootfs` (plus `mounts`) the root of a new mount namespace of the calling process. The
// mount targets are resolved inside the root filesystem, so a symlink there cannot redirect one.
// /dev/shm, for POSIX shared memory and named semaphores, gets a tmpfs of `shm_bytes` (1777, as
// a container runtime mounts it) where the root filesystem has that directory, made first with
// `make_shm_dir` (for a root that is a private copy), unless a mount targets it; 0: none.
struct ShmOptions {
  std::uint64_t bytes = 0;
  bool make_dir = false;
};
Result<void> enter_rootfs_namespace(const std::string& rootfs, const std::vector<Mount>& mounts,
                                    bool read_only, ShmOptions shm = {});

// A --mount source on one of the kernel's own filesystems (proc, sysfs, cgroup, debugfs, ...) is
// refused: the guest never gets a host /proc or /sys (the uid-0 monitor could write
// /proc/sys/kernel/core_pattern through it). Binds are never recursive, so a submount of a source
// does not reach the guest either; :ro is mount_setattr(AT_RECURSIVE, MOUNT_ATTR_RDONLY).
Result<void> check_mount_source(const std::string& source);

// Drops all capabilities from every set and the bounding set, and sets PR_SET_NO_NEW_PRIVS.
Result<void> drop_capabilities();

// The allow-list filter (KILL_PROCESS for everything else). ioctl is limited to the vCPU's
// KVM_RUN / register / memory-slot requests and the two terminal queries the hypercalls forward.
// It installs the program built with the project (build_monitor_filter run by
// spectrum_vm_filter_gen at build time: libseccomp took ~0.23 ms of every run to build it).
// With `host_network` (--net host) the monitor may also make AF_INET/AF_INET6 TCP and UDP sockets;
// without it, only AF_UNIX ones (the guest's AF_INET is refused before, and the filter holds it).
Result<void> install_monitor_seccomp(bool ptrace_platform = false, bool host_network = false);

// The filter as libseccomp builds it from the allow-list (what the build embeds), and the embedded
// program itself (a test compares the two).
Result<std::vector<sock_filter>> build_monitor_filter(bool ptrace_platform, bool host_network = false);
std::span<const sock_filter> embedded_monitor_filter(bool ptrace_platform, bool host_network = false);

// The host system calls the filter allows, by name (for docs and tests).
std::vector<std::string> monitor_syscall_allow_list();

}  // namespace spectrum::vm
