#include "vm/platform/ptrace_context.h"

#include <elf.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sched.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/rseq.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstddef>
#include <cstdio>
#include <cstring>
#include <string>
#include <utility>
#include <vector>

#include "vm/arch/fp_state.h"
#include "vm/x86.h"

namespace spectrum::vm::platform {

namespace {

using x86::hex;

constexpr long kTaskSize = 0x7ffffffff000;  // x86-64 with 4-level paging, = AddressSpace::kUserEnd
static_assert(kTaskSize == static_cast<long>(AddressSpace::kUserEnd));
static_assert(PtraceContext::kStubPage + x86::kPageSize <= AddressSpace::kUserLowest);

// The stub's code: entry trap, then the syscall instruction the monitor's injected calls use.
constexpr unsigned char kStubCode[] = {0xcc, 0x0f, 0x05, 0xcc};  // int3; syscall; int3
constexpr std::uint64_t kInjectRip = PtraceContext::kStubPage + 1;
constexpr std::uint64_t kInjectDone = PtraceContext::kStubPage + 4;
// The time slice (an itimerval) lies in the stub's page too: each forked stub's setitimer reads it.
constexpr std::uint64_t kSliceOffset = 16;

// The stub's own filter: the calls the monitor injects, nothing else (x32 and i386 numbers die).
// The guest's own `syscall` instructions never reach it (PTRACE_SYSEMU stops them first): it is
// defence in depth. fork is plain fork (no flags to choose: no thread, no namespace); wait4 reaps
// a forked stub.
void install_stub_filter() {
  sock_filter filter[] = {
      BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(seccomp_data, arch)),
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_X86_64, 0, 7),
      BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(seccomp_data, nr)),
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_mmap, 6, 0),
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_munmap, 5, 0),
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_mprotect, 4, 0),
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_fork, 3, 0),
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_setitimer, 2, 0),
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_wait4, 1, 0),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
  };
  sock_fprog prog{static_cast<unsigned short>(sizeof filter / sizeof filter[0]), filter};
  if (::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) ::_exit(122);
  if (::syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog) != 0) ::_exit(123);
}

// The stub's side, up to its first trap. Only raw calls: it is a fork of the monitor.
[[noreturn]] void stub_main(int memfd) {
  ::prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (::ptrace(PTRACE_TRACEME, 0, nullptr, nullptr) != 0) ::_exit(120);
  void* page = ::mmap(reinterpret_cast<void*>(PtraceContext::kStubPage), x86::kPageSize,
                      PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
  if (page != reinterpret_cast<void*>(PtraceContext::kStubPage)) ::_exit(121);
  std::memcpy(page, kStubCode, sizeof kStubCode);
  // The time slice: SIGVTALRM every kTimeSlice of a stub's user time, that is of guest
  // instructions (a stub stopped for the monitor, or in an injected call, does not count). The
  // signal never reaches the stub: it stops at its delivery, the monitor takes the stop as the end
  // of a slice and resumes it with no signal. (Set in each forked stub: fork does not inherit it.)
  const itimerval slice{{0, PtraceContext::kTimeSliceUs}, {0, PtraceContext::kTimeSliceUs}};
  std::memcpy(static_cast<char*>(page) + kSliceOffset, &slice, sizeof slice);
  if (::mprotect(page, x86::kPageSize, PROT_READ | PROT_EXEC) != 0) ::_exit(121);
  // Nothing of the monitor's open files but the guest memory stays reachable from the stub.
  if (memfd > 0) ::syscall(SYS_close_range, 0u, static_cast<unsigned>(memfd - 1), 0u);
  ::syscall(SYS_close_range, static_cast<unsigned>(memfd + 1), ~0u, 0u);
  // glibc registered an rseq area for the monitor's thread; the kernel writes it on every return
  // to user space and sends SIGSEGV when it is gone, which it is once the stub's memory is unmapped.
  // Unregistering needs the length glibc registered, which may exceed __rseq_size (20 in glibc
  // 2.36, registered as 32, sizeof(struct rseq)).
  if (__rseq_size > 0) {
    void* area = static_cast<char*>(__builtin_thread_pointer()) + __rseq_offset;
    if (::syscall(SYS_rseq, area, __rseq_size, RSEQ_FLAG_UNREGISTER, RSEQ_SIG) != 0 &&
        ::syscall(SYS_rseq, area, sizeof(struct rseq), RSEQ_FLAG_UNREGISTER, RSEQ_SIG) != 0)
      ::_exit(125);
  }
  // A forked stub's end is no signal to the zygote (its delivery would stop it for the monitor
  // before an injected call): the monitor reaps them through injected wait4 calls.
  sigset_t child;
  sigemptyset(&child);
  sigaddset(&child, SIGCHLD);
  ::sigprocmask(SIG_BLOCK, &child, nullptr);
  install_stub_filter();
  reinterpret_cast<void (*)()>(PtraceContext::kStubPage)();  // int3: the monitor takes over
  ::_exit(124);
}

// clone() as fork into new namespaces: all of them where allowed, fewer where the host refuses.
pid_t clone_stub() {
  const unsigned long all =
      CLONE_NEWUSER | CLONE_NEWPID | CLONE_NEWNS | CLONE_NEWNET | CLONE_NEWIPC | CLONE_NEWUTS;
  for (unsigned long ns : {all, all & ~CLONE_NEWUSER, 0ul}) {
    long pid = ::syscall(SYS_clone, ns | SIGCHLD, nullptr, nullptr, nullptr, 0);
    if (pid >= 0) return static_cast<pid_t>(pid);
    if (errno != EPERM && errno != EINVAL && errno != ENOSPC && errno != EUSERS) return -1;
  }
  return -1;
}

}  // namespace

