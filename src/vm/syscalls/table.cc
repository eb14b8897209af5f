// The syscall table: one row per Linux x86-64 syscall number the sandbox kernel serves, naming its
// handler; everything not in it is refused with ENOSYS, logged once by name. Handlers are declared
// in syscalls.h and live one family per file in this folder (files.cc, paths.cc, memory.cc,
// process.cc, ...).
#include <asm/termbits.h>
#include <fcntl.h>
#include <linux/futex.h>
#include <linux/openat2.h>
#include <linux/sched.h>
#include <poll.h>
#include <seccomp.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/random.h>
#include <sys/resource.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/sysinfo.h>
#include <sys/uio.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <ctime>

#include "vm/syscalls/syscalls.h"

namespace spectrum::vm {

using namespace syscalls;

namespace {

struct Row {
  long number;
  Handler handler;
};
constexpr Row kTable[] = {
    {SYS_read, sys_read},
    {SYS_write, sys_write},
    {SYS_pread64, sys_pread64},
    {SYS_pwrite64, sys_pwrite64},
    {SYS_readv, sys_readv},
    {SYS_writev, sys_writev},
    {SYS_preadv, sys_preadv},
    {SYS_pwritev, sys_pwritev},
    {SYS_preadv2, sys_preadv2},
    {SYS_pwritev2, sys_pwritev2},
    {SYS_close, sys_close},
    {SYS_lseek, sys_lseek},
    {SYS_dup, sys_dup},
    {SYS_dup2, sys_dup2},
    {SYS_dup3, sys_dup3},
    {SYS_fcntl, sys_fcntl},
    {SYS_pipe, sys_pipe},
    {SYS_pipe2, sys_pipe2},
    {SYS_poll, sys_poll},
    {SYS_eventfd, sys_eventfd},
    {SYS_eventfd2, sys_eventfd2},
    {SYS_socketpair, sys_socketpair},
    {SYS_sendto, sys_sendto},
    {SYS_recvfrom, sys_recvfrom},
    {SYS_shutdown, sys_shutdown},
    {SYS_getsockname, sys_socket_name},
    {SYS_getpeername, sys_socket_name},
    {SYS_socket, sys_socket},
    {SYS_bind, sys_bind},
    {SYS_listen, sys_listen},
    {SYS_accept, sys_accept4},
    {SYS_accept4, sys_accept4},
    {SYS_connect, sys_connect},
    {SYS_setsockopt, sys_setsockopt},
    {SYS_getsockopt, sys_getsockopt},
    {SYS_sendmsg, sys_sendmsg_recvmsg},
    {SYS_recvmsg, sys_sendmsg_recvmsg},
    {SYS_close_range, sys_close_range},
    {SYS_ppoll, sys_ppoll},
    {SYS_select, sys_select},
    {SYS_epoll_create, sys_epoll_create},
    {SYS_epoll_create1, sys_epoll_create1},
    {SYS_epoll_ctl, sys_epoll_ctl},
    {SYS_epoll_wait, sys_epoll_wait},
    {SYS_epoll_pwait, sys_epoll_pwait},
    {SYS_epoll_pwait2, sys_epoll_pwait2},
    {SYS_pselect6, sys_pselect6},
    {SYS_ioctl, sys_ioctl},
    {SYS_sendfile, sys_sendfile},
    {SYS_copy_file_range, sys_copy_file_range},
    {SYS_creat, sys_creat},
    {SYS_utimensat, sys_utimensat},
    {SYS_utimes, sys_utimes},
    {SYS_futimesat, sys_futimesat},
    {SYS_utime, sys_utime},
    {SYS_chown, sys_chown},
    {SYS_lchown, sys_lchown},
    {SYS_fchownat, sys_fchownat},
    {SYS_fchown, sys_fchown},
    {SYS_mknod, sys_mknod},
    {SYS_mknodat, sys_mknodat},
    {SYS_getxattr, sys_xattr_path},
    {SYS_lgetxattr, sys_xattr_path},
    {SYS_listxattr, sys_xattr_path},
    {SYS_llistxattr, sys_xattr_path},
    {SYS_setxattr, sys_xattr_path},
    {SYS_lsetxattr, sys_xattr_path},
    {SYS_removexattr, sys_xattr_path},
    {SYS_lremovexattr, sys_xattr_path},
    {SYS_fgetxattr, sys_xattr_fd},
    {SYS_flistxattr, sys_xattr_fd},
    {SYS_fsetxattr, sys_xattr_fd},
    {SYS_fremovexattr, sys_xattr_fd},
    {SYS_flock, sys_flock},
    {SYS_getgroups, sys_getgroups},
    {SYS_getresuid, sys_getresid},
    {SYS_getresgid, sys_getresid},
    {SYS_getpriority, sys_getpriority},
    {SYS_setpriority, sys_setpriority},
    {SYS_sched_getscheduler, sys_sched_getscheduler},
    {SYS_sched_getparam, sys_sched_getparam},
    {SYS_sched_get_priority_max, sys_sched_priority_range},
    {SYS_sched_get_priority_min, sys_sched_priority_range},
    {SYS_mlock, sys_mlock},
    {SYS_munlock, sys_mlock},
    {SYS_mlock2, sys_mlock},
    {SYS_mlockall, sys_mlockall},
    {SYS_munlockall, sys_mlockall},
    {SYS_open, sys_open},
    {SYS_openat, sys_openat},
    {SYS_stat, sys_stat},
    {SYS_lstat, sys_lstat},
    {SYS_fstat, sys_fstat},
    {SYS_newfstatat, sys_newfstatat},
    {SYS_statx, sys_statx},
    {SYS_fstatfs, sys_fstatfs},
    {SYS_statfs, sys_statfs},
    {SYS_readlink, sys_readlink},
    {SYS_readlinkat, sys_readlinkat},
    {SYS_access, sys_access},
    {SYS_faccessat, sys_faccessat},
    {SYS_faccessat2, sys_faccessat2},
    {SYS_getdents64, sys_getdents64},
    {SYS_getcwd, sys_getcwd},
    {SYS_chdir, sys_chdir},
    {SYS_fchdir, sys_fchdir},
    {SYS_mkdir, sys_mkdir},
    {SYS_mkdirat, sys_mkdirat},
    {SYS_unlink, sys_unlink},
    {SYS_rmdir, sys_rmdir},
    {SYS_unlinkat, sys_unlinkat},
    {SYS_rename, sys_rename},
    {SYS_renameat, sys_renameat},
    {SYS_renameat2, sys_renameat2},
    {SYS_link, sys_link},
    {SYS_linkat, sys_linkat},
    {SYS_symlink, sys_symlink},
    {SYS_symlinkat, sys_symlinkat},
    {SYS_chmod, sys_chmod},
    {SYS_fchmod, sys_fchmod},
    {SYS_fchmodat, sys_fchmodat},
    {kSysFchmodat2, sys_fchmodat2},
    {SYS_truncate, sys_truncate},
    {SYS_ftruncate, sys_ftruncate},
    {SYS_fsync, sys_fsync},
    {SYS_msync, sys_msync},
    {SYS_shmget, sys_shmget},
    {SYS_shmat, sys_shmat},
    {SYS_shmdt, sys_shmdt},
    {SYS_shmctl, sys_shmctl},
    {SYS_semget, sys_semget},
    {SYS_semop, sys_semop},
    {SYS_semtimedop, sys_semtimedop},
    {SYS_semctl, sys_semctl},
    {SYS_msgget, sys_msgget},
    {SYS_msgsnd, sys_msgsnd},
    {SYS_msgrcv, sys_msgrcv},
    {SYS_msgctl, sys_msgctl},
    {SYS_fdatasync, sys_fsync},
    {SYS_umask, sys_umask},
    {SYS_fadvise64, sys_zero},
    {SYS_brk, sys_brk},
    {SYS_mmap, sys_mmap},
    {SYS_munmap, sys_munmap},
    {SYS_mprotect, sys_mprotect},
    {SYS_madvise, sys_madvise},
    {SYS_mremap, sys_mremap},
    {SYS_arch_prctl, sys_arch_prctl},
    {SYS_prctl, sys_prctl},
    {SYS_set_tid_address, sys_set_tid_address},
    {SYS_set_robust_list, sys_zero},
    {SYS_futex, sys_futex},
    {SYS_rt_sigaction, sys_rt_sigaction},
    {SYS_rt_sigprocmask, sys_rt_sigprocmask},
    {SYS_rt_sigreturn, sys_rt_sigreturn},
    {SYS_rt_sigsuspend, sys_rt_sigsuspend},
    {SYS_rt_sigpending, sys_rt_sigpending},
    {SYS_rt_sigqueueinfo, sys_rt_sigqueueinfo},
    {SYS_rt_tgsigqueueinfo, sys_rt_tgsigqueueinfo},
    {SYS_rt_sigtimedwait, sys_rt_sigtimedwait},
    {SYS_pause, sys_pause},
    {SYS_sigaltstack, sys_sigaltstack},
    {SYS_alarm, sys_alarm},
    {SYS_setitimer, sys_setitimer},
    {SYS_getitimer, sys_getitimer},
    {SYS_kill, sys_kill},
    {SYS_tkill, sys_tkill},
    {SYS_tgkill, sys_tgkill},
    {SYS_getpid, sys_process_ids},
    {SYS_gettid, sys_process_ids},
    {SYS_getppid, sys_process_ids},
    {SYS_getuid, sys_zero},
    {SYS_geteuid, sys_zero},
    {SYS_getgid, sys_zero},
    {SYS_getegid, sys_zero},
    {SYS_getpgrp, sys_process_ids},
    {SYS_getpgid, sys_process_ids},
    {SYS_getsid, sys_process_ids},
    {SYS_setsid, sys_process_ids},
    {SYS_setpgid, sys_process_ids},
    {SYS_sched_yield, sys_sched_yield},
    {SYS_exit, sys_exit_thread},
    {SYS_exit_group, sys_exit_group},
    {SYS_uname, sys_uname},
    {SYS_getrlimit, sys_getrlimit},
    {SYS_setrlimit, sys_setrlimit},
    {SYS_prlimit64, sys_prlimit64},
    {SYS_sched_getaffinity, sys_sched_getaffinity},
    {SYS_sysinfo, sys_sysinfo},
    {SYS_clock_gettime, sys_clock_gettime},
    {SYS_getrusage, sys_getrusage},
    {SYS_times, sys_times},
    {SYS_clock_getres, sys_clock_getres},
    {SYS_gettimeofday, sys_gettimeofday},
    {SYS_time, sys_time},
    {SYS_nanosleep, sys_nanosleep},
    {SYS_clock_nanosleep, sys_clock_nanosleep},
    {SYS_getrandom, sys_getrandom},
    {SYS_fork, sys_fork},
    {SYS_vfork, sys_vfork},
    {SYS_clone, sys_clone},
    {SYS_clone3, sys_clone3},
    {SYS_execve, sys_execve},
    {SYS_wait4, sys_wait4},
    {SYS_waitid, sys_waitid},
    // Answered ENOSYS on purpose, without a log line: glibc probes it at every start and copes.
    {SYS_rseq, sys_no_rseq},
};

constexpr std::size_t kTableSize = 512;
constexpr std::array<Handler, kTableSize> make_dispatch() {
  std::array<Handler, kTableSize> table{};
  for (const Row& row : kTable) table[static_cast<std::size_t>(row.number)] = row.handler;
  return table;
}
constexpr std::array<Handler, kTableSize> kDispatch = make_dispatch();

}  // namespace

std::string Process::syscall_name(std::uint64_t number) {
  if (number < 1024) {
    if (char* name = seccomp_syscall_resolve_num_arch(SCMP_ARCH_X86_64, static_cast<int>(number))) {
      std::string out(name);
      std::free(name);
      return out;
    }
  }
  return "syscall_" + std::to_string(number);
}

bool Process::implemented(std::uint64_t number) { return number < kTableSize && kDispatch[number]; }

SyscallResult Process::handle(const SyscallRequest& request) {
  if (request.number < kTableSize) {
    if (Handler h = kDispatch[request.number]) return h(*this, request);
  }
  refuse_once(request.number, "not implemented by the vm tier");
  return SyscallResult::error(ENOSYS);
}

}  // namespace spectrum::vm
