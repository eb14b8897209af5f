#include "vm/confine.h"

#include <asm/termbits.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <linux/magic.h>
#include <netinet/in.h>
#include <sched.h>
#include <seccomp.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

#include "core/confined_path.h"
#include "vm/kvm_abi.h"

namespace spectrum::vm {

namespace {

// The host calls of the monitor after setup: its hypercall handlers (process.cc), the run loop
// (monitor.cc, kvm.cc), logging and the C/C++ runtime's memory management.
constexpr const char* kAllowed[] = {
    // hypercalls: files, directories
    "read",
    "write",
    "readv",
    "writev",
    "pread64",
    "pwrite64",
    "preadv",
    "pwritev",
    "close",
    "lseek",
    "fcntl",
    "sendfile",
    "copy_file_range",
    // timestamps, ownership, advisory locks and FIFOs of the root's files (syscalls/paths.cc, files.cc)
    "utimensat",
    "fchownat",
    "fchown",
    "flock",
    "mknodat",
    "openat2",
    "fstat",
    "newfstatat",
    "statx",
    "fstatfs",
    "readlinkat",
    "faccessat2",
    "getdents64",
    "mkdirat",
    "unlinkat",
    "renameat2",
    "renameat",  // glibc's renameat2() with flags 0
    "ftruncate",
    "linkat",     // the guest's link/symlink/chmod, on fds resolved inside its root (syscalls/paths.cc)
    "symlinkat",  // (the target is stored text; only openat2 RESOLVE_IN_ROOT ever follows it)
    "fchmod",
    "fchmodat2",  // chmod through an O_PATH fd (AT_EMPTY_PATH), never a host path walk
    "fsync",
    "fdatasync",
    "poll",  // O_NONBLOCK the guest set on a shared stdio description (process.cc)
    "ppoll",
    "pipe2",            // the guest's pipes are the monitor's (syscalls/files.cc)
    "restart_syscall",  // a poll of the scheduler thawed after a freeze (the container's pause)
    "eventfd2",         // its eventfds (syscalls/ipc.cc)
    "memfd_create",     // a /proc file: the text made at open, sealed (syscalls/proc_paths.cc)
    // the guest's sockets (syscalls/net.cc, messages.cc): on sockets the monitor made; socket,
    // socketpair, setsockopt/getsockopt, sendmsg/recvmsg have argument filters (kSocketRules)
    "shutdown",
    "bind",
    "listen",
    "accept4",
    "connect",
    "getsockname",
    "getpeername",
    "fchdir",  // a path socket's bind/connect, made in its parent directory resolved inside the root
    "getuid",  // SCM_CREDENTIALS: the host's own ids, which the host kernel checks
    "getgid",
    "epoll_create1",  // the guest's epoll instances (syscalls/epoll.cc)
    "epoll_ctl",
    "epoll_wait",
    // hypercalls: time and randomness
    "clock_gettime",
    "clock_getres",
    "clock_nanosleep",
    "nanosleep",
    "gettimeofday",
    "time",
    "getrandom",
    // guest memory given back; the runtime's own allocations
    "madvise",
    "mincore",
    "mmap",
    "munmap",
    "mremap",
    "brk",
    "mprotect",
    // the run loop: the --timeout timer and its signal, end
    "rt_sigaction",
    "rt_sigreturn",
    "rt_sigprocmask",
    "timer_create",
    "timer_settime",
    "timer_delete",
    "exit",
    "exit_group",
    "getpid",
    "gettid",
    "tgkill",
    "futex",
};

constexpr unsigned long kAllowedIoctls[] = {
    kvm_abi::kRun, kvm_abi::kGetRegs, kvm_abi::kSetRegs, kvm_abi::kGetSregs, kvm_abi::kSetSregs,
    // Each task's FPU/SSE/AVX registers, saved and given back when the scheduler switches tasks.
    kvm_abi::kGetXsave, kvm_abi::kSetXsave,
    // The vCPU's IA32_TSC, read to learn its offset from the host's (the vDSO's clock, vdso/).
    kvm_abi::kGetMsrs,
    // Guest memory is registered with KVM as the guest's frames reach it (KvmVm::cover): one slot
    // of all 256 MiB made VM creation and teardown 2-10 ms slower on kvm_pvm. The monitor only
    // ever registers slices of the one guest-memory mapping it already owns.
    kvm_abi::kSetUserMemoryRegion, TCGETS, TIOCGWINSZ,
    FIONREAD,  // a guest's FIONREAD on its pipe, socket or file: a count, nothing changes
};

// The socket calls' argument filters: the families and types of the sockets the monitor makes
// (AF_UNIX, and AF_INET/AF_INET6 TCP and UDP only in the --net host program; never AF_NETLINK, AF_PACKET or
// raw sockets), the option levels it passes on, and the message flags it uses.
Result<void> add_socket_rules(scmp_filter_ctx ctx, bool host_network) {
  auto add = [&](int nr, std::initializer_list<scmp_arg_cmp> args) -> Result<void> {
    if (int rc = ::seccomp_rule_add_array(ctx, SCMP_ACT_ALLOW, nr, static_cast<unsigned>(args.size()),
                                          args.begin());
        rc != 0)
      return fail_errno("seccomp_rule_add (sockets)", -rc);
    return {};
  };
  constexpr std::uint32_t kTypeMask = 0xf;  // the type without SOCK_NONBLOCK | SOCK_CLOEXEC
  for (int type : {SOCK_STREAM, SOCK_DGRAM, SOCK_SEQPACKET}) {
    SPECTRUM_TRY(
        add(SCMP_SYS(socket), {SCMP_A0_32(SCMP_CMP_EQ, AF_UNIX),
                               SCMP_A1_32(SCMP_CMP_MASKED_EQ, kTypeMask, static_cast<std::uint32_t>(type))}));
    SPECTRUM_TRY(add(SCMP_SYS(socketpair),
                     {SCMP_A0_32(SCMP_CMP_EQ, AF_UNIX),
                      SCMP_A1_32(SCMP_CMP_MASKED_EQ, kTypeMask, static_cast<std::uint32_t>(type))}));
  }
  for (int family : {AF_INET, AF_INET6})
    for (int type : {SOCK_STREAM, SOCK_DGRAM})
      if (host_network)
        SPECTRUM_TRY(add(SCMP_SYS(socket),
                         {SCMP_A0_32(SCMP_CMP_EQ, static_cast<std::uint32_t>(family)),
                          SCMP_A1_32(SCMP_CMP_MASKED_EQ, kTypeMask, static_cast<std::uint32_t>(type))}));
  for (int level : {int{SOL_SOCKET}, int{IPPROTO_TCP}, int{IPPROTO_IP}, int{IPPROTO_IPV6}})
    for (int nr : {SCMP_SYS(setsockopt), SCMP_SYS(getsockopt)})
      SPECTRUM_TRY(add(nr, {SCMP_A1_32(SCMP_CMP_EQ, static_cast<std::uint32_t>(level))}));
  constexpr std::uint32_t kSendFlags = MSG_EOR | MSG_MORE | MSG_OOB | MSG_DONTWAIT | MSG_NOSIGNAL;
  constexpr std::uint32_t kRecvFlags = MSG_PEEK | MSG_TRUNC | MSG_OOB | MSG_DONTWAIT | MSG_CMSG_CLOEXEC;
  SPECTRUM_TRY(add(SCMP_SYS(sendmsg), {SCMP_A2_32(SCMP_CMP_MASKED_EQ, ~kSendFlags, 0)}));
  SPECTRUM_TRY(add(SCMP_SYS(recvmsg), {SCMP_A2_32(SCMP_CMP_MASKED_EQ, ~kRecvFlags, 0)}));
  return {};
}

Result<void> mount_checked(const char* source, const char* target, const char* type, unsigned long flags,
                           const char* what, const char* data = nullptr) {
  if (::mount(source, target, type, flags, data) != 0) return fail_errno(std::string("mount: ") + what);
  return {};
}

// Read-only for the mount at `fd` and every mount below it (mount_setattr with AT_RECURSIVE: a
// remount with MS_RDONLY changes the top mount only).
Result<void> make_read_only(int fd, const std::string& what) {
  struct MountAttr {  // struct mount_attr, MOUNT_ATTR_SIZE_VER0
    std::uint64_t attr_set, attr_clr, propagation, userns_fd;
  } attr{MOUNT_ATTR_RDONLY, 0, 0, 0};
  static_assert(sizeof(MountAttr) == 32);
  if (::syscall(SYS_mount_setattr, fd, "", AT_EMPTY_PATH | AT_RECURSIVE, &attr, sizeof attr) != 0)
    return fail_errno("mount_setattr read-only (recursive) on " + what);
  return {};
}

}  // namespace

Result<void> check_mount_source(const std::string& source) {
  struct statfs st {};
  if (::statfs(source.c_str(), &st) != 0) return fail_errno("--mount source " + source);
  switch (static_cast<unsigned long>(st.f_type)) {
    case PROC_SUPER_MAGIC:
    case SYSFS_MAGIC:
    case CGROUP_SUPER_MAGIC:
    case CGROUP2_SUPER_MAGIC:
    case DEBUGFS_MAGIC:
    case TRACEFS_MAGIC:
    case SECURITYFS_MAGIC:
    case BPF_FS_MAGIC:
    case DEVPTS_SUPER_MAGIC:
      return fail(
          "--mount source " + source +
          " is on a kernel filesystem (/proc, /sys or the like): the vm tier never gives it to the guest");
    default:
      return {};
  }
}

std::vector<std::string> monitor_syscall_allow_list() {
  std::vector<std::string> out(std::begin(kAllowed), std::end(kAllowed));
  out.push_back("ioctl");
  for (const char* filtered : {"socket", "socketpair", "setsockopt", "getsockopt", "sendmsg", "recvmsg"})
    out.push_back(filtered);
  return out;
}

Result<void> enter_rootfs_namespace(const std::string& rootfs, const std::vector<Mount>& mounts,
                                    bool read_only, ShmOptions shm) {
  if (::unshare(CLONE_NEWNS) != 0) {
    // Without CAP_SYS_ADMIN (a user in the kvm group), a user namespace of one id gives the
    // monitor the right to build its mount namespace, and nothing on the host.
    if (errno != EPERM) return fail_errno("unshare(CLONE_NEWNS) for the monitor's mount namespace");
    const uid_t uid = ::geteuid();
    const gid_t gid = ::getegid();
    if (::unshare(CLONE_NEWUSER | CLONE_NEWNS) != 0)
      return fail_errno("unshare(CLONE_NEWUSER | CLONE_NEWNS) for the monitor");
    SPECTRUM_TRY(write_file("/proc/self/setgroups", "deny"));
    SPECTRUM_TRY(write_file("/proc/self/uid_map", std::to_string(uid) + " " + std::to_string(uid) + " 1"));
    SPECTRUM_TRY(write_file("/proc/self/gid_map", std::to_string(gid) + " " + std::to_string(gid) + " 1"));
  }
  SPECTRUM_TRY(mount_checked(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, "making / private"));
  // Binds are not recursive: a mount below the root filesystem or below a --mount source (a
  // host /proc, /sys, /dev/shm under `--mount /:/host`) never reaches the guest.
  SPECTRUM_TRY(mount_checked(rootfs.c_str(), rootfs.c_str(), nullptr, MS_BIND, ("bind " + rootfs).c_str()));
  UniqueFd root(::open(rootfs.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
  if (!root) return fail_errno("open rootfs " + rootfs);
  for (const Mount& m : mounts) {
    SPECTRUM_TRY(check_mount_source(m.host_path));
    auto target = open_in_root(root.get(), m.target);
    if (!target)
      return fail_errno("mount target " + m.target + " in the root filesystem", target.error().sys_errno());
    const std::string target_path = fd_path(target->get());
    SPECTRUM_TRY(mount_checked(m.host_path.c_str(), target_path.c_str(), nullptr, MS_BIND,
                               ("bind " + m.host_path).c_str()));
    if (m.read_only) {
      // The fd above names the directory under the new mount; the attribute needs the mount itself.
      auto mounted = open_in_root(root.get(), m.target);
      if (!mounted)
        return fail_errno("mount target " + m.target + " after binding it", mounted.error().sys_errno());
      SPECTRUM_TRY(make_read_only(mounted->get(), m.target));
    }
  }
  if (read_only) SPECTRUM_TRY(make_read_only(root.get(), "the root filesystem"));
  const bool shm_mounted = std::any_of(mounts.begin(), mounts.end(), [](const Mount& m) {
    std::string target = m.target;
    while (target.size() > 1 && target.back() == '/') target.pop_back();
    return target == "/dev" || target == "/dev/shm";
  });
  if (shm.bytes && !shm_mounted) {
    auto dir = open_in_root(root.get(), "/dev/shm", shm.make_dir ? Missing::directory : Missing::fail);
    struct stat st;
    if (dir && ::fstat(dir->get(), &st) == 0 && S_ISDIR(st.st_mode)) {
      const std::string options = "mode=1777,size=" + std::to_string(shm.bytes);
      SPECTRUM_TRY(mount_checked("shm", fd_path(dir->get()).c_str(), "tmpfs",
                                 MS_NOSUID | MS_NODEV | MS_NOEXEC, "mounting /dev/shm", options.c_str()));
    }
  }
  if (::fchdir(root.get()) != 0) {
    UniqueFd dir(::open(rootfs.c_str(), O_DIRECTORY | O_CLOEXEC));
    if (!dir || ::fchdir(dir.get()) != 0) return fail_errno("chdir " + rootfs);
  }
  // pivot_root(".", "."): the old root ends up on top of the new one and is detached at once.
  if (::syscall(SYS_pivot_root, ".", ".") != 0) return fail_errno("pivot_root into " + rootfs);
  if (::umount2(".", MNT_DETACH) != 0) return fail_errno("detaching the host's root");
  if (::chdir("/") != 0) return fail_errno("chdir /");
  return {};
}

Result<void> drop_capabilities() {
  if (::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) return fail_errno("PR_SET_NO_NEW_PRIVS");
  for (int cap = 0; cap <= 63; ++cap) {
    if (::prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) != 0 && errno != EINVAL && errno != EPERM)
      return fail_errno("PR_CAPBSET_DROP " + std::to_string(cap));
  }
  __user_cap_header_struct header{_LINUX_CAPABILITY_VERSION_3, 0};
  __user_cap_data_struct data[2] = {};
  if (::syscall(SYS_capset, &header, data) != 0) return fail_errno("capset (dropping all capabilities)");
  if (::prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) != 0 && errno != EINVAL)
    return fail_errno("clearing ambient capabilities");
  return {};
}

Result<std::vector<sock_filter>> build_monitor_filter(bool ptrace_platform, bool host_network) {
  scmp_filter_ctx ctx = ::seccomp_init(SCMP_ACT_KILL_PROCESS);
  if (!ctx) return fail("seccomp_init failed");
  struct Release {
    scmp_filter_ctx c;
    ~Release() { ::seccomp_release(c); }
  } release{ctx};
  for (const char* name : kAllowed) {
    int nr = ::seccomp_syscall_resolve_name(name);
    if (nr == __NR_SCMP_ERROR) return fail(std::string("seccomp: unknown syscall ") + name);
    if (int rc = ::seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, 0); rc != 0)
      return fail_errno(std::string("seccomp_rule_add ") + name, -rc);
  }
  SPECTRUM_TRY(add_socket_rules(ctx, host_network));
  // The ptrace platform drives its stub (PTRACE_SETREGS/SYSEMU/GETREGS, waitpid) and kills it at
  // the end; the stub's pid is the only one this monitor can reach. It keeps each stub on the CPU
  // it runs on itself (sched_getcpu, sched_setaffinity: PtraceContext::resume).
  if (ptrace_platform)
    for (int nr :
         {SCMP_SYS(ptrace), SCMP_SYS(wait4), SCMP_SYS(kill), SCMP_SYS(sched_setaffinity), SCMP_SYS(getcpu)})
      if (int rc = ::seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, 0); rc != 0)
        return fail_errno("seccomp_rule_add (ptrace platform)", -rc);
  for (unsigned long request : kAllowedIoctls) {
    if (int rc = ::seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(ioctl), 1, SCMP_A1(SCMP_CMP_EQ, request));
        rc != 0)
      return fail_errno("seccomp_rule_add ioctl", -rc);
  }
  // libseccomp writes the program to a file descriptor; a memfd takes it back as instructions.
  UniqueFd out(::memfd_create("spectrum-monitor-filter", MFD_CLOEXEC));
  if (!out) return fail_errno("memfd_create for the seccomp program");
  if (int rc = ::seccomp_export_bpf(ctx, out.get()); rc != 0) return fail_errno("seccomp_export_bpf", -rc);
  const off_t size = ::lseek(out.get(), 0, SEEK_END);
  if (size <= 0 || size % sizeof(sock_filter) != 0) return fail("seccomp_export_bpf wrote no whole program");
  std::vector<sock_filter> program(static_cast<std::size_t>(size) / sizeof(sock_filter));
  if (::pread(out.get(), program.data(), static_cast<std::size_t>(size), 0) != size)
    return fail_errno("reading the seccomp program back");
  return program;
}

}  // namespace spectrum::vm
