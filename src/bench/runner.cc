// The bench's loop: every requested tier, run after run, interleaved round by round (A B C A B C)
// so that a noisy machine hits each tier alike; each run is a fresh `spectrum run` child.
#include <sys/stat.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <nlohmann/json.hpp>

#include "bench/bench.h"
#include "bench/child.h"
#include "bench/files.h"
#include "bench/isolation.h"

namespace spectrum::bench {
namespace {

std::string last_line(std::string text) {
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.pop_back();
  std::size_t newline = text.rfind('\n');
  return newline == std::string::npos ? text : text.substr(newline + 1);
}

// "spectrum: error: X" -> "X": the row shows the reason, not who printed it.
std::string one_line_error(const std::string& stderr_text, int status) {
  std::string line = last_line(stderr_text);
  for (const char* prefix : {"spectrum: error: ", "spectrum: "})
    if (line.starts_with(prefix)) line = line.substr(std::string_view(prefix).size());
  if (line.empty()) line = "spectrum run exited with status " + std::to_string(status) + " and no message";
  return line;
}

// The program as each tier takes it (native: the host path; container, vm: inside the rootfs;
// wasm: the module), or the reason this tier cannot be given the workload.
struct TierWorkload {
  std::vector<std::string> flags;  // --rootfs ...
  std::string program;
  std::string missing;
};

TierWorkload workload_for(const std::string& tier, const Options& options) {
  TierWorkload w;
  if (tier == "wasm") {
    w.program = options.wasm;
    if (w.program.empty()) w.missing = "no wasm32-wasi build of the program (give --wasm FILE)";
    return w;
  }
  if (tier == "native") {
    w.program = options.program;
    return w;
  }
  // Every other tier runs the program from its own root filesystem.
  if (options.rootfs.empty()) {
    w.missing = "needs a root filesystem holding the program (give --rootfs DIR)";
    return w;
  }
  w.flags = {"--rootfs", options.rootfs};
  w.program = options.guest_program.empty() ? "/" + base_name(options.program) : options.guest_program;
  return w;
}

// Peak memory of everything the tier needed. wasm and vm run the engine or the monitor, with the
// guest's memory, inside spectrum itself: its peak is the figure (the larger of wait4's and the
// tier's own account). native and container run the workload as a separate process: the
// workload's peak (the tier's account: its rusage or cgroup) plus spectrum's own, as sampled.
// A tier not known here gets the larger of the two, never less than what was seen.
double peak_of_everything(const std::string& tier, const ChildRun& child, double tier_reported) {
  if (tier == "native" || tier == "container") return tier_reported + child.own_peak_bytes;
  return std::max(child.max_rss_bytes, tier_reported);
}

struct Prepared {
  TierReport* report;
  TierWorkload workload;
};

// The wasm tier as a deployed module runs: `auto` runs compiled code when the module is in the
// cache, and a deployment compiles once. So the bench compiles the module once, into a cache of
// its own (unless SPECTRUM_WASM_CACHE names one), before any run, and reports how long that took.
// Where it cannot (no spectrum-llvm beside spectrum, a module the compiler refuses, the cache
// turned off), the runs interpret and the row says why. Sets SPECTRUM_WASM_CACHE for the runs.
void compile_for_wasm_runs(Prepared& tier, const Options& options, const std::string& dir) {
  const char* chosen = std::getenv("SPECTRUM_WASM_CACHE");
  if (chosen && std::string_view(chosen) == "off") {
    tier.report->engine_note = "not compiled: SPECTRUM_WASM_CACHE=off";
    return;
  }
  if (!chosen) {
    const std::string cache = dir + "/wasm-cache";
    if (::mkdir(cache.c_str(), 0700) != 0) {
      tier.report->engine_note = "not compiled: cannot make a cache in " + dir;
      return;
    }
    ::setenv("SPECTRUM_WASM_CACHE", cache.c_str(), 1);
  }
  const std::string log = dir + "/wasm-compile.log";
  Result<ChildRun> child =
      run_child({options.spectrum, "wasm", "compile", tier.workload.program}, dir + "/wasm-compile.out", log);
  if (!child) {
    tier.report->engine_note = "not compiled: " + child.error().message();
  } else if (child->status != 0) {
    tier.report->engine_note = "not compiled: " + one_line_error(read_text(log).value_or(""), child->status);
  } else {
    tier.report->compile_seconds = child->wall_seconds;
  }
}

void record_run(Prepared& tier, const Options& options, const std::string& dir, int run_index,
                bool measured) {
  const std::string stem = dir + "/" + tier.report->tier + "-" + std::to_string(run_index);
  std::vector<std::string> argv = {options.spectrum,
                                   "run",
                                   "--tier",
                                   tier.report->tier,
                                   "--json",
                                   "--stdout",
                                   "file:" + stem + ".out",
                                   "--stderr",
                                   "file:" + stem + ".err",
                                   "--timeout",
                                   options.timeout};
  argv.insert(argv.end(), tier.workload.flags.begin(), tier.workload.flags.end());
  argv.push_back("--");
  argv.push_back(tier.workload.program);
  argv.insert(argv.end(), options.args.begin(), options.args.end());

  auto fail_tier = [&](std::string why) {
    tier.report->state = TierReport::State::failed;
    tier.report->reason = std::move(why);
  };
  Result<ChildRun> child = run_child(argv, stem + ".json", stem + ".log");
  if (!child) return fail_tier(child.error().message());
  std::string record_text = read_text(stem + ".json").value_or("");
  nlohmann::json record = nlohmann::json::parse(record_text, nullptr, false);
  if (record.is_discarded() || !record.is_object())
    return fail_tier(one_line_error(read_text(stem + ".log").value_or(""), child->status));
  RunSample sample;
  sample.wall_seconds = child->wall_seconds;
  sample.cpu_seconds = child->cpu_seconds;
  sample.status = record.value("status", child->status);
  if (record.contains("startup_seconds") && record["startup_seconds"].is_number())
    sample.startup_seconds = record["startup_seconds"].get<double>();
  sample.peak_memory_bytes =
      peak_of_everything(tier.report->tier, *child, record.value("peak_memory_bytes", 0.0));
  std::string output = read_text(stem + ".out").value_or("");
  sample.output_hash = fnv1a_hex(output);
  if (record.value("outcome", std::string("exited")) != "exited") {
    std::string why = "the workload " + record.value("outcome", std::string()) + " (status " +
                      std::to_string(sample.status) + ")";
    if (record.contains("detail")) why += ": " + record["detail"].get<std::string>();
    return fail_tier(why);
  }
  if (tier.report->output_line.empty()) tier.report->output_line = last_line(output);
  if (record.contains("engine") && record["engine"].is_string()) tier.report->engine = record["engine"];
  if (!measured) return;
  if (tier.report->output_hash.empty()) tier.report->output_hash = sample.output_hash;
  tier.report->runs.push_back(std::move(sample));
}

std::optional<Metric> metric(const TierReport& tier, const TierReport* native,
                             std::optional<double> (*pick)(const RunSample&)) {
  auto values_of = [&](const TierReport& t) {
    std::vector<double> values;
    for (const RunSample& run : t.runs)
      if (auto v = pick(run)) values.push_back(*v);
    return values;
  };
  std::vector<double> values = values_of(tier);
  std::optional<Summary> summary = summarize(values);
  if (!summary) return std::nullopt;
  Metric m{*summary, std::nullopt};
  if (native && native->state == TierReport::State::ok) {
    std::vector<double> base = values_of(*native);
    if (auto base_summary = summarize(base)) m.ratio_to_native = ratio(summary->median, base_summary->median);
  }
  return m;
}

// Outputs and statuses must agree across tiers: a tier that computes something else is an error,
// never averaged in. The reference is the first tier that ran (native when requested).
void compare_outputs(Report& report) {
  const TierReport* reference = nullptr;
  for (TierReport& tier : report.tiers) {
    if (tier.state != TierReport::State::ok || tier.runs.empty()) continue;
    for (const RunSample& run : tier.runs) {
      if (run.output_hash != tier.runs.front().output_hash || run.status != tier.runs.front().status) {
        tier.state = TierReport::State::failed;
        tier.reason = "its runs disagree with each other (output or exit status changed between runs)";
        break;
      }
    }
    if (tier.state != TierReport::State::ok) continue;
    if (!reference) {
      reference = &tier;
      continue;
    }
    const RunSample& mine = tier.runs.front();
    const RunSample& theirs = reference->runs.front();
    if (mine.output_hash != theirs.output_hash || mine.status != theirs.status) {
      tier.state = TierReport::State::failed;
      tier.reason = "output differs from " + reference->tier + "'s (hash " + mine.output_hash + " status " +
                    std::to_string(mine.status) + " vs " + theirs.output_hash + " status " +
                    std::to_string(theirs.status) + ")";
    }
  }
}

}  // namespace

std::string TierReport::engine_text() const {
  std::string text = engine;
  if (compile_seconds) {
    char seconds[32];
    std::snprintf(seconds, sizeof seconds, "%.2f s", *compile_seconds);
    text += std::string(text.empty() ? "" : " ") + "(compiled once before the runs: " + seconds + ")";
  }
  if (!engine_note.empty()) text += std::string(text.empty() ? "" : " ") + "(" + engine_note + ")";
  return text;
}

std::string_view to_string(TierReport::State state) {
  switch (state) {
    case TierReport::State::ok:
      return "ok";
    case TierReport::State::failed:
      return "failed";
    case TierReport::State::unavailable:
      return "unavailable";
  }
  return "unknown";
}

Result<Report> run_bench(const Options& options, const Progress& progress) {
  if (options.program.empty())
    return fail("bench: no program given (spectrum bench [OPTIONS] -- PROGRAM [ARGS...])");
  if (options.runs < 1) return fail("bench: --runs must be at least 1");
  if (options.warmup < 0) return fail("bench: --warmup must not be negative");
  Report report;
  report.program = options.program;
  report.args = options.args;
  report.runs = options.runs;
  report.warmup = options.warmup;
  utsname host{};
  if (::uname(&host) == 0) {
    report.host_kernel = std::string(host.sysname) + " " + host.release;
    report.host_name = host.nodename;
  }

  std::vector<Prepared> active;
  report.tiers.reserve(options.tiers.size());
  for (const TierAvailability& tier : options.tiers) {
    TierReport& row = report.tiers.emplace_back();
    row.tier = tier.name;
    if (!tier.usable) {
      row.state = TierReport::State::unavailable;
      row.reason = tier.reason;
      continue;
    }
    TierWorkload workload = workload_for(tier.name, options);
    if (!workload.missing.empty()) {
      row.state = TierReport::State::unavailable;
      row.reason = workload.missing;
      continue;
    }
    row.state = TierReport::State::ok;
    active.push_back({&row, std::move(workload)});
  }

  TempDir dir = SPECTRUM_TRY(TempDir::make("spectrum-bench-"));
  const int rounds = options.warmup + options.runs;
  const int total = rounds * static_cast<int>(active.size()) + static_cast<int>(active.size());
  int done = 0;
  for (Prepared& tier : active) {
    if (tier.report->tier != "wasm") continue;
    if (progress) progress(done, total, "wasm: compiling the module once");
    compile_for_wasm_runs(tier, options, dir.path());
  }
  for (int round = 0; round < rounds; ++round) {
    const bool measured = round >= options.warmup;
    for (Prepared& tier : active) {
      ++done;
      if (stop_requested()) return fail("bench: interrupted");
      if (tier.report->state != TierReport::State::ok) continue;  // a failed tier runs no more
      if (progress)
        progress(done, total,
                 tier.report->tier + (measured ? " run " + std::to_string(round - options.warmup + 1)
                                               : std::string(" warm-up")));
      record_run(tier, options, dir.path(), round, measured);
    }
  }
  compare_outputs(report);

  // The isolation probe, once per tier that ran.
  for (Prepared& tier : active) {
    ++done;
    if (stop_requested()) return fail("bench: interrupted");
    if (progress) progress(done, total, tier.report->tier + " isolation probe");
    tier.report->isolation = probe_isolation(tier.report->tier, options, dir.path());
  }
  if (progress) progress(total, total, "done");

  const TierReport* native = nullptr;
  for (const TierReport& tier : report.tiers)
    if (tier.tier == "native") native = &tier;
  for (TierReport& tier : report.tiers) {
    if (tier.state != TierReport::State::ok) {
      if (tier.state == TierReport::State::failed)
        report.errors.push_back(tier.tier + " failed: " + tier.reason);
      continue;
    }
    tier.wall =
        metric(tier, native, [](const RunSample& r) -> std::optional<double> { return r.wall_seconds; });
    tier.cpu =
        metric(tier, native, [](const RunSample& r) -> std::optional<double> { return r.cpu_seconds; });
    tier.startup = metric(tier, native, [](const RunSample& r) { return r.startup_seconds; });
    tier.peak_memory =
        metric(tier, native, [](const RunSample& r) -> std::optional<double> { return r.peak_memory_bytes; });
  }
  return report;
}

}  // namespace spectrum::bench
