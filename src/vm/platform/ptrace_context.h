// The ptrace platform: the workload runs as stub host processes, stopped at every system call by
// PTRACE_SYSEMU (so none reaches the host kernel) and at every fault by its signal. Design:
// - The first stub, the zygote, is a fork of the monitor in new user/pid/mount/net/ipc/uts
//   namespaces (as far as the host allows; it is their init). Before its first stop it maps one
//   code page below the guest's user half (kStubPage: `int3; syscall; int3`, and the time slice's
//   itimerval), installs its own seccomp filter (mmap, munmap, mprotect, fork, setitimer and
//   wait4; everything else kills it) and traps. The monitor then unmaps everything else the fork left.
// - One stub per guest address space, as gVisor's: the zygote forks it (an injected fork, the
//   child traced through PTRACE_O_TRACEFORK) when the guest's fork or execve makes the space
//   (prepare_space: a host that refuses it is that call's EAGAIN or ENOMEM), and it lives as long
//   as the space does
//   (FrameAllocator::set_space_ended). Switching between processes is then a register load, not
//   a replay of the new process's mappings. The zygote never runs guest code.
// - Guest memory is the memfd of GuestMemory, inherited by every stub. The monitor's page tables
//   (vm::AddressSpace) stay the one truth the handlers use; before each run the running space's
//   stub is brought in step with its AddressSpace::take_changes() by injected mmap/munmap/mprotect
//   calls (MAP_SHARED|MAP_FIXED of the memfd at the frame's offset, one call per run of contiguous
//   frames): what the monitor writes, the workload reads, with no copy. A space's changes made
//   while another one runs wait in its log until it runs again.
// - Preemption: each stub's ITIMER_VIRTUAL (set by an injected call once forked) sends it
//   SIGVTALRM after each time slice of guest instructions. The stub stops at the signal's
//   delivery, run() reports the stop as `preempted` and the next resume passes no signal: it never
//   reaches the stub. The tasks the scheduler multiplexes keep their own FPU/SSE/AVX state through
//   extended_state (PTRACE_GETREGSET NT_X86_XSTATE).
// - Any other stop that is not the SYSEMU syscall stop is a fault of the workload: its signal ends
//   the run, as on the vm tier.
#pragma once

#include <sched.h>
#include <sys/types.h>
#include <sys/user.h>

#include <chrono>
#include <csignal>
#include <cstdint>
#include <memory>
#include <unordered_map>

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
  Result<void> prepare_space(AddressSpace& space) override;
  Result<std::vector<std::uint8_t>> extended_state() override;
  Result<void> set_extended_state(const std::vector<std::uint8_t>& state) override;
  Result<ExtendedLayout> extended_layout() override;
  std::uint64_t exits() const override { return exits_; }
  std::uint64_t cpu_clock_ns() override;  // the running space's stub's, the guest's own instructions
  bool cpu_clock_counts_monitor() const override { return false; }
  pid_t stub_pid() const { return pid_; }  // the running address space's stub
  std::size_t stubs() const { return stubs_.size(); }
  pid_t zygote_pid() const { return zygote_; }

 private:
  PtraceContext(PreparedGuest& guest, pid_t zygote) : guest_(guest), zygote_(zygote) {}
  // Runs one host system call in a stub (through kStubPage) and returns its result.
  Result<long> inject_in(pid_t stub, long nr, long a0 = 0, long a1 = 0, long a2 = 0, long a3 = 0, long a4 = 0,
                         long a5 = 0);
  Result<long> inject(long nr, long a0 = 0, long a1 = 0, long a2 = 0, long a3 = 0, long a4 = 0, long a5 = 0) {
    return inject_in(pid_, nr, a0, a1, a2, a3, a4, a5);
  }
  // A new stub, forked by the zygote, with its time slice set and no guest memory mapped.
  Result<pid_t> fork_stub();
  void space_ended(const AddressSpace* space);
  Result<void> sync_memory();
  Result<void> apply_changes(const std::vector<AddressSpace::Change>& changes);
  Result<int> wait_stop(pid_t stub, const char* what);  // the wait status of its next stop
  Result<void> wait_trap(pid_t stub, const char* what);
  void end_stub(pid_t stub);
  void forget_dead_stub(pid_t stub);
  // PTRACE_CONT or PTRACE_SYSEMU of a stopped stub, first moved to the CPU the monitor runs on:
  // a tracee woken on another CPU costs an inter-processor wake-up at every stop, and so does a
  // tracer the stop wakes on another CPU. On this nested host that made each guest call ~8x
  // slower (a ptrace round trip of 27 us across CPUs against 3.6 us on one). gVisor's ptrace
  // platform binds its stubs the same way. The monitor itself stays on its CPU too, except for a
  // few milliseconds every 100 ms, in which the host's scheduler may move it (then the stubs
  // follow): a busy CPU is left, at the scheduler's pace rather than at every call.
  Result<void> resume(pid_t stub, int request, const char* what);
  void keep_beside_monitor(pid_t stub);
  std::unordered_map<pid_t, int> stub_cpu_;  // the CPU each stub was last bound to
  cpu_set_t allowed_cpus_{};                 // the monitor's affinity as it started
  bool monitor_pinned_ = false;
  std::chrono::steady_clock::time_point next_pin_change_{};

  PreparedGuest& guest_;
  pid_t zygote_ = -1;
  struct Stub {
    pid_t pid;
    bool mapped;  // has the space's mappings (else they are replayed, whole, at its first run)
  };
  std::unordered_map<const AddressSpace*, Stub> stubs_;
  AddressSpace* space_ = nullptr;  // the running task's address space (none once it ended)
  pid_t pid_ = -1;                 // and its stub
  pid_t retired_ = -1;             // the stub of a space that ended while running: ended at the next switch
  int stub_memfd_ = -1;
  user_regs_struct regs_{};  // the workload's registers
  std::uint64_t exits_ = 0;
  std::size_t xstate_size_ = 0;        // the kernel's xsave area for ptrace, once known
  std::uint64_t xstate_features_ = 0;  // the components it holds (the host XCR0)
  static constexpr std::size_t kMaxXstate = 64 << 10;
  bool running_ = false;  // resumed, not yet stopped (a wait interrupted by the timeout)
};

}  // namespace spectrum::vm::platform
