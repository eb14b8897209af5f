// The FPU/SSE/AVX state across a signal handler, as Linux keeps it: the interrupted code's vector
// registers and MXCSR survive a handler that overwrites them all; the handler starts with the
// default MXCSR; the frame holds the state (uc_flags UC_FP_XSTATE, fpstate with
// FP_XSTATE_MAGIC1 and the interrupted MXCSR and XMM values), and a change the handler makes to
// the saved XMM8 is what the code finds after rt_sigreturn. An MXCSR with a reserved bit written
// there ends the process with SIGSEGV at rt_sigreturn. The ymm upper halves are checked where the
// CPU has AVX.
#include <signal.h>
#include <stdint.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <ucontext.h>

#include "conf.h"

#define UC_FP_XSTATE_FLAG 1

static volatile uint32_t handler_mxcsr, frame_mxcsr, frame_magic, frame_xmm9;
static volatile int frame_flags;
static int poison_mxcsr;

static void handler(int sig, siginfo_t* info, void* context) {
  (void)sig, (void)info;
  uint32_t mxcsr;
  __asm__ volatile("stmxcsr %0" : "=m"(mxcsr));
  handler_mxcsr = mxcsr;
  ucontext_t* uc = context;
  unsigned char* fp = (unsigned char*)uc->uc_mcontext.fpregs;
  frame_flags = (int)(uc->uc_flags & UC_FP_XSTATE_FLAG);
  if (fp) {
    memcpy((void*)&frame_mxcsr, fp + 24, 4);
    memcpy((void*)&frame_magic, fp + 464, 4);
    memcpy((void*)&frame_xmm9, fp + 160 + 9 * 16, 4);
    // The saved XMM8 becomes 0x77...: rt_sigreturn must give the code this value.
    memset(fp + 160 + 8 * 16, 0x77, 16);
    if (poison_mxcsr) {
      uint32_t bad = 0xffffffffu;
      memcpy(fp + 24, &bad, 4);
    }
  }
  // Every vector register and MXCSR overwritten, as a handler using SSE might.
  uint32_t other = 0x7f80;
  __asm__ volatile(
      "pcmpeqd %%xmm0, %%xmm0\n pcmpeqd %%xmm1, %%xmm1\n pcmpeqd %%xmm2, %%xmm2\n pcmpeqd %%xmm3, %%xmm3\n"
      "pcmpeqd %%xmm4, %%xmm4\n pcmpeqd %%xmm5, %%xmm5\n pcmpeqd %%xmm6, %%xmm6\n pcmpeqd %%xmm7, %%xmm7\n"
      "pcmpeqd %%xmm8, %%xmm8\n pcmpeqd %%xmm9, %%xmm9\n pcmpeqd %%xmm10, %%xmm10\n pcmpeqd %%xmm11, "
      "%%xmm11\n"
      "pcmpeqd %%xmm12, %%xmm12\n pcmpeqd %%xmm13, %%xmm13\n pcmpeqd %%xmm14, %%xmm14\n pcmpeqd %%xmm15, "
      "%%xmm15\n"
      "ldmxcsr %0\n" ::"m"(other)
      : "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7", "xmm8", "xmm9", "xmm10", "xmm11",
        "xmm12", "xmm13", "xmm14", "xmm15");
}