Result<std::unique_ptr<PtraceContext>> PtraceContext::create(PreparedGuest& guest) {
  const int memfd = guest.memory->fd();
  if (memfd < 0) return fail("the ptrace platform needs memfd-backed guest memory");
  const pid_t zygote = clone_stub();
  if (zygote < 0) return fail_errno("clone of the sandbox stub");
  if (zygote == 0) stub_main(memfd);
  std::unique_ptr<PtraceContext> ctx(new PtraceContext(guest, zygote));
  ctx->stub_memfd_ = memfd;
  // Without its own affinity to go back to, the monitor is never pinned (the stubs still follow it).
  if (::sched_getaffinity(0, sizeof ctx->allowed_cpus_, &ctx->allowed_cpus_) != 0)
    ctx->next_pin_change_ = std::chrono::steady_clock::time_point::max();
  SPECTRUM_TRY(ctx->wait_trap(zygote, "the sandbox stub's start"));
  if (::ptrace(PTRACE_SETOPTIONS, zygote, nullptr,
               PTRACE_O_EXITKILL | PTRACE_O_TRACESYSGOOD | PTRACE_O_TRACEFORK) != 0)
    return fail_errno("PTRACE_SETOPTIONS on the sandbox stub");
  if (::ptrace(PTRACE_GETREGS, zygote, nullptr, &ctx->regs_) != 0) return fail_errno("PTRACE_GETREGS");
  // Everything the fork left in the stub goes, but its code page (the vsyscall page cannot).
  SPECTRUM_TRY(ctx->inject_in(zygote, __NR_munmap, 0, static_cast<long>(kStubPage)));
  const long above = static_cast<long>(kStubPage + x86::kPageSize);
  if (long r = SPECTRUM_TRY(ctx->inject_in(zygote, __NR_munmap, above, kTaskSize - above)); r != 0)
    return fail("the sandbox stub could not unmap the monitor's memory: " +
                std::string(::strerror(static_cast<int>(-r))));
  // The first process's stub; its mappings follow with the first run (the loader's changes).
  ctx->pid_ = SPECTRUM_TRY(ctx->fork_stub());
  ctx->space_ = guest.space.get();
  ctx->stubs_.emplace(ctx->space_, Stub{ctx->pid_, true});
  guest.frames->set_space_ended([c = ctx.get()](const AddressSpace* space) { c->space_ended(space); });
  // The workload's first instruction: the frame the guest kernel would iretq to.
  x86::InterruptFrame start;
  const std::uint8_t* frame = guest.memory->at(guest.vcpu.rsp, sizeof start);
  if (!frame) return fail("the prepared guest has no initial frame");
  std::memcpy(&start, frame, sizeof start);
  user_regs_struct r{};
  r.cs = ctx->regs_.cs, r.ss = ctx->regs_.ss, r.ds = ctx->regs_.ds, r.es = ctx->regs_.es;
  r.fs = ctx->regs_.fs, r.gs = ctx->regs_.gs;
  r.rip = start.rip;
  r.rsp = start.rsp;
  r.eflags = 0x202;
  r.orig_rax = static_cast<unsigned long long>(-1);
  ctx->regs_ = r;
  return ctx;
}

