// What the vm tier's system-call handlers share (process.cc: files and the dispatch table;
// process_memory.cc: the address space; process_state.cc: process, thread, time). Internal to
// src/vm: the handlers are the monitor's, one per Linux syscall, all taking (Process&, request).
#pragma once

#include <fcntl.h>

#include <cerrno>
#include <cstdint>
#include <string>
#include <utility>

#include "vm/process.h"

namespace spectrum::vm::syscalls {

inline constexpr std::size_t kMaxPath = 4096;
inline constexpr std::size_t kMaxIo = 1 << 26;  // one call moves at most 64 MiB, as a bound on host work
inline constexpr int kMaxFds = 1024;

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
  auto ok = p.space_.read(vaddr, {reinterpret_cast<std::uint8_t*>(&value), sizeof value});
  if (!ok) return std::unexpected(ok.error());
  return value;
}
template <class T>
GuestResult<void> write_struct(Process& p, std::uint64_t vaddr, const T& value) {
  return p.space_.write(vaddr, {reinterpret_cast<const std::uint8_t*>(&value), sizeof value});
}
inline GuestResult<std::string> read_path(const Process& p, std::uint64_t vaddr) {
  auto s = p.space_.read_string(vaddr, kMaxPath - 1);
  if (s && s->empty()) return std::unexpected(ENOENT);
  return s;
}
inline int host_fd(Process& p, std::uint64_t guest_fd) {
  auto* e = p.fd(static_cast<std::int64_t>(guest_fd));
  return e ? e->host.get() : -1;
}
inline bool writes(int flags) { return (flags & O_ACCMODE) != O_RDONLY || (flags & (O_CREAT | O_TRUNC)); }

SyscallResult signal_self(Process& p, std::uint64_t pid, std::uint64_t sig);

// process_memory.cc
SyscallResult sys_brk(Process& p, const SyscallRequest& req);
SyscallResult sys_mmap(Process& p, const SyscallRequest& req);
SyscallResult sys_munmap(Process& p, const SyscallRequest& req);
SyscallResult sys_mprotect(Process& p, const SyscallRequest& req);
SyscallResult sys_mremap(Process& p, const SyscallRequest& req);
SyscallResult sys_madvise(Process& p, const SyscallRequest& req);

// process_state.cc
SyscallResult sys_arch_prctl(Process& p, const SyscallRequest& req);
SyscallResult sys_prctl(Process& p, const SyscallRequest& req);
SyscallResult sys_one(Process& p, const SyscallRequest& req);
SyscallResult sys_zero(Process& p, const SyscallRequest& req);
SyscallResult sys_exit(Process& p, const SyscallRequest& req);
SyscallResult sys_rt_sigaction(Process& p, const SyscallRequest& req);
SyscallResult sys_rt_sigprocmask(Process& p, const SyscallRequest& req);
SyscallResult sys_kill(Process& p, const SyscallRequest& req);
SyscallResult sys_tkill(Process& p, const SyscallRequest& req);
SyscallResult sys_tgkill(Process& p, const SyscallRequest& req);
SyscallResult sys_futex(Process& p, const SyscallRequest& req);
SyscallResult sys_uname(Process& p, const SyscallRequest& req);
SyscallResult sys_getrlimit(Process& p, const SyscallRequest& req);
SyscallResult sys_prlimit64(Process& p, const SyscallRequest& req);
SyscallResult sys_sched_getaffinity(Process& p, const SyscallRequest& req);
SyscallResult sys_sysinfo(Process& p, const SyscallRequest& req);
SyscallResult sys_clock_gettime(Process& p, const SyscallRequest& req);
SyscallResult sys_clock_getres(Process& p, const SyscallRequest& req);
SyscallResult sys_gettimeofday(Process& p, const SyscallRequest& req);
SyscallResult sys_time(Process& p, const SyscallRequest& req);
SyscallResult sys_nanosleep(Process& p, const SyscallRequest& req);
SyscallResult sys_clock_nanosleep(Process& p, const SyscallRequest& req);
SyscallResult sys_getrandom(Process& p, const SyscallRequest& req);

}  // namespace spectrum::vm::syscalls
