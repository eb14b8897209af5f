// The platform under the monitor's system-call handlers, as gVisor splits its sentry from its
// platforms: where the workload's instructions run (an execution context) is one question, what
// its system calls do (vm::Process and the handler table) another. The handlers see only neutral
// registers and a SyscallRequest; a platform turns its own stop (a KVM exit and the guest kernel's
// hypercall; later a ptrace SYSEMU stop) into a `Stop`, and a SyscallResult back into its
// registers.
//
// Platforms: KVM (platform/kvm_context.h: the monitor's page tables and the vCPU). The address
// space side of the interface is vm::AddressSpace (map, unmap, protect, read, write), which every
// handler already goes through; a platform that does not read the page tables in hardware keeps
// the host's view in step with it (see docs/vm.md, "Platforms").
#pragma once

#include <csignal>
#include <cstdint>
#include <ctime>
#include <optional>
#include <string>
#include <vector>

#include "core/error.h"
#include "vm/kernel/process.h"

namespace spectrum::vm::platform {

// The x86-64 user registers a handler or the run loop may read or change, independent of
// kvm_regs and user_regs_struct. fs_base/gs_base are the TLS bases (arch_prctl).
struct Registers {
  std::uint64_t rax = 0, rbx = 0, rcx = 0, rdx = 0, rsi = 0, rdi = 0, rbp = 0, rsp = 0;
  std::uint64_t r8 = 0, r9 = 0, r10 = 0, r11 = 0, r12 = 0, r13 = 0, r14 = 0, r15 = 0;
  std::uint64_t rip = 0, rflags = 0;
  std::uint64_t fs_base = 0, gs_base = 0;
};

// The Linux system call the registers name: number in rax, arguments in rdi rsi rdx r10 r8 r9.
inline SyscallRequest syscall_request(const Registers& r) {
  return {r.rax, {r.rdi, r.rsi, r.rdx, r.r10, r.r8, r.r9}};
}

// Why the workload stopped.
struct Stop {
  enum class Kind {
    syscall,      // a system call, named by `request`; complete_syscall gives its value
    fault,        // a fault of the workload: `signal`, `detail` says where
    interrupted,  // a host signal (the --timeout) stopped it; the caller decides
    preempted,    // its time slice is over: the scheduler may run another task
  };
  Kind kind = Kind::syscall;
  int signal = 0;
  std::string detail;      // "SIGSEGV: page fault at rip 0x401000 touching 0x0"
  SyscallRequest request;  // syscall: the call, read from the registers once by the platform
  // fault: what a handler of the workload's is told (si_code, si_addr), and whether the task can
  // go on at other registers (the handler's) after it. Where the platform cannot (false), the
  // fault ends the process with `signal`.
  int fault_code = 0;
  std::uint64_t fault_address = 0;
  bool resumable = false;
};

// One thread of the workload on a platform.
class ExecutionContext {
 public:
  virtual ~ExecutionContext() = default;
  // Runs the workload until it makes a system call, faults or is interrupted. An Error is a
  // failure of the platform (the guest kernel did what it must never do), not of the workload.
  virtual Result<Stop> run() = 0;
  // At a system call stop: the user registers as they are after the `syscall` instruction (rip
  // after it, rcx/r11 as the CPU set them), whatever the platform's own entry path left.
  virtual Result<Registers> registers() = 0;
  virtual Result<void> set_registers(const Registers& regs) = 0;
  // Completes a system call stop with a handler's value result: rax and the TLS bases it changed.
  // A platform may override it to touch less than every register (the common call changes rax).
  virtual Result<void> complete_syscall(const SyscallResult& result) {
    Registers regs = SPECTRUM_TRY(registers());
    regs.rax = static_cast<std::uint64_t>(result.value);
    if (result.fs_base) regs.fs_base = *result.fs_base;
    if (result.gs_base) regs.gs_base = *result.gs_base;
    return set_registers(regs);
  }
  // Runs another task next: `space` is its address space (the KVM platform loads its page tables'
  // root, the ptrace platform remaps its stub), `regs` its user registers (from registers() when it
  // stopped, or a new program's start). The next run() resumes there, not where the current task
  // stopped. A platform that cannot do this (a test's) refuses.
  virtual Result<void> switch_task(AddressSpace& space, const Registers& regs) {
    (void)space;
    (void)regs;
    return fail("this platform runs one task only");
  }
  // A new address space's side on the platform, made while the call that brings the space (fork,
  // execve, an exec into the sandbox) can still fail cleanly: the ptrace platform forks its stub
  // here, which the host's process limit may refuse. What is not made here switch_task makes.
  virtual Result<void> prepare_space(AddressSpace& space) {
    (void)space;
    return {};
  }
  // The task's FPU/SSE/AVX state (the xsave area), for a scheduler that runs another task on this
  // context: saved from the task that leaves, given back to it when it returns. A platform whose
  // tasks keep their own extended state (or that runs one) returns an empty state and ignores it.
  virtual Result<std::vector<std::uint8_t>> extended_state() { return std::vector<std::uint8_t>{}; }
  virtual Result<void> set_extended_state(const std::vector<std::uint8_t>& state) {
    (void)state;
    return {};
  }
  // What of extended_state() a signal frame holds, as Linux lays it out there: the standard-format
  // xsave area's first `size` bytes (0: the platform gives no extended state) and the state
  // components it covers (XCR0's user bits).
  struct ExtendedLayout {
    std::size_t size = 0;
    std::uint64_t features = 0;
  };
  virtual Result<ExtendedLayout> extended_layout() { return ExtendedLayout{}; }
  // The workload has more than one task now: a platform that preempts only where that matters
  // (KVM: a timer's exits cost the lone task time) starts its time slice.
  virtual Result<void> start_time_slices() { return {}; }
  // A clock of the CPU time the running task's platform side has used (ns): read at each switch
  // between tasks, so that the task that leaves is charged what it used. The default is the
  // calling thread's (KVM: the vCPU's thread runs the guest, and the monitor's handling of its
  // calls counts as the task's, as system time would).
  virtual std::uint64_t cpu_clock_ns() {
    timespec t{};
    ::clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
    return static_cast<std::uint64_t>(t.tv_sec) * 1'000'000'000u + static_cast<std::uint64_t>(t.tv_nsec);
  }
  // Whether cpu_clock_ns() also counts the monitor's own work for the task (KVM: one thread runs
  // both) or only the guest's instructions (ptrace: the stub's clock).
  virtual bool cpu_clock_counts_monitor() const { return true; }
  // How many times the platform left the workload (VM exits, ptrace stops), for the counters.
  virtual std::uint64_t exits() const = 0;
};

}  // namespace spectrum::vm::platform
