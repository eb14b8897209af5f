#include "vm/monitor.h"

#include <poll.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <sys/stat.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <csignal>
#include <cstring>
#include <ctime>

#include "vm/guest/abi.h"
#include "vm/kernel/kernel.h"
#include "vm/kvm.h"
#include "vm/loader/load.h"
#include "vm/loader/user_stack.h"
#include "vm/platform/kvm_context.h"
#include "vm/syscalls/syscalls.h"
#include "vm/x86.h"

namespace spectrum::vm {

using x86::kPageMask;
using x86::kPageSize;
using x86::page_down;
using x86::page_up;

namespace {
using x86::hex;
std::string size_text(std::uint64_t bytes) {
  return bytes % (1 << 20) == 0 ? std::to_string(bytes >> 20) + " MiB"
                                : std::to_string((bytes + 1023) >> 10) + " KiB";
}

constexpr std::uint64_t kHeapHeadroom = 256 * 1024;

std::uint64_t image_bytes(const ElfImage& elf) {
  std::uint64_t image = 0;
  for (const auto& s : elf.segments) image += page_up((s.vaddr & kPageMask) + s.memory_size);
  return image;
}

}  // namespace

constexpr std::uint64_t kMaxStack = 8ull << 20;
// Below the largest stack, mmap leaves at least Linux's stack guard gap (256 pages) unmapped.
static_assert(kStackTop - kMaxStack - AddressSpace::kMmapTop >= (1ull << 20));

std::uint64_t stack_size_for(std::uint64_t memory_bytes) {
  return std::clamp<std::uint64_t>(page_down(memory_bytes / 16), 64 * 1024, kMaxStack);
}

std::uint64_t minimum_memory(const ElfImage& elf, const ElfImage* interpreter) {
  std::uint64_t image = image_bytes(elf) + (interpreter ? image_bytes(*interpreter) : 0);
  const std::uint64_t stack = 64 * 1024;
  const std::uint64_t tables = 16 * kPageSize + (image + stack + kHeapHeadroom) / 512;
  return GUEST_KERNEL_AREA_END + image + stack + kHeapHeadroom + tables;
}

Result<PreparedGuest> prepare_guest(const GuestSpec& spec) {
  const std::uint64_t need = minimum_memory(spec.elf, spec.interpreter ? &spec.interpreter->elf : nullptr);
  if (spec.memory_bytes < need)
    return fail("memory limit " + size_text(spec.memory_bytes) + " is too small for " + spec.program_name +
                " in the vm tier: it needs at least " + size_text(page_up(need)));
  PreparedGuest g;
  g.memory = std::make_unique<GuestMemory>(
      SPECTRUM_TRY(GuestMemory::create(page_down(spec.memory_bytes), spec.backing)));
  g.frames = std::make_unique<FrameAllocator>(*g.memory, GUEST_KERNEL_AREA_END);
  const auto kernel_ranges = kernel_area_ranges();
  auto space = AddressSpace::create(*g.memory, *g.frames, kernel_ranges);
  if (!space) return fail("building the guest's page tables: " + std::string(std::strerror(space.error())));
  g.space = std::make_unique<AddressSpace>(std::move(*space));
  SPECTRUM_TRY(write_kernel_area(*g.memory));
  auto vdso = Vdso::create(*g.memory, *g.frames);
  if (!vdso)
    return fail("memory limit " + size_text(spec.memory_bytes) + " is too small for " + spec.program_name);
  g.vdso = std::move(*vdso);

  auto loaded = load_program(*g.space,
                             {spec.program_name, spec.elf_bytes, spec.elf,
                              spec.interpreter ? &*spec.interpreter : nullptr, spec.elf_file.get()},
                             spec.argv, spec.envp, stack_size_for(spec.memory_bytes), g.vdso.get());
  if (!loaded) {
    if (loaded.error() == LoadError::no_memory)
      return fail("memory limit " + size_text(spec.memory_bytes) + " is too small for " + spec.program_name);
    return fail(spec.program_name + ": " + load_error_text(loaded.error()));
  }
  g.load_bias = loaded->load_bias;
  g.entry = loaded->entry;
  g.brk_start = loaded->brk_start;
  g.program = *loaded;
  const std::uint64_t start_rip = loaded->start;
  InitialStack stack{loaded->rsp, {}};

  g.vcpu = SPECTRUM_TRY(initial_vcpu_state(*g.memory, g.space->root(), start_rip, stack.rsp));
  g.start = start_rip;
  return g;
}

int signal_for_vector(unsigned vector) {
  switch (vector) {
    case 0:
    case 16:
    case 19:
      return SIGFPE;
    case 1:
    case 3:
      return SIGTRAP;
    case 6:
      return SIGILL;
    case 7:
      return SIGFPE;
    case 11:
    case 12:
    case 17:
      return SIGBUS;
    default:
      return SIGSEGV;
  }
}

const char* vector_name(unsigned vector) {
  static constexpr const char* kNames[32] = {"divide error",
                                             "debug",
                                             "NMI",
                                             "breakpoint",
                                             "overflow",
                                             "bound range",
                                             "invalid opcode",
                                             "device not available",
                                             "double fault",
                                             "coprocessor overrun",
                                             "invalid TSS",
                                             "segment not present",
                                             "stack fault",
                                             "general protection fault",
                                             "page fault",
                                             "reserved",
                                             "x87 floating-point error",
                                             "alignment check",
                                             "machine check",
                                             "SIMD floating-point error",
                                             "virtualization exception",
                                             "control protection",
                                             "reserved",
                                             "reserved",
                                             "reserved",
                                             "reserved",
                                             "reserved",
                                             "reserved",
                                             "hypervisor injection",
                                             "VMM communication",
                                             "security exception",
                                             "reserved"};
  return vector < 32 ? kNames[vector] : "unknown";
}

namespace {

struct Fault {
  unsigned vector;
  std::uint64_t error_code = 0;
  x86::InterruptFrame frame{};
};

// What Linux's trap handlers tell a handler of the fault (arch/x86/kernel/traps.c, fault.c): the
// si_code and si_addr. A page fault is SEGV_ACCERR where the page is the workload's (present, or
// PROT_NONE), SEGV_MAPERR elsewhere. Vectors without a fixed answer (x87 and SIMD errors need the
// FPU's status, machine checks) are not resumable: the fault ends the process.
struct FaultInfo {
  int code = 0;
  std::uint64_t address = 0;
  bool resumable = false;
};
FaultInfo fault_info(unsigned vector, const Fault& f, std::uint64_t cr2, const AddressSpace& space) {
  switch (vector) {
    case 0:
      return {FPE_INTDIV, f.frame.rip, true};
    case 1:
      return {TRAP_TRACE, f.frame.rip, true};
    case 3:
    case 4:
    case 5:
    case 11:
    case 12:
    case 13:
      return {SI_KERNEL, 0, true};
    case 6:
      return {ILL_ILLOPN, f.frame.rip, true};
    case 14: {
      // The kernel area's pages are present but never the workload's: MAPERR there, as Linux's
      // unmapped low addresses.
      return {space.is_mapped(cr2 & ~x86::kPageMask) ? SEGV_ACCERR : SEGV_MAPERR, cr2, true};
    }
    case 17:
      return {BUS_ADRALN, 0, true};
    default:
      return {};
  }
}

// The frame the CPU pushed for `vector` on the kernel stack (rsp points at it).
Result<Fault> read_fault(PreparedGuest& g, unsigned vector, std::uint64_t rsp) {
  Fault f{vector};
  const bool code = x86::has_error_code(vector);
  const std::uint64_t size = sizeof(x86::InterruptFrame) + (code ? 8 : 0);
  const std::uint64_t lowest = vector == 8 ? GUEST_KSTACK_TOP : GUEST_KSTACK_BOTTOM;
  const std::uint64_t highest = vector == 8 ? GUEST_DF_STACK_TOP : GUEST_KSTACK_TOP;
  if (rsp < lowest || rsp + size > highest)
    return fail("guest kernel stack pointer " + hex(rsp) + " is outside its stack at an exception");
  const std::uint8_t* p = g.memory->at(rsp, size);
  if (code) std::memcpy(&f.error_code, p, 8);
  std::memcpy(&f.frame, p + (code ? 8 : 0), sizeof f.frame);
  return f;
}

}  // namespace

namespace {
volatile std::sig_atomic_t g_timed_out = 0;
volatile std::uint8_t* g_immediate_exit = nullptr;

void on_timeout(int) {
  g_timed_out = 1;
  if (g_immediate_exit) *g_immediate_exit = 1;  // a KVM_RUN not yet entered returns at once
}
}  // namespace

Result<HostTimer> HostTimer::start(clockid_t clock, int signal, std::chrono::nanoseconds first,
                                   std::chrono::nanoseconds interval) {
  HostTimer t;
  struct sigevent ev {};
  ev.sigev_notify = SIGEV_SIGNAL;
  ev.sigev_signo = signal;
  if (::timer_create(clock, &ev, &t.id_) != 0) return fail_errno("timer_create");
  t.armed_ = true;
  const auto spec_of = [](std::chrono::nanoseconds d) {
    return timespec{static_cast<time_t>(d.count() / 1'000'000'000),
                    static_cast<long>(d.count() % 1'000'000'000)};
  };
  struct itimerspec spec {};
  spec.it_value = spec_of(std::max(first, std::chrono::nanoseconds(1)));  // zero would disarm it
  spec.it_interval = spec_of(interval);
  if (::timer_settime(t.id_, 0, &spec, nullptr) != 0) return fail_errno("timer_settime");
  return t;
}

HostTimer::~HostTimer() {
  if (armed_) ::timer_delete(id_);
}

Result<HostTimer> TimeoutTimer::start(std::chrono::nanoseconds after, volatile std::uint8_t* immediate_exit) {
  g_timed_out = 0;
  g_immediate_exit = immediate_exit;
  struct sigaction sa {};
  sa.sa_handler = on_timeout;  // no SA_RESTART: KVM_RUN must return EINTR
  ::sigemptyset(&sa.sa_mask);
  if (::sigaction(SIGALRM, &sa, nullptr) != 0) return fail_errno("sigaction SIGALRM");
  return HostTimer::start(CLOCK_MONOTONIC, SIGALRM, after);
}

bool TimeoutTimer::fired() { return g_timed_out != 0; }

namespace {
std::atomic<std::uint64_t> g_forwarded{0};  // bit N-1: signal N pending
static_assert(std::atomic<std::uint64_t>::is_always_lock_free);
volatile std::sig_atomic_t g_forwarding = 0;   // ForwardedSignals installed
volatile std::sig_atomic_t g_slice_armed = 0;  // SIGVTALRM is the slice's handler's
volatile std::sig_atomic_t g_slice_over = 0;

void on_forwarded(int signal) {
  g_forwarded.fetch_or(std::uint64_t{1} << (signal - 1));
  if (g_immediate_exit) *g_immediate_exit = 1;
}

void on_slice(int signal, siginfo_t* info, void*) {
  if (info->si_code == SI_TIMER) {
    g_slice_over = 1;
    if (g_immediate_exit) *g_immediate_exit = 1;
  } else if (g_forwarding) {
    on_forwarded(signal);
  }
}
}  // namespace

Result<HostTimer> SliceTimer::start(std::chrono::nanoseconds every, volatile std::uint8_t* immediate_exit) {
  if (immediate_exit) g_immediate_exit = immediate_exit;
  struct sigaction sa {};
  sa.sa_sigaction = on_slice;
  // SA_RESTART: a slice that ends during one of the monitor's own host calls must not fail it.
  sa.sa_flags = SA_SIGINFO | SA_RESTART;
  ::sigemptyset(&sa.sa_mask);
  if (::sigaction(SIGVTALRM, &sa, nullptr) != 0) return fail_errno("sigaction SIGVTALRM (time slice)");
  g_slice_armed = 1;
  return HostTimer::start(CLOCK_PROCESS_CPUTIME_ID, SIGVTALRM, every, every);
}

bool SliceTimer::take() {
  // A slice that ends between the two lines is lost: the next one preempts instead.
  const bool over = g_slice_over != 0;
  g_slice_over = 0;
  return over;
}

Result<void> ForwardedSignals::install(volatile std::uint8_t* immediate_exit, bool timeout_armed) {
  if (immediate_exit) g_immediate_exit = immediate_exit;
  struct sigaction sa {};
  sa.sa_handler = on_forwarded;  // no SA_RESTART: a blocking host call returns, the guest learns
  ::sigemptyset(&sa.sa_mask);
  for (int signal = 1; signal <= SIGRTMAX; ++signal) {
    switch (signal) {
      case SIGKILL:
      case SIGSTOP:
      case SIGSEGV:
      case SIGBUS:
      case SIGILL:
      case SIGFPE:
      case SIGTRAP:
      case SIGABRT:
      case SIGSYS:
      case SIGCHLD:
      case SIGPIPE:
        continue;
      default:
        break;
    }
    if ((signal == SIGALRM && timeout_armed) || (signal > 31 && signal < SIGRTMIN)) continue;
    if (signal == SIGVTALRM && g_slice_armed) continue;  // on_slice forwards what is not a slice's
    if (::sigaction(signal, &sa, nullptr) != 0) return fail_errno("sigaction " + std::to_string(signal));
  }
  g_forwarding = 1;
  return {};
}

int ForwardedSignals::take() {
  std::uint64_t pending = g_forwarded.load();
  while (pending != 0) {
    const int bit = __builtin_ctzll(pending);
    if (g_forwarded.compare_exchange_weak(pending, pending & ~(std::uint64_t{1} << bit))) return bit + 1;
  }
  return 0;
}

namespace {

SyscallRequest request_from(const kvm_regs& r) { return {r.rax, {r.rdi, r.rsi, r.rdx, r.r10, r.r8, r.r9}}; }

// An exit or signal result ends the run; true when it did.
bool ends_run(const SyscallResult& r, GuestOutcome& outcome) {
  if (r.kind == SyscallResult::Kind::exit) {
    outcome.kind = GuestOutcome::Kind::exited;
    outcome.status = static_cast<int>(r.value);
    return true;
  }
  if (r.kind == SyscallResult::Kind::signal) {
    outcome.kind = GuestOutcome::Kind::signaled;
    outcome.status = static_cast<int>(r.value);
    outcome.detail = std::string("the workload sent itself signal ") + ::strsignal(static_cast<int>(r.value));
    return true;
  }
  return false;
}

// One system call served to its end. A handler that blocks is called again once one of its host
// fds is ready: with one task there is nothing else to run meanwhile (the scheduler of several
// tasks picks another one here instead). A restart calls it again at once, a bounded number of
// times. Returns nullopt when the --timeout fired while the task waited (the run is over).
std::optional<SyscallResult> serve(Process& process, const SyscallRequest& request, GuestOutcome& outcome) {
  constexpr int kMaxRestarts = 64;
  SyscallResult result = process.handle(request);
  for (int restarts = 0;
       result.kind == SyscallResult::Kind::block || result.kind == SyscallResult::Kind::restart;) {
    if (result.kind == SyscallResult::Kind::restart) {
      if (++restarts > kMaxRestarts) return SyscallResult::error(EINTR);
    } else {
      int wait_ms = -1;
      if (result.deadline) {
        const auto left = *result.deadline - std::chrono::steady_clock::now();
        wait_ms = static_cast<int>(
            std::clamp<std::int64_t>(std::chrono::ceil<std::chrono::milliseconds>(left).count(), 0, 1 << 30));
      }
      const int n = ::poll(result.wait.data(), result.wait.size(), wait_ms);
      if (n < 0 && errno == EINTR && TimeoutTimer::fired()) {
        outcome.kind = GuestOutcome::Kind::timed_out;
        outcome.status = SIGKILL;
        outcome.detail = "timeout: the VM was destroyed";
        return std::nullopt;
      }
      if (n == 0 && result.deadline && std::chrono::steady_clock::now() >= *result.deadline)
        return SyscallResult::ret(result.value);
    }
    result = process.handle(request);
  }
  return result;
}
}  // namespace

Result<void> apply_syscall_value(const SyscallResult& r, VcpuAccess& vcpu) {
  if (r.fs_base || r.gs_base) {
    kvm_sregs* s = SPECTRUM_TRY(vcpu.sregs());
    if (r.fs_base) s->fs.base = *r.fs_base;
    if (r.gs_base) s->gs.base = *r.gs_base;
    vcpu.sregs_changed();
  }
  kvm_regs* regs = SPECTRUM_TRY(vcpu.regs());
  regs->rax = static_cast<std::uint64_t>(r.value);
  vcpu.regs_changed();
  return {};
}

namespace {
void end_with(const platform::Stop& stop, GuestOutcome& outcome) {
  outcome.kind = GuestOutcome::Kind::signaled;
  outcome.status = stop.signal;
  outcome.detail = stop.detail;
}
}  // namespace

Result<KvmTrap> decode_hypercall(PreparedGuest& g, VcpuAccess& vcpu, unsigned port,
                                 const AddressSpace& space) {
  kvm_regs* regs = SPECTRUM_TRY(vcpu.regs());
  KvmTrap trap;
  if (port == HC_PORT_SYSCALL) {  // hardware KVM: the kernel's `sysretq` follows
    trap.kind = KvmTrap::Kind::syscall_sysret;
    return trap;
  }
  if (port < HC_PORT_EXCEPTION_BASE || port >= HC_PORT_EXCEPTION_BASE + 32)
    return fail("guest wrote unknown I/O port " + hex(port) + " at rip " + hex(regs->rip));
  const unsigned vector = port - HC_PORT_EXCEPTION_BASE;
  Fault f = SPECTRUM_TRY(read_fault(g, vector, regs->rsp));
  if ((f.frame.cs & 3) != 3)
    return fail("guest kernel took a " + std::string(vector_name(vector)) + " (vector " +
                std::to_string(vector) + ") in ring 0 at rip " + hex(f.frame.rip) + ", error code " +
                hex(f.error_code));
  if (vector == 14 && f.frame.rip == g.vcpu.lstar) {
    // kvm_pvm: `syscall` jumped to LSTAR in ring 3 and faulted there. rcx and r11 hold the return
    // address and flags as for a real syscall; the kernel's `iretq` uses the rewritten frame.
    trap.kind = KvmTrap::Kind::syscall_pvm;
    trap.frame = f.frame;
    trap.return_rip = regs->rcx;
    trap.return_flags = regs->r11;
    return trap;
  }
  // A fault of the workload: the signal Linux would send, with its si_code and si_addr; the
  // platform can resume the task at a handler (the frame holds its rip, rsp and rflags).
  trap.kind = KvmTrap::Kind::fault;
  trap.frame = f.frame;
  trap.stop.kind = platform::Stop::Kind::fault;
  trap.stop.signal = signal_for_vector(vector);
  const FaultInfo info = fault_info(vector, f, vector == 14 ? SPECTRUM_TRY(vcpu.sregs())->cr2 : 0, space);
  trap.stop.fault_code = info.code;
  trap.stop.fault_address = info.address;
  trap.stop.resumable = info.resumable;
  const char* abbrev = ::sigabbrev_np(trap.stop.signal);
  trap.stop.detail = std::string(abbrev ? "SIG" : "") + (abbrev ? abbrev : "") + ": " + vector_name(vector) +
                     " at rip " + hex(f.frame.rip);
  if (vector == 14) {
    kvm_sregs* s = SPECTRUM_TRY(vcpu.sregs());
    trap.stop.detail += " touching " + hex(s->cr2);
  }
  if (x86::has_error_code(vector)) trap.stop.detail += " (error code " + hex(f.error_code) + ")";
  return trap;
}

Result<std::optional<platform::Stop>> finish_syscall(PreparedGuest& g, VcpuAccess& vcpu,
                                                     const KvmTrap& trap) {
  kvm_regs* regs = SPECTRUM_TRY(vcpu.regs());
  if (trap.kind == KvmTrap::Kind::syscall_sysret) {
    // sysretq loads rip from rcx and rflags from r11 while still in ring 0's trust: a
    // non-canonical rcx faults in ring 0 on the user's stack (Intel), and r11 could carry IOPL
    // or NT. Only user flags go back, and a return to anything but user space ends the run with
    // the SIGSEGV the workload would get for jumping there.
    regs->r11 = (regs->r11 & x86::kRflagsUser) | x86::kRflagsReserved1;
    vcpu.regs_changed();
    if (regs->rcx < AddressSpace::kUserLowest || regs->rcx >= AddressSpace::kUserEnd) {
      platform::Stop stop;
      stop.kind = platform::Stop::Kind::fault;
      stop.signal = SIGSEGV;
      stop.detail = "SIGSEGV: syscall return to " + hex(regs->rcx) + ", outside user space";
      return stop;
    }
    return std::nullopt;
  }
  if (trap.kind != KvmTrap::Kind::syscall_pvm) return fail("finish_syscall: the trap was not a system call");
  x86::InterruptFrame frame = trap.frame;
  frame.rip = trap.return_rip;
  frame.rflags = (trap.return_flags & x86::kRflagsUser) | x86::kRflagsReserved1;
  std::memcpy(g.memory->at(regs->rsp + 8, sizeof frame), &frame, sizeof frame);
  regs->rsp += 8;  // pop the error code for the kernel
  vcpu.regs_changed();
  return std::nullopt;
}

Result<bool> handle_hypercall(PreparedGuest& g, Process& process, VcpuAccess& vcpu, unsigned port,
                              GuestOutcome& outcome) {
  KvmTrap trap = SPECTRUM_TRY(decode_hypercall(g, vcpu, port, *g.space));
  if (trap.kind == KvmTrap::Kind::fault) {
    end_with(trap.stop, outcome);
    return true;
  }
  ++outcome.syscalls;
  kvm_regs* regs = SPECTRUM_TRY(vcpu.regs());
  const auto served = serve(process, request_from(*regs), outcome);
  if (!served) return true;
  const SyscallResult& result = *served;
  if (ends_run(result, outcome)) return true;
  SPECTRUM_TRY(apply_syscall_value(result, vcpu));
  auto stop = SPECTRUM_TRY(finish_syscall(g, vcpu, trap));
  if (stop) {
    end_with(*stop, outcome);
    return true;
  }
  return false;
}

std::uint64_t resident_bytes(const GuestMemory& memory) {
  // A memfd's allocated blocks are its backed pages; mincore walked its page cache page by page
  // (~3 ms of every sandbox run for 256 MiB).
  if (struct stat st; memory.fd() >= 0 && ::fstat(memory.fd(), &st) == 0)
    return static_cast<std::uint64_t>(st.st_blocks) * 512;
  std::vector<unsigned char> pages(memory.size() / kPageSize);
  if (::mincore(memory.base(), memory.size(), pages.data()) != 0) return 0;
  std::uint64_t n = 0;
  for (unsigned char p : pages) n += p & 1;
  return n * kPageSize;
}

Result<GuestOutcome> run_workload(platform::ExecutionContext& ctx, Process& process, Vdso* vdso,
                                  int exec_listener) {
  kernel::Kernel kernel(ctx, process,
                        static_cast<int>(std::min<std::uint64_t>(process.max_tasks(), 1 << 20)));
  kernel.set_vdso(vdso);
  if (exec_listener >= 0) kernel.set_exec_listener(UniqueFd(exec_listener));
  return kernel.run();
}

Result<GuestOutcome> run_guest(PreparedGuest& g, Process& process, KvmVm& vm, const RunOptions& options) {
  process.set_brk_start(g.brk_start);
  process.mm().set_layout(g.program);
  std::optional<HostTimer> timer;
  if (options.timeout)
    timer.emplace(SPECTRUM_TRY(TimeoutTimer::start(*options.timeout, vm.immediate_exit())));
  if (options.forward_signals)
    SPECTRUM_TRY(ForwardedSignals::install(vm.immediate_exit(), options.timeout.has_value()));
  platform::KvmContext ctx(g, vm);
  // The vCPU's TSC is the host's plus KVM's offset for it.
  if (g.vdso) g.vdso->clock().set_tsc_offset([&vm] { return vm.guest_tsc_offset(); });
  auto outcome = run_workload(ctx, process, g.vdso.get(), options.exec_listener);
  if (outcome) {
    outcome->guest_touched_bytes = resident_bytes(*g.memory);
    outcome->table_resets = g.frames->table_resets();
  }
  return outcome;
}

}  // namespace spectrum::vm
