// Processes: fork/vfork/clone, execve, wait4/waitid, kill, the process ids and groups. The work is
// the scheduler's (kernel/kernel.h); a Process without a kernel (the unit tests' single process)
// answers as the one process it is: fork is refused, its pid is 1 and it has no children.
#include <linux/sched.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/wait.h>

#include <algorithm>
#include <climits>
#include <csignal>
#include <cstddef>
#include <cstring>

#include "vm/kernel/kernel.h"
#include "vm/syscalls/syscalls.h"

namespace spectrum::vm::syscalls {

namespace {

SyscallResult refuse_fork(Process& p, const SyscallRequest& req) {
  if (req.number == SYS_clone && (ARG(0) & CLONE_VM)) {
    p.refuse_once(req.number, "clone with CLONE_VM (threads): the vm tier runs one thread on one vCPU");
    return SyscallResult::error(ENOSYS);
  }
  const char* what = req.number == SYS_fork     ? "fork"
                     : req.number == SYS_vfork  ? "vfork"
                     : req.number == SYS_clone3 ? "clone3"
                                                : "clone without CLONE_VM";
  p.refuse_once(req.number, std::string(what) + ": processes that fork are not supported by the vm tier yet");
  return SyscallResult::error(ENOSYS);
}

SyscallResult fork_with(Process& p, const SyscallRequest& req, std::uint64_t flags) {
  if (!p.kernel()) return refuse_fork(p, req);
  return p.kernel()->fork(p, flags, req.number == SYS_clone ? ARG(1) : 0,
                          req.number == SYS_clone ? ARG(2) : 0, req.number == SYS_clone ? ARG(3) : 0,
                          req.number == SYS_clone ? ARG(4) : 0);
}

}  // namespace

SyscallResult sys_fork(Process& p, const SyscallRequest& req) { return fork_with(p, req, SIGCHLD); }
SyscallResult sys_vfork(Process& p, const SyscallRequest& req) {
  return fork_with(p, req, CLONE_VM | CLONE_VFORK | SIGCHLD);
}
// clone's flags are an int to Linux: the upper half (clone3's own flags) is not the caller's.
SyscallResult sys_clone(Process& p, const SyscallRequest& req) {
  return fork_with(p, req, ARG(0) & 0xffff'ffffu);
}

// clone3(struct clone_args*, size), validated as Linux's copy_clone_args_from_user and
// clone3_args_valid do: a size below the first version is EINVAL, above a page E2BIG, and a larger
// struct than this kernel knows must be zero past what it knows (E2BIG otherwise). Then the same
// fork as clone's, with the stack given as its lowest address and size.
SyscallResult sys_clone3(Process& p, const SyscallRequest& req) {
  if (!p.kernel()) return refuse_fork(p, req);
  static_assert(sizeof(clone_args) == CLONE_ARGS_SIZE_VER2);
  static_assert(offsetof(clone_args, set_tid) == CLONE_ARGS_SIZE_VER0);
  static_assert(offsetof(clone_args, cgroup) == CLONE_ARGS_SIZE_VER1);
  const std::uint64_t size = ARG(1);
  if (size > x86::kPageSize) return SyscallResult::error(E2BIG);
  if (size < CLONE_ARGS_SIZE_VER0) return SyscallResult::error(EINVAL);
  std::array<std::uint8_t, x86::kPageSize> raw{};
  TRY_GUEST_VOID(p.space().read(ARG(0), std::span(raw.data(), size)));
  for (std::uint64_t i = sizeof(clone_args); i < size; ++i)
    if (raw[i] != 0) return SyscallResult::error(E2BIG);
  clone_args args{};
  std::memcpy(&args, raw.data(), std::min<std::uint64_t>(size, sizeof args));
  if (args.set_tid_size > 32 /* MAX_PID_NS_LEVEL */ || (!args.set_tid && args.set_tid_size) ||
      (args.set_tid && !args.set_tid_size))
    return SyscallResult::error(EINVAL);
  if ((args.exit_signal & ~std::uint64_t{CSIGNAL}) || args.exit_signal > 64)
    return SyscallResult::error(EINVAL);
  if ((args.flags & CLONE_INTO_CGROUP) && (args.cgroup > INT_MAX || size < CLONE_ARGS_SIZE_VER2))
    return SyscallResult::error(EINVAL);
  // clone3_args_valid: known flags only; CSIGNAL's bits and CLONE_DETACHED are not flags here.
  if (args.flags & ~std::uint64_t{0xffff'ffffu | CLONE_CLEAR_SIGHAND | CLONE_INTO_CGROUP})
    return SyscallResult::error(EINVAL);
  if (args.flags & (CLONE_DETACHED | CSIGNAL)) return SyscallResult::error(EINVAL);
  if ((args.flags & (CLONE_SIGHAND | CLONE_CLEAR_SIGHAND)) == (CLONE_SIGHAND | CLONE_CLEAR_SIGHAND))
    return SyscallResult::error(EINVAL);
  if ((args.flags & (CLONE_THREAD | CLONE_PARENT)) && args.exit_signal) return SyscallResult::error(EINVAL);
  // The stack: none, or a non-empty range inside user space (the child starts at its top).
  if (args.stack ? (args.stack_size == 0 || args.stack_size > AddressSpace::kUserEnd ||
                    args.stack > AddressSpace::kUserEnd - args.stack_size)
                 : args.stack_size != 0)
    return SyscallResult::error(EINVAL);
  // What this kernel has no model for: a chosen pid (needs CAP_SYS_ADMIN over the pid namespace,
  // as a container's workload lacks it) and a cgroup to start in.
  if (args.set_tid) return SyscallResult::error(EPERM);
  if (args.flags & CLONE_INTO_CGROUP) {
    p.refuse_once(req.number, "clone3 with CLONE_INTO_CGROUP: the sandbox kernel has no cgroups");
    return SyscallResult::error(EINVAL);
  }
  const std::uint64_t stack_top = args.stack ? args.stack + args.stack_size : 0;
  return p.kernel()->fork(p, args.flags | args.exit_signal, stack_top, args.parent_tid, args.child_tid,
                          args.tls);
}

SyscallResult sys_execve(Process& p, const SyscallRequest& req) {
  if (!p.kernel()) {
    p.refuse_once(req.number, "execve needs the sandbox kernel's scheduler");
    return SyscallResult::error(ENOSYS);
  }
  return p.kernel()->exec(p, ARG(0), ARG(1), ARG(2));
}

SyscallResult sys_wait4(Process& p, const SyscallRequest& req) {
  if (ARG(2) & ~std::uint64_t{WNOHANG | WUNTRACED | WCONTINUED | __WALL | __WCLONE | __WNOTHREAD})
    return SyscallResult::error(EINVAL);
  if (!p.kernel()) return SyscallResult::error(ECHILD);
  SyscallResult r = p.kernel()->wait(p, static_cast<std::int64_t>(static_cast<std::int32_t>(ARG(0))),
                                     static_cast<int>(ARG(2)), ARG(1), 0, false);
  if (r.kind == SyscallResult::Kind::value && r.value > 0 && ARG(3))
    TRY_GUEST_VOID(write_struct(p, ARG(3), usage_of(p.kernel()->waited_cpu())));
  return r;
}

SyscallResult sys_waitid(Process& p, const SyscallRequest& req) {
  constexpr std::uint64_t kPAll = 0, kPPid = 1, kPPgid = 2;
  if (!(ARG(3) & WEXITED) ||
      (ARG(3) & ~std::uint64_t{WEXITED | WNOHANG | WNOWAIT | WSTOPPED | WCONTINUED | __WALL}))
    return SyscallResult::error(EINVAL);
  std::int64_t selector;
  switch (ARG(0)) {
    case kPAll:
      selector = -1;
      break;
    case kPPid:
      selector = static_cast<std::int32_t>(ARG(1));
      if (selector <= 0) return SyscallResult::error(EINVAL);
      break;
    case kPPgid:
      selector = ARG(1) ? -static_cast<std::int64_t>(static_cast<std::int32_t>(ARG(1))) : 0;
      break;
    default:
      return SyscallResult::error(EINVAL);
  }
  if (!p.kernel()) return SyscallResult::error(ECHILD);
  return p.kernel()->wait(p, selector, static_cast<int>(ARG(3)), 0, ARG(2), true);
}

SyscallResult sys_kill(Process& p, const SyscallRequest& req) {
  if (!p.kernel()) return signal_self(p, ARG(0), ARG(1));
  return p.kernel()->kill(p, static_cast<std::int32_t>(ARG(0)), ARG(1));
}
SyscallResult sys_tkill(Process& p, const SyscallRequest& req) {
  if (static_cast<std::int32_t>(ARG(0)) <= 0) return SyscallResult::error(EINVAL);
  if (!p.kernel()) return signal_self(p, ARG(0), ARG(1));
  return p.kernel()->kill(p, static_cast<std::int32_t>(ARG(0)), ARG(1), 0);
}
SyscallResult sys_tgkill(Process& p, const SyscallRequest& req) {
  if (static_cast<std::int32_t>(ARG(0)) <= 0 || static_cast<std::int32_t>(ARG(1)) <= 0)
    return SyscallResult::error(EINVAL);
  if (!p.kernel()) return ARG(1) != 1 ? SyscallResult::error(ESRCH) : signal_self(p, ARG(0), ARG(2));
  return p.kernel()->kill(p, static_cast<std::int32_t>(ARG(1)), ARG(2), static_cast<std::int32_t>(ARG(0)));
}

// alarm, setitimer, getitimer: ITIMER_REAL, ITIMER_VIRTUAL and ITIMER_PROF (kernel/timers.cc).
namespace {
struct GuestItimerval {
  ::timeval interval, value;
};
std::chrono::nanoseconds of(const ::timeval& tv) {
  // Capped at 2^32 s (136 years) as the other timeouts are: a guest's tv_sec near INT64_MAX
  // overflowed the conversion to nanoseconds (fuzz_syscalls: signed overflow in setitimer).
  return std::chrono::seconds(std::min<std::int64_t>(tv.tv_sec, 1ll << 32)) +
         std::chrono::microseconds(tv.tv_usec);
}
::timeval to_timeval(std::chrono::nanoseconds ns) {
  const auto us = std::chrono::ceil<std::chrono::microseconds>(ns).count();
  return {static_cast<time_t>(us / 1000000), static_cast<suseconds_t>(us % 1000000)};
}
bool valid(const ::timeval& tv) { return tv.tv_sec >= 0 && tv.tv_usec >= 0 && tv.tv_usec < 1000000; }
}  // namespace
SyscallResult sys_alarm(Process& p, const SyscallRequest& req) {
  if (!p.kernel()) return SyscallResult::error(ENOSYS);
  const auto seconds = static_cast<std::uint32_t>(ARG(0));
  auto old =
      p.kernel()->set_timer(p, ITIMER_REAL, kernel::Kernel::TimerValue{std::chrono::seconds(seconds), {}});
  // The old remainder in seconds, rounded to nearest and at least 1 while armed, as Linux.
  if (old.value.count() == 0) return SyscallResult::ret(0);
  const auto s = std::chrono::round<std::chrono::seconds>(old.value).count();
  return SyscallResult::ret(std::max<std::int64_t>(s, 1));
}
SyscallResult sys_setitimer(Process& p, const SyscallRequest& req) {
  if (!p.kernel()) return SyscallResult::error(ENOSYS);
  if (ARG(0) != ITIMER_REAL && ARG(0) != ITIMER_VIRTUAL && ARG(0) != ITIMER_PROF)
    return SyscallResult::error(EINVAL);
  std::optional<kernel::Kernel::TimerValue> next = kernel::Kernel::TimerValue{};
  if (ARG(1)) {  // Linux takes a null new value as zero
    auto v = TRY_GUEST(read_struct<GuestItimerval>(p, ARG(1)));
    if (!valid(v.value) || !valid(v.interval)) return SyscallResult::error(EINVAL);
    next = kernel::Kernel::TimerValue{of(v.value), of(v.interval)};
  }
  // The old value is written after the new one is set; a bad pointer for it is still EFAULT.
  auto old = p.kernel()->set_timer(p, static_cast<int>(ARG(0)), next);
  if (ARG(2))
    TRY_GUEST_VOID(write_struct(p, ARG(2), GuestItimerval{to_timeval(old.interval), to_timeval(old.value)}));
  return SyscallResult::ret(0);
}
SyscallResult sys_getitimer(Process& p, const SyscallRequest& req) {
  if (!p.kernel()) return SyscallResult::error(ENOSYS);
  if (ARG(0) != ITIMER_REAL && ARG(0) != ITIMER_VIRTUAL && ARG(0) != ITIMER_PROF)
    return SyscallResult::error(EINVAL);
  auto now = p.kernel()->set_timer(p, static_cast<int>(ARG(0)), std::nullopt);
  TRY_GUEST_VOID(write_struct(p, ARG(1), GuestItimerval{to_timeval(now.interval), to_timeval(now.value)}));
  return SyscallResult::ret(0);
}

// getpid, getppid, gettid, getpgrp, getpgid, setpgid, getsid, setsid.
SyscallResult sys_process_ids(Process& p, const SyscallRequest& req) {
  if (!p.kernel()) {
    switch (req.number) {
      case SYS_getppid:
      case SYS_setpgid:
        return SyscallResult::ret(0);
      case SYS_setsid:
        return SyscallResult::error(EPERM);
      default:
        return SyscallResult::ret(1);
    }
  }
  return p.kernel()->process_ids(p, req.number, ARG(0), ARG(1));
}

}  // namespace spectrum::vm::syscalls
