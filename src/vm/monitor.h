// The monitor: prepares a guest (memory, kernel area, page tables, the workload's ELF and stack)
// and runs it on KVM, serving its system calls until it exits, dies of a signal or times out.
// Preparation needs no /dev/kvm, so everything up to the first KVM_RUN is tested on any host.
#pragma once

#include <chrono>
#include <cstdint>
#include <ctime>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "core/error.h"
#include "vm/boot.h"
#include "vm/kernel/process.h"
#include "vm/kvm.h"
#include "vm/loader/elf.h"
#include "vm/loader/interp.h"
#include "vm/loader/load.h"
#include "vm/memory.h"
#include "vm/platform/platform.h"
#include "vm/x86.h"

namespace spectrum::vm {

struct GuestSpec {
  std::string program_name;  // for messages
  std::string elf_bytes;     // the executable's content, or its head when elf_file is open
  UniqueFd elf_file;         // the executable, which its segments are read from (else elf_bytes)
  ElfImage elf;              // parsed from elf_bytes
  std::vector<std::string> argv, envp;
  std::uint64_t memory_bytes = 256ull << 20;
  GuestMemory::Backing backing = GuestMemory::Backing::anonymous;  // memfd for the ptrace platform
  std::optional<Interpreter> interpreter;  // a dynamic program's linker (loader/interp.h)
};

// The stack the workload gets for a memory size: 8 MiB, less in small guests.
std::uint64_t stack_size_for(std::uint64_t memory_bytes);
// The least guest memory that can hold this program (kernel area, page tables, image, stack, a
// little heap); below it the run is refused before any VM exists.
std::uint64_t minimum_memory(const ElfImage& elf, const ElfImage* interpreter = nullptr);

// Guest memory ready to run: owns memory, frames and page tables (heap-allocated so the references
// between them stay valid when it moves).
struct PreparedGuest {
  std::unique_ptr<GuestMemory> memory;
  std::unique_ptr<FrameAllocator> frames;
  std::unique_ptr<AddressSpace> space;
  VcpuState vcpu;
  std::uint64_t load_bias = 0;
  std::uint64_t brk_start = 0;
  std::uint64_t entry = 0;     // the program's entry (AT_ENTRY)
  std::uint64_t start = 0;     // where the first instruction runs: the entry, or the dynamic linker's
  LoadedProgram program;       // what /proc shows of its layout (names, argv and envp)
  std::unique_ptr<Vdso> vdso;  // mapped into every program; its clock is refreshed at each entry
};
Result<PreparedGuest> prepare_guest(const GuestSpec& spec);

struct GuestOutcome {
  // out_of_memory: the workload's first process was killed (SIGKILL) for want of a frame, as
  // Linux's OOM killer would (a copy-on-write page with no memory left to copy it into).
  enum class Kind { exited, signaled, timed_out, out_of_memory };
  Kind kind = Kind::exited;
  int status = 0;      // exit status or signal
  std::string detail;  // e.g. "SIGSEGV: page fault at rip 0x401000 touching 0x0"
  std::uint64_t syscalls = 0;
  std::uint64_t exits = 0;
  std::uint64_t guest_touched_bytes = 0;  // guest memory the host had to back (mincore)
  std::uint64_t table_resets = 0;         // FrameAllocator::table_resets: KVM made to forget its shadows
  std::chrono::nanoseconds to_first_instruction{0};
};

// Runs a prepared guest on /dev/kvm. `vm_ready` is called once the VM exists and before the first
// guest instruction (the caller confines itself there). A KVM_EXIT_INTERNAL_ERROR, triple fault or
// fault in ring 0 is an Error naming the guest address.
struct RunOptions {
  std::optional<std::chrono::nanoseconds> timeout;
  std::string device = "/dev/kvm";
  bool forward_signals = false;  // ForwardedSignals: signals sent to the monitor are the guest's
  int exec_listener = -1;        // `spectrum exec` requests (vm/exec_protocol.h), taken by the kernel
};
Result<GuestOutcome> run_guest(PreparedGuest& guest, Process& process, KvmVm& vm, const RunOptions& options);

// A POSIX timer of the monitor's: `signal` after `first`, then every `interval` (zero: once) of
// `clock`; deleted with the object. Its host calls are in the monitor's allow-list.
class HostTimer {
 public:
  static Result<HostTimer> start(clockid_t clock, int signal, std::chrono::nanoseconds first,
                                 std::chrono::nanoseconds interval = {});
  HostTimer(HostTimer&& o) noexcept : id_(o.id_), armed_(std::exchange(o.armed_, false)) {}
  HostTimer& operator=(HostTimer&&) = delete;
  ~HostTimer();

