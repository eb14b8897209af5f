// Signals: sending (kill, SIGPIPE, SIGCHLD), delivery on the way back to user mode through the
// x86-64 frame Linux builds (arch/signal_frame.h), rt_sigreturn, rt_sigsuspend. A task's pending
// set and mask are 64-bit (signals 1..64); one signal is delivered per return to user mode.
// Not saved across a handler: the FP/SSE state (fpstate is 0 in the frame), see docs/vm.md.
#include <sys/syscall.h>

#include <csignal>

#include "vm/arch/signal_frame.h"
#include "vm/kernel/kernel.h"
#include "vm/syscalls/syscalls.h"

namespace spectrum::vm::kernel {

namespace {

constexpr std::uint64_t bit(int sig) { return 1ull << (sig - 1); }
constexpr std::uint64_t kUnblockable = bit(SIGKILL) | bit(SIGSTOP);
constexpr std::uint64_t kUserFlags = 0x240DD5;  // CF PF AF ZF SF TF DF OF AC ID

bool ignored_by_default(int sig) {
  return sig == SIGCHLD || sig == SIGURG || sig == SIGWINCH || sig == SIGCONT ||
         // Stopping is not supported: the stop signals are ignored rather than ending the task.
         sig == SIGSTOP || sig == SIGTSTP || sig == SIGTTIN || sig == SIGTTOU;
}

// Calls that SA_RESTART makes again after the handler, as Linux does.
bool restartable(std::uint64_t number) {
  switch (number) {
    case SYS_read:
    case SYS_write:
    case SYS_readv:
    case SYS_writev:
    case SYS_wait4:
    case SYS_waitid:
    case SYS_ioctl:
      return true;
    default:
      return false;
  }
}

}  // namespace

Kernel::SendResult Kernel::send(Task& target, int sig, int from_pid, int code, int status) {
  Process& p = *target.process;
  const std::uint64_t handler = p.sighand().actions[sig][0];
  if (sig != SIGKILL) {
    if (handler == reinterpret_cast<std::uint64_t>(SIG_IGN)) return SendResult::ignored;
    if (handler == 0 && ignored_by_default(sig)) return SendResult::ignored;
    // Caught, or blocked with the default action: pending (a blocked SIGPIPE leaves the write its
    // EPIPE; the default action is taken when it is unblocked, in deliver()).
    if (handler != 0 || (p.sigmask_ & bit(sig))) {
      p.pending_signals_ |= bit(sig);
      p.signal_sources_[sig] = {from_pid, code, status};
      return SendResult::pending;
    }
  }
  return SendResult::terminates;
}

SyscallResult Kernel::raise(Process& p, int sig) {
  Task& self = task_of(p);
  if (send(self, sig, self.pid, 0) == SendResult::terminates)
    return {SyscallResult::Kind::signal, sig, {}, {}, {}, {}};
  return SyscallResult::ret(0);
}

int Kernel::deliver(Task& t, platform::Registers& regs) {
  Process& p = *t.process;
  while (std::uint64_t ready = p.pending_signals_ & ~p.sigmask_) {
    const int sig = __builtin_ctzll(ready) + 1;
    p.pending_signals_ &= ~bit(sig);
    const auto action = p.sighand().actions[sig];  // handler, flags, restorer, mask
    if (action[0] == reinterpret_cast<std::uint64_t>(SIG_IGN)) continue;
    if (action[0] == 0) {
      if (ignored_by_default(sig)) continue;
      return sig;
    }
    // The frame below the red zone, aligned as after a call (rsp + 8 a multiple of 16).
    const std::uint64_t sp = ((regs.rsp - 128 - sizeof(arch::RtSigFrame)) & ~std::uint64_t{15}) - 8;
    arch::RtSigFrame frame{};
    frame.restorer = action[2];
    auto& m = frame.uc.mcontext;
    m.r8 = regs.r8, m.r9 = regs.r9, m.r10 = regs.r10, m.r11 = regs.r11, m.r12 = regs.r12;
    m.r13 = regs.r13, m.r14 = regs.r14, m.r15 = regs.r15, m.rdi = regs.rdi, m.rsi = regs.rsi;
    m.rbp = regs.rbp, m.rbx = regs.rbx, m.rdx = regs.rdx, m.rax = regs.rax, m.rcx = regs.rcx;
    m.rsp = regs.rsp, m.rip = regs.rip, m.eflags = regs.rflags;
    m.cs = 0x33, m.ss = 0x2b;
    frame.uc.sigmask = p.saved_mask_.value_or(p.sigmask_);
    m.oldmask = frame.uc.sigmask;
    const auto& source = p.signal_sources_[sig];
    frame.info.signo = sig;
    frame.info.code = source.code;
    frame.info.pid = source.pid;
    frame.info.status = source.status;
    if (!p.space().write(sp, {reinterpret_cast<const std::uint8_t*>(&frame), sizeof frame}))
      return SIGSEGV;  // no room for the frame: Linux forces SIGSEGV too
    p.saved_mask_.reset();
    p.sigmask_ |= (action[3] | ((action[1] & arch::kSaNoDefer) ? 0 : bit(sig)));
    p.sigmask_ &= ~kUnblockable;
    if (action[1] & arch::kSaResetHand) p.sighand().actions[sig] = {};
    regs.rip = action[0];
    regs.rsp = sp;
    regs.rdi = static_cast<std::uint64_t>(sig);
    regs.rsi = sp + offsetof(arch::RtSigFrame, info);
    regs.rdx = sp + offsetof(arch::RtSigFrame, uc);
    regs.rax = 0;
    regs.rflags &= ~std::uint64_t{0x100 | 0x400};  // TF, DF
    return 0;
  }
  if (p.saved_mask_) {  // rt_sigsuspend woke for a signal that was then ignored
    p.sigmask_ = *p.saved_mask_;
    p.saved_mask_.reset();
  }
  return 0;
}

void Kernel::interrupt(Task& t) {
  Process& p = *t.process;
  const std::uint64_t ready = p.pending_signals_ & ~p.sigmask_;
  const int sig = __builtin_ctzll(ready) + 1;
  if ((p.sighand().actions[sig][1] & arch::kSaRestart) && restartable(t.pending.number)) {
    t.regs.rip -= 2;  // the `syscall` instruction again, with its number
    t.regs.rax = t.pending.number;
  } else {
    t.regs.rax = static_cast<std::uint64_t>(-EINTR);
  }
}

SyscallResult Kernel::sigreturn(Process& p) {
  auto regs = ctx_.registers();
  if (!regs) return SyscallResult::error(EIO);
  // The handler's `ret` popped the restorer: the ucontext is at rsp.
  auto uc = syscalls::read_struct<arch::UContext>(p, regs->rsp);
  if (!uc || uc->mcontext.rip < AddressSpace::kUserLowest || uc->mcontext.rip >= AddressSpace::kUserEnd)
    return {SyscallResult::Kind::signal, SIGSEGV, {}, {}, {}, {}};
  const arch::SigContext& m = uc->mcontext;
  platform::Registers r = *regs;
  r.r8 = m.r8, r.r9 = m.r9, r.r10 = m.r10, r.r11 = m.r11, r.r12 = m.r12, r.r13 = m.r13;
  r.r14 = m.r14, r.r15 = m.r15, r.rdi = m.rdi, r.rsi = m.rsi, r.rbp = m.rbp, r.rbx = m.rbx;
  r.rdx = m.rdx, r.rax = m.rax, r.rcx = m.rcx, r.rsp = m.rsp, r.rip = m.rip;
  r.rflags = (m.eflags & kUserFlags) | 0x202;
  p.sigmask_ = uc->sigmask & ~kUnblockable;
  restart_at_ = r;
  return SyscallResult::ret(static_cast<std::int64_t>(m.rax));
}

SyscallResult Kernel::sigsuspend(Process& p, std::uint64_t mask) {
  if (!p.saved_mask_) p.saved_mask_ = p.sigmask_;
  p.sigmask_ = mask & ~kUnblockable;
  if (p.pending_signals_ & ~p.sigmask_) return SyscallResult::error(EINTR);
  SyscallResult blocked;
  blocked.kind = SyscallResult::Kind::block;  // until a signal comes (no fd)
  return blocked;
}

}  // namespace spectrum::vm::kernel