PtraceContext::~PtraceContext() {
  if (monitor_pinned_) (void)::sched_setaffinity(0, sizeof allowed_cpus_, &allowed_cpus_);
  guest_.frames->set_space_ended({});
  for (const auto& [space, stub] : stubs_) end_stub(stub.pid);
  if (retired_ > 0) end_stub(retired_);
  if (zygote_ > 0) end_stub(zygote_);
}

void PtraceContext::end_stub(pid_t stub) {
  stub_cpu_.erase(stub);
  ::kill(stub, SIGKILL);
  while (::waitpid(stub, nullptr, __WALL) < 0 && errno == EINTR) {
  }
  // Its parent, the zygote, reaps it too: only then does its CPU time count in its parent's
  // children's, and so in the run's (the monitor's). (The tracer's wait does not add it.) The
  // zygote knows it by another pid, its own namespace's: it reaps whichever stubs have ended.
  if (stub == zygote_ || zygote_ < 0) return;
  for (int reaped = 0; reaped < 64; ++reaped) {
    auto r = inject_in(zygote_, __NR_wait4, -1, 0, WNOHANG | __WALL, 0);
    if (!r || *r <= 0) break;
  }
}

Result<pid_t> PtraceContext::fork_stub() {
  user_regs_struct r = regs_;
  r.rip = kInjectRip;
  r.rax = __NR_fork;
  r.orig_rax = static_cast<unsigned long long>(-1);
  if (::ptrace(PTRACE_SETREGS, zygote_, nullptr, &r) != 0) return fail_errno("PTRACE_SETREGS (fork)");
  SPECTRUM_TRY(resume(zygote_, PTRACE_CONT, "PTRACE_CONT (fork)"));
  const int status = SPECTRUM_TRY(wait_stop(zygote_, "the sandbox stub's fork"));
  if (status >> 8 != (SIGTRAP | (PTRACE_EVENT_FORK << 8))) {
    // No child: fork failed (the pids limit) and the zygote stopped after its call.
    long err = EAGAIN;
    if (WIFSTOPPED(status) && WSTOPSIG(status) == SIGTRAP &&
        ::ptrace(PTRACE_GETREGS, zygote_, nullptr, &r) == 0 && static_cast<long>(r.rax) < 0)
      err = -static_cast<long>(r.rax);
    return fail("the sandbox stub could not fork a stub for a new address space: " +
                std::string(::strerror(static_cast<int>(err))));
  }
  unsigned long child = 0;
  if (::ptrace(PTRACE_GETEVENTMSG, zygote_, nullptr, &child) != 0) return fail_errno("PTRACE_GETEVENTMSG");
  const pid_t stub = static_cast<pid_t>(child);
  SPECTRUM_TRY(resume(zygote_, PTRACE_CONT, "PTRACE_CONT (fork)"));
  SPECTRUM_TRY(wait_trap(zygote_, "the sandbox stub's fork"));
  // The child's first stop: the SIGSTOP of a process traced from its start, suppressed by the
  // next resume (an injected call's).
  const int first = SPECTRUM_TRY(wait_stop(stub, "a new sandbox stub's start"));
  if (!WIFSTOPPED(first) || WSTOPSIG(first) != SIGSTOP) {
    end_stub(stub);
    return fail("a new sandbox stub did not stop at its start");
  }
  const long set = SPECTRUM_TRY(
      inject_in(stub, __NR_setitimer, ITIMER_VIRTUAL, static_cast<long>(kStubPage + kSliceOffset), 0));
  if (set != 0) {
    end_stub(stub);
    return fail("a new sandbox stub could not set its time slice: " +
                std::string(::strerror(static_cast<int>(-set))));
  }
  return stub;
}

