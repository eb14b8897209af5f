// The outcome of one run, the same record for every tier.
#pragma once

#include <chrono>
#include <cstdint>
#include <nlohmann/json_fwd.hpp>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace spectrum {

enum class Outcome { exited, signaled, timed_out, out_of_memory };

std::string_view to_string(Outcome outcome);

struct RunResult {
  std::string tier;
  Outcome outcome = Outcome::exited;
  int exit_code = 0;  // valid when outcome == exited
  int signal = 0;     // the terminating signal when signaled, timed_out or out_of_memory (if known)

  std::chrono::nanoseconds wall_time{0};
  std::chrono::nanoseconds user_cpu{0};
  std::chrono::nanoseconds system_cpu{0};
  std::uint64_t peak_memory_bytes = 0;
  // Time from the tier's start until the workload's first instruction, where the tier can tell.
  std::optional<std::chrono::nanoseconds> startup_time;

  std::string captured_stdout;  // with Stdio::Mode::capture
  std::string captured_stderr;
  bool stdout_truncated = false;  // the capture stopped at kCaptureLimitBytes (core/stdio.h)
  bool stderr_truncated = false;
  std::string detail;  // e.g. trap message of the wasm tier, guest fault address of the vm tier
  // Per-run counters of the tier (e.g. the vm tier's syscalls, exits, guest memory touched): in
  // --json under "counters" and on stderr only with --verbose, never mixed with the workload's output.
  std::vector<std::pair<std::string, std::uint64_t>> counters;
  // How the tier executed the workload where it has a choice (the wasm tier: "interpreted",
  // "compiled", or "interpreted, then compiled" after a tier-up); in --json as "engine". Empty
  // elsewhere.
  std::string engine;

  // The status a shell would report: exit code, or 128+signal. A timeout reports 124 like
  // coreutils timeout unless the workload died of the signal first; OOM reports 137.
  int shell_status() const;
};

void to_json(nlohmann::json& j, const RunResult& result);

}  // namespace spectrum
