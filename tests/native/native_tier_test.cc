#include <gtest/gtest.h>
#include <sys/resource.h>

#include <csignal>
#include <sstream>

#include "core/supervisor.h"
#include "core/tier.h"
#include "test_util.h"

using namespace spectrum;
using namespace std::chrono_literals;

namespace {

Workload shell(const std::string& script) {
  Workload w;
  w.program = "/bin/sh";
  w.args = {"-c", script};
  w.stdout_stream = Stdio::captured();
  w.stderr_stream = Stdio::captured();
  return w;
}

RunResult run_ok(const Workload& w) {
  auto tier = make_native_tier();
  auto result = tier->run(w);
  EXPECT_TRUE(result) << (result ? "" : result.error().message());
  EXPECT_TRUE(test_support::spectrum_cgroups().empty()) << "a cgroup was left behind";
  return result ? *result : RunResult{};
}

}  // namespace

TEST(NativeTier, ExitCodeAndOutput) {
  RunResult r = run_ok(shell("echo out; echo err >&2; exit 42"));
  EXPECT_EQ(r.outcome, Outcome::exited);
  EXPECT_EQ(r.exit_code, 42);
  EXPECT_EQ(r.captured_stdout, "out\n");
  EXPECT_EQ(r.captured_stderr, "err\n");
  EXPECT_EQ(r.tier, "native");
  EXPECT_GT(r.wall_time.count(), 0);
  EXPECT_TRUE(r.startup_time.has_value());
}

TEST(NativeTier, SignalIsReported) {
  RunResult r = run_ok(shell("kill -SEGV $$"));
  EXPECT_EQ(r.outcome, Outcome::signaled);
  EXPECT_EQ(r.signal, SIGSEGV);
  EXPECT_EQ(r.shell_status(), 128 + SIGSEGV);
}

TEST(NativeTier, EnvironmentAndWorkdir) {
  Workload w = shell("echo $SPECTRUM_TEST_VAR; pwd");
  w.env = {"SPECTRUM_TEST_VAR=hello"};
  w.workdir = "/tmp";
  RunResult r = run_ok(w);
  EXPECT_EQ(r.captured_stdout, "hello\n/tmp\n");
  w.inherit_env = false;
  w.env = {"ONLY=1"};
  w.args = {"-c", "env | grep -v '^PWD=' | grep -v '^SHLVL=' | grep -v '^_='"};
  EXPECT_EQ(run_ok(w).captured_stdout, "ONLY=1\n");
}

TEST(NativeTier, TimeoutKillsTheWholeTree) {
  const std::string marker = "987654.321";
  Workload w = shell("sleep " + marker + " & sleep " + marker + " & sleep " + marker);
  w.limits.timeout = 300ms;
  RunResult r = run_ok(w);
  EXPECT_EQ(r.outcome, Outcome::timed_out);
  EXPECT_EQ(r.shell_status(), 124);
  EXPECT_LT(r.wall_time, 5s);
  EXPECT_TRUE(test_support::processes_with("sleep " + marker).empty());
}

TEST(NativeTier, OrphansAreEndedWithTheMainProcess) {
  const std::string marker = "876543.21";
  RunResult r = run_ok(shell("(setsid sleep " + marker + " &) ; exit 0"));
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_TRUE(test_support::processes_with("sleep " + marker).empty());
}

TEST(NativeTier, MemoryLimitIsEnforcedAndReportedAsOom) {
  // Touch 256 MiB under a 32 MiB limit.
  Workload w = shell("x=$(head -c 268435456 /dev/zero | tr '\\0' 'x'); echo survived");
  w.limits.memory_bytes = 32 << 20;
  RunResult r = run_ok(w);
  EXPECT_NE(r.captured_stdout, "survived\n");
  // The shell itself holds the string: the kernel kills it.
  EXPECT_EQ(r.outcome, Outcome::out_of_memory) << to_string(r.outcome) << " " << r.detail;
  EXPECT_LE(r.peak_memory_bytes, 33u << 20);
  EXPECT_GT(r.peak_memory_bytes, 16u << 20);
}

