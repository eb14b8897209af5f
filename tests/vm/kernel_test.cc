// The sandbox kernel end to end, on both platforms (`vm`: KVM, skipped without /dev/kvm;
// `sandbox`: ptrace, everywhere): unmodified Debian programs and the features they need. Each
// test's expectation is what the same program prints natively.
#include <gtest/gtest.h>

#include "core/stdio.h"
#include "core/tier.h"
#include "test_support.h"

namespace spectrum::vm {
namespace {

using namespace testing;

class KernelRunTest : public ::testing::TestWithParam<std::string> {
 protected:
  static void SetUpTestSuite() {
    root_ = new TempDir;
    busybox_ = add_busybox(*root_);
    dynamic_ok_ = add_dynamic_program(*root_, "/bin/true", "/usr/bin/true") &&
                  add_dynamic_program(*root_, "/bin/echo", "/usr/bin/echo") &&
                  compile_program("probe", "", root_->path() / "bin/probe-dynamic");
    static_ok_ = compile_program("probe", "-static", root_->path() / "bin/probe") &&
                 compile_program("ipc", "-static", root_->path() / "bin/ipc");
  }
  static void TearDownTestSuite() {
    delete root_;
    root_ = nullptr;
  }
  void SetUp() override {
    if (GetParam() == "vm") SKIP_WITHOUT_KVM();
  }

  RunResult run(std::vector<std::string> argv, const std::string& stdin_text = "") {
    Workload w;
    w.rootfs = root_->path().string();
    w.program = argv.front();
    w.args.assign(argv.begin() + 1, argv.end());
    w.stdout_stream = Stdio::captured();
    w.stderr_stream = Stdio::captured();
    w.stdin_stream = Stdio::null();
    if (!stdin_text.empty()) {
      root_->write("stdin.txt", stdin_text);
      w.stdin_stream = Stdio::file((root_->path() / "stdin.txt").string());
    }
    w.limits.memory_bytes = 128 << 20;
    w.limits.timeout = std::chrono::seconds(60);
    auto r = (GetParam() == "vm" ? make_vm_tier() : make_sandbox_tier())->run(w);
    EXPECT_TRUE(r) << (r ? "" : r.error().message());
    return r ? *r : RunResult{};
  }

  static inline TempDir* root_ = nullptr;
  static inline bool busybox_ = false, dynamic_ok_ = false, static_ok_ = false;
};

// PT_INTERP: glibc's ld-linux-x86-64.so.2 from the root filesystem maps libc.so.6 through the
// guest's own openat/mmap, with the auxiliary vector it needs (AT_PHDR, AT_BASE, AT_ENTRY,
// AT_RANDOM, ...). A wrong AT_PHDR or AT_BASE crashes the linker before main.
TEST_P(KernelRunTest, DynamicDebianProgramsRun) {
  ASSERT_TRUE(dynamic_ok_);
  RunResult t = run({"/usr/bin/true"});
  EXPECT_EQ(t.outcome, Outcome::exited) << t.detail << t.captured_stderr;
  EXPECT_EQ(t.exit_code, 0) << t.detail << t.captured_stderr;
  EXPECT_EQ(t.captured_stderr, "");
  RunResult e = run({"/usr/bin/echo", "hello", "from", "glibc"});
  EXPECT_EQ(e.exit_code, 0) << e.detail << e.captured_stderr;
  EXPECT_EQ(e.captured_stdout, "hello from glibc\n");
  RunResult p = run({"/bin/probe-dynamic", "hello", "x"});
  EXPECT_EQ(p.exit_code, 0) << p.detail << p.captured_stderr;
  EXPECT_EQ(p.captured_stdout, "hello from the guest: argc=3 env HOME=/\n");
}

// What the program prints natively: the oracle.
std::string native_output(const std::string& command) {
  std::string out;
  FILE* p = ::popen(command.c_str(), "r");
  if (!p) return out;
  char buf[4096];
  std::size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
  ::pclose(p);
  return out;
}

// Pipes, dup2/F_DUPFD_CLOEXEC, O_NONBLOCK on a pipe (the monitor's host fd is non-blocking
// whatever the guest asked: the guest's view decides EAGAIN or a block), poll, EOF once every
// write end is closed, EPIPE. The output is the native run's.
TEST_P(KernelRunTest, PipesDupFcntlAndPollBehaveAsNatively) {
  ASSERT_TRUE(static_ok_);
  RunResult r = run({"/bin/ipc", "pipe"});
  EXPECT_EQ(r.exit_code, 0) << r.detail << r.captured_stderr;
  EXPECT_EQ(r.captured_stdout, native_output((root_->path() / "bin/ipc").string() + " pipe"));
}

// Attack: guest arrays that run into an unmapped page or the kernel area (poll's pollfd array,
// pipe's two ints), and a count far past the fd table: EFAULT/EINVAL, no fd leaked by the pipe
// that could not be reported, the monitor alive.
TEST_P(KernelRunTest, PollAndPipeArraysAtTheEdgeOfAMappingAreEfault) {
  ASSERT_TRUE(static_ok_);
  RunResult r = run({"/bin/ipc", "poll-attack"});
  EXPECT_EQ(r.exit_code, 0) << r.detail << r.captured_stderr;
  EXPECT_EQ(r.captured_stdout, native_output((root_->path() / "bin/ipc").string() + " poll-attack"));
  EXPECT_NE(r.captured_stdout.find("pipe into the kernel area -1 EFAULT"), std::string::npos);
  EXPECT_NE(r.captured_stdout.find("next pipe 3 4"), std::string::npos);
}

INSTANTIATE_TEST_SUITE_P(Platforms, KernelRunTest, ::testing::Values("vm", "sandbox"),
                         [](const ::testing::TestParamInfo<std::string>& platform) {
                           return platform.param;
                         });

}  // namespace
}  // namespace spectrum::vm
