// The terminal rendering: fixed-width columns, printf-formatted (no iostreams on spectrum's path).
#include <cstdarg>
#include <cstdio>

#include "bench/report.h"

namespace spectrum::bench {
namespace {

[[gnu::format(printf, 1, 2)]] std::string format(const char* pattern, ...) {
  char buffer[512];
  va_list args;
  va_start(args, pattern);
  std::vsnprintf(buffer, sizeof buffer, pattern, args);
  va_end(args);
  return buffer;
}

std::string ratio_text(const std::optional<Metric>& m) {
  return m && m->ratio_to_native ? format("%.2fx", *m->ratio_to_native) : "-";
}

std::string state_text(const TierReport& tier) {
  switch (tier.state) {
    case TierReport::State::ok:
      return "ok";
    case TierReport::State::failed:
      return "FAILED: " + tier.reason;
    case TierReport::State::unavailable:
      return "not available: " + tier.reason;
  }
  return {};
}

}  // namespace

std::string format_seconds(double seconds) {
  if (seconds < 1e-3) return format("%.0f us", seconds * 1e6);
  if (seconds < 1) return format("%.1f ms", seconds * 1e3);
  return format("%.2f s", seconds);
}

std::string format_bytes(double bytes) {
  if (bytes < 1024 * 1024) return format("%.0f KiB", bytes / 1024);
  if (bytes < 1024.0 * 1024 * 1024) return format("%.1f MiB", bytes / (1024 * 1024));
  return format("%.2f GiB", bytes / (1024.0 * 1024 * 1024));
}

std::string render_table(const Report& report) {
  std::string out = format("%-10s %10s %7s %7s %10s %7s %10s %10s %7s  %s\n", "tier", "wall", "x nat",
                           "spread", "cpu", "x nat", "start-up", "peak mem", "x nat", "output");
  for (const TierReport& tier : report.tiers) {
    if (tier.state != TierReport::State::ok || !tier.wall) {
      out += format("%-10s ", tier.tier.c_str()) + state_text(tier) + "\n";
      continue;
    }
    std::string startup = tier.startup ? format_seconds(tier.startup->summary.median) : "-";
    std::string hash = tier.output_hash.substr(0, 8);
    out += format("%-10s %10s %7s %6.0f%% %10s %7s %10s %10s %7s  %s\n", tier.tier.c_str(),
                  format_seconds(tier.wall->summary.median).c_str(), ratio_text(tier.wall).c_str(),
                  tier.wall->summary.spread * 100, format_seconds(tier.cpu->summary.median).c_str(),
                  ratio_text(tier.cpu).c_str(), startup.c_str(),
                  format_bytes(tier.peak_memory->summary.median).c_str(),
                  ratio_text(tier.peak_memory).c_str(), hash.c_str());
  }
  out += format(
      "(medians of %d runs after %d warm-up, interleaved; x nat: ratio to native; spread: "
      "(max-min)/median)\n",
      report.runs, report.warmup);
  for (const TierReport& tier : report.tiers)
    if (std::string engine = tier.engine_text(); !engine.empty() && tier.state == TierReport::State::ok)
      out += format("%s ran as: %s\n", tier.tier.c_str(), engine.c_str());
  return out;
}

std::string render_isolation_matrix(const Report& report) {
  std::string out = format("%-10s %-8s %-10s %-10s %-10s %-9s %-9s %-8s\n", "isolation", "kernel",
                           "processes", "host files", "host net", "hostname", "syscalls", "write out");
  for (const TierReport& tier : report.tiers) {
    const Isolation& iso = tier.isolation;
    if (!iso.measured) {
      std::string why = tier.state == TierReport::State::ok ? "probe failed: " + iso.error : "not measured";
      out += format("%-10s ", tier.tier.c_str()) + why + "\n";
      continue;
    }
    out += format("%-10s %-8s %-10s %-10s %-10s %-9s %-9s %-8s\n", tier.tier.c_str(),
                  iso.shares_kernel ? "SHARED" : "own", iso.sees_host_processes ? "VISIBLE" : "hidden",
                  iso.reads_host_files ? "READABLE" : "hidden", iso.reaches_host_network ? "REACHED" : "none",
                  iso.host_hostname ? "HOST'S" : "own",
                  format("%d/%d", iso.syscalls_made, iso.syscalls_total).c_str(),
                  iso.writes_outside ? "WROTE" : "blocked");
  }
  out +=
      "(measured by the probe inside each tier; CAPITALS: the host is reachable that way; syscalls: of a "
      "fixed\n"
      " list of 17 a hostile workload reaches for, how many the kernel let through)\n";
  return out;
}

}  // namespace spectrum::bench
