#include "core/run_result.h"

#include <csignal>
#include <nlohmann/json.hpp>

namespace spectrum {

std::string_view to_string(Outcome outcome) {
  switch (outcome) {
    case Outcome::exited:
      return "exited";
    case Outcome::signaled:
      return "signaled";
    case Outcome::timed_out:
      return "timed_out";
    case Outcome::out_of_memory:
      return "out_of_memory";
  }
  return "unknown";
}

int RunResult::shell_status() const {
  switch (outcome) {
    case Outcome::exited:
      return exit_code;
    case Outcome::signaled:
      return 128 + signal;
    case Outcome::timed_out:
      return 124;
    case Outcome::out_of_memory:
      return 128 + SIGKILL;
  }
  return 125;
}

void to_json(nlohmann::json& j, const RunResult& r) {
  auto seconds = [](std::chrono::nanoseconds ns) { return static_cast<double>(ns.count()) / 1e9; };
  j = nlohmann::json{
      {"tier", r.tier},
      {"outcome", to_string(r.outcome)},
      {"exit_code", r.outcome == Outcome::exited ? nlohmann::json(r.exit_code) : nlohmann::json(nullptr)},
      {"signal", r.signal != 0 ? nlohmann::json(r.signal) : nlohmann::json(nullptr)},
      {"status", r.shell_status()},
      {"wall_seconds", seconds(r.wall_time)},
      {"user_cpu_seconds", seconds(r.user_cpu)},
      {"system_cpu_seconds", seconds(r.system_cpu)},
      {"peak_memory_bytes", r.peak_memory_bytes},
      {"startup_seconds",
       r.startup_time ? nlohmann::json(seconds(*r.startup_time)) : nlohmann::json(nullptr)},
  };
  if (!r.detail.empty()) j["detail"] = r.detail;
  if (!r.engine.empty()) j["engine"] = r.engine;
  if (!r.counters.empty()) {
    nlohmann::json counters = nlohmann::json::object();
    for (const auto& [name, value] : r.counters) counters[name] = value;
    j["counters"] = counters;
  }
  if (!r.captured_stdout.empty()) j["stdout"] = r.captured_stdout;
  if (!r.captured_stderr.empty()) j["stderr"] = r.captured_stderr;
  if (r.stdout_truncated) j["stdout_truncated"] = true;
  if (r.stderr_truncated) j["stderr_truncated"] = true;
}

}  // namespace spectrum
