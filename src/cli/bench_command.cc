// `spectrum bench [--tiers LIST] [--runs N] [--warmup N] [--rootfs DIR] [--wasm FILE] [--json OUT]
// [--html OUT] -- PROGRAM ARGS`: the same workload in every tier, side by side (src/bench).
#include <getopt.h>
#include <unistd.h>

#include <climits>
#include <cstdio>
#include <cstdlib>
#include <nlohmann/json.hpp>
#include <string>

#include "bench/bench.h"
#include "bench/child.h"
#include "bench/files.h"
#include "bench/report.h"
#include "cli/availability.h"
#include "cli/commands.h"

namespace spectrum::cli {
namespace {

constexpr const char* kBenchHelp =
    "usage: spectrum bench [OPTIONS] -- PROGRAM [ARGS...]\n"
    "\n"
    "Run the same workload in every tier, interleaved round by round, each run a fresh instance;\n"
    "then the isolation probe in each. Prints the costs and the isolation matrix side by side.\n"
    "\n"
    "Options:\n"
    "  --tiers LIST        tiers to run, comma-separated (default: every tier of this build)\n"
    "  --runs N            measured runs per tier (default 5)\n"
    "  --warmup N          unmeasured runs per tier first (default 1)\n"
    "  --rootfs DIR        root filesystem for container and vm (holds the program, static)\n"
    "  --guest-program P   the program's path inside DIR (default /BASENAME of PROGRAM)\n"
    "  --wasm FILE         the wasm32-wasi build (default: PROGRAM.wasm or ../wasm/NAME.wasm)\n"
    "  --timeout D         wall-clock limit per run (default 120s)\n"
    "  --json OUT          write the report as JSON to OUT ('-': stdout, instead of the table)\n"
    "  --html OUT          write the report as one self-contained HTML page\n"
    "  -h, --help          this text\n"
    "\n"
    "Exit status: 0 when every available tier ran and the outputs agree; 1 when a tier failed or\n"
    "an output differs (the report shows which); 125 for a bad request.\n";

// The wasm32-wasi build next to a native one: NAME.wasm beside it, or ../wasm/NAME.wasm (the
// layout examples/build writes).
std::string find_wasm(const std::string& program) {
  for (const std::string& candidate : std::initializer_list<std::string>{
           program + ".wasm",
           bench::dir_name(bench::dir_name(program)) + "/wasm/" + bench::base_name(program) + ".wasm"})
    if (bench::is_regular_file(candidate)) return candidate;
  return {};
}

// A bar on a terminal, one plain line per step otherwise (logs, CI).
void show_progress(int done, int total, const std::string& what) {
  static const bool tty = ::isatty(STDERR_FILENO);
  if (!tty) {
    if (what != "done") std::fprintf(stderr, "bench: [%d/%d] %s\n", done, total, what.c_str());
    return;
  }
  const int width = 30;
  const int filled = total > 0 ? done * width / total : width;
  std::string bar(static_cast<std::size_t>(filled), '#');
  bar.resize(width, '.');
  std::fprintf(stderr, "\r  [%s] %3d/%-3d %-32.32s", bar.c_str(), done, total, what.c_str());
  if (what == "done") std::fputc('\n', stderr);
  std::fflush(stderr);
}

int error_exit(const Error& error) {
  std::fprintf(stderr, "spectrum: error: %s\n", error.message().c_str());
  return error.exit_status();
}

Result<int> count_flag(const char* flag, const char* text) {
  char* end = nullptr;
  long value = std::strtol(text, &end, 10);
  if (!*text || *end || value < 0 || value > 100000)
    return fail(std::string("bench: ") + flag + " '" + text + "': expected a whole number");
  return static_cast<int>(value);
}

}  // namespace

int bench_command(int argc, char** argv) {
  enum { kTiers = 256, kRuns, kWarmup, kRootfs, kGuest, kWasm, kJson, kHtml, kTimeout };
  const option long_options[] = {{"tiers", required_argument, nullptr, kTiers},
                                 {"runs", required_argument, nullptr, kRuns},
                                 {"warmup", required_argument, nullptr, kWarmup},
                                 {"rootfs", required_argument, nullptr, kRootfs},
                                 {"guest-program", required_argument, nullptr, kGuest},
                                 {"wasm", required_argument, nullptr, kWasm},
                                 {"json", required_argument, nullptr, kJson},
                                 {"html", required_argument, nullptr, kHtml},
                                 {"timeout", required_argument, nullptr, kTimeout},
                                 {"help", no_argument, nullptr, 'h'},
                                 {nullptr, 0, nullptr, 0}};
  bench::Options options;
  std::string tiers_list, json_out, html_out;
  opterr = 0;
  optind = 0;
  for (;;) {
    int code = getopt_long(argc, argv, "+:h", long_options, nullptr);
    if (code == -1) break;
    Result<int> count = 0;
    switch (code) {
      case 'h':
        std::fputs(kBenchHelp, stdout);
        return 0;
      case kTiers:
        tiers_list = optarg;
        break;
      case kRuns:
        count = count_flag("--runs", optarg);
        if (!count) return error_exit(count.error());
        options.runs = *count;
        break;
      case kWarmup:
        count = count_flag("--warmup", optarg);
        if (!count) return error_exit(count.error());
        options.warmup = *count;
        break;
      case kRootfs:
        options.rootfs = optarg;
        break;
      case kGuest:
        options.guest_program = optarg;
        break;
      case kWasm:
        options.wasm = optarg;
        break;
      case kJson:
        json_out = optarg;
        break;
      case kHtml:
        html_out = optarg;
        break;
      case kTimeout:
        options.timeout = optarg;
        break;
      case ':':
        return error_exit(Error(std::string("bench: option '") + argv[optind - 1] + "' needs a value"));
      default:
        return error_exit(Error(std::string("bench: unknown option '") + argv[optind - 1] + "'"));
    }
  }
  if (optind >= argc)
    return error_exit(Error("bench: no program given (spectrum bench [OPTIONS] -- PROGRAM [ARGS...])"));
  options.program = argv[optind];
  options.args.assign(argv + optind + 1, argv + argc);
  if (!options.wasm.empty() && !bench::is_regular_file(options.wasm))
    return error_exit(Error("bench: --wasm '" + options.wasm + "': no such file"));
  if (options.wasm.empty()) options.wasm = find_wasm(options.program);
  if (!options.rootfs.empty()) {
    // The OCI runtime wants an absolute root (its config's root.path is taken from the bundle).
    char resolved[PATH_MAX];
    if (!bench::is_directory(options.rootfs) || !::realpath(options.rootfs.c_str(), resolved))
      return error_exit(Error("bench: --rootfs '" + options.rootfs + "': not a directory"));
    options.rootfs = resolved;
  }

  Result<std::vector<bench::TierAvailability>> tiers = tier_availability(tiers_list);
  if (!tiers) return error_exit(tiers.error().wrap("bench"));
  options.tiers = std::move(*tiers);
  options.spectrum = bench::self_executable();
  if (options.spectrum.empty())
    return error_exit(Error("bench: cannot find its own executable (is /proc mounted?)"));
  const char* probe_dir = std::getenv("SPECTRUM_PROBE_DIR");
  options.probe_dir = probe_dir && *probe_dir ? probe_dir : bench::dir_name(options.spectrum);

  bench::stop_on_signals();
  Result<bench::Report> report = bench::run_bench(options, show_progress);
  if (!report) return error_exit(report.error());

  if (json_out != "-") {
    std::fputs(bench::render_table(*report).c_str(), stdout);
    std::fputc('\n', stdout);
    std::fputs(bench::render_isolation_matrix(*report).c_str(), stdout);
  }
  if (!json_out.empty()) {
    std::string text = bench::to_json(*report).dump(2) + "\n";
    if (json_out == "-") {
      std::fputs(text.c_str(), stdout);
    } else if (auto written = bench::write_text(json_out, text); !written) {
      return error_exit(written.error().wrap("bench: --json"));
    }
  }
  if (!html_out.empty()) {
    if (auto written = bench::write_text(html_out, bench::render_html(*report)); !written)
      return error_exit(written.error().wrap("bench: --html"));
  }
  for (const std::string& error : report->errors)
    std::fprintf(stderr, "spectrum: bench: %s\n", error.c_str());
  std::fflush(stdout);
  return report->ok() ? 0 : 1;
}

}  // namespace spectrum::cli