void PtraceContext::keep_beside_monitor(pid_t stub) {
  // sched_getcpu reads the vDSO (or RDPID), steady_clock the vDSO: no system call here unless a
  // binding changes. A failed bind (a CPU outside a cpuset) only leaves things where they were.
  const int cpu = ::sched_getcpu();
  if (cpu < 0 || cpu >= CPU_SETSIZE) return;
  const auto now = std::chrono::steady_clock::now();
  if (now >= next_pin_change_) {
    if (monitor_pinned_) {  // a window for the scheduler to move the monitor
      (void)::sched_setaffinity(0, sizeof allowed_cpus_, &allowed_cpus_);
      monitor_pinned_ = false;
      next_pin_change_ = now + std::chrono::milliseconds(3);
    } else {
      cpu_set_t here;
      CPU_ZERO(&here);
      CPU_SET(cpu, &here);
      monitor_pinned_ = ::sched_setaffinity(0, sizeof here, &here) == 0;
      next_pin_change_ = now + std::chrono::milliseconds(100);
    }
  }
  if (auto [it, fresh] = stub_cpu_.try_emplace(stub, -1); it->second != cpu) {
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    if (::sched_setaffinity(stub, sizeof set, &set) == 0) it->second = cpu;
  }
}

Result<void> PtraceContext::resume(pid_t stub, int request, const char* what) {
  keep_beside_monitor(stub);
  if (::ptrace(static_cast<__ptrace_request>(request), stub, nullptr, nullptr) != 0) return fail_errno(what);
  return {};
}

void PtraceContext::forget_dead_stub(pid_t stub) {  // (reaped: its pid is no longer its own)
  stub_cpu_.erase(stub);
  if (stub == pid_) pid_ = -1;
  if (stub == zygote_) zygote_ = -1;
  if (stub == retired_) retired_ = -1;
  std::erase_if(stubs_, [&](const auto& entry) { return entry.second.pid == stub; });
}

void PtraceContext::space_ended(const AddressSpace* space) {
  const auto it = stubs_.find(space);
  if (it == stubs_.end()) return;
  const pid_t stub = it->second.pid;
  stubs_.erase(it);
  if (space != space_) return end_stub(stub);
  // The running task's space: its stub still holds the task's registers until the next switch.
  if (retired_ > 0) end_stub(retired_);
  retired_ = stub;
  space_ = nullptr;
}

Result<int> PtraceContext::wait_stop(pid_t stub, const char* what) {
  int status = 0;
  for (;;) {
    if (::waitpid(stub, &status, __WALL) < 0) {
      if (errno != EINTR) return fail_errno(std::string("waitpid for ") + what);
      continue;
    }
    // The time slice ended on the way (it counts the stub's own instructions too): dropped.
    if (!WIFSTOPPED(status) || WSTOPSIG(status) != kSliceSignal) break;
    if (::ptrace(PTRACE_CONT, stub, nullptr, nullptr) != 0) return fail_errno("PTRACE_CONT (slice)");
  }
  if (WIFEXITED(status) || WIFSIGNALED(status)) {
    forget_dead_stub(stub);
    return fail(std::string(what) + ": the sandbox stub " +
                (WIFEXITED(status) ? "exited with status " + std::to_string(WEXITSTATUS(status))
                                   : std::string("died of ") + ::strsignal(WTERMSIG(status))));
  }
  return status;
}

