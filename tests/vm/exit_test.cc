// The monitor's handling of the guest kernel's hypercalls, with the test playing the CPU: it
// leaves the vCPU registers and the kernel-stack frame exactly as the hardware would after the
// guest kernel's `out` (hardware `syscall`, kvm_pvm's #PF at LSTAR, exceptions), and checks what
// the monitor leaves for the kernel's `sysretq` / `iretq`. Runs without /dev/kvm.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/syscall.h>

#include <csignal>
#include <cstring>

#include "test_support.h"
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
  EXPECT_EQ(vcpu_.regs_.r11, 0x202u);
  EXPECT_EQ(vcpu_.regs_.rsp, user_rsp_);
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

}  // namespace
}  // namespace spectrum::vm
