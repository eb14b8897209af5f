// End-to-end runs of the monitor on both platforms: in a real VM (`vm`, needs /dev/kvm and skips
// with "/dev/kvm absent" elsewhere) and in a ptrace stub (`sandbox`, runs everywhere). The same
// tests, the same expectations: a test name ends in /vm or /sandbox.
#include "vm/kvm.h"

#include <dirent.h>
#include <gtest/gtest.h>

#include <csignal>
#include <fstream>

#include "core/stdio.h"
#include "core/tier.h"
#include "test_support.h"
#include "vm/memory.h"

namespace spectrum::vm {
namespace {

using namespace testing;

class VmRunTest : public ::testing::TestWithParam<std::string> {
 protected:
  static void SetUpTestSuite() {
    root_ = new TempDir;
    busybox_ = add_busybox(*root_);
    static_ok_ = compile_program("probe", "-static", root_->path() / "bin/probe");
    pie_ok_ = compile_program("probe", "-static-pie", root_->path() / "bin/probe-pie");
    root_->write("etc/shadow", "rootfs-shadow\n");
    root_->write("data/hello.txt", "hello file\n");
    std::error_code ec;
    fs::create_symlink("/../../../etc", root_->path() / "escape", ec);
  }
  static void TearDownTestSuite() {
    delete root_;
    root_ = nullptr;
  }
  void SetUp() override {
    if (GetParam() == "vm") SKIP_WITHOUT_KVM();
  }

  RunResult run(std::vector<std::string> argv,
                std::optional<std::chrono::nanoseconds> timeout = std::nullopt) {
    Workload w;
    w.rootfs = root_->path().string();
    w.program = argv.front();
    w.args.assign(argv.begin() + 1, argv.end());
    w.stdout_stream = Stdio::captured();
    w.stderr_stream = Stdio::captured();
    w.stdin_stream = Stdio::null();
    w.limits.memory_bytes = 64 << 20;
    w.limits.timeout = timeout;
    auto r = (GetParam() == "vm" ? make_vm_tier() : make_sandbox_tier())->run(w);
    if (r) {
      EXPECT_EQ(r->tier, GetParam());
    }
    EXPECT_TRUE(r) << (r ? "" : r.error().message());
    return r ? *r : RunResult{};
  }

