// What the sandbox kernel's system-call handlers share, and the handlers of each family: table.cc
// (the table: number -> handler), files.cc (fds and I/O), paths.cc (the file system), memory.cc
// (the address space), process.cc (process, thread, signals, time). Internal to src/vm: one
// handler per Linux syscall, all taking (Process&, request).
#pragma once

#include <fcntl.h>
#include <sys/resource.h>
#include <sys/stat.h>

#include <cerrno>
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "vm/kernel/process.h"

namespace spectrum::vm::kernel {
struct CpuTime;
}

namespace spectrum::vm::syscalls {

inline constexpr std::size_t kMaxPath = 4096;
// fchmodat2 (Linux 6.6): not yet in Debian 12's headers.
inline constexpr long kSysFchmodat2 = 452;
inline constexpr std::size_t kMaxIo = 1 << 26;  // one call moves at most 64 MiB, as a bound on host work
inline constexpr int kMaxFds = kernel::FileTable::kMaxFds;

inline std::uint64_t page_up(std::uint64_t v) { return (v + x86::kPageMask) & ~x86::kPageMask; }
inline std::int64_t host_result(long r) { return r < 0 ? -errno : r; }

using Handler = SyscallResult (*)(Process&, const SyscallRequest&);

#define ARG(n) (req.args[n])
#define TRY_GUEST(expr)                                                     \
  ({                                                                        \
    auto guest_result_ = (expr);                                            \
    if (!guest_result_) return SyscallResult::error(guest_result_.error()); \
    std::move(guest_result_).value();                                       \
  })
#define TRY_GUEST_VOID(expr)                                                \
  do {                                                                      \
    auto guest_result_ = (expr);                                            \
    if (!guest_result_) return SyscallResult::error(guest_result_.error()); \
  } while (0)

template <class T>
GuestResult<T> read_struct(const Process& p, std::uint64_t vaddr) {
  T value;
  auto ok = p.space().read(vaddr, {reinterpret_cast<std::uint8_t*>(&value), sizeof value});
  if (!ok) return std::unexpected(ok.error());
  return value;
}
template <class T>
GuestResult<void> write_struct(Process& p, std::uint64_t vaddr, const T& value) {
  return p.space().write(vaddr, {reinterpret_cast<const std::uint8_t*>(&value), sizeof value});
}
inline GuestResult<std::string> read_path(const Process& p, std::uint64_t vaddr) {
  auto s = p.space().read_string(vaddr, kMaxPath - 1);
  if (s && s->empty()) return std::unexpected(ENOENT);
  return s;
}
inline int host_fd(Process& p, std::uint64_t guest_fd) {
  auto* e = p.fd(static_cast<std::int64_t>(guest_fd));
  return e ? e->host.get() : -1;
}
inline bool writes(int flags) { return (flags & O_ACCMODE) != O_RDONLY || (flags & (O_CREAT | O_TRUNC)); }

SyscallResult signal_self(Process& p, std::uint64_t pid, std::uint64_t sig);

// proc_paths.cc: /proc in the path calls. A guest path under /proc is a synthetic node, or,
// through a magic link, another guest path (`path`, resolved inside the root as usual); any
// other path comes back as it was.
struct ProcResolved {
  std::string path;
  std::optional<vfs::ProcNode> node;
};
GuestResult<ProcResolved> resolve_proc(Process& p, const std::string& absolute, bool follow);
SyscallResult open_proc(Process& p, const vfs::ProcNode& node, int flags);
GuestResult<struct stat> stat_proc(Process& p, const vfs::ProcNode& node);
struct stat proc_directory_stat(const Process::OpenFile& dir);
SyscallResult getdents_proc(Process& p, Process::OpenFile& dir, std::uint64_t buffer, std::uint64_t size);

// files.cc
SyscallResult sys_read(Process& p, const SyscallRequest& req);
SyscallResult sys_write(Process& p, const SyscallRequest& req);
SyscallResult sys_pread64(Process& p, const SyscallRequest& req);
SyscallResult sys_pwrite64(Process& p, const SyscallRequest& req);
SyscallResult sys_readv(Process& p, const SyscallRequest& req);
SyscallResult sys_writev(Process& p, const SyscallRequest& req);
SyscallResult sys_preadv(Process& p, const SyscallRequest& req);
SyscallResult sys_pwritev(Process& p, const SyscallRequest& req);
SyscallResult sys_preadv2(Process& p, const SyscallRequest& req);
SyscallResult sys_pwritev2(Process& p, const SyscallRequest& req);
SyscallResult sys_close(Process& p, const SyscallRequest& req);
SyscallResult sys_lseek(Process& p, const SyscallRequest& req);
SyscallResult sys_dup(Process& p, const SyscallRequest& req);
SyscallResult sys_dup2(Process& p, const SyscallRequest& req);
SyscallResult sys_dup3(Process& p, const SyscallRequest& req);
SyscallResult sys_fcntl(Process& p, const SyscallRequest& req);
SyscallResult sys_ioctl(Process& p, const SyscallRequest& req);
SyscallResult sys_sendfile(Process& p, const SyscallRequest& req);
SyscallResult sys_copy_file_range(Process& p, const SyscallRequest& req);
SyscallResult sys_creat(Process& p, const SyscallRequest& req);
SyscallResult sys_utimensat(Process& p, const SyscallRequest& req);
SyscallResult sys_utimes(Process& p, const SyscallRequest& req);
SyscallResult sys_futimesat(Process& p, const SyscallRequest& req);
SyscallResult sys_utime(Process& p, const SyscallRequest& req);
SyscallResult sys_chown(Process& p, const SyscallRequest& req);
SyscallResult sys_lchown(Process& p, const SyscallRequest& req);
SyscallResult sys_fchownat(Process& p, const SyscallRequest& req);
SyscallResult sys_fchown(Process& p, const SyscallRequest& req);
SyscallResult sys_mknod(Process& p, const SyscallRequest& req);
SyscallResult sys_mknodat(Process& p, const SyscallRequest& req);
SyscallResult sys_xattr_path(Process& p, const SyscallRequest& req);
SyscallResult sys_xattr_fd(Process& p, const SyscallRequest& req);
SyscallResult sys_flock(Process& p, const SyscallRequest& req);
SyscallResult sys_getgroups(Process& p, const SyscallRequest& req);
SyscallResult sys_getresid(Process& p, const SyscallRequest& req);
SyscallResult sys_getpriority(Process& p, const SyscallRequest& req);
SyscallResult sys_setpriority(Process& p, const SyscallRequest& req);
SyscallResult sys_sched_getscheduler(Process& p, const SyscallRequest& req);
SyscallResult sys_sched_getparam(Process& p, const SyscallRequest& req);
SyscallResult sys_sched_priority_range(Process& p, const SyscallRequest& req);
SyscallResult sys_mlock(Process& p, const SyscallRequest& req);
SyscallResult sys_mlockall(Process& p, const SyscallRequest& req);

// paths.cc
SyscallResult sys_open(Process& p, const SyscallRequest& req);
SyscallResult sys_openat(Process& p, const SyscallRequest& req);
SyscallResult sys_stat(Process& p, const SyscallRequest& req);
SyscallResult sys_lstat(Process& p, const SyscallRequest& req);
SyscallResult sys_fstat(Process& p, const SyscallRequest& req);
SyscallResult sys_newfstatat(Process& p, const SyscallRequest& req);
SyscallResult sys_statx(Process& p, const SyscallRequest& req);
SyscallResult sys_fstatfs(Process& p, const SyscallRequest& req);
SyscallResult sys_statfs(Process& p, const SyscallRequest& req);
// The MAP_SHARED file cache around a host call on the file behind host fd `fd`
// (kernel/shared_files.h): its pages are written back before the call, and read again after one
// that changed the file. Nothing to do (one test) until a file is mapped shared.
void shared_pages_out(Process& p, int fd);
void shared_pages_in(Process& p, int fd);
SyscallResult sys_readlink(Process& p, const SyscallRequest& req);
SyscallResult sys_readlinkat(Process& p, const SyscallRequest& req);
SyscallResult sys_access(Process& p, const SyscallRequest& req);
SyscallResult sys_faccessat(Process& p, const SyscallRequest& req);
SyscallResult sys_faccessat2(Process& p, const SyscallRequest& req);
SyscallResult sys_getdents64(Process& p, const SyscallRequest& req);
SyscallResult sys_getcwd(Process& p, const SyscallRequest& req);
SyscallResult sys_chdir(Process& p, const SyscallRequest& req);
SyscallResult sys_fchdir(Process& p, const SyscallRequest& req);
SyscallResult sys_mkdir(Process& p, const SyscallRequest& req);
SyscallResult sys_mkdirat(Process& p, const SyscallRequest& req);
SyscallResult sys_unlink(Process& p, const SyscallRequest& req);
SyscallResult sys_rmdir(Process& p, const SyscallRequest& req);
SyscallResult sys_unlinkat(Process& p, const SyscallRequest& req);
SyscallResult sys_rename(Process& p, const SyscallRequest& req);
SyscallResult sys_renameat(Process& p, const SyscallRequest& req);
SyscallResult sys_renameat2(Process& p, const SyscallRequest& req);
SyscallResult sys_link(Process& p, const SyscallRequest& req);
SyscallResult sys_linkat(Process& p, const SyscallRequest& req);
SyscallResult sys_symlink(Process& p, const SyscallRequest& req);
SyscallResult sys_symlinkat(Process& p, const SyscallRequest& req);
SyscallResult sys_chmod(Process& p, const SyscallRequest& req);
SyscallResult sys_fchmod(Process& p, const SyscallRequest& req);
SyscallResult sys_fchmodat(Process& p, const SyscallRequest& req);
SyscallResult sys_fchmodat2(Process& p, const SyscallRequest& req);
SyscallResult sys_truncate(Process& p, const SyscallRequest& req);
SyscallResult sys_ftruncate(Process& p, const SyscallRequest& req);
SyscallResult sys_fsync(Process& p, const SyscallRequest& req);
SyscallResult sys_umask(Process& p, const SyscallRequest& req);

SyscallResult sys_pipe(Process& p, const SyscallRequest& req);
SyscallResult sys_pipe2(Process& p, const SyscallRequest& req);
SyscallResult sys_close_range(Process& p, const SyscallRequest& req);

// ipc.cc
SyscallResult sys_eventfd(Process& p, const SyscallRequest& req);
SyscallResult sys_eventfd2(Process& p, const SyscallRequest& req);

// net.cc, messages.cc
SyscallResult sys_socket(Process& p, const SyscallRequest& req);
SyscallResult sys_socketpair(Process& p, const SyscallRequest& req);
SyscallResult sys_bind(Process& p, const SyscallRequest& req);
SyscallResult sys_listen(Process& p, const SyscallRequest& req);
SyscallResult sys_accept4(Process& p, const SyscallRequest& req);  // and accept
SyscallResult sys_connect(Process& p, const SyscallRequest& req);
SyscallResult sys_shutdown(Process& p, const SyscallRequest& req);
SyscallResult sys_socket_name(Process& p, const SyscallRequest& req);  // getsockname, getpeername
SyscallResult sys_setsockopt(Process& p, const SyscallRequest& req);
SyscallResult sys_getsockopt(Process& p, const SyscallRequest& req);
SyscallResult sys_sendto(Process& p, const SyscallRequest& req);
SyscallResult sys_recvfrom(Process& p, const SyscallRequest& req);
SyscallResult sys_sendmsg_recvmsg(Process& p, const SyscallRequest& req);
// --net host: guest AF_INET/AF_INET6 sockets are host sockets (one sandbox per monitor process).
void set_host_network(bool on);

// epoll.cc
SyscallResult sys_epoll_create(Process& p, const SyscallRequest& req);
SyscallResult sys_epoll_create1(Process& p, const SyscallRequest& req);
SyscallResult sys_epoll_ctl(Process& p, const SyscallRequest& req);
SyscallResult sys_epoll_wait(Process& p, const SyscallRequest& req);
SyscallResult sys_epoll_pwait(Process& p, const SyscallRequest& req);
SyscallResult sys_epoll_pwait2(Process& p, const SyscallRequest& req);

// poll.cc: the one readiness rule of poll, select and epoll. A guest fd is either answered now
// (`revents`: a synthetic /dev file is always ready, an fd that is not open is POLLNVAL) or polled
// through its host fd.
struct PollTarget {
  int host_fd = -1;
  short revents = 0;
};
PollTarget poll_target(Process& p, std::int64_t guest_fd, short events);
// The "block" outcome of a wait on `wait` that gives up after `timeout` (never without one).
SyscallResult block_until(std::vector<pollfd> wait, std::optional<std::chrono::nanoseconds> timeout);
// A guest struct timespec timeout (null: none), EINVAL when out of range.
GuestResult<std::optional<std::chrono::nanoseconds>> read_timeout(const Process& p, std::uint64_t vaddr);
SyscallResult sys_poll(Process& p, const SyscallRequest& req);
SyscallResult sys_ppoll(Process& p, const SyscallRequest& req);
SyscallResult sys_select(Process& p, const SyscallRequest& req);
SyscallResult sys_pselect6(Process& p, const SyscallRequest& req);

// tasks.cc
SyscallResult sys_fork(Process& p, const SyscallRequest& req);
SyscallResult sys_vfork(Process& p, const SyscallRequest& req);
SyscallResult sys_clone(Process& p, const SyscallRequest& req);
SyscallResult sys_clone3(Process& p, const SyscallRequest& req);
SyscallResult sys_execve(Process& p, const SyscallRequest& req);
SyscallResult sys_wait4(Process& p, const SyscallRequest& req);
SyscallResult sys_waitid(Process& p, const SyscallRequest& req);
SyscallResult sys_alarm(Process& p, const SyscallRequest& req);
SyscallResult sys_setitimer(Process& p, const SyscallRequest& req);
SyscallResult sys_getitimer(Process& p, const SyscallRequest& req);
SyscallResult sys_kill(Process& p, const SyscallRequest& req);
SyscallResult sys_tkill(Process& p, const SyscallRequest& req);
SyscallResult sys_tgkill(Process& p, const SyscallRequest& req);
SyscallResult sys_process_ids(Process& p, const SyscallRequest& req);

// memory.cc
SyscallResult sys_brk(Process& p, const SyscallRequest& req);
SyscallResult sys_mmap(Process& p, const SyscallRequest& req);
SyscallResult sys_munmap(Process& p, const SyscallRequest& req);
SyscallResult sys_mprotect(Process& p, const SyscallRequest& req);
SyscallResult sys_msync(Process& p, const SyscallRequest& req);
SyscallResult sys_shmget(Process& p, const SyscallRequest& req);
SyscallResult sys_shmat(Process& p, const SyscallRequest& req);
SyscallResult sys_shmdt(Process& p, const SyscallRequest& req);
SyscallResult sys_shmctl(Process& p, const SyscallRequest& req);
// sysv_sem.cc
SyscallResult sys_semget(Process& p, const SyscallRequest& req);
SyscallResult sys_semop(Process& p, const SyscallRequest& req);
SyscallResult sys_semtimedop(Process& p, const SyscallRequest& req);
SyscallResult sys_semctl(Process& p, const SyscallRequest& req);
// sysv_msg.cc
SyscallResult sys_msgget(Process& p, const SyscallRequest& req);
SyscallResult sys_msgsnd(Process& p, const SyscallRequest& req);
SyscallResult sys_msgrcv(Process& p, const SyscallRequest& req);
SyscallResult sys_msgctl(Process& p, const SyscallRequest& req);
// Removed System V segments whose last attach went (shmdt, munmap): their frames back.
void collect_sysv_segments(Process& p);
SyscallResult sys_mremap(Process& p, const SyscallRequest& req);
SyscallResult sys_madvise(Process& p, const SyscallRequest& req);

// process.cc
SyscallResult sys_arch_prctl(Process& p, const SyscallRequest& req);
SyscallResult sys_prctl(Process& p, const SyscallRequest& req);
SyscallResult sys_one(Process& p, const SyscallRequest& req);
SyscallResult sys_zero(Process& p, const SyscallRequest& req);
SyscallResult sys_exit(Process& p, const SyscallRequest& req);
SyscallResult sys_rt_sigaction(Process& p, const SyscallRequest& req);
SyscallResult sys_rt_sigprocmask(Process& p, const SyscallRequest& req);
SyscallResult sys_rt_sigreturn(Process& p, const SyscallRequest& req);
SyscallResult sys_sigaltstack(Process& p, const SyscallRequest& req);
SyscallResult sys_rt_sigsuspend(Process& p, const SyscallRequest& req);
SyscallResult sys_rt_sigpending(Process& p, const SyscallRequest& req);
SyscallResult sys_rt_sigqueueinfo(Process& p, const SyscallRequest& req);
SyscallResult sys_rt_tgsigqueueinfo(Process& p, const SyscallRequest& req);
SyscallResult sys_rt_sigtimedwait(Process& p, const SyscallRequest& req);
SyscallResult sys_sched_yield(Process& p, const SyscallRequest& req);
SyscallResult sys_pause(Process& p, const SyscallRequest& req);
SyscallResult sys_futex(Process& p, const SyscallRequest& req);
SyscallResult sys_set_tid_address(Process& p, const SyscallRequest& req);
SyscallResult sys_exit_thread(Process& p, const SyscallRequest& req);
SyscallResult sys_exit_group(Process& p, const SyscallRequest& req);
SyscallResult sys_uname(Process& p, const SyscallRequest& req);
SyscallResult sys_getrlimit(Process& p, const SyscallRequest& req);
SyscallResult sys_setrlimit(Process& p, const SyscallRequest& req);
SyscallResult sys_prlimit64(Process& p, const SyscallRequest& req);
SyscallResult sys_sched_getaffinity(Process& p, const SyscallRequest& req);
SyscallResult sys_sysinfo(Process& p, const SyscallRequest& req);
SyscallResult sys_clock_gettime(Process& p, const SyscallRequest& req);
SyscallResult sys_getrusage(Process& p, const SyscallRequest& req);
SyscallResult sys_times(Process& p, const SyscallRequest& req);
// A struct rusage of `cpu_ns` of CPU time (all of it user time: the platforms do not tell user from
// system time apart), every other field 0.
struct rusage usage_of(const kernel::CpuTime& cpu);
SyscallResult sys_clock_getres(Process& p, const SyscallRequest& req);
SyscallResult sys_gettimeofday(Process& p, const SyscallRequest& req);
SyscallResult sys_time(Process& p, const SyscallRequest& req);
SyscallResult sys_nanosleep(Process& p, const SyscallRequest& req);
SyscallResult sys_clock_nanosleep(Process& p, const SyscallRequest& req);
SyscallResult sys_getrandom(Process& p, const SyscallRequest& req);
SyscallResult sys_no_rseq(Process& p, const SyscallRequest& req);

}  // namespace spectrum::vm::syscalls
