// The workload's process and thread state (TLS, names, signal dispositions, ids, limits) and its
// time and randomness calls. With one thread and no signal frames, most of it is bookkeeping.
#include <linux/futex.h>
#include <linux/sched.h>
#include <sched.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/random.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/sysinfo.h>
#include <sys/times.h>
#include <sys/utsname.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <csignal>
#include <cstring>
#include <ctime>

#include "vm/arch/signal_frame.h"
#include "vm/kernel/identity.h"
#include "vm/kernel/kernel.h"
#include "vm/monitor.h"
#include "vm/syscalls/syscalls.h"

namespace spectrum::vm::syscalls {

// ---- process and thread state ----

bool canonical_user(std::uint64_t v) { return v < (1ull << 47); }

SyscallResult sys_arch_prctl(Process& p, const SyscallRequest& req) {
  constexpr std::uint64_t kSetGs = 0x1001, kSetFs = 0x1002, kGetFs = 0x1003, kGetGs = 0x1004;
  SyscallResult r = SyscallResult::ret(0);
  switch (ARG(0)) {
    case kSetFs:
      if (!canonical_user(ARG(1))) return SyscallResult::error(EPERM);
      p.fs_base_ = ARG(1);
      r.fs_base = ARG(1);
      return r;
    case kSetGs:
      if (!canonical_user(ARG(1))) return SyscallResult::error(EPERM);
      p.gs_base_ = ARG(1);
      r.gs_base = ARG(1);
      return r;
    case kGetFs:
      TRY_GUEST_VOID(write_struct(p, ARG(1), p.fs_base_));
      return r;
    case kGetGs:
      TRY_GUEST_VOID(write_struct(p, ARG(1), p.gs_base_));
      return r;
    default:
      return SyscallResult::error(EINVAL);
  }
}
SyscallResult sys_prctl(Process& p, const SyscallRequest& req) {
  switch (ARG(0)) {
    case PR_GET_NAME:
      TRY_GUEST_VOID(write_struct(p, ARG(1), p.thread_name_));
      return SyscallResult::ret(0);
    case PR_SET_NAME: {
      auto name = TRY_GUEST(p.space().read_string(ARG(1), 4096));
      p.thread_name_ = {};
      std::memcpy(p.thread_name_.data(), name.data(), std::min<std::size_t>(name.size(), 15));
      return SyscallResult::ret(0);
    }
    case PR_SET_NO_NEW_PRIVS:
      return SyscallResult::ret(0);  // nothing to gain privileges from
    case PR_GET_NO_NEW_PRIVS:
      return SyscallResult::ret(1);
    case PR_GET_DUMPABLE:
      return SyscallResult::ret(0);
    case PR_SET_DUMPABLE:
      return SyscallResult::ret(0);
    default:
      return SyscallResult::error(EINVAL);
  }
}
SyscallResult sys_one(Process&, const SyscallRequest&) { return SyscallResult::ret(1); }   // pid, tid
SyscallResult sys_zero(Process&, const SyscallRequest&) { return SyscallResult::ret(0); }  // ids, yield
SyscallResult sys_exit(Process&, const SyscallRequest& req) {
  return {SyscallResult::Kind::exit, static_cast<std::int64_t>(ARG(0) & 0xFF), {}, {}, {}, {}};
}

SyscallResult sys_rt_sigaction(Process& p, const SyscallRequest& req) {
  const std::uint64_t sig = ARG(0);
  if (sig == 0 || sig > 64 || ARG(3) != 8) return SyscallResult::error(EINVAL);
  if (ARG(2)) TRY_GUEST_VOID(write_struct(p, ARG(2), p.sighand().actions[sig]));
  if (ARG(1)) {
    if (sig == SIGKILL || sig == SIGSTOP) return SyscallResult::error(EINVAL);
    using KernelSigaction = std::array<std::uint64_t, 4>;
    p.sighand().actions[sig] = TRY_GUEST(read_struct<KernelSigaction>(p, ARG(1)));
  }
  return SyscallResult::ret(0);
}
SyscallResult sys_rt_sigprocmask(Process& p, const SyscallRequest& req) {
  if (ARG(3) != 8) return SyscallResult::error(EINVAL);
  const std::uint64_t old = p.sigmask_;
  if (ARG(1)) {
    auto set = TRY_GUEST(read_struct<std::uint64_t>(p, ARG(1)));
    set &= ~((1ull << (SIGKILL - 1)) | (1ull << (SIGSTOP - 1)));
    switch (ARG(0)) {
      case SIG_BLOCK:
        p.sigmask_ |= set;
        break;
      case SIG_UNBLOCK:
        p.sigmask_ &= ~set;
        break;
      case SIG_SETMASK:
        p.sigmask_ = set;
        break;
      default:
        return SyscallResult::error(EINVAL);
    }
  }
  if (ARG(2)) TRY_GUEST_VOID(write_struct(p, ARG(2), old));
  return SyscallResult::ret(0);
}
// A signal the workload sends itself: ignored, or its default action (ends the run). Handlers
// cannot run yet (no signal frames), so a handled signal also ends the run with that signal.
SyscallResult signal_self(Process& p, std::uint64_t pid, std::uint64_t sig) {
  if (pid != 1 && pid != 0 && static_cast<std::int64_t>(pid) != -1) return SyscallResult::error(ESRCH);
  if (sig > 64) return SyscallResult::error(EINVAL);
  if (sig == 0) return SyscallResult::ret(0);
  const bool ignored = p.sighand().actions[sig][0] == reinterpret_cast<std::uint64_t>(SIG_IGN);
  const bool ignored_by_default = sig == SIGCHLD || sig == SIGURG || sig == SIGWINCH || sig == SIGCONT;
  if ((ignored || (ignored_by_default && p.sighand().actions[sig][0] == 0)) && sig != SIGKILL)
    return SyscallResult::ret(0);
  return {SyscallResult::Kind::signal, static_cast<std::int64_t>(sig), {}, {}, {}, {}};
}
SyscallResult sys_rt_sigreturn(Process& p, const SyscallRequest& req) {
  if (!p.kernel()) {
    p.refuse_once(req.number, "signal handlers need the sandbox kernel");
    return SyscallResult::error(ENOSYS);
  }
  return p.kernel()->sigreturn(p);
}
SyscallResult sys_sigaltstack(Process& p, const SyscallRequest& req) {
  // Without the sandbox kernel no handler ever runs: there is no stack to switch to.
  if (!p.kernel()) return SyscallResult::ret(0);
  return p.kernel()->sigaltstack(p, ARG(0), ARG(1));
}
SyscallResult sys_rt_sigsuspend(Process& p, const SyscallRequest& req) {
  if (ARG(1) != 8) return SyscallResult::error(EINVAL);
  auto mask = TRY_GUEST(read_struct<std::uint64_t>(p, ARG(0)));
  if (!p.kernel()) {
    p.refuse_once(req.number, "signal handlers need the sandbox kernel");
    return SyscallResult::error(ENOSYS);
  }
  return p.kernel()->sigsuspend(p, mask);
}

// sched_yield: with other tasks, the scheduler runs the next ready one first (a block whose
// deadline has passed already); alone, it returns at once.
SyscallResult sys_sched_yield(Process& p, const SyscallRequest&) {
  if (!p.kernel()) return SyscallResult::ret(0);
  SyscallResult yielded = SyscallResult::ret(0);
  yielded.kind = SyscallResult::Kind::block;
  yielded.deadline = std::chrono::steady_clock::now();
  return yielded;
}

// sigqueue and pthread_sigqueue: a signal with the sender's si_code and si_value.
SyscallResult queue_common(Process& p, const SyscallRequest& req, int tgid, std::optional<int> thread,
                           std::uint64_t sig, std::uint64_t info_ptr) {
  if (!p.kernel()) {
    p.refuse_once(req.number, "a process without the sandbox kernel has no one to queue a signal for");
    return SyscallResult::error(ENOSYS);
  }
  if (sig > 64) return SyscallResult::error(EINVAL);
  auto info = TRY_GUEST(read_struct<arch::SigInfo>(p, info_ptr));
  std::uint64_t value = 0;
  std::memcpy(&value, reinterpret_cast<const std::uint8_t*>(&info) + 24, sizeof value);
  return p.kernel()->queue_signal(p, tgid, thread, static_cast<int>(sig), info.code, value);
}
SyscallResult sys_rt_sigqueueinfo(Process& p, const SyscallRequest& req) {
  return queue_common(p, req, static_cast<std::int32_t>(ARG(0)), std::nullopt, ARG(1), ARG(2));
}
SyscallResult sys_rt_tgsigqueueinfo(Process& p, const SyscallRequest& req) {
  if (static_cast<std::int32_t>(ARG(0)) <= 0 || static_cast<std::int32_t>(ARG(1)) <= 0)
    return SyscallResult::error(EINVAL);
  return queue_common(p, req, static_cast<std::int32_t>(ARG(0)), static_cast<std::int32_t>(ARG(1)), ARG(2),
                      ARG(3));
}
// sigwaitinfo and sigtimedwait.
SyscallResult sys_rt_sigtimedwait(Process& p, const SyscallRequest& req) {
  if (ARG(3) != 8) return SyscallResult::error(EINVAL);
  const auto set = TRY_GUEST(read_struct<std::uint64_t>(p, ARG(0)));
  std::optional<std::chrono::steady_clock::time_point> deadline;
  if (ARG(2)) {
    const auto ts = TRY_GUEST(read_struct<::timespec>(p, ARG(2)));
    if (ts.tv_sec < 0 || ts.tv_nsec < 0 || ts.tv_nsec >= 1000000000) return SyscallResult::error(EINVAL);
    // Bounded as a deadline the clock can hold (a year is forever to a run).
    const auto wait = std::chrono::seconds(std::min<std::int64_t>(ts.tv_sec, 365ll * 86400)) +
                      std::chrono::nanoseconds(ts.tv_nsec);
    deadline = std::chrono::steady_clock::now() + wait;
  }
  if (!p.kernel()) {
    p.refuse_once(req.number, "a process without the sandbox kernel has no signals to wait for");
    return SyscallResult::error(ENOSYS);
  }
  return p.kernel()->sigtimedwait(p, set, ARG(1), deadline);
}

SyscallResult sys_rt_sigpending(Process& p, const SyscallRequest& req) {
  if (ARG(1) != 8) return SyscallResult::error(EINVAL);
  TRY_GUEST_VOID(write_struct(p, ARG(0), p.pending_signals_));
  return SyscallResult::ret(0);
}
// pause: rt_sigsuspend with the mask as it is.
SyscallResult sys_pause(Process& p, const SyscallRequest& req) {
  if (!p.kernel()) {
    p.refuse_once(req.number, "pause would wait forever for a signal nobody can send");
    return SyscallResult::error(ENOSYS);
  }
  return p.kernel()->sigsuspend(p, p.sigmask_);
}

SyscallResult sys_futex(Process& p, const SyscallRequest& req) {
  const int op = static_cast<int>(ARG(1)) & FUTEX_CMD_MASK;
  const bool private_op = ARG(1) & FUTEX_PRIVATE_FLAG;
  if (p.kernel()) {
    switch (op) {
      case FUTEX_WAKE:
      case FUTEX_WAKE_BITSET:
        if (op == FUTEX_WAKE_BITSET && static_cast<std::uint32_t>(ARG(5)) == 0)
          return SyscallResult::error(EINVAL);
        return p.kernel()->futex_wake(p, ARG(0), static_cast<int>(std::min<std::uint64_t>(ARG(2), 1 << 30)),
                                      private_op);
      case FUTEX_WAIT:
      case FUTEX_WAIT_BITSET: {
        if (op == FUTEX_WAIT_BITSET && static_cast<std::uint32_t>(ARG(5)) == 0)
          return SyscallResult::error(EINVAL);
        std::optional<std::chrono::steady_clock::time_point> deadline;
        if (ARG(3)) {
          auto ts = TRY_GUEST(read_struct<struct timespec>(p, ARG(3)));
          if (ts.tv_sec < 0 || ts.tv_nsec < 0 || ts.tv_nsec >= 1000000000)
            return SyscallResult::error(EINVAL);
          std::chrono::nanoseconds left = std::chrono::seconds(std::min<std::int64_t>(ts.tv_sec, 1ll << 32)) +
                                          std::chrono::nanoseconds(ts.tv_nsec);
          if (op == FUTEX_WAIT_BITSET) {  // absolute, on CLOCK_MONOTONIC or CLOCK_REALTIME
            struct timespec now {};
            ::clock_gettime((ARG(1) & FUTEX_CLOCK_REALTIME) ? CLOCK_REALTIME : CLOCK_MONOTONIC, &now);
            left -= std::chrono::seconds(now.tv_sec) + std::chrono::nanoseconds(now.tv_nsec);
          }
          deadline = std::chrono::steady_clock::now() + std::max(left, std::chrono::nanoseconds(0));
        }
        return p.kernel()->futex_wait(p, ARG(0), static_cast<std::uint32_t>(ARG(2)), deadline, private_op);
      }
      default:
        p.refuse_once(req.number, "futex operation " + std::to_string(op) + " is not supported");
        return SyscallResult::error(ENOSYS);
    }
  }
  if (op == FUTEX_WAKE || op == FUTEX_WAKE_BITSET) return SyscallResult::ret(0);  // no one else waits
  if (op == FUTEX_WAIT || op == FUTEX_WAIT_BITSET) {
    auto value = TRY_GUEST(read_struct<std::uint32_t>(p, ARG(0)));
    if (value != static_cast<std::uint32_t>(ARG(2))) return SyscallResult::error(EAGAIN);
    // With one thread nobody can wake it: a bounded wait times out, an unbounded one deadlocks.
    return SyscallResult::error(ARG(3) ? ETIMEDOUT : EDEADLK);
  }
  return SyscallResult::error(ENOSYS);
}

SyscallResult sys_set_tid_address(Process& p, const SyscallRequest& req) {
  return p.kernel() ? p.kernel()->set_tid_address(p, ARG(0)) : SyscallResult::ret(1);
}
SyscallResult sys_exit_thread(Process& p, const SyscallRequest& req) {
  if (p.kernel()) return p.kernel()->exit(p, static_cast<int>(ARG(0)), false);
  return sys_exit(p, req);
}
SyscallResult sys_exit_group(Process& p, const SyscallRequest& req) {
  if (p.kernel()) return p.kernel()->exit(p, static_cast<int>(ARG(0)), true);
  return sys_exit(p, req);
}

SyscallResult sys_uname(Process& p, const SyscallRequest& req) {
  struct utsname u;
  std::memset(&u, 0, sizeof u);
  std::strcpy(u.sysname, identity::kSysname);
  std::strcpy(u.nodename, identity::kNodename);
  std::strcpy(u.release, identity::kRelease);
  std::strcpy(u.version, identity::kVersion);
  std::strcpy(u.machine, "x86_64");
  std::strcpy(u.domainname, identity::kDomainname);
  TRY_GUEST_VOID(write_struct(p, ARG(0), u));
  return SyscallResult::ret(0);
}

SyscallResult limit_of(Process& p, unsigned resource, std::uint64_t out) {
  struct rlimit64 {
    std::uint64_t cur, max;
  } l{RLIM_INFINITY, RLIM_INFINITY};
  if (resource == RLIMIT_STACK) l = {8 << 20, RLIM_INFINITY};
  if (resource == RLIMIT_NOFILE) l = {p.files().soft_limit, p.files().hard_limit};
  if (resource == RLIMIT_AS || resource == RLIMIT_DATA) l = {p.mm().limit_bytes, p.mm().limit_bytes};
  if (resource == RLIMIT_NPROC) l = {1, 1};
  if (out) TRY_GUEST_VOID(write_struct(p, out, l));
  return SyscallResult::ret(0);
}
// Setting a limit: only RLIMIT_NOFILE, lowered freely or raised up to its hard limit (the hard one
// itself never past the fd table's kMaxFds); every other limit is the monitor's to set (EPERM).
SyscallResult set_limit(Process& p, unsigned resource, std::uint64_t in) {
  struct rlimit64 {
    std::uint64_t cur, max;
  };
  auto l = TRY_GUEST(read_struct<rlimit64>(p, in));
  if (l.cur > l.max) return SyscallResult::error(EINVAL);
  if (resource != RLIMIT_NOFILE) return SyscallResult::error(EPERM);
  if (l.max > p.files().hard_limit) return SyscallResult::error(EPERM);
  p.files().soft_limit = l.cur;
  p.files().hard_limit = l.max;
  return SyscallResult::ret(0);
}
SyscallResult sys_getrlimit(Process& p, const SyscallRequest& req) {
  return limit_of(p, static_cast<unsigned>(ARG(0)), ARG(1));
}
SyscallResult sys_setrlimit(Process& p, const SyscallRequest& req) {
  return set_limit(p, static_cast<unsigned>(ARG(0)), ARG(1));
}
SyscallResult sys_prlimit64(Process& p, const SyscallRequest& req) {
  if (ARG(0) != 0 && ARG(0) != 1) return SyscallResult::error(ESRCH);
  const auto resource = static_cast<unsigned>(ARG(1));
  if (!ARG(2)) return limit_of(p, resource, ARG(3));
  // The old value as it was, then the new one (prlimit64 reports before it sets).
  const std::uint64_t old_soft = p.files().soft_limit, old_hard = p.files().hard_limit;
  SyscallResult r = set_limit(p, resource, ARG(2));
  if (r.kind != SyscallResult::Kind::value || static_cast<std::int64_t>(r.value) < 0 || !ARG(3)) return r;
  const std::uint64_t new_soft = p.files().soft_limit, new_hard = p.files().hard_limit;
  p.files().soft_limit = old_soft, p.files().hard_limit = old_hard;
  SyscallResult out = limit_of(p, resource, ARG(3));
  p.files().soft_limit = new_soft, p.files().hard_limit = new_hard;
  return out;
}
SyscallResult sys_sched_getaffinity(Process& p, const SyscallRequest& req) {
  if (ARG(1) < 8) return SyscallResult::error(EINVAL);
  TRY_GUEST_VOID(write_struct<std::uint64_t>(p, ARG(2), 1));  // one vCPU
  return SyscallResult::ret(8);
}
SyscallResult sys_sysinfo(Process& p, const SyscallRequest& req) {
  struct sysinfo info;
  std::memset(&info, 0, sizeof info);
  struct timespec up;
  ::clock_gettime(CLOCK_BOOTTIME, &up);
  info.uptime = up.tv_sec;
  info.totalram = p.mm().limit_bytes;
  info.freeram = p.mm().limit_bytes - std::min(p.mm().limit_bytes, p.space().mapped_bytes());
  info.procs = 1;
  info.mem_unit = 1;
  TRY_GUEST_VOID(write_struct(p, ARG(0), info));
  return SyscallResult::ret(0);
}

// ---- time and randomness ----

bool clock_allowed(std::uint64_t clock) {
  return clock == CLOCK_REALTIME || clock == CLOCK_MONOTONIC || clock == CLOCK_MONOTONIC_RAW ||
         clock == CLOCK_REALTIME_COARSE || clock == CLOCK_MONOTONIC_COARSE || clock == CLOCK_BOOTTIME ||
         clock == CLOCK_PROCESS_CPUTIME_ID || clock == CLOCK_THREAD_CPUTIME_ID;
}
// The guest's CPU-time clocks are its own tasks' (the host's would be the monitor's).
std::optional<std::uint64_t> guest_cpu_ns(Process& p, std::uint64_t clock) {
  if (!p.kernel() || (clock != CLOCK_PROCESS_CPUTIME_ID && clock != CLOCK_THREAD_CPUTIME_ID))
    return std::nullopt;
  return clock == CLOCK_PROCESS_CPUTIME_ID ? p.kernel()->process_cpu_ns(p) : p.kernel()->thread_cpu_ns(p);
}
struct timespec timespec_of(std::uint64_t ns) {
  return {static_cast<time_t>(ns / 1'000'000'000u), static_cast<long>(ns % 1'000'000'000u)};
}
// The guest's clock where its vDSO keeps it, so that the call and the vDSO read one clock; else
// the host's.
struct timespec clock_now(Process& p, clockid_t clock) {
  if (const kernel::Kernel* k = p.kernel(); k && k->clock())
    if (const auto ns = k->clock()->now(clock)) return timespec_of(static_cast<std::uint64_t>(*ns));
  struct timespec ts {};
  ::clock_gettime(clock, &ts);
  return ts;
}

struct rusage usage_of(const kernel::CpuTime& cpu) {
  struct rusage usage {};
  const struct timespec user = timespec_of(cpu.user_ns), system = timespec_of(cpu.system_ns);
  usage.ru_utime = {user.tv_sec, user.tv_nsec / 1000};
  usage.ru_stime = {system.tv_sec, system.tv_nsec / 1000};
  return usage;
}

SyscallResult sys_getrusage(Process& p, const SyscallRequest& req) {
  const auto who = static_cast<int>(ARG(0));
  if (who != RUSAGE_SELF && who != RUSAGE_CHILDREN && who != RUSAGE_THREAD)
    return SyscallResult::error(EINVAL);
  kernel::CpuTime used;
  if (kernel::Kernel* k = p.kernel())
    used = who == RUSAGE_SELF     ? k->process_cpu(p)
           : who == RUSAGE_THREAD ? k->thread_cpu(p)
                                  : k->children_cpu(p);
  struct rusage usage = usage_of(used);
  if (who != RUSAGE_CHILDREN) usage.ru_maxrss = static_cast<long>(p.space().mapped_bytes() / 1024);
  TRY_GUEST_VOID(write_struct(p, ARG(1), usage));
  return SyscallResult::ret(0);
}

SyscallResult sys_times(Process& p, const SyscallRequest& req) {
  // Clock ticks of 1/100 s (sysconf(_SC_CLK_TCK), the auxiliary vector's AT_CLKTCK).
  // Its value: ticks since an arbitrary point (Linux's own start from boot); programs take differences.
  struct timespec up {};
  ::clock_gettime(CLOCK_BOOTTIME, &up);
  const std::int64_t now = up.tv_sec * 100 + up.tv_nsec / 10'000'000;
  if (ARG(0)) {
    struct tms mine {};
    if (kernel::Kernel* k = p.kernel()) {
      const kernel::CpuTime own = k->process_cpu(p), children = k->children_cpu(p);
      mine.tms_utime = static_cast<clock_t>(own.user_ns / 10'000'000u);
      mine.tms_stime = static_cast<clock_t>(own.system_ns / 10'000'000u);
      mine.tms_cutime = static_cast<clock_t>(children.user_ns / 10'000'000u);
      mine.tms_cstime = static_cast<clock_t>(children.system_ns / 10'000'000u);
    }
    TRY_GUEST_VOID(write_struct(p, ARG(0), mine));
  }
  return SyscallResult::ret(now);
}

SyscallResult sys_clock_gettime(Process& p, const SyscallRequest& req) {
  if (!clock_allowed(ARG(0))) return SyscallResult::error(EINVAL);
  if (const auto cpu = guest_cpu_ns(p, ARG(0))) {
    TRY_GUEST_VOID(write_struct(p, ARG(1), timespec_of(*cpu)));
    return SyscallResult::ret(0);
  }
  TRY_GUEST_VOID(write_struct(p, ARG(1), clock_now(p, static_cast<clockid_t>(ARG(0)))));
  return SyscallResult::ret(0);
}
SyscallResult sys_clock_getres(Process& p, const SyscallRequest& req) {
  if (!clock_allowed(ARG(0))) return SyscallResult::error(EINVAL);
  struct timespec ts;
  ::clock_getres(static_cast<clockid_t>(ARG(0)), &ts);
  if (ARG(1)) TRY_GUEST_VOID(write_struct(p, ARG(1), ts));
  return SyscallResult::ret(0);
}
SyscallResult sys_gettimeofday(Process& p, const SyscallRequest& req) {
  const struct timespec ts = clock_now(p, CLOCK_REALTIME);
  const struct timeval tv { ts.tv_sec, ts.tv_nsec / 1000 };
  if (ARG(0)) TRY_GUEST_VOID(write_struct(p, ARG(0), tv));
  // struct timezone: minutes west of UTC and the DST kind, both 0 (Linux's sys_tz, never set).
  const std::array<std::int32_t, 2> utc{};
  if (ARG(1)) TRY_GUEST_VOID(write_struct(p, ARG(1), utc));
  return SyscallResult::ret(0);
}
SyscallResult sys_time(Process& p, const SyscallRequest& req) {
  const std::int64_t now = clock_now(p, CLOCK_REALTIME).tv_sec;
  if (ARG(0)) TRY_GUEST_VOID(write_struct(p, ARG(0), now));
  return SyscallResult::ret(now);
}
SyscallResult sleep_for(Process& p, std::uint64_t request_ptr, std::uint64_t remain_ptr, clockid_t clock,
                        int flags) {
  auto ts = TRY_GUEST(read_struct<struct timespec>(p, request_ptr));
  if (ts.tv_nsec < 0 || ts.tv_nsec >= 1000000000 || ts.tv_sec < 0) return SyscallResult::error(EINVAL);
  if (p.kernel()) {
    // With the scheduler the task blocks until its deadline and another task runs meanwhile (a
    // signal ends the sleep early with EINTR).
    std::chrono::nanoseconds left = std::chrono::seconds(std::min<std::int64_t>(ts.tv_sec, 1ll << 32)) +
                                    std::chrono::nanoseconds(ts.tv_nsec);
    if (flags & TIMER_ABSTIME) {
      struct timespec now {};
      ::clock_gettime(clock, &now);
      left -= std::chrono::seconds(now.tv_sec) + std::chrono::nanoseconds(now.tv_nsec);
    }
    if (left.count() <= 0) return SyscallResult::ret(0);
    SyscallResult blocked = SyscallResult::ret(0);
    blocked.kind = SyscallResult::Kind::block;
    blocked.deadline = std::chrono::steady_clock::now() + left;
    return blocked;
  }
  struct timespec left {};
  // The timeout's signal interrupts the sleep (EINTR); one that came before it began ends it too.
  if (TimeoutTimer::fired()) {
    if (remain_ptr && !(flags & TIMER_ABSTIME)) TRY_GUEST_VOID(write_struct(p, remain_ptr, ts));
    return SyscallResult::error(EINTR);
  }
  int r = ::clock_nanosleep(clock, flags, &ts, &left);
  if (r == EINTR && remain_ptr && !(flags & TIMER_ABSTIME)) TRY_GUEST_VOID(write_struct(p, remain_ptr, left));
  return r == 0 ? SyscallResult::ret(0) : SyscallResult::error(r);
}
SyscallResult sys_nanosleep(Process& p, const SyscallRequest& req) {
  return sleep_for(p, ARG(0), ARG(1), CLOCK_MONOTONIC, 0);
}
SyscallResult sys_clock_nanosleep(Process& p, const SyscallRequest& req) {
  if (ARG(0) != CLOCK_REALTIME && ARG(0) != CLOCK_MONOTONIC && ARG(0) != CLOCK_BOOTTIME)
    return SyscallResult::error(EINVAL);
  return sleep_for(p, ARG(2), ARG(3), static_cast<clockid_t>(ARG(0)),
                   static_cast<int>(ARG(1)) & TIMER_ABSTIME);
}
SyscallResult sys_getrandom(Process& p, const SyscallRequest& req) {
  // Linux refuses any flag it does not know, and GRND_RANDOM together with GRND_INSECURE.
  const std::uint64_t flags = ARG(2);
  if ((flags & ~std::uint64_t{GRND_NONBLOCK | GRND_RANDOM | GRND_INSECURE}) != 0 ||
      ((flags & GRND_RANDOM) && (flags & GRND_INSECURE)))
    return SyscallResult::error(EINVAL);
  const std::uint64_t length = std::min<std::uint64_t>(ARG(1), 1 << 25);
  if (length == 0) return SyscallResult::ret(0);
  auto iov = TRY_GUEST(p.guest_iovecs(ARG(0), length, Access::write));
  std::int64_t total = 0;
  for (const auto& v : iov) {
    long n =
        ::getrandom(v.iov_base, v.iov_len, static_cast<unsigned>(ARG(2)) & (GRND_NONBLOCK | GRND_INSECURE));
    if (n < 0) return total ? SyscallResult::ret(total) : SyscallResult::error(errno);
    total += n;
    if (static_cast<std::size_t>(n) < v.iov_len) break;
  }
  return SyscallResult::ret(total);
}

SyscallResult sys_no_rseq(Process&, const SyscallRequest&) { return SyscallResult::error(ENOSYS); }

// ---- credentials, priority, scheduling policy, locked memory ----

// The guest is uid and gid 0, with gid 0 as its one supplementary group (as root natively).
SyscallResult sys_getgroups(Process& p, const SyscallRequest& req) {
  const auto size = static_cast<std::int32_t>(ARG(0));
  if (size < 0) return SyscallResult::error(EINVAL);
  if (size == 0) return SyscallResult::ret(1);
  TRY_GUEST_VOID(write_struct(p, ARG(1), std::uint32_t{0}));
  return SyscallResult::ret(1);
}
SyscallResult sys_getresid(Process& p, const SyscallRequest& req) {  // getresuid, getresgid
  for (int i = 0; i < 3; ++i) TRY_GUEST_VOID(write_struct(p, ARG(i), std::uint32_t{0}));
  return SyscallResult::ret(0);
}
SyscallResult sys_getpriority(Process& p, const SyscallRequest& req) {
  if (!p.kernel()) return SyscallResult::error(ENOSYS);
  return p.kernel()->priority(p, static_cast<int>(ARG(0)), static_cast<int>(ARG(1)), std::nullopt);
}
SyscallResult sys_setpriority(Process& p, const SyscallRequest& req) {
  if (!p.kernel()) return SyscallResult::error(ENOSYS);
  return p.kernel()->priority(p, static_cast<int>(ARG(0)), static_cast<int>(ARG(1)),
                              static_cast<int>(static_cast<std::int32_t>(ARG(2))));
}
// Every task is SCHED_OTHER at priority 0: the only policy of one round-robin vCPU.
SyscallResult sys_sched_getscheduler(Process& p, const SyscallRequest& req) {
  const auto pid = static_cast<std::int32_t>(ARG(0));
  if (pid < 0) return SyscallResult::error(EINVAL);
  if (pid != 0 && p.kernel() && p.kernel()->priority(p, PRIO_PROCESS, pid, std::nullopt).value < 0)
    return SyscallResult::error(ESRCH);  // no such task
  return SyscallResult::ret(SCHED_OTHER);
}
SyscallResult sys_sched_getparam(Process& p, const SyscallRequest& req) {
  const SyscallResult policy = sys_sched_getscheduler(p, req);
  if (policy.value < 0) return policy;
  TRY_GUEST_VOID(write_struct(p, ARG(1), std::int32_t{0}));
  return SyscallResult::ret(0);
}
SyscallResult sys_sched_priority_range(Process&, const SyscallRequest& req) {  // _max, _min
  const bool max = req.number == SYS_sched_get_priority_max;
  switch (ARG(0)) {
    case SCHED_OTHER:
    case SCHED_BATCH:
    case SCHED_IDLE:
      return SyscallResult::ret(0);
    case SCHED_FIFO:
    case SCHED_RR:
      return SyscallResult::ret(max ? 99 : 1);
    default:
      return SyscallResult::error(EINVAL);
  }
}
// mlock and the rest: guest memory is never swapped out by the sandbox kernel, so a range that is
// mapped is locked already; one that is not is ENOMEM, as in Linux.
SyscallResult sys_mlock(Process& p, const SyscallRequest& req) {  // mlock, munlock, mlock2
  if (req.number == SYS_mlock2 && (ARG(2) & ~std::uint64_t{MLOCK_ONFAULT}))
    return SyscallResult::error(EINVAL);
  const std::uint64_t start = ARG(0) & ~x86::kPageMask;
  if (ARG(1) > AddressSpace::kUserEnd) return SyscallResult::error(ENOMEM);
  const std::uint64_t end = page_up(ARG(0) + ARG(1));
  if (end <= start) return SyscallResult::ret(0);
  return p.space().range_mapped(start, end - start) ? SyscallResult::ret(0) : SyscallResult::error(ENOMEM);
}
SyscallResult sys_mlockall(Process&, const SyscallRequest& req) {
  constexpr std::uint64_t kFlags = MCL_CURRENT | MCL_FUTURE | MCL_ONFAULT;
  if (req.number == SYS_munlockall) return SyscallResult::ret(0);
  if (ARG(0) == 0 || (ARG(0) & ~kFlags) || ARG(0) == MCL_ONFAULT) return SyscallResult::error(EINVAL);
  return SyscallResult::ret(0);
}

}  // namespace spectrum::vm::syscalls