  static inline TempDir* root_ = nullptr;
  static inline bool busybox_ = false, static_ok_ = false, pie_ok_ = false;
};

TEST_P(VmRunTest, ExitCodesComeBack) {
  ASSERT_TRUE(static_ok_);
  for (int code : {0, 1, 42}) {
    RunResult r = run({"/bin/probe", "exit", std::to_string(code)});
    EXPECT_EQ(r.outcome, Outcome::exited);
    EXPECT_EQ(r.exit_code, code);
  }
}

TEST_P(VmRunTest, OutputArgumentsAndEnvironment) {
  ASSERT_TRUE(static_ok_ && pie_ok_);
  for (const char* program : {"/bin/probe", "/bin/probe-pie"}) {
    RunResult r = run({program, "hello", "x"});
    EXPECT_EQ(r.exit_code, 0);
    EXPECT_EQ(r.captured_stdout, "hello from the guest: argc=3 env HOME=/\n") << program;
  }
}

TEST_P(VmRunTest, FaultsBecomeSignals) {
  ASSERT_TRUE(static_ok_);
  RunResult segv = run({"/bin/probe", "segv"});
  EXPECT_EQ(segv.outcome, Outcome::signaled);
  EXPECT_EQ(segv.signal, SIGSEGV);
  EXPECT_NE(segv.detail.find("page fault"), std::string::npos) << segv.detail;
  EXPECT_EQ(run({"/bin/probe", "ud2"}).signal, SIGILL);
  EXPECT_EQ(run({"/bin/probe", "div0"}).signal, SIGFPE);
}

TEST_P(VmRunTest, TimeoutKillsALoopingGuest) {
  ASSERT_TRUE(static_ok_);
  RunResult r = run({"/bin/probe", "loop"}, std::chrono::milliseconds(300));
  EXPECT_EQ(r.outcome, Outcome::timed_out);
}

// Each path of the monitor under its real seccomp filter, end to end (the unit tests in exit_test.cc
// run the same paths under the filter without a VM).
TEST_P(VmRunTest, RenamesLargeWritesSignalsAndOomLeaveTheMonitorAlive) {
  ASSERT_TRUE(static_ok_);
  RunResult rename = run({"/bin/probe", "rename"});
  EXPECT_EQ(rename.exit_code, 0) << rename.captured_stdout << rename.captured_stderr;
  EXPECT_EQ(rename.captured_stdout, "rename ok\n");
  RunResult big = run({"/bin/probe", "bigwrite", std::to_string(24 << 20)});
  EXPECT_EQ(big.exit_code, 0);
  // All 24 MiB went through the monitor (exit 0, nothing blocked); the capture keeps the shared
  // bound's worth and says the rest was dropped, as in every tier.
  EXPECT_EQ(big.captured_stdout.size(), kCaptureLimitBytes);
  EXPECT_TRUE(big.stdout_truncated);
  EXPECT_FALSE(big.stderr_truncated);
  RunResult kill = run({"/bin/probe", "kill"});
  EXPECT_EQ(kill.outcome, Outcome::signaled);
  EXPECT_EQ(kill.signal, SIGTERM);
  RunResult oom = run({"/bin/probe", "oom"});
  EXPECT_EQ(oom.exit_code, 0) << oom.captured_stderr;
  EXPECT_EQ(oom.captured_stdout, "oom ok many\n");
}

TEST_P(VmRunTest, GarbageHypercallPointersGetEfault) {
  ASSERT_TRUE(static_ok_);
  RunResult r = run({"/bin/probe", "garbage"});
  EXPECT_EQ(r.outcome, Outcome::exited);
  EXPECT_EQ(r.exit_code, 0) << r.captured_stdout;
}

TEST_P(VmRunTest, TheRootFilesystemIsAllTheGuestSees) {
  ASSERT_TRUE(static_ok_);
  EXPECT_EQ(run({"/bin/probe", "cat", "/../../etc/shadow"}).captured_stdout, "rootfs-shadow\n");
  EXPECT_EQ(run({"/bin/probe", "cat", "/escape/shadow"}).captured_stdout, "rootfs-shadow\n");
  // The sandbox kernel's /proc/self/root is the guest's own root, ".." after it included.
  EXPECT_EQ(run({"/bin/probe", "cat", "/proc/self/root/etc/shadow"}).captured_stdout, "rootfs-shadow\n");
  EXPECT_EQ(run({"/bin/probe", "cat", "/proc/1/root/../../../etc/shadow"}).captured_stdout,
            "rootfs-shadow\n");
}

// What the host's own kernel does with the probe: its stdout, or "signal N".
std::string run_natively(const fs::path& program, const std::string& args) {
  std::string out;
  if (FILE* p = ::popen(("'" + program.string() + "' " + args + " 2>/dev/null").c_str(), "r")) {
    char buf[256];
    while (std::fgets(buf, sizeof buf, p)) out += buf;
    const int status = ::pclose(p);
    // popen's shell reports a child killed by signal N as exit 128+N, unless it exec'd the child.
    if (WIFSIGNALED(status)) out += "signal " + std::to_string(WTERMSIG(status));
    if (WIFEXITED(status) && WEXITSTATUS(status) > 128)
      out += "signal " + std::to_string(WEXITSTATUS(status) - 128);
  }
  return out;
}

TEST_P(VmRunTest, ASystemCallWithAnyStackPointerReturnsAsOnLinux) {
  ASSERT_TRUE(static_ok_);
  for (int i = 0; i < 4; ++i) {
    SCOPED_TRACE("stack " + std::to_string(i));
    RunResult r = run({"/bin/probe", "oddstack", std::to_string(i)});
    const std::string got = r.outcome == Outcome::exited     ? r.captured_stdout
                            : r.outcome == Outcome::signaled ? "signal " + std::to_string(r.signal)
                                                             : "outcome " + std::to_string(int(r.outcome));
    const std::string native = run_natively(root_->path() / "bin/probe", "oddstack " + std::to_string(i));
    if (GetParam() == "sandbox") {
      // The stub is a host process: the host kernel's return to user space decides, as natively.
      EXPECT_EQ(got, native) << r.detail;
    } else {
      // The guest kernel gives back any stack pointer, as Linux kernels that return with sysret do.
      EXPECT_EQ(got, "1 1\n") << r.detail << " (natively: " << native << ")";
    }
  }
}

TEST_P(VmRunTest, RemappedMemoryReadsAsThePageTablesSay) {
  ASSERT_TRUE(static_ok_);
  RunResult r = run({"/bin/probe", "remap"});
  EXPECT_EQ(r.outcome, Outcome::exited) << r.detail;
  EXPECT_EQ(r.captured_stdout, "111\n");
  RunResult gone = run({"/bin/probe", "touch-unmapped"});
  EXPECT_EQ(gone.outcome, Outcome::signaled) << gone.captured_stdout;
  EXPECT_EQ(gone.signal, SIGSEGV);
}

TEST_P(VmRunTest, ForkAndWaitWork) {
  ASSERT_TRUE(static_ok_);
  RunResult r = run({"/bin/probe", "fork"});
  EXPECT_EQ(r.exit_code, 0) << r.captured_stdout << r.detail;
  EXPECT_EQ(r.captured_stdout, "fork: child 2, waited ok, exit 7\n");
}

TEST_P(VmRunTest, HeapAndMmapWork) {
  ASSERT_TRUE(static_ok_);
  RunResult r = run({"/bin/probe", "malloc"});
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_EQ(r.captured_stdout, "malloc ok 67108864\n");
}

TEST_P(VmRunTest, BusyboxApplets) {
  if (!busybox_) GTEST_SKIP() << "no /bin/busybox (busybox-static)";
  EXPECT_EQ(run({"echo", "hello", "vm"}).captured_stdout, "hello vm\n");
  EXPECT_EQ(run({"cat", "/data/hello.txt"}).captured_stdout, "hello file\n");
  EXPECT_NE(run({"ls", "/data"}).captured_stdout.find("hello.txt"), std::string::npos);
  EXPECT_EQ(run({"wc", "-c", "/data/hello.txt"}).captured_stdout, "11 /data/hello.txt\n");
  // The same applet natively gives the reference digest.
  std::string native;
  if (FILE* p = ::popen(
          ("/bin/busybox sha256sum < '" + (root_->path() / "data/hello.txt").string() + "'").c_str(), "r")) {
    char buf[128] = {};
    native = std::fgets(buf, sizeof buf, p) ? std::string(buf, 64) : "";
    ::pclose(p);
  }
  ASSERT_EQ(native.size(), 64u);
  EXPECT_EQ(run({"sha256sum", "/data/hello.txt"}).captured_stdout.substr(0, 64), native);
  RunResult sh = run({"sh", "-c", "echo a; x=42; echo $x; exit 7"});
  EXPECT_EQ(sh.captured_stdout, "a\n42\n");
  EXPECT_EQ(sh.exit_code, 7);
}

std::size_t count_dir(const char* path) {
  std::size_t n = 0;
  for (auto& e : fs::directory_iterator(path)) (void)e, ++n;
  return n;
}

TEST_P(VmRunTest, AThousandRunsLeaveNothingBehind) {
  ASSERT_TRUE(static_ok_);
  run({"/bin/probe", "exit", "0"});  // warm up lazily made state
  const std::size_t fds = count_dir("/proc/self/fd"), threads = count_dir("/proc/self/task");
  auto rss = [] {
    std::ifstream in("/proc/self/statm");
    std::size_t size, resident;
    in >> size >> resident;
    return resident * 4096;
  };
  const std::size_t rss_before = rss();
  for (int i = 0; i < 1000; ++i) {
    RunResult r = run({"/bin/probe", "exit", "3"});
    ASSERT_EQ(r.exit_code, 3) << "run " << i;
  }
  EXPECT_EQ(count_dir("/proc/self/fd"), fds);
  EXPECT_EQ(count_dir("/proc/self/task"), threads);
  EXPECT_LT(rss(), rss_before + (8u << 20)) << "memory grew by more than 8 MiB over 1,000 runs";
}

// Guest memory reaches KVM in slots that grow with use (one 256 MiB slot made VM creation and
// teardown several ms slower on kvm_pvm); a guest using all of it still needs only a few slots.
// (HeapAndMmapWork's 64 MiB malloc runs past the first slot end to end.)
TEST(KvmSlotsTest, GuestMemoryIsRegisteredAsItIsUsed) {
  SKIP_WITHOUT_KVM();
  auto memory = GuestMemory::create(256ull << 20);
  ASSERT_TRUE(memory) << memory.error().message();
  auto vm = KvmVm::create(memory->base(), memory->size(), GuestKind::spectrum_kernel);
  ASSERT_TRUE(vm) << vm.error().message();
  EXPECT_EQ(vm->registered_bytes(), KvmVm::kInitialSlotBytes);
  ASSERT_TRUE(vm->cover(KvmVm::kInitialSlotBytes));  // nothing to add
  EXPECT_EQ(vm->slot_count(), 1u);
  ASSERT_TRUE(vm->cover(KvmVm::kInitialSlotBytes + 4096));
  EXPECT_EQ(vm->registered_bytes(), 2 * KvmVm::kInitialSlotBytes) << "a new slot doubles what is registered";
  ASSERT_TRUE(vm->cover(~0ull));  // capped at the guest's memory
  EXPECT_EQ(vm->registered_bytes(), memory->size());
  EXPECT_LE(vm->slot_count(), 5u);
}

INSTANTIATE_TEST_SUITE_P(Tiers, VmRunTest, ::testing::Values("vm", "sandbox"),
                         [](const ::testing::TestParamInfo<std::string>& tier) { return tier.param; });

}  // namespace
}  // namespace spectrum::vm
