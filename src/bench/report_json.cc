#include <nlohmann/json.hpp>

#include "bench/report.h"

namespace spectrum::bench {
namespace {

using nlohmann::json;

json metric_json(const std::optional<Metric>& m) {
  if (!m) return nullptr;
  return {{"median", m->summary.median},
          {"min", m->summary.min},
          {"max", m->summary.max},
          {"spread", m->summary.spread},
          {"count", m->summary.count},
          {"ratio_to_native", m->ratio_to_native ? json(*m->ratio_to_native) : json(nullptr)}};
}

json isolation_json(const Isolation& iso) {
  if (!iso.measured) return {{"measured", false}, {"error", iso.error}};
  return {{"measured", true},
          {"shares_host_kernel", iso.shares_kernel},
          {"sees_host_processes", iso.sees_host_processes},
          {"processes_visible", iso.processes_visible},
          {"reads_host_files", iso.reads_host_files},
          {"reaches_host_network", iso.reaches_host_network},
          {"has_host_hostname", iso.host_hostname},
          {"syscalls_made", iso.syscalls_made},
          {"syscalls_total", iso.syscalls_total},
          {"syscalls_allowed", iso.syscalls_allowed},
          {"writes_outside_sandbox", iso.writes_outside},
          {"boundaries_held", iso.boundaries_held()}};
}

Result<std::optional<Metric>> metric_from(const json& j, const std::string& where) {
  if (j.is_null()) return std::optional<Metric>{};
  if (!j.is_object()) return fail(where + ": expected an object or null");
  Metric m;
  try {
    m.summary.median = j.at("median").get<double>();
    m.summary.min = j.at("min").get<double>();
    m.summary.max = j.at("max").get<double>();
    m.summary.spread = j.value("spread", 0.0);
    m.summary.count = j.value("count", 0);
    if (j.contains("ratio_to_native") && j["ratio_to_native"].is_number())
      m.ratio_to_native = j["ratio_to_native"].get<double>();
  } catch (const json::exception& e) {
    return fail(where + ": " + e.what());
  }
  return std::optional<Metric>(m);
}

}  // namespace

json to_json(const Report& report) {
  json tiers = json::array();
  for (const TierReport& tier : report.tiers) {
    json runs = json::array();
    for (const RunSample& run : tier.runs)
      runs.push_back({{"wall_seconds", run.wall_seconds},
                      {"cpu_seconds", run.cpu_seconds},
                      {"startup_seconds", run.startup_seconds ? json(*run.startup_seconds) : json(nullptr)},
                      {"peak_memory_bytes", run.peak_memory_bytes},
                      {"status", run.status},
                      {"output_hash", run.output_hash}});
    tiers.push_back({{"tier", tier.tier},
                     {"state", to_string(tier.state)},
                     {"reason", tier.reason},
                     {"output_hash", tier.output_hash},
                     {"output", tier.output_line},
                     {"wall_seconds", metric_json(tier.wall)},
                     {"cpu_seconds", metric_json(tier.cpu)},
                     {"startup_seconds", metric_json(tier.startup)},
                     {"peak_memory_bytes", metric_json(tier.peak_memory)},
                     {"isolation", isolation_json(tier.isolation)},
                     {"runs", runs}});
    if (!tier.engine.empty()) tiers.back()["engine"] = tier.engine;
    if (tier.compile_seconds) tiers.back()["compile_seconds"] = *tier.compile_seconds;
    if (!tier.engine_note.empty()) tiers.back()["engine_note"] = tier.engine_note;
  }
  return {
      {"spectrum_bench", 1},     {"program", report.program},
      {"args", report.args},     {"runs", report.runs},
      {"warmup", report.warmup}, {"host", {{"kernel", report.host_kernel}, {"hostname", report.host_name}}},
      {"ok", report.ok()},       {"errors", report.errors},
      {"tiers", tiers}};
}

Result<Report> report_from_json(const json& j) {
  if (!j.is_object() || j.value("spectrum_bench", 0) != 1)
    return fail("not a spectrum bench report (no \"spectrum_bench\": 1 at the top)");
  Report report;
  try {
    report.program = j.value("program", std::string());
    report.runs = j.value("runs", 0);
    report.warmup = j.value("warmup", 0);
    if (j.contains("args")) report.args = j["args"].get<std::vector<std::string>>();
    if (j.contains("host") && j["host"].is_object()) {
      report.host_kernel = j["host"].value("kernel", std::string());
      report.host_name = j["host"].value("hostname", std::string());
    }
    if (j.contains("errors")) report.errors = j["errors"].get<std::vector<std::string>>();
    if (!j.contains("tiers") || !j["tiers"].is_array()) return fail("\"tiers\": expected an array");
    int index = 0;
    for (const json& t : j["tiers"]) {
      const std::string where = "tiers[" + std::to_string(index++) + "]";
      if (!t.is_object()) return fail(where + ": expected an object");
      TierReport tier;
      tier.tier = t.at("tier").get<std::string>();
      const std::string state = t.value("state", std::string());
      if (state == "ok")
        tier.state = TierReport::State::ok;
      else if (state == "failed")
        tier.state = TierReport::State::failed;
      else if (state == "unavailable")
        tier.state = TierReport::State::unavailable;
      else
        return fail(where + ".state: '" + state + "' is not ok, failed or unavailable");
      tier.reason = t.value("reason", std::string());
      tier.output_hash = t.value("output_hash", std::string());
      tier.engine = t.value("engine", std::string());
      if (t.contains("compile_seconds") && t["compile_seconds"].is_number())
        tier.compile_seconds = t["compile_seconds"].get<double>();
      tier.engine_note = t.value("engine_note", std::string());
      tier.wall = SPECTRUM_TRY(metric_from(t.value("wall_seconds", json()), where + ".wall_seconds"));
      tier.cpu = SPECTRUM_TRY(metric_from(t.value("cpu_seconds", json()), where + ".cpu_seconds"));
      tier.startup =
          SPECTRUM_TRY(metric_from(t.value("startup_seconds", json()), where + ".startup_seconds"));
      tier.peak_memory =
          SPECTRUM_TRY(metric_from(t.value("peak_memory_bytes", json()), where + ".peak_memory_bytes"));
      const json iso = t.value("isolation", json::object());
      tier.isolation.measured = iso.value("measured", false);
      tier.isolation.error = iso.value("error", std::string());
      tier.isolation.shares_kernel = iso.value("shares_host_kernel", false);
      tier.isolation.sees_host_processes = iso.value("sees_host_processes", false);
      tier.isolation.processes_visible = iso.value("processes_visible", 0);
      tier.isolation.reads_host_files = iso.value("reads_host_files", false);
      tier.isolation.reaches_host_network = iso.value("reaches_host_network", false);
      tier.isolation.host_hostname = iso.value("has_host_hostname", false);
      tier.isolation.syscalls_made = iso.value("syscalls_made", 0);
      tier.isolation.syscalls_total = iso.value("syscalls_total", 0);
      tier.isolation.writes_outside = iso.value("writes_outside_sandbox", false);
      report.tiers.push_back(std::move(tier));
    }
  } catch (const json::exception& e) {
    return fail(std::string("bench report: ") + e.what());
  }
  return report;
}

}  // namespace spectrum::bench
