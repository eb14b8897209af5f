// The sandbox kernel's scheduler and process model end to end: preemption (a task that never
// blocks gives the CPU up after its time slice), a real vfork (the parent suspended, the memory
// shared until the child execs or exits) and clone3 through glibc's posix_spawn, each with the
// attack a hostile guest would try. `sandbox` is the ptrace platform (everywhere); `vm` is KVM
// (skipped without /dev/kvm). Each expectation is what the same program prints natively.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/mman.h>

#include <algorithm>
#include <csignal>
#include <cstring>
#include <fstream>

#include "core/stdio.h"
#include "core/tier.h"
#include "test_support.h"
#include "vm/loader/program_file.h"
#include "vm/monitor.h"

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

  RunResult run(std::vector<std::string> argv, std::chrono::milliseconds timeout = std::chrono::seconds(60),
                std::optional<std::uint64_t> pids = std::nullopt, std::uint64_t memory = 128 << 20) {
    Workload w;
    w.rootfs = root_->path().string();
    w.program = argv.front();
    w.args.assign(argv.begin() + 1, argv.end());
    w.stdout_stream = Stdio::captured();
    w.stderr_stream = Stdio::captured();
    w.stdin_stream = Stdio::null();
    w.limits.memory_bytes = memory;
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

// The main thread spins on a flag the other thread sets, never blocking: without a time slice the
// other thread never runs and the run ends at --timeout. Both keep floating point registers live
// across the switches (the spinner's sum must come out exact), static and dynamic.
TEST_P(KernelTasksTest, ASpinningThreadIsPreemptedForTheThreadItWaitsFor) {
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
  RunResult r = run({"/bin/sched", "spin-pipe"});
  EXPECT_EQ(r.exit_code, 0) << r.detail << r.captured_stderr;
  EXPECT_EQ(r.captured_stdout, native("spin-pipe"));
  EXPECT_EQ(r.captured_stdout, "pong b, child code 0\n");
}

// Three children that never block once they have reported, and a parent that waits for each
// report: every one gets the CPU; kill(0, SIGKILL) then ends them all and the run.
TEST_P(KernelTasksTest, SpinningChildrenAllGetTheCpu) {
  RunResult r = run({"/bin/sched", "spinners"});
  EXPECT_EQ(r.outcome, Outcome::signaled) << r.detail << r.captured_stderr;
  EXPECT_EQ(r.signal, SIGKILL);
  EXPECT_EQ(r.captured_stdout, "spinning children that reported: 3\n");
}

// Attack: the time slice is a host signal to the stub. A guest that handles SIGVTALRM, SIGPROF
// and SIGALRM and spins through many slices must get none of them, and have none pending.
TEST_P(KernelTasksTest, TheTimeSliceLeavesNoSignalForTheGuest) {
  RunResult r = run({"/bin/sched", "stray-signal"});
  EXPECT_EQ(r.exit_code, 0) << r.detail << r.captured_stderr;
  EXPECT_EQ(r.captured_stdout, "signal handled while spinning: 0\nSIGVTALRM pending: 0\n");
  EXPECT_EQ(r.captured_stdout, native("stray-signal"));
}

// Attack: processes that come and go map fresh memory at the same addresses, concurrently; none
// may read another's. On KVM the same again with a table per page in 10 MiB of guest memory, so
// that clean page-table frames run out and the platform makes KVM forget its shadows (a reset).
TEST_P(KernelTasksTest, ProcessesAtTheSameAddressesSeeOnlyTheirOwnMemory) {
  const std::string expected = "processes that saw memory not their own: 0\n";
  ASSERT_EQ(native("same-addresses"), expected);
  RunResult r = run({"/bin/sched", "same-addresses"});
  EXPECT_EQ(r.exit_code, 0) << r.detail << r.captured_stderr;
  EXPECT_EQ(r.captured_stdout, expected);
  if (GetParam() != "vm") return;
  ASSERT_EQ(native("table-churn"), expected);
  RunResult churn = run({"/bin/sched", "table-churn"}, std::chrono::seconds(120), std::nullopt, 10 << 20);
  EXPECT_EQ(churn.exit_code, 0) << churn.detail << churn.captured_stderr;
  EXPECT_EQ(churn.captured_stdout, expected);
  const auto resets = std::find_if(churn.counters.begin(), churn.counters.end(),
                                   [](const auto& c) { return c.first == "page_table_resets"; });
  ASSERT_NE(resets, churn.counters.end());
  EXPECT_GE(resets->second, 1u) << "the run never ran out of clean table frames";
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

// The loader reads an executable's segments straight from the file into guest memory
// (loader/program_file.h): what lands there is the file's bytes, as a whole-file read gave them.
// Attack: headers past the part read first are found by reading the whole file, and a file that
// is shorter than its program headers say (truncated between parse and load) is refused, never
// read past its end.
TEST(ProgramFileTest, SegmentsComeStraightFromTheFileAndAShortFileIsRefused) {
  TempDir dir;
  ASSERT_TRUE(compile_program("sched", "-static -pthread", dir.path() / "sched"));
  const fs::path path = dir.path() / "sched";
  std::ifstream in(path, std::ios::binary);
  const std::string whole{std::istreambuf_iterator<char>(in), {}};
  auto open_file = [&] {
    UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    return read_program_head(std::move(fd), fs::file_size(path));
  };
  auto file = open_file();
  ASSERT_TRUE(file);
  ASSERT_LT(file->head.size(), whole.size());
  auto elf = parse_program(*file, "sched");
  ASSERT_TRUE(elf) << elf.error().message();
  auto reference = parse_elf(whole, "sched");
  ASSERT_TRUE(reference);
  EXPECT_EQ(elf->segments.size(), reference->segments.size());
  EXPECT_EQ(elf->entry, reference->entry);
  // A head that stops inside the program headers: parse_elf says so, parse_program reads it all.
  ProgramFile cut = std::move(*file);
  cut.head.resize(100);
  EXPECT_FALSE(parse_elf(cut.head, "sched", cut.size));
  auto again = parse_program(cut, "sched");
  ASSERT_TRUE(again) << again.error().message();
  EXPECT_EQ(again->segments.size(), reference->segments.size());

  GuestSpec spec;
  spec.program_name = "sched";
  auto fresh = open_file();
  ASSERT_TRUE(fresh);
  spec.elf = *parse_program(*fresh, "sched");
  spec.elf_bytes = fresh->head;
  spec.elf_file = std::move(fresh->fd);
  spec.argv = {"/sched"};
  spec.memory_bytes = 64 << 20;
  spec.backing = GuestMemory::Backing::memfd;
  auto g = prepare_guest(spec);
  ASSERT_TRUE(g) << g.error().message();
  for (const auto& seg : reference->segments) {
    std::vector<std::uint8_t> got(seg.file_size);
    ASSERT_TRUE(g->space->read(seg.vaddr + g->load_bias, got));
    EXPECT_EQ(std::memcmp(got.data(), whole.data() + seg.file_offset, got.size()), 0)
        << std::hex << seg.vaddr;
  }

  // Truncated after the parse: the load stops at the end of the file with an error.
  auto shrinking = open_file();
  ASSERT_TRUE(shrinking);
  spec.elf = *parse_program(*shrinking, "sched");
  spec.elf_bytes = shrinking->head;
  spec.elf_file = std::move(shrinking->fd);
  fs::resize_file(path, whole.size() / 2);
  auto short_guest = prepare_guest(spec);
  ASSERT_FALSE(short_guest);
  EXPECT_NE(short_guest.error().message().find("could not be read"), std::string::npos)
      << short_guest.error().message();
}

INSTANTIATE_TEST_SUITE_P(Platforms, KernelTasksTest, ::testing::Values("vm", "sandbox"),
                         [](const ::testing::TestParamInfo<std::string>& platform) {
                           return platform.param;
                         });

}  // namespace
}  // namespace spectrum::vm
