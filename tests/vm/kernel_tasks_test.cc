// The sandbox kernel's scheduler and process model end to end: preemption (a task that never
// blocks gives the CPU up after its time slice), a real vfork (the parent suspended, the memory
// shared until the child execs or exits) and clone3 through glibc's posix_spawn, each with the
// attack a hostile guest would try. `sandbox` is the ptrace platform (everywhere); `vm` is KVM
// (skipped without /dev/kvm), which has no time slice yet: its preemption tests skip with that
// reason. Each expectation is what the same program prints natively.
#include <gtest/gtest.h>

#include <csignal>

#include "core/stdio.h"
#include "core/tier.h"
#include "test_support.h"

namespace spectrum::vm {
namespace {

using namespace testing;

class KernelTasksTest : public ::testing::TestWithParam<std::string> {
 protected:
  static void SetUpTestSuite() {
    root_ = new TempDir;
    static_ok_ = compile_program("sched", "-static -pthread", root_->path() / "bin/sched");
    dynamic_ok_ = add_dynamic_program(*root_, "/usr/bin/true", "/usr/bin/true") &&
                  compile_program("sched", "-pthread", root_->path() / "bin/sched-dynamic");
  }
  static void TearDownTestSuite() {
    delete root_;
    root_ = nullptr;
  }
  void SetUp() override {
    if (GetParam() == "vm") SKIP_WITHOUT_KVM();
    ASSERT_TRUE(static_ok_);
  }
  bool preempts() const { return GetParam() == "sandbox"; }

  RunResult run(std::vector<std::string> argv, std::chrono::milliseconds timeout = std::chrono::seconds(60),
                std::optional<std::uint64_t> pids = std::nullopt) {
    Workload w;
    w.rootfs = root_->path().string();
    w.program = argv.front();
    w.args.assign(argv.begin() + 1, argv.end());
    w.stdout_stream = Stdio::captured();
    w.stderr_stream = Stdio::captured();
    w.stdin_stream = Stdio::null();
    w.limits.memory_bytes = 128 << 20;
    w.limits.timeout = timeout;
    w.limits.max_pids = pids;
    auto r = (GetParam() == "vm" ? make_vm_tier() : make_sandbox_tier())->run(w);
    EXPECT_TRUE(r) << (r ? "" : r.error().message());
    return r ? *r : RunResult{};
  }
  static std::string native(const std::string& args) {
    std::string out;
    FILE* p = ::popen(((root_->path() / "bin/sched").string() + " " + args).c_str(), "r");
    if (!p) return out;
    char buf[4096];
    std::size_t n;
    while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
    ::pclose(p);
    return out;
  }