Result<void> PtraceContext::wait_trap(pid_t stub, const char* what) {
  const int status = SPECTRUM_TRY(wait_stop(stub, what));
  if (WIFSTOPPED(status) && WSTOPSIG(status) == SIGTRAP) return {};
  user_regs_struct r{};
  siginfo_t info{};
  ::ptrace(PTRACE_GETREGS, stub, nullptr, &r);
  ::ptrace(PTRACE_GETSIGINFO, stub, nullptr, &info);
  return fail(std::string(what) + ": the sandbox stub stopped with " + ::strsignal(WSTOPSIG(status)) +
              " at rip " + hex(r.rip) + " touching " + hex(reinterpret_cast<std::uint64_t>(info.si_addr)));
}

Result<long> PtraceContext::inject_in(pid_t stub, long nr, long a0, long a1, long a2, long a3, long a4,
                                      long a5) {
  user_regs_struct r = regs_;
  r.rip = kInjectRip;
  r.rax = static_cast<unsigned long long>(nr);
  r.orig_rax = static_cast<unsigned long long>(-1);
  r.rdi = static_cast<unsigned long long>(a0), r.rsi = static_cast<unsigned long long>(a1);
  r.rdx = static_cast<unsigned long long>(a2), r.r10 = static_cast<unsigned long long>(a3);
  r.r8 = static_cast<unsigned long long>(a4), r.r9 = static_cast<unsigned long long>(a5);
  if (::ptrace(PTRACE_SETREGS, stub, nullptr, &r) != 0) return fail_errno("PTRACE_SETREGS (inject)");
  SPECTRUM_TRY(resume(stub, PTRACE_CONT, "PTRACE_CONT (inject)"));
  SPECTRUM_TRY(wait_trap(stub, "an injected call"));
  if (::ptrace(PTRACE_GETREGS, stub, nullptr, &r) != 0) return fail_errno("PTRACE_GETREGS (inject)");
  if (r.rip != kInjectDone) return fail("an injected call in the sandbox stub stopped at " + hex(r.rip));
  return static_cast<long>(r.rax);
}

namespace {
// Fewer injected calls for the same result. The loader maps and protects an executable a page at
// a time (each map recorded as unmap + map), so busybox's first sync was ~1,000 injected calls (4
// ptrace/wait calls each, 12-33 ms of the sandbox's start). Two rules, order otherwise kept:
// - an unmap followed by a map of the same range is the map alone: MAP_FIXED replaces what was
//   there, and a page of it unmapped again since is in a later unmap of the log (the map skips it);
// - a change right after the same kind of change (same protection) on the adjacent range extends it.
std::vector<AddressSpace::Change> coalesce(const std::vector<AddressSpace::Change>& changes) {
  using Kind = AddressSpace::Change::Kind;
  std::vector<AddressSpace::Change> out;
  out.reserve(changes.size());
  for (const AddressSpace::Change& c : changes) {
    if (!out.empty() && c.kind == Kind::map && out.back().kind == Kind::unmap &&
        out.back().start == c.start && out.back().length == c.length)
      out.pop_back();
    if (!out.empty()) {
      AddressSpace::Change& last = out.back();
      if (last.kind == c.kind && last.prot == c.prot && last.start + last.length == c.start) {
        last.length += c.length;
        continue;
      }
    }
    out.push_back(c);
  }
  return out;
}
}  // namespace