 private:
  HostTimer() = default;
  timer_t id_{};
  bool armed_ = false;
};

// The --timeout: a one-shot timer whose SIGALRM sets the vCPU's immediate_exit (a KVM_RUN about
// to be entered returns at once, one running returns EINTR: no race) and fired(). One per process
// at a time (the monitor runs one VM).
struct TimeoutTimer {
  static Result<HostTimer> start(std::chrono::nanoseconds after, volatile std::uint8_t* immediate_exit);
  static bool fired();
};

// The KVM platform's time slice, once the workload has a second task: a periodic timer on the
// monitor's CPU clock (the guest's time on the vCPU counts there, the monitor's waits do not)
// whose SIGVTALRM sets the vCPU's immediate_exit like the timeout's SIGALRM; take() says a slice
// ended. A SIGVTALRM that a process sends is not a slice's: with ForwardedSignals it is the
// guest's, as before.
struct SliceTimer {
  static Result<HostTimer> start(std::chrono::nanoseconds every, volatile std::uint8_t* immediate_exit);
  static bool take();
};

// Signals sent to the monitor that belong to its guest (the OCI vm handler: the monitor is the
// container's process, `kill` aims at it). A handler records each (as a namespace's init, the
// monitor gets only the signals it handles) and stops the vCPU like the timeout does; the run
// loop hands them to the guest, whose disposition decides (ignored, or its default action ends
// the run with that signal: the guest has no handlers yet). Not the faults the monitor itself may
// raise (SEGV, BUS, ILL, FPE, TRAP, ABRT, SYS), SIGCHLD (the ptrace stub's), SIGPIPE (ignored by
// the monitor) or SIGALRM while a --timeout is armed.
class ForwardedSignals {
 public:
  static Result<void> install(volatile std::uint8_t* immediate_exit, bool timeout_armed);
  static int take();  // the lowest pending signal, or 0
};

// Serves one `out %al, $port` of the guest kernel (the vCPU stopped right after it): a syscall
// (hardware path, or kvm_pvm's page fault at LSTAR, whose frame is rewritten to return to the
// caller) or an exception of the workload (the run ends with its signal). Returns true when the
// run is over (`outcome` says how); an Error for what the guest kernel must never do.
Result<bool> handle_hypercall(PreparedGuest& guest, Process& process, VcpuAccess& vcpu, unsigned port,
                              GuestOutcome& outcome);

// handle_hypercall in the two halves the KVM platform needs around the handlers. decode_hypercall
// reads what the guest kernel reported: a system call (and how it returns: sysretq, or kvm_pvm's
// rewritten frame) or a fault of the workload (`stop` says which signal). finish_syscall, after the
// handler's value is in rax, prepares the return to ring 3; a return outside user space is the
// workload's SIGSEGV (the Stop it answers).
struct KvmTrap {
  enum class Kind { syscall_sysret, syscall_pvm, fault };
  Kind kind = Kind::syscall_sysret;
  x86::InterruptFrame frame{};  // syscall_pvm: the fault frame to rewrite; fault: where it happened
  std::uint64_t return_rip = 0, return_flags = 0;
  platform::Stop stop;  // fault
};
// `space` is the running task's: a page fault's si_code depends on whether the page is its.
Result<KvmTrap> decode_hypercall(PreparedGuest& guest, VcpuAccess& vcpu, unsigned port,
                                 const AddressSpace& space);
// rax and the TLS bases from a handler's value result.
Result<void> apply_syscall_value(const SyscallResult& result, VcpuAccess& vcpu);
Result<std::optional<platform::Stop>> finish_syscall(PreparedGuest& guest, VcpuAccess& vcpu,
                                                     const KvmTrap& trap);

// The platform-neutral run loop: runs `ctx` serving its system calls with `process` until the
// workload exits, dies of a signal or the --timeout fires (TimeoutTimer). The caller fills
// guest_touched_bytes.
Result<GuestOutcome> run_workload(platform::ExecutionContext& ctx, Process& process, Vdso* vdso = nullptr,
                                  int exec_listener = -1);

// Bytes of guest memory backed by host pages right now.
std::uint64_t resident_bytes(const GuestMemory& memory);

// The signal Linux delivers for an exception vector in user mode.
int signal_for_vector(unsigned vector);
const char* vector_name(unsigned vector);

}  // namespace spectrum::vm
