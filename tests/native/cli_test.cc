// The real binary: exit codes, one-line errors, JSON, signals to spectrum itself.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <csignal>
#include <nlohmann/json.hpp>
#include <thread>

#include "core/process.h"
#include "test_util.h"

using namespace spectrum;

namespace {

struct Output {
  int status = -1;
  std::string out, err;
};

Output spectrum_cli(std::vector<std::string> args) {
  args.insert(args.begin(), SPECTRUM_BINARY);
  int out_pipe[2], err_pipe[2];
  EXPECT_EQ(::pipe2(out_pipe, O_CLOEXEC), 0);
  EXPECT_EQ(::pipe2(err_pipe, O_CLOEXEC), 0);
  UniqueFd out_read(out_pipe[0]), out_write(out_pipe[1]), err_read(err_pipe[0]), err_write(err_pipe[1]);
  SpawnRequest request;
  request.executable = SPECTRUM_BINARY;
  request.argv = args;
  request.env = make_environment(true, {});
  request.stdout_fd = out_write.get();
  request.stderr_fd = err_write.get();
  auto child = spawn(request);
  EXPECT_TRUE(child);
  out_write.reset();
  err_write.reset();
  Output output;
  std::thread err_reader([&] { output.err = read_all(err_read.get()).value_or(""); });
  output.out = read_all(out_read.get()).value_or("");
  err_reader.join();
  auto status = reap(*child);
  output.status = status->signaled ? 128 + status->code : status->code;
  return output;
}

void expect_one_line_error(const Output& o, int status, const std::string& needle) {
  EXPECT_EQ(o.status, status) << o.err;
  EXPECT_EQ(std::count(o.err.begin(), o.err.end(), '\n'), 1) << o.err;
  EXPECT_TRUE(o.err.starts_with("spectrum: error: ")) << o.err;
  EXPECT_NE(o.err.find(needle), std::string::npos) << o.err;
}

}  // namespace

TEST(Cli, ExitStatusPropagatesLikeAShell) {
  EXPECT_EQ(spectrum_cli({"run", "--tier", "native", "--", "/bin/sh", "-c", "exit 7"}).status, 7);
  EXPECT_EQ(spectrum_cli({"run", "--tier", "native", "--", "/bin/sh", "-c", "kill -TERM $$"}).status, 143);
  Output echo = spectrum_cli({"run", "--tier", "native", "--", "echo", "a b"});
  EXPECT_EQ(echo.status, 0);
  EXPECT_EQ(echo.out, "a b\n");
}

TEST(Cli, ErrorsAreOneLineWithDocumentedCodes) {
  expect_one_line_error(spectrum_cli({"run", "--tier", "native", "--bogus", "--", "true"}), 125, "--bogus");
  expect_one_line_error(spectrum_cli({"run", "--tier", "quantum", "--", "true"}), 125, "'quantum'");
  expect_one_line_error(spectrum_cli({"run", "--tier", "native", "--memory", "12Q", "--", "true"}), 125,
                        "'12Q'");
  expect_one_line_error(spectrum_cli({"run", "--tier", "native", "--timeout", "soon", "--", "true"}), 125,
                        "'soon'");
  expect_one_line_error(spectrum_cli({"run", "--tier", "native", "--cpus", "-1", "--", "true"}), 125, "'-1'");
  expect_one_line_error(spectrum_cli({"run", "--tier", "native", "--", "no-such-program-xyz"}), 127,
                        "no-such-program-xyz");
  expect_one_line_error(spectrum_cli({"run", "--tier", "native", "--", "/etc/passwd"}), 126, "/etc/passwd");
  expect_one_line_error(spectrum_cli({"frobnicate"}), 125, "'frobnicate'");
  expect_one_line_error(spectrum_cli({"run", "--tier", "native", "--memory"}), 125,
                        "'--memory' needs a value");
  expect_one_line_error(spectrum_cli({"run", "--tier", "native", "-m"}), 125, "'-m' needs a value");
  expect_one_line_error(spectrum_cli({"run", "--tier", "native", "--bogus=1", "--", "true"}), 125,
                        "'--bogus'");
  expect_one_line_error(spectrum_cli({"run", "--tier", "native"}), 125, "no program");
  // Without --tier, `run` is still Spectrum's own for a person at a terminal (runc's needs --bundle
  // or runc's global flags): a bad flag or a missing tier is a one-line error naming --tier, not runc's.
  expect_one_line_error(spectrum_cli({"run", "--no-such-flag", "--", "/bin/true"}), 125, "--no-such-flag");
  expect_one_line_error(spectrum_cli({"run", "--", "/bin/true"}), 125, "--tier is required");
  expect_one_line_error(spectrum_cli({"run", "-m", "64M", "/bin/true"}), 125, "--tier is required");
}

