#include "core/run_result.h"

#include <gtest/gtest.h>

#include <csignal>
#include <nlohmann/json.hpp>

using namespace spectrum;

TEST(RunResult, ShellStatusLikeAShell) {
  RunResult r;
  r.exit_code = 3;
  EXPECT_EQ(r.shell_status(), 3);
  r.outcome = Outcome::signaled;
  r.signal = SIGSEGV;
  EXPECT_EQ(r.shell_status(), 139);
  r.outcome = Outcome::timed_out;
  EXPECT_EQ(r.shell_status(), 124);
  r.outcome = Outcome::out_of_memory;
  EXPECT_EQ(r.shell_status(), 137);
}

TEST(RunResult, JsonRecord) {
  RunResult r;
  r.tier = "native";
  r.exit_code = 42;
  r.wall_time = std::chrono::milliseconds(1500);
  r.peak_memory_bytes = 4096;
  nlohmann::json j = r;
  EXPECT_EQ(j["tier"], "native");
  EXPECT_EQ(j["outcome"], "exited");
  EXPECT_EQ(j["exit_code"], 42);
  EXPECT_EQ(j["status"], 42);
  EXPECT_TRUE(j["signal"].is_null());
  EXPECT_DOUBLE_EQ(j["wall_seconds"].get<double>(), 1.5);
  EXPECT_EQ(j["peak_memory_bytes"], 4096);
  EXPECT_TRUE(j["startup_seconds"].is_null());
}