Result<void> PtraceContext::switch_task(AddressSpace& space, const Registers& regs) {
  // Another guest process: its own stub (forked by prepare_space when the space was made, by the
  // fork or execve that made it), given the space's mappings at its first run (one mmap per run of
  // contiguous frames); after that only the space's changes since.
  if (&space != space_) {
    SPECTRUM_TRY(prepare_space(space));
    Stub& stub = stubs_.at(&space);
    space_ = &space, pid_ = stub.pid;
    if (!stub.mapped) {
      (void)space.take_changes();
      stub.mapped = true;
      SPECTRUM_TRY(apply_changes(space.mappings()));
    }
    if (retired_ > 0) end_stub(std::exchange(retired_, -1));
  }
  running_ = false;
  return set_registers(regs);
}

Result<void> PtraceContext::sync_memory() { return apply_changes(coalesce(space_->take_changes())); }

Result<void> PtraceContext::apply_changes(const std::vector<AddressSpace::Change>& changes) {
  for (const AddressSpace::Change& c : changes) {
    long r = 0;
    const long start = static_cast<long>(c.start), length = static_cast<long>(c.length);
    switch (c.kind) {
      case AddressSpace::Change::Kind::unmap:
        r = SPECTRUM_TRY(inject(__NR_munmap, start, length));
        break;
      case AddressSpace::Change::Kind::protect:
        r = SPECTRUM_TRY(inject(__NR_mprotect, start, length, static_cast<long>(c.prot)));
        break;
      case AddressSpace::Change::Kind::map: {
        // One mmap per run of pages whose frames are contiguous in the memfd. The range is one the
        // monitor just mapped, so its length is bounded by what the guest maps, and the runs are
        // walked by page-table entry (a reservation's 2 MiB entry is one step). A reserved page
        // (PROT_NONE, no frame yet: gpa 0) is anonymous PROT_NONE memory of the stub's own, never
        // the memfd's first frames (the kernel area and page tables).
        // A copy-on-write run is read-only here whatever the mapping allows: its frames are shared
        // until the write fault (SEGV_ACCERR) gives the page its own.
        for (const AddressSpace::FrameRun& run : space_->frame_runs(c.start, c.start + c.length)) {
          const long at = static_cast<long>(run.start), bytes = static_cast<long>(run.length);
          const long prot = static_cast<long>(run.copy_on_write ? c.prot & ~unsigned{PROT_WRITE} : c.prot);
          long m = SPECTRUM_TRY(run.gpa == 0 ? inject(__NR_mmap, at, bytes, PROT_NONE,
                                                      MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0)
                                             : inject(__NR_mmap, at, bytes, prot, MAP_SHARED | MAP_FIXED,
                                                      stub_memfd_, static_cast<long>(run.gpa)));
          if (m != at) return fail("the sandbox stub could not map guest memory at " + hex(run.start));
        }
        break;
      }
    }
    if (r < 0)
      return fail("the sandbox stub could not follow the guest's memory at " + hex(c.start) + ": " +
                  ::strerror(static_cast<int>(-r)));
  }
  return {};
}

std::uint64_t PtraceContext::cpu_clock_ns() {
  // The stub's CPU clock as clock_getcpuclockid makes it (the kernel's MAKE_PROCESS_CPUCLOCK of
  // CPUCLOCK_SCHED), without its extra validating call: this is read at every task switch.
  const clockid_t clock = static_cast<clockid_t>((~static_cast<unsigned>(pid_) << 3) | 2u);
  timespec t{};
  if (pid_ < 0 || ::clock_gettime(clock, &t) != 0) return 0;
  return static_cast<std::uint64_t>(t.tv_sec) * 1'000'000'000u + static_cast<std::uint64_t>(t.tv_nsec);
}

Result<void> PtraceContext::prepare_space(AddressSpace& space) {
  if (stubs_.contains(&space)) return {};
  const pid_t stub = SPECTRUM_TRY(fork_stub());
  stubs_.emplace(&space, Stub{stub, false});
  return {};
}

