// `spectrum advise SYSTEM.yaml [--from BENCH.json | --measure] [--json] [--k8s OUT_DIR]
// [--html OUT]`: a tier for each component of a system, with the reasons (src/advise).
#include <getopt.h>
#include <unistd.h>

#include <climits>
#include <cstdio>
#include <cstdlib>
#include <nlohmann/json.hpp>

#include "advise/facts.h"
#include "advise/k8s.h"
#include "advise/placement.h"
#include "advise/system.h"
#include "bench/files.h"
#include "bench/report.h"
#include "cli/availability.h"
#include "cli/commands.h"

namespace spectrum::cli {
namespace {

constexpr const char* kAdviseHelp =
    "usage: spectrum advise SYSTEM.yaml [OPTIONS]\n"
    "\n"
    "Choose a tier for each component of the system described in SYSTEM.yaml, with the reasons,\n"
    "and why every other tier was ruled out or ranked lower (the rules: docs/choosing.md).\n"
    "\n"
    "Options:\n"
    "  --from BENCH.json   use the figures `spectrum bench --json` measured\n"
    "  --measure           measure now: bench the workload of the file's 'bench:' section\n"
    "  --json              print the placement as JSON\n"
    "  --k8s OUT_DIR       write RuntimeClasses and a Deployment per component (docs/kubernetes.md)\n"
    "  --html OUT          write the bench's page with the placement (needs --from or --measure)\n"
    "  -h, --help          this text\n"
    "\n"
    "Without --from or --measure, built-in default figures are used, and the output says so.\n"
    "Exit status: 0 when every component has a tier, 1 when one has none, 125 for bad input.\n";

int error_exit(const Error& error) {
  std::fprintf(stderr, "spectrum: error: %s\n", error.message().c_str());
  return error.exit_status();
}

void progress_line(int done, int total, const std::string& what) {
  if (what != "done") std::fprintf(stderr, "advise: measuring [%d/%d] %s\n", done, total, what.c_str());
}

}  // namespace

int advise_command(int argc, char** argv) {
  enum { kFrom = 256, kMeasure, kJson, kK8s, kHtml };
  const option long_options[] = {{"from", required_argument, nullptr, kFrom},
                                 {"measure", no_argument, nullptr, kMeasure},
                                 {"json", no_argument, nullptr, kJson},
                                 {"k8s", required_argument, nullptr, kK8s},
                                 {"html", required_argument, nullptr, kHtml},
                                 {"help", no_argument, nullptr, 'h'},
                                 {nullptr, 0, nullptr, 0}};
  std::string from, k8s_dir, html_out;
  bool measure = false, json = false;
  opterr = 0;
  optind = 0;
  for (;;) {
    int code = getopt_long(argc, argv, ":h", long_options, nullptr);
    if (code == -1) break;
    switch (code) {
      case 'h':
        std::fputs(kAdviseHelp, stdout);
        return 0;
      case kFrom:
        from = optarg;
        break;
      case kMeasure:
        measure = true;
        break;
      case kJson:
        json = true;
        break;
      case kK8s:
        k8s_dir = optarg;
        break;
      case kHtml:
        html_out = optarg;
        break;
      case ':':
        return error_exit(Error(std::string("advise: option '") + argv[optind - 1] + "' needs a value"));
      default:
        return error_exit(Error(std::string("advise: unknown option '") + argv[optind - 1] + "'"));
    }
  }
  if (optind != argc - 1)
    return error_exit(Error("advise: expected one system file (spectrum advise SYSTEM.yaml [OPTIONS])"));
  if (!from.empty() && measure) return error_exit(Error("advise: --from and --measure exclude each other"));
  if (!html_out.empty() && from.empty() && !measure)
    return error_exit(Error("advise: --html needs figures to draw (--from BENCH.json or --measure)"));

  Result<advise::System> system = advise::load_system(argv[optind]);
  if (!system) return error_exit(system.error().wrap("advise"));

  std::vector<advise::TierFacts> facts = advise::default_facts();
  std::string known;
  for (const advise::TierFacts& f : facts) known += (known.empty() ? "" : ",") + f.tier;
  Result<std::vector<bench::TierAvailability>> availability = tier_availability(known);
  if (!availability) return error_exit(availability.error().wrap("advise"));
  advise::apply_availability(facts, *availability);

  std::optional<bench::Report> report;
  std::string figures_from = "built-in defaults";
  if (!from.empty()) {
    Result<std::string> text = bench::read_text(from);
    if (!text) return error_exit(text.error().wrap("advise: --from"));
    nlohmann::json parsed = nlohmann::json::parse(*text, nullptr, false);
    if (parsed.is_discarded()) return error_exit(Error("advise: --from " + from + ": not valid JSON"));
    Result<bench::Report> loaded = bench::report_from_json(parsed);
    if (!loaded) return error_exit(loaded.error().wrap("advise: --from " + from));
    report = std::move(*loaded);
    figures_from = from;
  } else if (measure) {
    if (!system->bench)
      return error_exit(Error("advise: --measure needs a 'bench:' section in " + std::string(argv[optind]) +
                              " naming the workload to measure"));
    bench::Options options;
    for (const bench::TierAvailability& tier : *availability)
      if (tier.usable) options.tiers.push_back(tier);
    options.runs = 3;
    options.program = system->bench->program;
    options.args = system->bench->args;
    options.rootfs = system->bench->rootfs;
    options.wasm = system->bench->wasm;
    // The runs are `spectrum run` children: spectrum is installed next to this binary.
    const std::string self = bench::self_executable();
    options.probe_dir = bench::dir_name(self);
    options.spectrum = options.probe_dir + "/spectrum";
    if (self.empty() || !bench::is_regular_file(options.spectrum))
      return error_exit(Error("advise: --measure: no spectrum binary next to " + self));
    if (!options.rootfs.empty()) {
      char resolved[PATH_MAX];
      if (!::realpath(options.rootfs.c_str(), resolved))
        return error_exit(Error("advise: --measure: bench.rootfs '" + options.rootfs + "': not a directory"));
      options.rootfs = resolved;
    }
    Result<bench::Report> measured = bench::run_bench(options, progress_line);
    if (!measured) return error_exit(measured.error().wrap("advise: --measure"));
    report = std::move(*measured);
    figures_from = "measured now";
  }
  if (report) advise::apply_measurements(facts, *report);

  std::vector<advise::Placement> placements = advise::place_all(*system, facts);
  if (json)
    std::printf("%s\n", advise::placements_json(*system, placements, facts, figures_from).dump(2).c_str());
  else
    std::fputs(advise::render_placements(*system, placements, facts, figures_from).c_str(), stdout);
  if (!k8s_dir.empty()) {
    auto written = advise::write_manifests(k8s_dir, advise::kubernetes_manifests(*system, placements, facts));
    if (!written) return error_exit(written.error().wrap("advise"));
  }
  if (!html_out.empty()) {
    auto written =
        bench::write_text(html_out, bench::render_html(*report, advise::placements_html(placements)));
    if (!written) return error_exit(written.error().wrap("advise: --html"));
  }
  std::fflush(stdout);
  for (const advise::Placement& p : placements)
    if (p.tier.empty()) return 1;
  return 0;
}

}  // namespace spectrum::cli