// Loads XMM8-15 with known bytes and MXCSR with round-toward-zero, sends itself SIGUSR1 (the
// handler runs on the way back from that syscall), and stores what the registers hold after.
static void around_signal(unsigned char out[8][16], uint32_t* mxcsr_after) {
  unsigned char in[8][16];
  for (int r = 0; r < 8; r++)
    for (int b = 0; b < 16; b++) in[r][b] = (unsigned char)(r * 16 + b + 1);
  uint32_t rz = 0x7f80;  // 0x1f80 with RC = 11 (toward zero)
  uint32_t after = 0;
  long pid = getpid();
  __asm__ volatile(
      "movdqu 0(%[in]), %%xmm8\n movdqu 16(%[in]), %%xmm9\n movdqu 32(%[in]), %%xmm10\n"
      "movdqu 48(%[in]), %%xmm11\n movdqu 64(%[in]), %%xmm12\n movdqu 80(%[in]), %%xmm13\n"
      "movdqu 96(%[in]), %%xmm14\n movdqu 112(%[in]), %%xmm15\n"
      "ldmxcsr %[rz]\n"
      "mov %[nr], %%eax\n mov %[pid], %%rdi\n mov %[sig], %%esi\n syscall\n"
      "movdqu %%xmm8, 0(%[out])\n movdqu %%xmm9, 16(%[out])\n movdqu %%xmm10, 32(%[out])\n"
      "movdqu %%xmm11, 48(%[out])\n movdqu %%xmm12, 64(%[out])\n movdqu %%xmm13, 80(%[out])\n"
      "movdqu %%xmm14, 96(%[out])\n movdqu %%xmm15, 112(%[out])\n"
      "stmxcsr %[after]\n"
      "mov $0x1f80, %%eax\n mov %%eax, %[rz]\n ldmxcsr %[rz]\n"
      : [after] "=m"(after), [rz] "+m"(rz)
      : [in] "r"(in), [out] "r"(out), [nr] "i"(SYS_kill), [pid] "r"(pid), [sig] "i"(SIGUSR1)
      : "rax", "rdi", "rsi", "rcx", "r11", "memory", "xmm8", "xmm9", "xmm10", "xmm11", "xmm12", "xmm13",
        "xmm14", "xmm15");
  *mxcsr_after = after;
}

// The upper half of YMM8 across the same handler (which leaves it alone but runs in the init
// state, where a platform that forgot to restore it would give zeros).
static int ymm_upper_kept(void) {
  if (!__builtin_cpu_supports("avx")) return 1;
  unsigned char in[32], out[32];
  for (int b = 0; b < 32; b++) in[b] = (unsigned char)(0xa0 + b);
  long pid = getpid();
  __asm__ volatile(
      "vmovdqu (%[in]), %%ymm8\n"
      "mov %[nr], %%eax\n mov %[pid], %%rdi\n mov %[sig], %%esi\n syscall\n"
      "vmovdqu %%ymm8, (%[out])\n vzeroupper\n"
      :
      : [in] "r"(in), [out] "r"(out), [nr] "i"(SYS_kill), [pid] "r"(pid), [sig] "i"(SIGUSR1)
      : "rax", "rdi", "rsi", "rcx", "r11", "memory", "xmm8");
  return memcmp(in + 16, out + 16, 16) == 0;
}

int main(void) {
  struct sigaction sa = {0};
  sa.sa_sigaction = handler;
  sa.sa_flags = SA_SIGINFO;
  CHECK(sigaction(SIGUSR1, &sa, NULL) == 0);
  unsigned char out[8][16];
  uint32_t mxcsr_after;
  around_signal(out, &mxcsr_after);
  int kept = 1;
  for (int r = 1; r < 8; r++)
    for (int b = 0; b < 16; b++) kept &= out[r][b] == (unsigned char)(r * 16 + b + 1);
  int edited = 1;
  for (int b = 0; b < 16; b++) edited &= out[0][b] == 0x77;
  printf("XMM9-15 kept across the handler: %d, XMM8 as the handler edited it: %d\n", kept, edited);
  printf("MXCSR kept: %d (0x%x), the handler's own: 0x%x\n", mxcsr_after == 0x7f80, (unsigned)mxcsr_after,
         (unsigned)handler_mxcsr);
  printf("frame: UC_FP_XSTATE %d, magic1 %d, saved MXCSR 0x%x, saved XMM9 first bytes 0x%x\n", frame_flags,
         frame_magic == 0x46505853u, (unsigned)frame_mxcsr, (unsigned)frame_xmm9);
  printf("ymm upper halves kept: %d\n", ymm_upper_kept());
  // An MXCSR the CPU refuses, written into the frame: rt_sigreturn ends the process with SIGSEGV.
  fflush(stdout);
  pid_t child = fork();
  CHECK(child >= 0);
  if (child == 0) {
    poison_mxcsr = 1;
    around_signal(out, &mxcsr_after);
    _exit(0);
  }
  int status;
  CHECK(waitpid(child, &status, 0) == child);
  printf("a reserved MXCSR bit in the frame: %s\n",
         WIFSIGNALED(status) ? sigabbrev_np(WTERMSIG(status)) : "exited");
  return 0;
}