Result<Stop> PtraceContext::run() {
  if (!space_ || pid_ < 0) return fail("the sandbox's running address space has ended");
  if (!running_) {
    SPECTRUM_TRY(sync_memory());
    regs_.orig_rax = static_cast<unsigned long long>(-1);
    if (::ptrace(PTRACE_SETREGS, pid_, nullptr, &regs_) != 0) return fail_errno("PTRACE_SETREGS");
    SPECTRUM_TRY(resume(pid_, PTRACE_SYSEMU, "PTRACE_SYSEMU"));
    running_ = true;
  }
  int status = 0;
  if (::waitpid(pid_, &status, __WALL) < 0) {
    if (errno == EINTR) return Stop{Stop::Kind::interrupted, 0, {}, {}};  // the caller checks the timeout
    return fail_errno("waitpid for the sandbox stub");
  }
  running_ = false;
  ++exits_;
  if (WIFEXITED(status) || WIFSIGNALED(status)) {
    forget_dead_stub(pid_);
    return fail(WIFEXITED(status)
                    ? "the sandbox stub exited with status " + std::to_string(WEXITSTATUS(status))
                    : std::string("the sandbox stub died of ") + ::strsignal(WTERMSIG(status)));
  }
  if (!WIFSTOPPED(status)) return fail("the sandbox stub reported an unknown wait status");
  if (::ptrace(PTRACE_GETREGS, pid_, nullptr, &regs_) != 0) return fail_errno("PTRACE_GETREGS");
  const int sig = WSTOPSIG(status);
  if (sig == (SIGTRAP | 0x80)) {
    const user_regs_struct& r = regs_;
    return Stop{Stop::Kind::syscall, 0, {}, {r.orig_rax, {r.rdi, r.rsi, r.rdx, r.r10, r.r8, r.r9}}};
  }
  siginfo_t info{};
  ::ptrace(PTRACE_GETSIGINFO, pid_, nullptr, &info);
  // The end of a time slice: the kernel's own SIGVTALRM (the guest cannot send host signals; this
  // checks anyway). The next resume passes no signal, so the stub never receives it.
  if (sig == kSliceSignal && info.si_code == SI_KERNEL) return Stop{Stop::Kind::preempted, 0, {}, {}};
  // A fault of the workload (or a trap): the run ends with its signal, as on the vm tier.
  Stop stop{Stop::Kind::fault, sig, {}, {}};
  if (regs_.rip >= kStubPage && regs_.rip < kStubPage + x86::kPageSize + 1) {
    // The stub's page is the kernel area to the workload: running there is a page fault.
    stop.signal = SIGSEGV;
    stop.detail = "SIGSEGV: page fault at rip " + hex(regs_.rip) + " (the kernel area)";
    return stop;
  }
  // The vm tier's words for the same faults: the exception the host kernel turned into the signal.
  const char* abbrev = ::sigabbrev_np(sig);
  const char* what = sig == SIGSEGV   ? "page fault"
                     : sig == SIGBUS  ? "bus error"
                     : sig == SIGILL  ? "invalid opcode"
                     : sig == SIGFPE  ? "divide error"
                     : sig == SIGTRAP ? "breakpoint"
                                      : "signal";
  stop.detail = std::string("SIG") + (abbrev ? abbrev : std::to_string(sig)) + ": " + what + " at rip " +
                hex(regs_.rip);
  if (sig == SIGSEGV || sig == SIGBUS)
    stop.detail += " touching " + hex(reinterpret_cast<std::uint64_t>(info.si_addr));
  // The host kernel's own fault (si_code > 0, not a signal some process sent the stub): the task
  // can take it in a handler and go on, the stub resumed without the signal.
  stop.fault_code = info.si_code;
  stop.fault_address = reinterpret_cast<std::uint64_t>(info.si_addr);
  stop.resumable = info.si_code > 0 &&
                   (sig == SIGSEGV || sig == SIGBUS || sig == SIGILL || sig == SIGFPE || sig == SIGTRAP);
  return stop;
}