TEST(Cli, OptionsInEveryForm) {
  Output o = spectrum_cli({"run", "--tier=native", "-e", "A=1", "--env=B=2", "-w", "/tmp", "--", "/bin/sh",
                           "-c", "echo $A$B $(pwd)"});
  EXPECT_EQ(o.status, 0);
  EXPECT_EQ(o.out, "12 /tmp\n");
  // Options after the program are the program's own.
  Output after = spectrum_cli({"run", "--tier", "native", "/bin/echo", "--json", "-e"});
  EXPECT_EQ(after.out, "--json -e\n");
  Output help = spectrum_cli({"run", "--help"});
  EXPECT_EQ(help.status, 0);
  EXPECT_NE(help.out.find("--tier TIER"), std::string::npos);
}

TEST(Cli, JsonRecord) {
  Output o =
      spectrum_cli({"run", "--tier", "native", "--json", "--memory", "64M", "--", "/bin/sh", "-c", "exit 3"});
  EXPECT_EQ(o.status, 3);
  auto record = nlohmann::json::parse(o.out);
  EXPECT_EQ(record["tier"], "native");
  EXPECT_EQ(record["outcome"], "exited");
  EXPECT_EQ(record["exit_code"], 3);
  EXPECT_GT(record["peak_memory_bytes"].get<std::uint64_t>(), 0u);
  EXPECT_GT(record["wall_seconds"].get<double>(), 0.0);
}

TEST(Cli, TimeoutReports124) {
  Output o = spectrum_cli({"run", "--tier", "native", "--timeout", "200ms", "--", "sleep", "30"});
  EXPECT_EQ(o.status, 124);
  EXPECT_NE(o.err.find("timed out"), std::string::npos);
}

TEST(Cli, InfoListsEveryTier) {
  Output o = spectrum_cli({"info", "--json"});
  ASSERT_EQ(o.status, 0);
  auto tiers = nlohmann::json::parse(o.out);
  ASSERT_EQ(tiers.size(), 5u);
  std::vector<std::string> names;
  for (const auto& tier : tiers) names.push_back(tier["tier"].get<std::string>());
  EXPECT_EQ(names, (std::vector<std::string>{"native", "wasm", "container", "sandbox", "vm"}));
  EXPECT_EQ(tiers[0]["tier"], "native");
  EXPECT_TRUE(tiers[0]["usable"].get<bool>());
  EXPECT_TRUE(tiers[0]["facts"].contains("cgroup"));
}

// SIGTERM to spectrum reaches the workload; the cgroup and processes are gone afterwards.
TEST(Cli, SigtermToSpectrumCleansUp) {
  const std::string marker = "654321.5";
  SpawnRequest request;
  request.executable = SPECTRUM_BINARY;
  request.argv = {SPECTRUM_BINARY, "run", "--tier", "native", "--memory",
                  "64M",           "--",  "sh",     "-c",     "sleep " + marker + " & sleep " + marker};
  request.env = make_environment(true, {});
  auto child = spawn(request);
  ASSERT_TRUE(child);
  for (int i = 0; i < 500 && test_support::processes_with("sleep " + marker).size() < 2; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  const pid_t spectrum_pid = child->pid;
  ASSERT_EQ(::kill(spectrum_pid, SIGTERM), 0);
  auto status = reap(*child);
  ASSERT_TRUE(status);
  EXPECT_FALSE(status->signaled);
  EXPECT_EQ(status->code, 128 + SIGTERM);
  EXPECT_TRUE(test_support::processes_with("sleep " + marker).empty());
  EXPECT_TRUE(test_support::spectrum_cgroups(spectrum_pid).empty());
}

// A spectrum killed outright (SIGKILL) cannot clean up; the next run with limits does.
TEST(Cli, LeftoversOfAKilledSpectrumAreCollected) {
  const std::string marker = "543210.5";
  SpawnRequest request;
  request.executable = SPECTRUM_BINARY;
  request.argv = {SPECTRUM_BINARY, "run", "--tier", "native", "--memory",
                  "64M",           "--",  "sh",     "-c",     "sleep " + marker + " & sleep " + marker};
  request.env = make_environment(true, {});
  request.die_with_parent = false;
  auto child = spawn(request);
  ASSERT_TRUE(child);
  for (int i = 0; i < 500 && test_support::processes_with("sleep " + marker).size() < 2; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  const pid_t spectrum_pid = child->pid;
  ASSERT_EQ(::kill(spectrum_pid, SIGKILL), 0);
  ASSERT_TRUE(reap(*child));
  EXPECT_FALSE(test_support::spectrum_cgroups(spectrum_pid).empty());
  EXPECT_EQ(spectrum_cli({"run", "--tier", "native", "--memory", "64M", "--", "true"}).status, 0);
  EXPECT_TRUE(test_support::spectrum_cgroups(spectrum_pid).empty());
  for (int i = 0; i < 200 && !test_support::processes_with("sleep " + marker).empty(); ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  EXPECT_TRUE(test_support::processes_with("sleep " + marker).empty());
}