  static inline TempDir* root_ = nullptr;
  static inline bool static_ok_ = false, dynamic_ok_ = false;
};

#define SKIP_WITHOUT_TIME_SLICE()                                                                \
  do {                                                                                           \
    if (!preempts()) {                                                                           \
      GTEST_SKIP() << "the KVM platform has no time slice yet (a spinning task keeps the vCPU)"; \
    }                                                                                            \
  } while (0)

// The main thread spins on a flag the other thread sets, never blocking: without a time slice the
// other thread never runs and the run ends at --timeout. Both keep floating point registers live
// across the switches (the spinner's sum must come out exact), static and dynamic.
TEST_P(KernelTasksTest, ASpinningThreadIsPreemptedForTheThreadItWaitsFor) {
  SKIP_WITHOUT_TIME_SLICE();
  const std::string expected = "the spinning thread saw the flag\nits own sum intact: 1\n";
  ASSERT_EQ(native("spin-thread"), expected);
  RunResult r = run({"/bin/sched", "spin-thread"});
  EXPECT_EQ(r.outcome, Outcome::exited) << r.detail << r.captured_stderr;
  EXPECT_EQ(r.captured_stdout, expected);
  if (!dynamic_ok_) GTEST_SKIP() << "no dynamic /usr/bin/true to copy glibc from";
  RunResult d = run({"/bin/sched-dynamic", "spin-thread"});
  EXPECT_EQ(d.outcome, Outcome::exited) << d.detail << d.captured_stderr;
  EXPECT_EQ(d.captured_stdout, expected);
}

// Two processes that each poll a non-blocking pipe (a call that never blocks) for the other's byte.
TEST_P(KernelTasksTest, TwoSpinningProcessesHandshakeThroughAPipe) {
  SKIP_WITHOUT_TIME_SLICE();
  RunResult r = run({"/bin/sched", "spin-pipe"});
  EXPECT_EQ(r.exit_code, 0) << r.detail << r.captured_stderr;
  EXPECT_EQ(r.captured_stdout, native("spin-pipe"));
  EXPECT_EQ(r.captured_stdout, "pong b, child code 0\n");
}

// Three children that never block once they have reported, and a parent that waits for each
// report: every one gets the CPU; kill(0, SIGKILL) then ends them all and the run.
TEST_P(KernelTasksTest, SpinningChildrenAllGetTheCpu) {
  SKIP_WITHOUT_TIME_SLICE();
  RunResult r = run({"/bin/sched", "spinners"});
  EXPECT_EQ(r.outcome, Outcome::signaled) << r.detail << r.captured_stderr;
  EXPECT_EQ(r.signal, SIGKILL);
  EXPECT_EQ(r.captured_stdout, "spinning children that reported: 3\n");
}

// Attack: the time slice is a host signal to the stub. A guest that handles SIGVTALRM, SIGPROF
// and SIGALRM and spins through many slices must get none of them, and have none pending.
TEST_P(KernelTasksTest, TheTimeSliceLeavesNoSignalForTheGuest) {
  SKIP_WITHOUT_TIME_SLICE();
  RunResult r = run({"/bin/sched", "stray-signal"});
  EXPECT_EQ(r.exit_code, 0) << r.detail << r.captured_stderr;
  EXPECT_EQ(r.captured_stdout, "signal handled while spinning: 0\nSIGVTALRM pending: 0\n");
  EXPECT_EQ(r.captured_stdout, native("stray-signal"));
}

// --timeout still ends a guest that spins forever, and a vfork parent whose child spins forever
// (it stays suspended, as natively).
TEST_P(KernelTasksTest, TheTimeoutEndsSpinningGuests) {
  for (const char* mode : {"spin-forever", "vfork-spin"}) {
    RunResult r = run({"/bin/sched", mode}, std::chrono::milliseconds(700));
    EXPECT_EQ(r.outcome, Outcome::timed_out) << mode << ": " << r.detail << r.captured_stderr;
    EXPECT_EQ(r.captured_stdout, "") << mode;
  }
}

// vfork: the child writes the parent's memory before it exits, and posix_spawn (clone3 with
// CLONE_VM|CLONE_VFORK and a stack of its own in glibc 2.36) learns that the program is missing.
TEST_P(KernelTasksTest, VforkSharesMemoryUntilTheChildExits) {
  const std::string expected =
      "parent saw the child's write: 1, child code 4\nposix_spawn of a missing program: ENOENT\n";
  ASSERT_EQ(native("vfork-share"), expected);
  RunResult r = run({"/bin/sched", "vfork-share"});
  EXPECT_EQ(r.exit_code, 0) << r.detail << r.captured_stderr;
  EXPECT_EQ(r.captured_stdout, expected);
  if (!dynamic_ok_) GTEST_SKIP() << "no dynamic /usr/bin/true to copy glibc from";
  RunResult d = run({"/bin/sched-dynamic", "vfork-share"});
  EXPECT_EQ(d.exit_code, 0) << d.detail << d.captured_stderr;
  EXPECT_EQ(d.captured_stdout, expected);
}

// Attack: the vfork child returns from the function that called vfork and writes over the
// parent's frames in the memory they share. Natively the parent then crashes on its stack; here
// too the run must end with the guest's own outcome (never an error of the monitor), and the
// sandbox kernel goes on serving the next run.
TEST_P(KernelTasksTest, AVforkChildScribblingOverItsParentsStackHurtsOnlyTheGuest) {
  RunResult r = run({"/bin/sched", "vfork-return"});
  EXPECT_TRUE(r.outcome == Outcome::signaled || r.outcome == Outcome::exited) << r.detail;
  if (r.outcome == Outcome::signaled) {
    EXPECT_EQ(r.signal, SIGSEGV) << r.detail;
  }
  RunResult after = run({"/bin/sched", "vfork-share"});
  EXPECT_EQ(after.exit_code, 0) << after.detail << after.captured_stderr;
}

// Attack: a chain of vfork + exec, each level waiting for the next, stops at --pids (EAGAIN, as
// the pids cgroup refuses it) and unwinds with every level reaped.
TEST_P(KernelTasksTest, AVforkChainEndsAtThePidsLimit) {
  RunResult r = run({"/bin/sched", "vfork-chain", "0"}, std::chrono::seconds(60), 8);
  EXPECT_EQ(r.exit_code, 3) << r.detail << r.captured_stderr;
  EXPECT_EQ(r.captured_stdout, "vfork at depth 7: EAGAIN\nthe chain ended with code 3\n");
}

INSTANTIATE_TEST_SUITE_P(Platforms, KernelTasksTest, ::testing::Values("vm", "sandbox"),
                         [](const ::testing::TestParamInfo<std::string>& platform) {
                           return platform.param;
                         });

}  // namespace
}  // namespace spectrum::vm
