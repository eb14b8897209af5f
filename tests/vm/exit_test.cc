// The monitor's handling of the guest kernel's hypercalls, with the test playing the CPU: it
// leaves the vCPU registers and the kernel-stack frame exactly as the hardware would after the
// guest kernel's `out` (hardware `syscall`, kvm_pvm's #PF at LSTAR, exceptions), and checks what
// the monitor leaves for the kernel's `sysretq` / `iretq`. Runs without /dev/kvm.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include <csignal>
#include <cstring>

#include "test_support.h"
#include "vm/confine.h"
#include "vm/guest/abi.h"
#include "vm/monitor.h"

namespace spectrum::vm {
namespace {

using namespace testing;

class FakeVcpu final : public VcpuAccess {
 public:
  Result<kvm_regs*> regs() override { return &regs_; }
  Result<kvm_sregs*> sregs() override { return &sregs_; }
  void regs_changed() override { ++regs_writes; }
  void sregs_changed() override { ++sregs_writes; }
  kvm_regs regs_{};
  kvm_sregs sregs_{};
  int regs_writes = 0, sregs_writes = 0;
};

std::string read_host_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), {}};
}

class HypercallTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new TempDir;
    built_ = compile_program("probe", "-static", dir_->path() / "probe");
  }
  static void TearDownTestSuite() { delete dir_; }

  void SetUp() override {
    ASSERT_TRUE(built_);
    GuestSpec spec;
    spec.program_name = "probe";
    spec.elf_bytes = read_host_file(dir_->path() / "probe");
    spec.elf = *parse_elf(spec.elf_bytes, "probe");
    spec.argv = {"probe"};
    spec.memory_bytes = 32 << 20;
    auto g = prepare_guest(spec);
    ASSERT_TRUE(g) << g.error().message();
    guest_ = std::make_unique<PreparedGuest>(std::move(*g));
    ProcessConfig config;
    config.root = UniqueFd(::open(dir_->path().c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
    int out[2];
    ASSERT_EQ(::pipe2(out, O_CLOEXEC | O_NONBLOCK), 0);
    out_.reset(out[0]);
    config.stdout_fd = UniqueFd(out[1]);
    config.log = [](const std::string&) {};
    process_ = std::make_unique<Process>(*guest_->space, *guest_->memory, std::move(config));
    process_->set_brk_start(guest_->brk_start);
    // Where the workload is when it makes its call: its entry, its initial stack.
    x86::InterruptFrame start;
    std::memcpy(&start, guest_->memory->at(guest_->vcpu.rsp, sizeof start), sizeof start);
    user_rip_ = start.rip;
    user_rsp_ = start.rsp;
  }

  // The CPU's part of `syscall` on kvm_pvm: rcx/r11 set, jump to LSTAR in ring 3, #PF there,
  // exception frame with error code pushed at TSS.RSP0, then the stub's `out` to vector 14's port.
  unsigned pvm_syscall(std::uint64_t nr, std::uint64_t a0 = 0, std::uint64_t a1 = 0, std::uint64_t a2 = 0) {
    vcpu_.regs_ = {};
    vcpu_.regs_.rax = nr;
    vcpu_.regs_.rdi = a0;
    vcpu_.regs_.rsi = a1;
    vcpu_.regs_.rdx = a2;
    vcpu_.regs_.rcx = user_rip_ + 2;
    vcpu_.regs_.r11 = 0x246;
    const std::uint64_t frame_at = GUEST_KSTACK_TOP - 48;
    const std::uint64_t frame[6] = {0x15 /* user, fetch, protection */,
                                    guest_->vcpu.lstar,
                                    GUEST_SEL_USER_CODE | 3,
                                    0x246,
                                    user_rsp_,
                                    GUEST_SEL_USER_DATA | 3};
    std::memcpy(guest_->memory->at(frame_at, sizeof frame), frame, sizeof frame);
    vcpu_.regs_.rsp = frame_at;
    vcpu_.regs_.rip = GUEST_KERNEL_ADDR + 14 * GUEST_VECTOR_STUB_SIZE + 2;
    vcpu_.sregs_.cr2 = guest_->vcpu.lstar;
    return HC_PORT_EXCEPTION_BASE + 14;
  }
  // A user-mode exception `vector` at `rip`.
  unsigned user_fault(unsigned vector, std::uint64_t rip, std::uint64_t cs = GUEST_SEL_USER_CODE | 3) {
    vcpu_.regs_ = {};
    const bool code = x86::has_error_code(vector);
    const std::uint64_t frame_at = GUEST_KSTACK_TOP - 40 - (code ? 8 : 0);
    std::vector<std::uint64_t> frame;
    if (code) frame.push_back(0x6);
    for (std::uint64_t v : {rip, cs, std::uint64_t{0x202}, user_rsp_, std::uint64_t{GUEST_SEL_USER_DATA | 3}})
      frame.push_back(v);
    std::memcpy(guest_->memory->at(frame_at, frame.size() * 8), frame.data(), frame.size() * 8);
    vcpu_.regs_.rsp = frame_at;
    return HC_PORT_EXCEPTION_BASE + vector;
  }
  x86::InterruptFrame frame_for_iret() {
    x86::InterruptFrame f;
    std::memcpy(&f, guest_->memory->at(vcpu_.regs_.rsp, sizeof f), sizeof f);
    return f;
  }
  std::uint64_t put_user(const std::string& s) {
    const std::uint64_t at = user_rsp_ - 4096;  // inside the stack mapping
    EXPECT_TRUE(guest_->space->write(at, {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()}));
    return at;
  }
  std::string drain() {
    char buf[256];
    ssize_t n = ::read(out_.get(), buf, sizeof buf);
    return n > 0 ? std::string(buf, static_cast<std::size_t>(n)) : "";
  }

  static inline TempDir* dir_ = nullptr;
  static inline bool built_ = false;
  std::unique_ptr<PreparedGuest> guest_;
  std::unique_ptr<Process> process_;
  FakeVcpu vcpu_;
  GuestOutcome outcome_;
  UniqueFd out_;
  std::uint64_t user_rip_ = 0, user_rsp_ = 0;
};

TEST_F(HypercallTest, PvmSyscallRunsAndTheFrameReturnsToTheCaller) {
  const std::uint64_t buf = put_user("hi\n");
  auto done = handle_hypercall(*guest_, *process_, vcpu_, pvm_syscall(SYS_write, 1, buf, 3), outcome_);
  ASSERT_TRUE(done) << done.error().message();
  EXPECT_FALSE(*done);
  EXPECT_EQ(drain(), "hi\n");
  EXPECT_EQ(vcpu_.regs_.rax, 3u);
  EXPECT_GE(vcpu_.regs_writes, 1);
  // What the kernel's iretq will pop: the error code is gone, the frame returns after `syscall`
  // with the caller's flags (minus IF and the like) on the caller's stack, in ring 3.
  EXPECT_EQ(vcpu_.regs_.rsp, std::uint64_t{GUEST_KSTACK_TOP - 40});
  x86::InterruptFrame f = frame_for_iret();
  EXPECT_EQ(f.rip, user_rip_ + 2);
  EXPECT_EQ(f.cs, std::uint64_t{GUEST_SEL_USER_CODE | 3});
  EXPECT_EQ(f.rflags, 0x46u);
  EXPECT_EQ(f.rsp, user_rsp_);
  EXPECT_EQ(f.ss, std::uint64_t{GUEST_SEL_USER_DATA | 3});
  EXPECT_EQ(outcome_.syscalls, 1u);
}

TEST_F(HypercallTest, HardwareSyscallSetsRaxOnly) {
  vcpu_.regs_ = {};
  vcpu_.regs_.rax = SYS_getpid;
  vcpu_.regs_.rcx = 0x401234;
  vcpu_.regs_.r11 = 0x202;
  vcpu_.regs_.rsp = user_rsp_;
  auto done = handle_hypercall(*guest_, *process_, vcpu_, HC_PORT_SYSCALL, outcome_);
  ASSERT_TRUE(done);
  EXPECT_FALSE(*done);
  EXPECT_EQ(vcpu_.regs_.rax, 1u);
  EXPECT_EQ(vcpu_.regs_.rcx, 0x401234u) << "sysretq's return address is untouched";
  EXPECT_EQ(vcpu_.regs_.r11, 0x2u) << "only user flags (interrupts stay off in the guest)";
  EXPECT_EQ(vcpu_.regs_.rsp, user_rsp_);
}

// sysretq in ring 0 trusts rcx and r11: the monitor leaves only user flags in r11, and ends the
// run (SIGSEGV) rather than return to a non-canonical or kernel address.
TEST_F(HypercallTest, HardwareSyscallReturnIsSanitizedBeforeSysret) {
  for (std::uint64_t flags : {0x3202ull /* IOPL 3 */, 0x4202ull /* NT */, 0x20202ull /* VM */, ~0ull}) {
    vcpu_.regs_ = {};
    vcpu_.regs_.rax = SYS_getpid;
    vcpu_.regs_.rcx = 0x401234;
    vcpu_.regs_.r11 = flags;
    auto done = handle_hypercall(*guest_, *process_, vcpu_, HC_PORT_SYSCALL, outcome_);
    ASSERT_TRUE(done);
    EXPECT_FALSE(*done);
    EXPECT_EQ(vcpu_.regs_.r11 & ~0x240DD5ull, 0x2u) << std::hex << flags;
  }
  for (std::uint64_t rip : {std::uint64_t{1} << 47, std::uint64_t{0xffff'8000'0000'0000},
                            std::uint64_t{GUEST_KERNEL_ADDR}, std::uint64_t{0}}) {
    vcpu_.regs_ = {};
    vcpu_.regs_.rax = SYS_getpid;
    vcpu_.regs_.rcx = rip;
    GuestOutcome outcome;
    auto done = handle_hypercall(*guest_, *process_, vcpu_, HC_PORT_SYSCALL, outcome);
    ASSERT_TRUE(done);
    EXPECT_TRUE(*done) << std::hex << rip;
    EXPECT_EQ(outcome.kind, GuestOutcome::Kind::signaled);
    EXPECT_EQ(outcome.status, SIGSEGV);
  }
}

TEST_F(HypercallTest, TlsBaseGoesIntoTheSegmentRegisters) {
  auto done =
      handle_hypercall(*guest_, *process_, vcpu_, pvm_syscall(SYS_arch_prctl, 0x1002, 0x4c0000), outcome_);
  ASSERT_TRUE(done);
  EXPECT_EQ(vcpu_.regs_.rax, 0u);
  EXPECT_EQ(vcpu_.sregs_.fs.base, 0x4c0000u);
  EXPECT_EQ(vcpu_.sregs_writes, 1);
}

TEST_F(HypercallTest, GarbagePointersGetEfaultAndTheRunGoesOn) {
  for (std::uint64_t bad : {std::uint64_t{0}, std::uint64_t{GUEST_KERNEL_ADDR}, std::uint64_t{0xdead0000000},
                            ~std::uint64_t{0}}) {
    auto done = handle_hypercall(*guest_, *process_, vcpu_, pvm_syscall(SYS_write, 1, bad, 16), outcome_);
    ASSERT_TRUE(done);
    EXPECT_FALSE(*done);
    EXPECT_EQ(static_cast<std::int64_t>(vcpu_.regs_.rax), -EFAULT) << std::hex << bad;
    EXPECT_EQ(frame_for_iret().rip, user_rip_ + 2);
  }
}

TEST_F(HypercallTest, ExitGroupEndsTheRunWithItsStatus) {
  auto done = handle_hypercall(*guest_, *process_, vcpu_, pvm_syscall(SYS_exit_group, 42), outcome_);
  ASSERT_TRUE(done);
  EXPECT_TRUE(*done);
  EXPECT_EQ(outcome_.kind, GuestOutcome::Kind::exited);
  EXPECT_EQ(outcome_.status, 42);
}

TEST_F(HypercallTest, UserFaultsEndTheRunAsSignals) {
  struct Case {
    unsigned vector;
    int signal;
    const char* text;
  };
  for (Case c :
       {Case{13, SIGSEGV, "general protection"}, Case{6, SIGILL, "invalid opcode"},
        Case{0, SIGFPE, "divide error"}, Case{14, SIGSEGV, "page fault"}, Case{17, SIGBUS, "alignment"}}) {
    GuestOutcome outcome;
    vcpu_.sregs_.cr2 = 0;
    auto done = handle_hypercall(*guest_, *process_, vcpu_, user_fault(c.vector, 0x401abc), outcome);
    ASSERT_TRUE(done) << done.error().message();
    EXPECT_TRUE(*done);
    EXPECT_EQ(outcome.kind, GuestOutcome::Kind::signaled);
    EXPECT_EQ(outcome.status, c.signal) << c.vector;
    EXPECT_NE(outcome.detail.find(c.text), std::string::npos) << outcome.detail;
    EXPECT_NE(outcome.detail.find("0x401abc"), std::string::npos) << outcome.detail;
    if (c.vector == 14) {
      EXPECT_NE(outcome.detail.find("touching 0x0"), std::string::npos) << outcome.detail;
    }
  }
}

// What a handler of the workload's is told (Linux's traps.c and fault.c), and that the platform
// may resume at it: the page fault's code depends on whether the page is the task's, never on the
// kernel area's pages being present.
TEST_F(HypercallTest, UserFaultsCarryLinuxsSiginfoForAHandler) {
  const std::uint64_t mapped = (user_rsp_ - 1) & ~x86::kPageMask;  // the stack's top page
  ASSERT_TRUE(guest_->space->is_mapped(mapped));
  ASSERT_TRUE(guest_->space->protect(mapped, x86::kPageSize, 0));  // PROT_NONE
  struct Case {
    unsigned vector;
    std::uint64_t cr2;
    int code;
    std::uint64_t address;
    bool resumable;
  };
  for (Case c :
       {Case{14, 0x0, SEGV_MAPERR, 0x0, true}, Case{14, 0x1000, SEGV_MAPERR, 0x1000, true},
        Case{14, mapped + 8, SEGV_ACCERR, mapped + 8, true},
        Case{14, 0x7ff000000000, SEGV_MAPERR, 0x7ff000000000, true}, Case{0, 0, FPE_INTDIV, 0x401abc, true},
        Case{6, 0, ILL_ILLOPN, 0x401abc, true}, Case{13, 0, SI_KERNEL, 0, true},
        Case{17, 0, BUS_ADRALN, 0, true}, Case{19, 0, 0, 0, false}}) {
    vcpu_.sregs_.cr2 = c.cr2;
    auto trap = decode_hypercall(*guest_, vcpu_, user_fault(c.vector, 0x401abc), *guest_->space);
    ASSERT_TRUE(trap) << trap.error().message();
    ASSERT_EQ(trap->kind, KvmTrap::Kind::fault);
    EXPECT_EQ(trap->stop.fault_code, c.code) << "vector " << c.vector << " cr2 " << c.cr2;
    EXPECT_EQ(trap->stop.fault_address, c.address) << "vector " << c.vector;
    EXPECT_EQ(trap->stop.resumable, c.resumable) << "vector " << c.vector;
    EXPECT_EQ(trap->frame.rip, 0x401abcu);
    EXPECT_EQ(trap->frame.rsp, user_rsp_);
  }
}

TEST_F(HypercallTest, WhatTheGuestKernelMustNeverDoIsAnError) {
  auto ring0 = handle_hypercall(*guest_, *process_, vcpu_,
                                user_fault(13, GUEST_KERNEL_ADDR + 0x210, GUEST_SEL_KERNEL_CODE), outcome_);
  ASSERT_FALSE(ring0);
  EXPECT_NE(ring0.error().message().find("in ring 0 at rip 0x10210"), std::string::npos)
      << ring0.error().message();

  vcpu_.regs_.rsp = 0x7000;  // not where an exception frame can be
  auto bad_stack = handle_hypercall(*guest_, *process_, vcpu_, HC_PORT_EXCEPTION_BASE + 14, outcome_);
  ASSERT_FALSE(bad_stack);

  vcpu_.regs_.rip = 0x10123;
  auto port = handle_hypercall(*guest_, *process_, vcpu_, 0x3f8, outcome_);
  ASSERT_FALSE(port);
  EXPECT_NE(port.error().message().find("0x3f8"), std::string::npos);
}

// ---------- every path of the monitor under its real seccomp filter ----------

// Runs `body` in a forked child that first installs the monitor's filter. The child writes "ok"
// on the report pipe when every path worked, then makes a call outside the list to prove the
// filter was active (it must die of SIGSYS). A path missing from the allow-list kills the child
// with SIGSYS before "ok"; a wrong result exits with the step's number.
template <class F>
void under_real_filter(F body) {
  int report[2];
  ASSERT_EQ(::pipe(report), 0);
  const pid_t child = ::fork();
  if (child == 0) {
    ::close(report[0]);
    ::signal(SIGPIPE, SIG_IGN);  // as monitor_main does before its filter
    if (!install_monitor_seccomp()) ::_exit(100);
    if (int failed = body(); failed != 0) ::_exit(failed);
    (void)!::write(report[1], "ok", 2);
    ::syscall(SYS_socket, AF_INET, SOCK_STREAM, 0);
    ::_exit(99);
  }
  ::close(report[1]);
  char buf[3] = {};
  const ssize_t n = ::read(report[0], buf, 2);
  ::close(report[0]);
  int status = 0;
  ::waitpid(child, &status, 0);
  EXPECT_EQ(n, 2) << (WIFSIGNALED(status) ? std::string("killed by ") + ::strsignal(WTERMSIG(status))
                                          : "exit " + std::to_string(WEXITSTATUS(status)));
  EXPECT_STREQ(buf, "ok");
  ASSERT_TRUE(WIFSIGNALED(status)) << "exit " << WEXITSTATUS(status);
  EXPECT_EQ(WTERMSIG(status), SIGSYS);
}

TEST_F(HypercallTest, TimeoutPathRunsUnderTheRealFilter) {
  under_real_filter([&] {
    volatile std::uint8_t immediate_exit = 0;
    {
      auto timer =
          TimeoutTimer::start(std::chrono::milliseconds(1), &immediate_exit);  // rt_sigaction, timer_*
      if (!timer) return 1;
      for (int i = 0; i < 10000 && !TimeoutTimer::fired(); ++i) {
        struct timespec ms {
          0, 1'000'000
        };
        ::clock_nanosleep(CLOCK_MONOTONIC, 0, &ms, nullptr);
      }
      if (!TimeoutTimer::fired() || immediate_exit != 1) return 2;
    }  // timer_delete
    // A guest sleep the timeout interrupts.
    auto timer = TimeoutTimer::start(std::chrono::milliseconds(1), &immediate_exit);
    if (!timer) return 3;
    const std::uint64_t ts = put_user(std::string("\x05\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0", 16));  // 5 s
    auto done = handle_hypercall(*guest_, *process_, vcpu_, pvm_syscall(SYS_nanosleep, ts, 0), outcome_);
    if (!done || static_cast<std::int64_t>(vcpu_.regs_.rax) != -EINTR) return 4;
    return 0;
  });
}

TEST_F(HypercallTest, SignalAndFaultPathsRunUnderTheRealFilter) {
  out_.reset();  // the guest's stdout pipe now has no reader, in this process and the child
  under_real_filter([&] {
    GuestOutcome kill;  // the workload signals itself
    auto done = handle_hypercall(*guest_, *process_, vcpu_, pvm_syscall(SYS_kill, 1, SIGTERM), kill);
    if (!done || !*done || kill.kind != GuestOutcome::Kind::signaled || kill.status != SIGTERM) return 1;
    GuestOutcome pipe;  // a write to a pipe nobody reads: SIGPIPE for the workload, not the monitor
    const std::uint64_t buf = put_user("x");
    done = handle_hypercall(*guest_, *process_, vcpu_, pvm_syscall(SYS_write, 1, buf, 1), pipe);
    if (!done || !*done || pipe.status != SIGPIPE) return 2;
    for (unsigned vector : {0u, 6u, 13u, 14u, 17u}) {  // user faults
      GuestOutcome fault;
      done = handle_hypercall(*guest_, *process_, vcpu_, user_fault(vector, 0x401abc), fault);
      if (!done || !*done || fault.kind != GuestOutcome::Kind::signaled || fault.detail.empty()) return 3;
    }
    auto ring0 = handle_hypercall(*guest_, *process_, vcpu_,
                                  user_fault(13, GUEST_KERNEL_ADDR + 0x210, GUEST_SEL_KERNEL_CODE), outcome_);
    if (ring0 || ring0.error().message().empty()) return 4;
    if (resident_bytes(*guest_->memory) == 0) return 5;  // mincore at the end of every run
    return 0;
  });
}

TEST_F(HypercallTest, MemoryExhaustionRunsUnderTheRealFilter) {
  under_real_filter([&] {
    // The workload maps until guest memory is used up (its OOM: ENOMEM), touches it, frees it.
    std::vector<std::uint64_t> maps;
    for (int i = 0; i < 1000; ++i) {
      SyscallResult r = process_->handle(
          {SYS_mmap, {0, 1 << 20, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, ~0ull, 0}});
      if (r.value == -ENOMEM) break;
      if (r.value < 0) return 2;
      maps.push_back(static_cast<std::uint64_t>(r.value));
      std::string page(4096, 'm');
      if (!guest_->space->write(maps.back(),
                                {reinterpret_cast<const std::uint8_t*>(page.data()), page.size()}))
        return 3;
    }
    if (maps.size() < 8 || maps.size() >= 1000) return 4;
    if (process_->handle({SYS_brk, {guest_->brk_start + (64 << 20)}}).value < 0) return 5;
    for (std::uint64_t m : maps)
      if (process_->handle({SYS_munmap, {m, 1 << 20}}).value != 0) return 6;
    return 0;
  });
}

TEST_F(HypercallTest, LargeWritesAndRenamesRunUnderTheRealFilter) {
  under_real_filter([&] {
    // 16 MiB from guest memory into a file of the root filesystem, in one write and in a writev
    // of 1024 pieces; a refused call logged to the real stderr.
    const std::uint64_t size = 16 << 20;
    SyscallResult m = process_->handle(
        {SYS_mmap, {0, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, ~0ull, 0}});
    if (m.value < 0) return 1;
    const std::uint64_t at = static_cast<std::uint64_t>(m.value);
    const std::uint64_t name = put_user(std::string("/big\0/big2\0/from\0/to\0", 22));
    SyscallResult fd = process_->handle(
        {SYS_openat, {static_cast<std::uint64_t>(AT_FDCWD), name, O_WRONLY | O_CREAT | O_TRUNC, 0644}});
    if (fd.value < 0) return 2;
    if (process_->handle({SYS_write, {static_cast<std::uint64_t>(fd.value), at, size}}).value !=
        static_cast<std::int64_t>(size))
      return 3;
    std::vector<std::uint64_t> iov;
    for (int i = 0; i < 1024; ++i) iov.insert(iov.end(), {at + i * 4096ull, 4096});
    const std::uint64_t iov_at = at + size - iov.size() * 8;
    if (!guest_->space->write(iov_at, {reinterpret_cast<const std::uint8_t*>(iov.data()), iov.size() * 8}))
      return 4;
    if (process_->handle({SYS_writev, {static_cast<std::uint64_t>(fd.value), iov_at, 1024}}).value != 4 << 20)
      return 5;
    if (process_->handle({SYS_pwrite64, {static_cast<std::uint64_t>(fd.value), at, 4096, size * 2}}).value !=
        4096)
      return 6;
    if (process_->handle({SYS_ftruncate, {static_cast<std::uint64_t>(fd.value), 4096}}).value != 0) return 7;
    if (process_->handle({SYS_close, {static_cast<std::uint64_t>(fd.value)}}).value != 0) return 8;
    // Every form of rename (glibc's renameat2 with flags 0 makes renameat).
    const std::uint64_t cwd = static_cast<std::uint64_t>(AT_FDCWD);
    if (process_->handle({SYS_rename, {name, name + 5}}).value != 0) return 9;
    if (process_->handle({SYS_renameat, {cwd, name + 5, cwd, name + 11}}).value != 0) return 10;
    if (process_->handle({SYS_renameat2, {cwd, name + 11, cwd, name + 17, 0}}).value != 0) return 11;
    if (process_->handle({SYS_unlink, {name + 17}}).value != 0) return 12;
    Process plain(*guest_->space, *guest_->memory, ProcessConfig{});  // logs to the real stderr
    if (plain.handle({SYS_io_uring_setup, {}}).value != -ENOSYS) return 13;
    return 0;
  });
}

// The platform-neutral run loop with the test as the platform: the stops a platform reports go
// through the real handlers, and values come back through the interface's neutral registers (the
// default complete_syscall: rax and the TLS bases), with no kvm_regs anywhere.
class ScriptedContext final : public platform::ExecutionContext {
 public:
  explicit ScriptedContext(std::vector<platform::Stop> stops) : stops_(std::move(stops)) {}
  Result<platform::Stop> run() override {
    if (next_ >= stops_.size()) return fail("the script ran out of stops");
    ++exits_;
    platform::Stop stop = stops_[next_++];
    regs_.rax = stop.request.number;  // as a platform entering a syscall leaves rax
    return stop;
  }
  Result<platform::Registers> registers() override { return regs_; }
  Result<void> set_registers(const platform::Registers& regs) override {
    regs_ = regs;
    results_.push_back(static_cast<std::int64_t>(regs.rax));
    return {};
  }
  std::uint64_t exits() const override { return exits_; }

  platform::Registers regs_;
  std::vector<std::int64_t> results_;

 private:
  std::vector<platform::Stop> stops_;
  std::size_t next_ = 0;
  std::uint64_t exits_ = 0;
};

platform::Stop syscall_stop(std::uint64_t nr, std::uint64_t a0 = 0, std::uint64_t a1 = 0,
                            std::uint64_t a2 = 0) {
  return {platform::Stop::Kind::syscall, 0, {}, {nr, {a0, a1, a2, 0, 0, 0}}};
}

TEST_F(HypercallTest, TheNeutralRunLoopServesCallsThroughAnyPlatform) {
  const std::uint64_t buf = put_user("hey");
  ScriptedContext ctx({syscall_stop(SYS_write, 1, buf, 3),
                       syscall_stop(SYS_arch_prctl, 0x1002, 0x4c0000),
                       {platform::Stop::Kind::interrupted, 0, {}, {}},  // no --timeout: the loop goes on
                       syscall_stop(SYS_write, 1, 0, 3),
                       syscall_stop(SYS_exit_group, 7)});
  auto outcome = run_workload(ctx, *process_);
  ASSERT_TRUE(outcome) << outcome.error().message();
  EXPECT_EQ(drain(), "hey");
  EXPECT_EQ(ctx.results_, (std::vector<std::int64_t>{3, 0, -EFAULT}));
  EXPECT_EQ(ctx.regs_.fs_base, 0x4c0000u) << "arch_prctl's base reaches the neutral registers";
  EXPECT_EQ(outcome->kind, GuestOutcome::Kind::exited);
  EXPECT_EQ(outcome->status, 7);
  EXPECT_EQ(outcome->syscalls, 4u);
  EXPECT_EQ(outcome->exits, 5u);
}

TEST_F(HypercallTest, APlatformsFaultEndsTheRunWithItsSignal) {
  ScriptedContext ctx(
      {syscall_stop(SYS_getpid),
       {platform::Stop::Kind::fault, SIGSEGV, "SIGSEGV: page fault at rip 0x401000 touching 0x0", {}}});
  auto outcome = run_workload(ctx, *process_);
  ASSERT_TRUE(outcome) << outcome.error().message();
  EXPECT_EQ(outcome->kind, GuestOutcome::Kind::signaled);
  EXPECT_EQ(outcome->status, SIGSEGV);
  EXPECT_EQ(outcome->detail, "SIGSEGV: page fault at rip 0x401000 touching 0x0");
  EXPECT_EQ(ctx.results_, (std::vector<std::int64_t>{1}));
  // A failure of the platform itself is an Error, not a workload outcome.
  ScriptedContext broken({});
  EXPECT_FALSE(run_workload(broken, *process_));
}

}  // namespace
}  // namespace spectrum::vm
