// Signals: sending (kill, SIGPIPE, SIGCHLD), delivery on the way back to user mode through the
// x86-64 frame Linux builds (arch/signal_frame.h), rt_sigreturn, rt_sigsuspend, rt_sigtimedwait,
// the real-time queue (sigqueue). A task's pending set and mask are 64-bit (signals 1..64); one
// signal is delivered per return to user mode.
// The FPU/SSE/AVX state goes into the frame as Linux's does (arch/fp_state.h), so a handler's
// vector registers never reach the code it interrupted.
#include <sys/syscall.h>

#include <algorithm>
#include <csignal>
#include <cstring>

#include "vm/arch/fp_state.h"
#include "vm/arch/signal_frame.h"
#include "vm/kernel/kernel.h"
#include "vm/syscalls/syscalls.h"

namespace spectrum::vm::kernel {

namespace {

constexpr std::uint64_t bit(int sig) { return 1ull << (sig - 1); }
constexpr int kFirstRealTime = 32;  // the kernel's SIGRTMIN (glibc keeps 32 and 33 for itself)
constexpr std::uint64_t kUnblockable = bit(SIGKILL) | bit(SIGSTOP);
constexpr std::uint64_t kUserFlags = 0x240DD5;  // CF PF AF ZF SF TF DF OF AC ID

bool ignored_by_default(int sig) {
  return sig == SIGCHLD || sig == SIGURG || sig == SIGWINCH || sig == SIGCONT;
}
constexpr std::uint64_t kStopSignals = bit(SIGSTOP) | bit(SIGTSTP) | bit(SIGTTIN) | bit(SIGTTOU);
bool stops_by_default(int sig) { return sig > 0 && sig < 65 && (kStopSignals & bit(sig)); }

// The alternate signal stack, by Linux's rules (kernel/signal.c): `sp` is on it when inside
// (ss_sp, ss_sp + ss_size]; never while SS_AUTODISARM is set (a handler on it disarmed it).
bool auto_disarm(const arch::SignalStack& s) {
  return static_cast<std::uint32_t>(s.flags) & arch::kSsAutoDisarm;
}
bool inside_altstack(const Task& t, std::uint64_t sp) {
  return sp > t.altstack.sp && sp - t.altstack.sp <= t.altstack.size;
}
bool on_altstack(const Task& t, std::uint64_t sp) {
  return !auto_disarm(t.altstack) && inside_altstack(t, sp);
}
std::int32_t altstack_state(const Task& t, std::uint64_t sp) {  // sas_ss_flags
  if (t.altstack.size == 0) return arch::kSsDisable;
  return on_altstack(t, sp) ? arch::kSsOnStack : 0;
}
// Sets the thread's alternate stack from a stack_t, `sp` being where the thread is: an errno.
int set_altstack(Task& t, const arch::SignalStack& ss, std::uint64_t sp) {
  if (on_altstack(t, sp)) return EPERM;
  const auto mode = static_cast<std::int32_t>(static_cast<std::uint32_t>(ss.flags) & ~arch::kSsAutoDisarm);
  if (mode != arch::kSsDisable && mode != arch::kSsOnStack && mode != 0) return EINVAL;
  if (mode != arch::kSsDisable && ss.size < arch::kMinSignalStack) return ENOMEM;
  t.altstack = mode == arch::kSsDisable ? arch::SignalStack{0, ss.flags, 0, 0}
                                        : arch::SignalStack{ss.sp, ss.flags, 0, ss.size};
  return 0;
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

Kernel::SendResult Kernel::send(Task& target, int sig, int from_pid, int code, int status,
                                std::uint64_t value) {
  Process& p = *target.process;
  const std::uint64_t handler = p.sighand().actions[sig][0];
  // Job control, at the sending as Linux does it: SIGCONT goes on (whatever its disposition) and
  // takes back the pending stops; a stop signal takes back a pending SIGCONT. The workload is
  // its sandbox's init, which a stop signal with the default action does not stop (as for a pid
  // namespace's init).
  if (sig == SIGCONT) {
    p.pending_signals_ &= ~kStopSignals;
    continue_group(target);
  } else if (stops_by_default(sig)) {
    p.pending_signals_ &= ~bit(SIGCONT);
    const bool default_action = sig == SIGSTOP || handler == 0;
    if (default_action && !(sig != SIGSTOP && (p.sigmask_ & bit(sig)))) {
      stop_by_default_action(target, sig);
      return SendResult::ignored;
    }
  }
  if (sig != SIGKILL) {
    if (handler == reinterpret_cast<std::uint64_t>(SIG_IGN)) return SendResult::ignored;
    if (handler == 0 && ignored_by_default(sig)) return SendResult::ignored;
    // Caught, or blocked with the default action: pending (a blocked SIGPIPE leaves the write its
    // EPIPE; the default action is taken when it is unblocked, in deliver()).
    if (handler != 0 || (p.sigmask_ & bit(sig))) {
      if (sig < kFirstRealTime) {
        p.signal_sources_[sig] = {from_pid, code, status, value};
      } else if (p.queued_signals_.size() < Process::kMaxQueuedSignals) {
        p.queued_signals_.push_back({sig, {from_pid, code, status, value}});
      } else if (code != 0) {
        return SendResult::queue_full;  // sigqueue: EAGAIN; kill (SI_USER): the bit alone
      }
      p.pending_signals_ |= bit(sig);
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

Process::SignalSource Kernel::take_signal(Process& p, int sig) {
  if (sig < kFirstRealTime) {
    p.pending_signals_ &= ~bit(sig);
    return p.signal_sources_[sig];
  }
  Process::SignalSource source;
  auto& queue = p.queued_signals_;
  auto first = std::find_if(queue.begin(), queue.end(), [&](const auto& q) { return q.sig == sig; });
  if (first != queue.end()) {
    source = first->source;
    queue.erase(first);
  }
  if (std::none_of(queue.begin(), queue.end(), [&](const auto& q) { return q.sig == sig; }))
    p.pending_signals_ &= ~bit(sig);
  return source;
}

namespace {
void fill_siginfo(arch::SigInfo& info, int sig, const Process::SignalSource& source) {
  info.signo = sig;
  info.code = source.code;
  if (source.fault) {  // si_addr where si_pid and si_uid are for a sent signal
    static_assert(offsetof(arch::SigInfo, pid) == 16);
    std::memcpy(reinterpret_cast<std::uint8_t*>(&info) + 16, &source.fault_address,
                sizeof source.fault_address);
    return;
  }
  info.pid = source.pid;
  if (source.code < 0) {  // sigqueue and the like: si_value where SIGCHLD has si_status
    static_assert(offsetof(arch::SigInfo, status) == 24);
    std::memcpy(reinterpret_cast<std::uint8_t*>(&info) + 24, &source.value, sizeof source.value);
  } else {
    info.status = source.status;
  }
}
}  // namespace

Result<std::vector<std::uint8_t>> Kernel::extended_state_of(Task& t) {
  if (&t == on_cpu_) return ctx_.extended_state();
  return t.extended_state;
}

Result<void> Kernel::set_extended_state_of(Task& t, std::vector<std::uint8_t> state) {
  if (&t == on_cpu_) return ctx_.set_extended_state(state);
  t.extended_state = std::move(state);
  return {};
}

std::optional<std::uint64_t> Kernel::push_fp_state(Task& t, std::uint64_t top, std::uint64_t floor) {
  auto layout = ctx_.extended_layout();
  auto state = extended_state_of(t);
  if (!layout || !state) return std::nullopt;
  if (layout->size < arch::kHeaderEnd || state->size() < layout->size) return 0;  // none to save
  const std::vector<std::uint8_t> bytes = arch::fp_frame(*state, layout->size, layout->features);
  if (top < bytes.size()) return std::nullopt;
  const std::uint64_t at = (top - bytes.size()) & ~std::uint64_t{63};
  if (at <= floor || !t.process->space().write(at, bytes)) return std::nullopt;
  if (!set_extended_state_of(t, arch::fp_init(std::move(*state)))) return std::nullopt;
  return at;
}

int Kernel::deliver(Task& t, platform::Registers& regs) {
  Process& p = *t.process;
  while (std::uint64_t ready = p.pending_signals_ & ~p.sigmask_) {
    const int sig = __builtin_ctzll(ready) + 1;
    const Process::SignalSource source = take_signal(p, sig);
    const auto action = p.sighand().actions[sig];  // handler, flags, restorer, mask
    if (action[0] == reinterpret_cast<std::uint64_t>(SIG_IGN)) continue;
    if (action[0] == 0) {
      if (ignored_by_default(sig)) continue;
      if (stops_by_default(sig)) {  // a blocked stop signal, now unblocked
        stop_by_default_action(t, sig);
        continue;
      }
      return sig;
    }
    // Below the red zone, or at the top of the alternate stack (SA_ONSTACK, and not on it yet):
    // the FP state (64-byte aligned), then the frame, aligned as after a call (rsp + 8 a
    // multiple of 16). On the alternate stack, a frame that would not fit in it is SIGSEGV, as
    // in Linux: it never runs over into the memory below.
    std::uint64_t below = regs.rsp - 128;
    bool altstack = on_altstack(t, regs.rsp);
    if ((action[1] & arch::kSaOnStack) && altstack_state(t, below) == 0) {
      below = t.altstack.sp + t.altstack.size;
      altstack = true;
    }
    const std::uint64_t floor = altstack ? t.altstack.sp : 0;
    const std::optional<std::uint64_t> fp = push_fp_state(t, below, floor);
    if (!fp) return SIGSEGV;  // no room for it: Linux forces SIGSEGV too
    const std::uint64_t top = *fp ? *fp : below;
    if (top < sizeof(arch::RtSigFrame) + 24) return SIGSEGV;
    const std::uint64_t sp = ((top - sizeof(arch::RtSigFrame)) & ~std::uint64_t{15}) - 8;
    if (altstack && !inside_altstack(t, sp)) return SIGSEGV;
    arch::RtSigFrame frame{};
    frame.restorer = action[2];
    frame.uc.stack_sp = t.altstack.sp;  // restored by rt_sigreturn
    frame.uc.stack_flags = t.altstack.flags;
    frame.uc.stack_size = t.altstack.size;
    frame.uc.flags = arch::kUcSigcontextSs | arch::kUcStrictRestoreSs | (*fp ? arch::kUcFpXstate : 0);
    auto& m = frame.uc.mcontext;
    m.r8 = regs.r8, m.r9 = regs.r9, m.r10 = regs.r10, m.r11 = regs.r11, m.r12 = regs.r12;
    m.r13 = regs.r13, m.r14 = regs.r14, m.r15 = regs.r15, m.rdi = regs.rdi, m.rsi = regs.rsi;
    m.rbp = regs.rbp, m.rbx = regs.rbx, m.rdx = regs.rdx, m.rax = regs.rax, m.rcx = regs.rcx;
    m.rsp = regs.rsp, m.rip = regs.rip, m.eflags = regs.rflags;
    m.cs = 0x33, m.ss = 0x2b;
    m.fpstate = *fp;
    frame.uc.sigmask = p.saved_mask_.value_or(p.sigmask_);
    m.oldmask = frame.uc.sigmask;
    fill_siginfo(frame.info, sig, source);
    if (!p.space().write(sp, {reinterpret_cast<const std::uint8_t*>(&frame), sizeof frame}))
      return SIGSEGV;  // no room for the frame: Linux forces SIGSEGV too
    if (auto_disarm(t.altstack)) t.altstack = arch::kNoSignalStack;
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
  if (const std::uint64_t fpstate = uc->mcontext.fpstate) {
    // The FP state the frame holds now (the handler may have changed it), sanitized.
    Task& self = task_of(p);
    auto layout = ctx_.extended_layout();
    auto current = extended_state_of(self);
    if (!layout || !current || layout->size < arch::kHeaderEnd)
      return {SyscallResult::Kind::signal, SIGSEGV, {}, {}, {}, {}};
    std::vector<std::uint8_t> bytes(layout->size + sizeof arch::kFpXstateMagic2);
    if (!p.space().read(fpstate, bytes)) {
      bytes.resize(arch::kLegacySize);  // a legacy frame may be all there is
      if (!p.space().read(fpstate, bytes)) return {SyscallResult::Kind::signal, SIGSEGV, {}, {}, {}, {}};
    }
    auto restored = arch::fp_from_frame(bytes, std::move(*current), layout->size, layout->features);
    if (!restored || !set_extended_state_of(self, std::move(*restored)))
      return {SyscallResult::Kind::signal, SIGSEGV, {}, {}, {}, {}};
  }
  p.sigmask_ = uc->sigmask & ~kUnblockable;
  // The alternate stack as it was when the handler was entered (SS_AUTODISARM's rearming); an
  // invalid one is ignored, as Linux's restore_altstack does.
  (void)set_altstack(task_of(p), {uc->stack_sp, uc->stack_flags, 0, uc->stack_size}, r.rsp);
  restart_at_ = r;
  return SyscallResult::ret(static_cast<std::int64_t>(m.rax));
}

SyscallResult Kernel::sigaltstack(Process& p, std::uint64_t ss_ptr, std::uint64_t old_ptr) {
  Task& self = task_of(p);
  auto regs = ctx_.registers();
  if (!regs) return SyscallResult::error(EIO);
  std::optional<arch::SignalStack> ss;
  if (ss_ptr) {
    auto read = syscalls::read_struct<arch::SignalStack>(p, ss_ptr);
    if (!read) return SyscallResult::error(read.error());
    ss = *read;
  }
  arch::SignalStack old = self.altstack;
  old.flags = altstack_state(self, regs->rsp) |
              (auto_disarm(self.altstack) ? static_cast<std::int32_t>(arch::kSsAutoDisarm) : 0);
  if (ss)
    if (const int err = set_altstack(self, *ss, regs->rsp)) return SyscallResult::error(err);
  if (old_ptr && !p.space().write(old_ptr, {reinterpret_cast<const std::uint8_t*>(&old), sizeof old}))
    return SyscallResult::error(EFAULT);
  return SyscallResult::ret(0);
}

SyscallResult Kernel::sigsuspend(Process& p, std::uint64_t mask) {
  if (!p.saved_mask_) p.saved_mask_ = p.sigmask_;
  p.sigmask_ = mask & ~kUnblockable;
  if (p.pending_signals_ & ~p.sigmask_) return SyscallResult::error(EINTR);
  SyscallResult blocked;
  blocked.kind = SyscallResult::Kind::block;  // until a signal comes (no fd)
  return blocked;
}

SyscallResult Kernel::sigtimedwait(Process& p, std::uint64_t set, std::uint64_t info_ptr,
                                   std::optional<std::chrono::steady_clock::time_point> deadline) {
  Task& self = task_of(p);
  set &= ~kUnblockable;
  if (const std::uint64_t ready = p.pending_signals_ & set) {
    self.sigwait = 0;
    const int sig = __builtin_ctzll(ready) + 1;
    const Process::SignalSource source = take_signal(p, sig);
    if (info_ptr) {
      arch::SigInfo info{};
      fill_siginfo(info, sig, source);
      TRY_GUEST_VOID(syscalls::write_struct(p, info_ptr, info));  // (taken all the same, as Linux)
    }
    return SyscallResult::ret(sig);
  }
  if (deadline && std::chrono::steady_clock::now() >= *deadline) {
    self.sigwait = 0;
    return SyscallResult::error(EAGAIN);
  }
  self.sigwait = set;  // the scheduler makes the call again once one of them is pending
  SyscallResult blocked = SyscallResult::error(EAGAIN);  // what the deadline ends it with
  blocked.kind = SyscallResult::Kind::block;
  blocked.deadline = deadline;
  return blocked;
}

SyscallResult Kernel::queue_signal(Process& p, int tgid, std::optional<int> thread, int sig, int code,
                                   std::uint64_t value) {
  if (sig < 0 || sig > 64) return SyscallResult::error(EINVAL);
  Task& self = task_of(p);
  // Only the kernel, or a process signalling itself, may claim a code of the kernel's (>= 0) or
  // tkill's: another sender could pass for them (Linux's rule).
  if ((code >= 0 || code == SI_TKILL) && tgid != self.tgid) return SyscallResult::error(EPERM);
  Task* target = nullptr;
  for (auto& t : tasks_) {
    if (t->state == Task::State::zombie || t->reaped || t->tgid != tgid) continue;
    if (thread ? t->pid == *thread : t->pid == tgid) target = t.get();
  }
  if (!target) return SyscallResult::error(ESRCH);
  if (sig == 0) return SyscallResult::ret(0);
  switch (send(*target, sig, self.tgid, code, 0, value)) {
    case SendResult::queue_full:
      return SyscallResult::error(EAGAIN);
    case SendResult::terminates:
      if (end_by_signal(self, *target, sig)) return {SyscallResult::Kind::signal, sig, {}, {}, {}, {}};
      return SyscallResult::ret(0);
    default:
      return SyscallResult::ret(0);
  }
}

bool Kernel::orphaned_group(int pgid) const {
  // POSIX: no member has a parent in another group of the same session, the one who could
  // continue it. Linux discards TSTP, TTIN and TTOU (not STOP) whose default action would stop
  // such a group: nobody would ever resume it.
  std::vector<int> parents;  // of the members (a group lies in one session)
  int sid = 0;
  for (const auto& t : tasks_) {
    if (t->pgid != pgid || t->state == Task::State::zombie || t->reaped) continue;
    parents.push_back(t->ppid);
    sid = t->sid;
  }
  std::sort(parents.begin(), parents.end());
  return std::none_of(tasks_.begin(), tasks_.end(), [&](const auto& parent) {
    return !parent->reaped && parent->pgid != pgid && parent->sid == sid &&
           std::binary_search(parents.begin(), parents.end(), parent->pid);
  });
}

void Kernel::stop_by_default_action(Task& target, int sig) {
  // The workload is its sandbox's init, which a default action does not stop (as a pid
  // namespace's init); an orphaned group is not stopped by TSTP, TTIN or TTOU.
  if (target.tgid != 1 && (sig == SIGSTOP || !orphaned_group(target.pgid))) stop_group(target, sig);
}

void Kernel::stop_group(Task& target, int sig) {
  Task* leader = nullptr;
  for (auto& t : tasks_) {
    if (t->tgid != target.tgid || t->state == Task::State::zombie || t->reaped) continue;
    t->stopped = true;
    if (t->pid == t->tgid) leader = t.get();
  }
  if (!leader) return;
  leader->stop_report = sig;
  leader->continue_report = false;
  tell_parent(*leader, CLD_STOPPED, sig);
}

void Kernel::tell_parent(const Task& leader, int code, int status) {
  Task* parent = find(leader.ppid);
  if (parent && parent->process && !(parent->process->sighand().actions[SIGCHLD][1] & SA_NOCLDSTOP))
    (void)send(*parent, SIGCHLD, leader.pid, code, status);
}

void Kernel::continue_group(Task& target) {
  Task* leader = nullptr;
  bool was_stopped = false;
  for (auto& t : tasks_) {
    if (t->tgid != target.tgid || t->reaped) continue;
    was_stopped = was_stopped || t->stopped;
    t->stopped = false;
    if (t->pid == t->tgid) leader = t.get();
  }
  if (!was_stopped || !leader) return;
  leader->stop_report = 0;
  leader->continue_report = true;
  tell_parent(*leader, CLD_CONTINUED, SIGCONT);
}

int Kernel::deliver_fault(Task& t, const platform::Stop& stop, platform::Registers& regs) {
  Process& p = *t.process;
  const int sig = stop.signal;
  if (sig < 1 || sig > 64) return sig;
  const std::uint64_t handler = p.sighand().actions[sig][0];
  // Blocked, ignored or the default: the fault ends the process (Linux's force_sig_fault).
  if (handler == 0 || handler == reinterpret_cast<std::uint64_t>(SIG_IGN) || (p.sigmask_ & bit(sig)))
    return sig;
  p.signal_sources_[sig] = {0, stop.fault_code, 0, 0, stop.fault_address, true};
  p.pending_signals_ |= bit(sig);
  // The fault's signal first, whatever else is pending: it is the interrupted instruction's.
  const std::uint64_t others = p.pending_signals_ & ~bit(sig);
  p.pending_signals_ &= ~others;
  const int ended = deliver(t, regs);
  p.pending_signals_ |= others;
  return ended;
}

}  // namespace spectrum::vm::kernel