TEST(NativeTier, PidsLimitStopsAForkBomb) {
  const std::string marker = "765432.1";
  // Tries to start 40 background processes under a limit of 8; prints the count after each
  // successful fork (echo is a builtin, it needs no fork). dash gives up at the first failed fork.
  Workload w = shell("n=0; while [ $n -lt 40 ]; do sleep " + marker + " & n=$((n+1)); echo $n; done");
  w.limits.max_pids = 8;
  w.limits.timeout = 20s;
  RunResult r = run_ok(w);
  int children = 0;
  std::istringstream lines(r.captured_stdout);
  for (std::string line; std::getline(lines, line);) children = std::atoi(line.c_str());
  EXPECT_GT(children, 0) << r.captured_stdout;
  EXPECT_LE(children, 7) << r.captured_stdout;  // the shell itself is the 8th
  EXPECT_NE(r.captured_stderr.find("fork"), std::string::npos) << r.captured_stderr;
  EXPECT_TRUE(test_support::processes_with("sleep " + marker).empty());
}

TEST(NativeTier, CpusetPinsTheWorkload) {
  Workload w = shell("grep Cpus_allowed_list /proc/self/status");
  w.limits.cpuset = "0";
  RunResult r = run_ok(w);
  EXPECT_EQ(r.captured_stdout, "Cpus_allowed_list:\t0\n");
}

TEST(NativeTier, CpuQuotaIsApplied) {
  // Reads the quota of its own cgroup, v1 (cpu.cfs_quota_us) or v2 (cpu.max).
  Workload w = shell(
      "while IFS=: read -r id ctl path; do "
      "  case \",$ctl,\" in *,cpu,*) for m in /sys/fs/cgroup/cpu /sys/fs/cgroup/cpu,cpuacct; do "
      "    [ -f $m$path/cpu.cfs_quota_us ] && cat $m$path/cpu.cfs_quota_us; done;; "
      "  ,,) [ -f /sys/fs/cgroup$path/cpu.max ] && cut -d' ' -f1 /sys/fs/cgroup$path/cpu.max;; esac; "
      "done < /proc/self/cgroup");
  w.limits.cpus = 0.5;
  RunResult r = run_ok(w);
  EXPECT_EQ(r.captured_stdout, "50000\n");
}

TEST(NativeTier, MissingProgramIs127AndRootfsIsRefused) {
  auto tier = make_native_tier();
  Workload w;
  w.program = "no-such-program-spectrum";
  auto r = tier->run(w);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().exit_status(), 127);
  w.program = "/bin/true";
  w.rootfs = "/tmp";
  auto refused = tier->run(w);
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().exit_status(), 125);
  EXPECT_NE(refused.error().message().find("--rootfs"), std::string::npos);
}

TEST(NativeTier, CpuTimeIsAccounted) {
  RunResult r = run_ok(shell("i=0; while [ $i -lt 200000 ]; do i=$((i+1)); done"));
  EXPECT_GT((r.user_cpu + r.system_cpu).count(), 0);
  EXPECT_GT(r.peak_memory_bytes, 0u);
}

// A workload that writes more than the capture holds cannot grow spectrum with it: the record keeps
// the limit's worth and says the rest was dropped (the review's 1 GiB case, scaled down).
TEST(NativeTier, CapturedOutputIsBoundedAndMarked) {
  RunResult r = run_ok(shell("head -c 100000000 /dev/zero; exit 5"));
  EXPECT_EQ(r.exit_code, 5);
  EXPECT_EQ(r.captured_stdout.size(), kCaptureLimitBytes);
  EXPECT_TRUE(r.stdout_truncated);
  EXPECT_FALSE(r.stderr_truncated);
  rusage self{};
  ::getrusage(RUSAGE_SELF, &self);
  EXPECT_LT(static_cast<std::uint64_t>(self.ru_maxrss) * 1024, 100'000'000u) << "the capture grew unbounded";
}
