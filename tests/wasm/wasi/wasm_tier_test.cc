// The wasm tier through its Tier interface (the CLI-level scenarios are in guest-test): the
// result record, errors for what the tier cannot do, and the probe.
#include <gtest/gtest.h>

#include <chrono>
#include <csignal>
#include <filesystem>
#include <fstream>

#include "core/tier.h"

namespace spectrum {
namespace {

const std::string kGuests = WASI_GUEST_DIR;  // compiled by the wasi_guests_build fixture

Workload guest(const std::string& name, std::vector<std::string> args = {}) {
  Workload workload;
  workload.program = kGuests + "/" + name + ".wasm";
  workload.args = std::move(args);
  workload.stdout_stream = Stdio::captured();
  workload.stderr_stream = Stdio::captured();
  return workload;
}

TEST(WasmTier, ProbeIsUsableAndNamesTheEngine) {
  TierProbe probe = make_wasm_tier()->probe();
  EXPECT_TRUE(probe.usable) << probe.reason;
  bool has_engine = false;
  for (const auto& [key, value] : probe.facts) has_engine |= key == "engine" && !value.empty();
  EXPECT_TRUE(has_engine);
}

TEST(WasmTier, ResultRecordOfASuccessfulRun) {
  Workload workload = guest("args_env", {"x"});
  workload.env = {"K=V"};
  auto result = make_wasm_tier()->run(workload);
  ASSERT_TRUE(result) << result.error().message();
  EXPECT_EQ(result->tier, "wasm");
  EXPECT_EQ(result->outcome, Outcome::exited);
  EXPECT_EQ(result->exit_code, 0);
  EXPECT_EQ(result->captured_stdout, "argc=2\narg[1]=x\nenv K=V\n");
  ASSERT_TRUE(result->startup_time.has_value());
  EXPECT_GT(result->startup_time->count(), 0);
  EXPECT_LE(*result->startup_time, result->wall_time);
  EXPECT_GT(result->peak_memory_bytes, 0u);
}

TEST(WasmTier, TrapIsASignalWithDetail) {
  auto result = make_wasm_tier()->run(guest("trap", {"divide"}));
  ASSERT_TRUE(result) << result.error().message();
  EXPECT_EQ(result->outcome, Outcome::signaled);
  EXPECT_EQ(result->signal, SIGFPE);
  EXPECT_NE(result->detail.find("divide by zero"), std::string::npos) << result->detail;
}

TEST(WasmTier, TimeoutInterruptsATightLoop) {
  Workload workload = guest("spin");
  workload.limits.timeout = std::chrono::milliseconds(200);
  auto result = make_wasm_tier()->run(workload);
  ASSERT_TRUE(result) << result.error().message();
  EXPECT_EQ(result->outcome, Outcome::timed_out);
  EXPECT_GE(result->wall_time, std::chrono::milliseconds(200));
  EXPECT_EQ(result->shell_status(), 124);
}

TEST(WasmTier, ErrorsForWhatItCannotRun) {
  auto missing = make_wasm_tier()->run(guest("no-such-guest"));
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().exit_status(), 127);

  Workload cpus = guest("args_env");
  cpus.limits.cpus = 0.5;
  auto refused = make_wasm_tier()->run(cpus);
  ASSERT_FALSE(refused);
  EXPECT_NE(refused.error().message().find("--cpus"), std::string::npos);

  Workload file_mount = guest("args_env");
  file_mount.mounts = {{kGuests + "/args_env.wasm", "/f", false}};
  auto not_dir = make_wasm_tier()->run(file_mount);
  ASSERT_FALSE(not_dir);
  EXPECT_NE(not_dir.error().message().find("directories"), std::string::npos);

  std::string garbage = std::filesystem::temp_directory_path() / "spectrum-not-wasm.wasm";
  std::ofstream(garbage) << "#!/bin/sh\necho not wasm\n";
  Workload not_wasm = guest("args_env");
  not_wasm.program = garbage;
  auto invalid = make_wasm_tier()->run(not_wasm);
  std::filesystem::remove(garbage);
  ASSERT_FALSE(invalid);
  EXPECT_EQ(invalid.error().exit_status(), 125);
}

}  // namespace
}  // namespace spectrum
