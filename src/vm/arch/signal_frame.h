// The x86-64 signal frame Linux builds on the user stack for a handler (arch/x86/kernel/signal.c,
// struct rt_sigframe): the return address (sa_restorer, which calls rt_sigreturn), the ucontext
// with the interrupted registers and signal mask, the siginfo. Pinned against glibc's view of the
// same layout (ucontext_t's prefix, siginfo_t) so a wrong offset fails to build.
#pragma once

#include <signal.h>
#include <sys/ucontext.h>

#include <cstddef>
#include <cstdint>

namespace spectrum::vm::arch {

// struct sigcontext (asm/sigcontext.h), the general registers in the kernel's order.
struct SigContext {
  std::uint64_t r8, r9, r10, r11, r12, r13, r14, r15;
  std::uint64_t rdi, rsi, rbp, rbx, rdx, rax, rcx, rsp, rip, eflags;
  std::uint16_t cs, gs, fs, ss;
  std::uint64_t err, trapno, oldmask, cr2;
  std::uint64_t fpstate;  // the FP state below the frame (arch/fp_state.h); 0: none
  std::uint64_t reserved[8];
};
static_assert(sizeof(SigContext) == 256);

// struct ucontext (asm/ucontext.h): the kernel's, with a 64-bit signal mask.
struct UContext {
  std::uint64_t flags, link;
  std::uint64_t stack_sp;
  std::int32_t stack_flags, pad;
  std::uint64_t stack_size;
  SigContext mcontext;
  std::uint64_t sigmask;
};
static_assert(sizeof(UContext) == 304);
static_assert(offsetof(UContext, mcontext) == offsetof(ucontext_t, uc_mcontext));
static_assert(offsetof(UContext, mcontext) + offsetof(SigContext, rip) ==
              offsetof(ucontext_t, uc_mcontext.gregs) + REG_RIP * 8);
static_assert(offsetof(UContext, mcontext) + offsetof(SigContext, rsp) ==
              offsetof(ucontext_t, uc_mcontext.gregs) + REG_RSP * 8);
static_assert(offsetof(UContext, mcontext) + offsetof(SigContext, r8) ==
              offsetof(ucontext_t, uc_mcontext.gregs) + REG_R8 * 8);
static_assert(offsetof(UContext, mcontext) + offsetof(SigContext, fpstate) ==
              offsetof(ucontext_t, uc_mcontext.fpregs));
static_assert(offsetof(UContext, sigmask) == offsetof(ucontext_t, uc_sigmask));

// stack_t (sigaltstack's argument, and uc_stack in the frame's ucontext).
struct SignalStack {
  std::uint64_t sp;
  std::int32_t flags, pad;
  std::uint64_t size;
};
static_assert(sizeof(SignalStack) == sizeof(stack_t) &&
              offsetof(SignalStack, flags) == offsetof(stack_t, ss_flags) &&
              offsetof(SignalStack, size) == offsetof(stack_t, ss_size));
static_assert(offsetof(UContext, stack_sp) == offsetof(ucontext_t, uc_stack.ss_sp) &&
              offsetof(UContext, stack_flags) == offsetof(ucontext_t, uc_stack.ss_flags) &&
              offsetof(UContext, stack_size) == offsetof(ucontext_t, uc_stack.ss_size));
inline constexpr std::int32_t kSsOnStack = 1, kSsDisable = 2;
inline constexpr std::uint32_t kSsAutoDisarm = 1u << 31;
// The kernel's MINSIGSTKSZ (asm/signal.h; glibc's macro of that name asks the CPU at run time).
inline constexpr std::uint64_t kMinSignalStack = 2048;
static_assert(kSsOnStack == SS_ONSTACK && kSsDisable == SS_DISABLE);
inline constexpr SignalStack kNoSignalStack{0, kSsDisable, 0, 0};  // a thread's before sigaltstack

// siginfo_t, the fields a handler of a kill or SIGCHLD reads.
struct SigInfo {
  std::int32_t signo, err, code, pad;
  std::int32_t pid, uid;
  std::int32_t status;  // SIGCHLD
  std::uint8_t rest[128 - 28];
};
static_assert(sizeof(SigInfo) == sizeof(siginfo_t));
static_assert(offsetof(SigInfo, code) == offsetof(siginfo_t, si_code));
static_assert(offsetof(SigInfo, pid) == offsetof(siginfo_t, si_pid));
static_assert(offsetof(SigInfo, status) == offsetof(siginfo_t, si_status));

struct RtSigFrame {
  std::uint64_t restorer;  // the handler's return address
  UContext uc;
  SigInfo info;
};
static_assert(offsetof(RtSigFrame, uc) == 8 && offsetof(RtSigFrame, info) == 312);

// The kernel struct sigaction as rt_sigaction passes it.
inline constexpr std::uint64_t kSaNoCldWait = 2, kSaSigInfo = 4, kSaOnStack = 0x08000000,
                               kSaRestart = 0x10000000, kSaNoDefer = 0x40000000, kSaResetHand = 0x80000000,
                               kSaRestorer = 0x04000000;
static_assert(kSaRestart == SA_RESTART && kSaNoDefer == SA_NODEFER && kSaResetHand == SA_RESETHAND &&
              kSaSigInfo == SA_SIGINFO && kSaNoCldWait == SA_NOCLDWAIT && kSaOnStack == SA_ONSTACK);

}  // namespace spectrum::vm::arch