Result<Registers> PtraceContext::registers() {
  const user_regs_struct& k = regs_;
  Registers r;
  r.rax = k.rax, r.rbx = k.rbx, r.rcx = k.rcx, r.rdx = k.rdx;
  r.rsi = k.rsi, r.rdi = k.rdi, r.rbp = k.rbp, r.rsp = k.rsp;
  r.r8 = k.r8, r.r9 = k.r9, r.r10 = k.r10, r.r11 = k.r11;
  r.r12 = k.r12, r.r13 = k.r13, r.r14 = k.r14, r.r15 = k.r15;
  r.rip = k.rip, r.rflags = k.eflags;
  r.fs_base = k.fs_base, r.gs_base = k.gs_base;
  return r;
}

Result<void> PtraceContext::set_registers(const Registers& r) {
  user_regs_struct& k = regs_;
  k.rax = r.rax, k.rbx = r.rbx, k.rcx = r.rcx, k.rdx = r.rdx;
  k.rsi = r.rsi, k.rdi = r.rdi, k.rbp = r.rbp, k.rsp = r.rsp;
  k.r8 = r.r8, k.r9 = r.r9, k.r10 = r.r10, k.r11 = r.r11;
  k.r12 = r.r12, k.r13 = r.r13, k.r14 = r.r14, k.r15 = r.r15;
  k.rip = r.rip, k.eflags = r.rflags;
  k.fs_base = r.fs_base, k.gs_base = r.gs_base;
  return {};
}

Result<void> PtraceContext::complete_syscall(const SyscallResult& result) {
  // The registers go to the stub with the next run(), in one PTRACE_SETREGS.
  regs_.rax = static_cast<unsigned long long>(result.value);
  if (result.fs_base) regs_.fs_base = *result.fs_base;
  if (result.gs_base) regs_.gs_base = *result.gs_base;
  return {};
}

Result<std::vector<std::uint8_t>> PtraceContext::extended_state() {
  // The xsave area as the kernel lays it out for ptrace (its size is the CPU's; the first call
  // learns it).
  std::vector<std::uint8_t> state(xstate_size_ ? xstate_size_ : kMaxXstate);
  iovec io{state.data(), state.size()};
  if (::ptrace(PTRACE_GETREGSET, pid_, reinterpret_cast<void*>(NT_X86_XSTATE), &io) != 0)
    return fail_errno("PTRACE_GETREGSET NT_X86_XSTATE");
  xstate_size_ = io.iov_len;
  state.resize(io.iov_len);
  return state;
}

Result<ExecutionContext::ExtendedLayout> PtraceContext::extended_layout() {
  if (!xstate_size_) {
    SPECTRUM_TRY(extended_state());
    // The components: the host's XCR0, which the stub runs under (x87 and SSE without XSAVE).
    std::uint32_t eax, ebx, ecx, edx;
    __asm__("cpuid" : "=a"(eax), "=b"(ebx), "=c"(ecx), "=d"(edx) : "a"(1), "c"(0));
    xstate_features_ = 3;
    if (ecx & (1u << 27)) {  // OSXSAVE: xgetbv may be used
      __asm__("xgetbv" : "=a"(eax), "=d"(edx) : "c"(0));
      // Without the tile data the stub never asked for: the frame is as large as Linux's own
      // (the kernel's ptrace area has room for it regardless: 11 KiB instead of 2.8 here).
      xstate_features_ = ((std::uint64_t{edx} << 32) | eax) & ~arch::kXfeatureTileData;
    }
  }
  return ExtendedLayout{std::min(arch::xsave_size(xstate_features_), xstate_size_), xstate_features_};
}

Result<void> PtraceContext::set_extended_state(const std::vector<std::uint8_t>& state) {
  if (state.empty()) return {};
  iovec io{const_cast<std::uint8_t*>(state.data()), state.size()};
  if (::ptrace(PTRACE_SETREGSET, pid_, reinterpret_cast<void*>(NT_X86_XSTATE), &io) != 0)
    return fail_errno("PTRACE_SETREGSET NT_X86_XSTATE");
  return {};
}

}  // namespace spectrum::vm::platform
