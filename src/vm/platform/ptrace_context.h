// The ptrace platform: the workload runs as a stub host process, stopped at every system call by
// PTRACE_SYSEMU (so none reaches the host kernel) and at every fault by its signal. Design:
// - The stub is a fork of the monitor in new user/pid/mount/net/ipc/uts namespaces (as far as the
//   host allows). Before its first stop it maps one code page below the guest's user half
//   (kStubPage: `int3; syscall; int3`), installs its own seccomp filter (mmap, munmap, mprotect
//   and nothing else; a guest never makes a host call, the filter is defence in depth), and traps.
//   The monitor then unmaps everything else the fork left in it.
// - Guest memory is the memfd of GuestMemory, inherited by the stub. The monitor's page tables
//   (vm::AddressSpace) stay the one truth the handlers use; before each run the stub's mappings
//   are brought in step with AddressSpace::take_changes() by injected mmap/munmap/mprotect calls
//   (MAP_SHARED|MAP_FIXED of the memfd at the frame's offset, one call per run of contiguous
//   frames): what the monitor writes, the workload reads, with no copy.
// - Preemption: the stub's ITIMER_VIRTUAL (set before its filter) sends it SIGVTALRM after each
//   time slice of guest instructions. The stub stops at the signal's delivery, run() reports the
//   stop as `preempted` and the next resume passes no signal: it never reaches the stub. The
//   tasks the scheduler multiplexes on the stub keep their own FPU/SSE/AVX state through
//   extended_state (PTRACE_GETREGSET NT_X86_XSTATE).
// - Any other stop that is not the SYSEMU syscall stop is a fault of the workload: its signal ends
//   the run, as on the vm tier.
#pragma once

#include <sys/types.h>
#include <sys/user.h>

#include <csignal>
#include <cstdint>
#include <memory>

#include "vm/monitor.h"
#include "vm/platform/platform.h"

namespace spectrum::vm::platform {

class PtraceContext final : public ExecutionContext {
 public:
  static constexpr std::uint64_t kStubPage = 0x100000;  // below AddressSpace::kUserLowest
  // A task that never blocks gives the CPU up after this much guest time (Stop::Kind::preempted),
  // measured by the stub's ITIMER_VIRTUAL and announced by its SIGVTALRM.
  static constexpr long kTimeSliceUs = 10'000;
  static constexpr int kSliceSignal = SIGVTALRM;

  // Starts the stub for a guest prepared with Backing::memfd, at the workload's entry.
  static Result<std::unique_ptr<PtraceContext>> create(PreparedGuest& guest);
  ~PtraceContext() override;

  Result<Stop> run() override;
  Result<Registers> registers() override;
  Result<void> set_registers(const Registers& regs) override;
  Result<void> complete_syscall(const SyscallResult& result) override;
  Result<void> switch_task(AddressSpace& space, const Registers& regs) override;
  Result<std::vector<std::uint8_t>> extended_state() override;
  Result<void> set_extended_state(const std::vector<std::uint8_t>& state) override;
  Result<ExtendedLayout> extended_layout() override;
  std::uint64_t exits() const override { return exits_; }
  pid_t stub_pid() const { return pid_; }

 private:
  PtraceContext(PreparedGuest& guest, pid_t pid) : guest_(guest), space_(guest.space.get()), pid_(pid) {}
  // Runs one host system call in the stub (through kStubPage) and returns its result.
  Result<long> inject(long nr, long a0 = 0, long a1 = 0, long a2 = 0, long a3 = 0, long a4 = 0, long a5 = 0);
  Result<void> sync_memory();
  Result<void> apply_changes(const std::vector<AddressSpace::Change>& changes);
  Result<void> wait_trap(const char* what);

  PreparedGuest& guest_;
  AddressSpace* space_;  // the address space the stub's mappings follow (the running task's)
  pid_t pid_ = -1;
  int stub_memfd_ = -1;
  user_regs_struct regs_{};  // the workload's registers
  std::uint64_t exits_ = 0;
  std::size_t xstate_size_ = 0;        // the kernel's xsave area for ptrace, once known
  std::uint64_t xstate_features_ = 0;  // the components it holds (the host XCR0)
  static constexpr std::size_t kMaxXstate = 64 << 10;
  bool running_ = false;  // resumed, not yet stopped (a wait interrupted by the timeout)
};

}  // namespace spectrum::vm::platform
