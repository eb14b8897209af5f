// `spectrum bench`: the same workload in several tiers, run interleaved round by round, each run a
// fresh `spectrum run --tier T --json` child process; then the isolation probe in each tier.
// This header is the data model shared by the runner, the renderers and `spectrum advise --from`.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "bench/stats.h"
#include "core/error.h"

namespace spectrum::bench {

// One tier as the registry (cli/tiers.cc) and its probe see it before anything runs.
struct TierAvailability {
  std::string name;
  bool usable = false;
  std::string reason;  // why not usable
};

struct Options {
  std::vector<TierAvailability> tiers;  // in the order to run and show
  int runs = 5;
  int warmup = 1;
  std::string program;  // the host program (native)
  std::vector<std::string> args;
  std::string rootfs;            // container and vm: their root filesystem
  std::string guest_program;     // container and vm: the program inside rootfs (default /BASENAME)
  std::string wasm;              // wasm: the module (default: found next to program)
  std::string timeout = "120s";  // per run, passed to spectrum run
  std::string spectrum;          // the spectrum binary the runs start
  std::string probe_dir;         // where spectrum-probe and spectrum-probe.wasm are (empty: no probe)
};

// One run of one tier, measured from outside (wall, CPU, peak) and as the tier reported it.
struct RunSample {
  double wall_seconds = 0;                // spawn of `spectrum run` to its exit: everything the tier needed
  double cpu_seconds = 0;                 // user+system of spectrum and every process it waited for
  std::optional<double> startup_seconds;  // the tier's start until the workload's first instruction
  double peak_memory_bytes = 0;           // see docs/choosing.md "What is measured"
  int status = 0;                         // the workload's shell status
  std::string output_hash;                // FNV-1a 64 of the workload's stdout, hex
};

// What the probe could reach from inside a tier. Each verdict is drawn by the bench from the
// probe's report compared with the host (see isolation.cc); nothing here is assumed per tier.
struct Isolation {
  bool measured = false;
  std::string error;  // why not measured
  bool shares_kernel = false;
  bool sees_host_processes = false;
  int processes_visible = 0;
  bool reads_host_files = false;
  bool reaches_host_network = false;
  bool host_hostname = false;
  int syscalls_made = 0, syscalls_total = 0;
  std::vector<std::string> syscalls_allowed;
  bool writes_outside = false;
  // Boundaries held out of the six yes/no checks (kernel, processes, files, network, hostname,
  // write): the single number the report charts and advise weighs.
  int boundaries_held() const;
};

struct Metric {
  Summary summary;
  std::optional<double> ratio_to_native;  // median / native's median
};

struct TierReport {
  enum class State { ok, failed, unavailable };
  std::string tier;
  State state = State::unavailable;
  std::string reason;  // failed or unavailable: the one-line why
  std::vector<RunSample> runs;
  std::optional<Metric> wall, cpu, startup, peak_memory;
  std::string output_hash;
  std::string output_line;  // the output's last line, for the reader
  Isolation isolation;
  // Where the tier has more than one way to execute (wasm: interpreted or compiled): the way its runs
  // took, as their records say; how long the one compile before the runs took; or why there was none.
  std::string engine;
  std::optional<double> compile_seconds;
  std::string engine_note;
  std::string engine_text() const;  // "" or e.g. "compiled (compiled once before the runs: 1.20 s)"
};

struct Report {
  std::string program;
  std::vector<std::string> args;
  int runs = 0, warmup = 0;
  std::string host_kernel, host_name;
  std::vector<TierReport> tiers;
  std::vector<std::string> errors;  // outputs that differ, tiers that failed
  bool ok() const { return errors.empty(); }
};

std::string_view to_string(TierReport::State state);

// Called before each run and probe: what is starting, and how far along the whole bench is.
using Progress = std::function<void(int done, int total, const std::string& what)>;

// Runs the bench. An Error is a bad request (no program, a wasm module not found); a tier that
// fails is a row of the report, never an Error.
Result<Report> run_bench(const Options& options, const Progress& progress);

}  // namespace spectrum::bench
