// The ptrace platform end to end: real static programs run in a stub host process under
// PTRACE_SYSEMU, their calls served by the same handlers as on KVM. Needs no /dev/kvm.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <csignal>
#include <cstring>
#include <fstream>
#include <iterator>
#include <sstream>

#include "test_support.h"
#include "vm/monitor.h"
#include "vm/platform/ptrace_context.h"

namespace spectrum::vm {
namespace {

using namespace testing;

std::string read_host_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), {}};
}

class PtraceTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new TempDir;
    built_ = compile_program("probe", "-static", dir_->path() / "probe");
    pie_built_ = compile_program("probe", "-static-pie", dir_->path() / "probe-pie");
  }
  static void TearDownTestSuite() { delete dir_; }

  struct Run {
    Result<GuestOutcome> outcome = fail("not run");
    std::string out;
    std::size_t stubs_left = 0;       // after the run: the first process's space is still there
    std::size_t zygote_children = 0;  // stub processes, live or not yet reaped
  };
  Run run(std::vector<std::string> argv, const char* file = "probe",
          std::optional<std::chrono::milliseconds> timeout = std::nullopt) {
    Run r;
    GuestSpec spec;
    spec.program_name = file;
    spec.elf_bytes = read_host_file(dir_->path() / file);
    spec.elf = *parse_elf(spec.elf_bytes, file);
    spec.argv = std::move(argv);
    spec.envp = {"HOME=/home/guest"};
    spec.memory_bytes = 64 << 20;
    spec.backing = GuestMemory::Backing::memfd;
    auto g = prepare_guest(spec);
    if (!g) {
      r.outcome = std::unexpected(g.error());
      return r;
    }
    ProcessConfig config;
    config.root = UniqueFd(::open(dir_->path().c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
    config.stdin_fd = UniqueFd(::open("/dev/null", O_RDONLY | O_CLOEXEC));
    int out[2];
    EXPECT_EQ(::pipe2(out, O_CLOEXEC | O_NONBLOCK), 0);
    UniqueFd out_read(out[0]);
    ::fcntl(out[1], F_SETPIPE_SZ, 1 << 20);
    config.stdout_fd = UniqueFd(out[1]);
    config.log = [](const std::string&) {};
    Process process(*g->space, *g->memory, std::move(config));
    process.set_brk_start(g->brk_start);
    auto ctx = platform::PtraceContext::create(*g);
    if (!ctx) {
      r.outcome = std::unexpected(ctx.error());
      return r;
    }
    std::optional<HostTimer> timer;
    static volatile std::uint8_t unused_immediate_exit = 0;
    if (timeout) timer.emplace(*TimeoutTimer::start(*timeout, &unused_immediate_exit));
    r.outcome = run_workload(**ctx, process, g->vdso.get());
    r.stubs_left = (*ctx)->stubs();
    const std::string zygote = std::to_string((*ctx)->zygote_pid());
    std::istringstream children(read_host_file("/proc/" + zygote + "/task/" + zygote + "/children"));
    for (std::string pid; children >> pid;) ++r.zygote_children;
    char buf[4096];
    ssize_t n;
    while ((n = ::read(out_read.get(), buf, sizeof buf)) > 0) r.out.append(buf, static_cast<std::size_t>(n));
    return r;
  }

  static inline TempDir* dir_ = nullptr;
  static inline bool built_ = false, pie_built_ = false;
};

TEST_F(PtraceTest, AStaticProgramRunsAndExits) {
  ASSERT_TRUE(built_);
  for (const char* file : {"probe", "probe-pie"}) {
    if (std::string(file) == "probe-pie" && !pie_built_) continue;
    auto r = run({"probe", "hello"}, file);
    ASSERT_TRUE(r.outcome) << r.outcome.error().message();
    EXPECT_EQ(r.outcome->kind, GuestOutcome::Kind::exited) << r.outcome->detail;
    EXPECT_EQ(r.outcome->status, 0);
    EXPECT_EQ(r.out, "hello from the guest: argc=2 env HOME=/home/guest\n") << file;
    EXPECT_GT(r.outcome->syscalls, 0u);
  }
  auto r = run({"probe", "exit", "42"});
  ASSERT_TRUE(r.outcome) << r.outcome.error().message();
  EXPECT_EQ(r.outcome->status, 42);
}

// Memory the handlers map (brk, mmap, munmap of malloc's 1 MiB blocks) is the workload's memory.
TEST_F(PtraceTest, TheStubFollowsTheGuestsMemory) {
  ASSERT_TRUE(built_);
  auto r = run({"probe", "malloc"});
  ASSERT_TRUE(r.outcome) << r.outcome.error().message();
  EXPECT_EQ(r.outcome->kind, GuestOutcome::Kind::exited) << r.outcome->detail;
  EXPECT_EQ(r.outcome->status, 0);
  EXPECT_EQ(r.out, "malloc ok 67108864\n");
}

// One stub process per address space: forked for a new process, ended (and reaped, by the
// zygote too) with it. 40 processes, two alive at a time and switched between, leave only the
// first process's stub.
TEST_F(PtraceTest, EachProcessHasAStubThatEndsWithIt) {
  ASSERT_TRUE(built_);
  auto r = run({"probe", "forks", "40"});
  ASSERT_TRUE(r.outcome) << r.outcome.error().message();
  EXPECT_EQ(r.outcome->kind, GuestOutcome::Kind::exited) << r.outcome->detail;
  EXPECT_EQ(r.outcome->status, 0) << r.out;
  EXPECT_EQ(r.out, "forks: 40, 0 wrong, page 39\n");
  EXPECT_EQ(r.stubs_left, 1u);
  EXPECT_EQ(r.zygote_children, 1u) << "a stub left alive, or never reaped";
}

TEST_F(PtraceTest, FaultsEndTheRunWithTheVmTiersSignals) {
  ASSERT_TRUE(built_);
  for (auto [mode, sig] : {std::pair{"segv", SIGSEGV}, {"ud2", SIGILL}, {"div0", SIGFPE}}) {
    auto r = run({"probe", mode});
    ASSERT_TRUE(r.outcome) << r.outcome.error().message();
    EXPECT_EQ(r.outcome->kind, GuestOutcome::Kind::signaled) << mode;
    EXPECT_EQ(r.outcome->status, sig) << mode << ": " << r.outcome->detail;
  }
}

// Attack: garbage pointers are EFAULT from the handlers; a kill() of itself is the monitor's to
// serve (had it reached the host, the stub would have died of SIGTERM, not reported it).
TEST_F(PtraceTest, GuestCallsNeverReachTheHost) {
  ASSERT_TRUE(built_);
  auto g = run({"probe", "garbage"});
  ASSERT_TRUE(g.outcome) << g.outcome.error().message();
  EXPECT_EQ(g.outcome->status, 0) << g.out;
  auto k = run({"probe", "kill"});
  ASSERT_TRUE(k.outcome) << k.outcome.error().message();
  EXPECT_EQ(k.outcome->kind, GuestOutcome::Kind::signaled);
  EXPECT_EQ(k.outcome->status, SIGTERM);
  EXPECT_NE(k.outcome->detail.find("sent itself"), std::string::npos) << k.outcome->detail;
}

TEST_F(PtraceTest, TheTimeoutStopsALoopingGuest) {
  ASSERT_TRUE(built_);
  auto r = run({"probe", "loop"}, "probe", std::chrono::milliseconds(300));
  ASSERT_TRUE(r.outcome) << r.outcome.error().message();
  EXPECT_EQ(r.outcome->kind, GuestOutcome::Kind::timed_out);
}

}  // namespace
}  // namespace spectrum::vm
