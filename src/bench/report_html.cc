// The HTML rendering: one self-contained page (inline CSS and SVG, no external assets, no script
// but a one-line render check) that reads well in a browser and prints on paper.
#include <algorithm>
#include <cstdio>
#include <functional>

#include "bench/report.h"

namespace spectrum::bench {
namespace {

std::string num(double value) {
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "%.1f", value);
  return buffer;
}

struct Bar {
  std::string label;
  std::optional<Summary> value;  // empty: the tier has no figure (failed, unavailable)
  std::string note;              // what to write instead of a bar, or the ratio
};

// A horizontal bar per tier: the median as the bar, min..max as a whisker, the figure at the end.
std::string bar_chart(const std::string& title, const std::vector<Bar>& bars,
                      const std::function<std::string(double)>& format, double scale_max = 0) {
  const double width = 720, label_w = 110, value_w = 190, row_h = 30, top = 34;
  const double plot_w = width - label_w - value_w;
  double largest = scale_max;
  for (const Bar& bar : bars)
    if (bar.value) largest = std::max(largest, bar.value->max);
  if (largest <= 0) largest = 1;
  const double height = top + row_h * static_cast<double>(bars.size()) + 10;
  std::string svg = "<svg class=\"chart\" role=\"img\" viewBox=\"0 0 " + num(width) + " " + num(height) +
                    "\" width=\"" + num(width) + "\" height=\"" + num(height) + "\" aria-label=\"" +
                    html_escape(title) + "\">\n<text class=\"title\" x=\"0\" y=\"20\">" + html_escape(title) +
                    "</text>\n";
  double y = top;
  for (const Bar& bar : bars) {
    svg += "<text class=\"label\" x=\"0\" y=\"" + num(y + 19) + "\">" + html_escape(bar.label) + "</text>\n";
    if (bar.value) {
      const double w = std::max(1.0, plot_w * bar.value->median / largest);
      svg += "<rect class=\"bar\" x=\"" + num(label_w) + "\" y=\"" + num(y + 5) + "\" width=\"" + num(w) +
             "\" height=\"" + num(row_h - 10) + "\"/>\n";
      const double x0 = label_w + plot_w * bar.value->min / largest,
                   x1 = label_w + plot_w * bar.value->max / largest;
      svg += "<line class=\"whisker\" x1=\"" + num(x0) + "\" x2=\"" + num(x1) + "\" y1=\"" +
             num(y + row_h / 2) + "\" y2=\"" + num(y + row_h / 2) + "\"/>\n";
      svg += "<text class=\"value\" x=\"" + num(label_w + plot_w + 8) + "\" y=\"" + num(y + 19) + "\">" +
             html_escape(format(bar.value->median) + (bar.note.empty() ? "" : "  " + bar.note)) + "</text>\n";
    } else {
      svg += "<text class=\"missing\" x=\"" + num(label_w) + "\" y=\"" + num(y + 19) + "\">" +
             html_escape(bar.note.size() > 95 ? bar.note.substr(0, 92) + "..." : bar.note) + "</text>\n";
    }
    y += row_h;
  }
  return svg + "</svg>\n";
}

std::string ratio_note(const std::optional<Metric>& m) {
  if (!m || !m->ratio_to_native) return {};
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "(%.2fx native)", *m->ratio_to_native);
  return buffer;
}

std::vector<Bar> bars_of(const Report& report, std::optional<Metric> TierReport::*field) {
  std::vector<Bar> bars;
  for (const TierReport& tier : report.tiers) {
    Bar bar{tier.tier, std::nullopt, {}};
    const std::optional<Metric>& m = tier.*field;
    if (tier.state == TierReport::State::ok && m) {
      bar.value = m->summary;
      bar.note = ratio_note(m);
    } else if (tier.state == TierReport::State::ok) {
      bar.note = "not reported by this tier";
    } else {
      bar.note = (tier.state == TierReport::State::failed ? "FAILED: " : "not available: ") + tier.reason;
    }
    bars.push_back(std::move(bar));
  }
  return bars;
}

std::string cell(bool reached, const std::string& yes, const std::string& no) {
  return reached ? "<td class=\"open\">" + yes + "</td>" : "<td class=\"closed\">" + no + "</td>";
}

std::string isolation_table(const Report& report) {
  std::string html =
      "<table class=\"matrix\"><thead><tr><th>tier</th><th>host kernel</th><th>host processes</th>"
      "<th>host files</th><th>host network</th><th>hostname</th><th>syscalls made</th>"
      "<th>write outside</th><th>boundaries held</th></tr></thead><tbody>\n";
  for (const TierReport& tier : report.tiers) {
    const Isolation& iso = tier.isolation;
    html += "<tr><th>" + html_escape(tier.tier) + "</th>";
    if (!iso.measured) {
      std::string why = tier.state == TierReport::State::ok       ? "probe failed: " + iso.error
                        : tier.state == TierReport::State::failed ? "not measured: the tier failed"
                                                                  : "not available: " + tier.reason;
      html += "<td colspan=\"8\" class=\"na\">" + html_escape(why) + "</td></tr>\n";
      continue;
    }
    html += cell(iso.shares_kernel, "shared", "own");
    html += cell(iso.sees_host_processes, "visible", "hidden");
    html += cell(iso.reads_host_files, "readable", "hidden");
    html += cell(iso.reaches_host_network, "reachable", "unreachable");
    html += cell(iso.host_hostname, "host's", "own");
    const bool many = iso.syscalls_total > 0 && iso.syscalls_made * 2 > iso.syscalls_total;
    html += cell(many, std::to_string(iso.syscalls_made) + " / " + std::to_string(iso.syscalls_total),
                 std::to_string(iso.syscalls_made) + " / " + std::to_string(iso.syscalls_total));
    html += cell(iso.writes_outside, "wrote", "blocked");
    html += "<td>" + std::to_string(iso.boundaries_held()) + " / 6</td></tr>\n";
  }
  return html + "</tbody></table>\n";
}

// Isolation as a chart too, so that "weaker isolation" sits next to the costs as a number.
std::string isolation_chart(const Report& report) {
  std::vector<Bar> bars;
  for (const TierReport& tier : report.tiers) {
    Bar bar{tier.tier, std::nullopt, {}};
    if (tier.isolation.measured) {
      double held = tier.isolation.boundaries_held();
      bar.value = Summary{held, held, held, 0, 1};
    } else {
      bar.note = tier.state == TierReport::State::ok ? "probe failed" : "not measured";
    }
    bars.push_back(bar);
  }
  // Scaled to the full six, so that a bar compares with the maximum, not only with the others.
  return bar_chart(
      "Isolation: boundaries held out of 6 (measured by the probe)", bars,
      [](double v) { return std::to_string(static_cast<int>(v)) + " / 6"; }, 6);
}

}  // namespace

std::string html_escape(const std::string& text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&#39;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

std::string render_html(const Report& report, const std::string& extra_html) {
  std::string command = report.program;
  for (const std::string& arg : report.args) command += " " + arg;
  std::string html = R"(<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Spectrum bench: )" +
                     html_escape(command) + R"(</title>
<style>
body { font: 15px/1.45 system-ui, sans-serif; color: #1d232b; background: #fff; margin: 2em auto; max-width: 980px; padding: 0 1em; }
h1 { font-size: 1.5em; margin-bottom: .2em; } h2 { font-size: 1.15em; margin-top: 1.8em; }
.sub { color: #5b6470; margin-top: 0; }
.chart { display: block; margin: .6em 0 1.2em; max-width: 100%; height: auto; }
.chart .title { font-weight: 600; font-size: 15px; fill: #1d232b; }
.chart .label { font-size: 14px; fill: #1d232b; }
.chart .value { font-size: 13px; fill: #394350; }
.chart .missing { font-size: 13px; fill: #b3261e; }
.chart .bar { fill: #3b6fb6; } .chart .whisker { stroke: #1d232b; stroke-width: 1.5; }
table { border-collapse: collapse; margin: .6em 0; font-size: 14px; }
th, td { border: 1px solid #d5dae1; padding: .3em .6em; text-align: left; }
thead th { background: #f1f4f8; }
td.open { background: #fbe3e1; color: #8c1d18; font-weight: 600; }
td.closed { background: #e3f4e6; color: #1e5b2c; }
td.na, .failed { color: #b3261e; }
table.placement td, table.placement th { vertical-align: top; }
table.placement td.tier { font-weight: 700; color: #3b6fb6; font-size: 15px; }
table.placement ul { margin: 0; padding-left: 1.1em; }
.errors { border-left: 4px solid #b3261e; background: #fdf1f0; padding: .5em 1em; }
code { font: 13px ui-monospace, monospace; }
</style></head>
<body>
<h1>What isolation costs for <code>)" +
                     html_escape(command) + R"(</code></h1>
<p class="sub">)" + std::to_string(report.runs) +
                     " runs per tier after " + std::to_string(report.warmup) +
                     " warm-up, interleaved round by round; bars are medians, whiskers min..max. Host: " +
                     html_escape(report.host_kernel) + ".</p>\n";
  if (!report.errors.empty()) {
    html += "<div class=\"errors\"><strong>Errors</strong><ul>";
    for (const std::string& error : report.errors) html += "<li>" + html_escape(error) + "</li>";
    html += "</ul></div>\n";
  }
  html += "<h2>Cost per tier</h2>\n";
  for (const TierReport& tier : report.tiers)
    if (std::string engine = tier.engine_text(); !engine.empty() && tier.state == TierReport::State::ok)
      html += "<p>" + html_escape(tier.tier) + " ran as: " + html_escape(engine) + "</p>\n";
  html += bar_chart("Wall time per run (everything the tier needed)", bars_of(report, &TierReport::wall),
                    format_seconds);
  html += bar_chart("CPU time per run (user + system)", bars_of(report, &TierReport::cpu), format_seconds);
  html += "<h2>Start-up per tier</h2>\n";
  html += bar_chart("Start-up: tier start to the workload's first instruction",
                    bars_of(report, &TierReport::startup), format_seconds);
  html += "<h2>Memory per tier</h2>\n";
  html += bar_chart("Peak memory", bars_of(report, &TierReport::peak_memory), format_bytes);
  html +=
      "<h2>Isolation, measured</h2>\n<p>The probe (examples/probe/probe.c) ran inside each tier and tried to "
      "reach the host. Red: it got through; green: it was stopped.</p>\n";
  html += isolation_table(report);
  html += isolation_chart(report);
  html += extra_html;
  // The render check for the headless-browser test: how many charts have a drawn extent once the
  // page has loaded, out of how many there are.
  html +=
      "<p id=\"render-check\" hidden></p>\n<script>\nvar charts = document.querySelectorAll('svg.chart');\n"
      "var drawn = 0;\ncharts.forEach(function (svg) { if (svg.getBBox().width > 0) drawn++; });\n"
      "document.getElementById('render-check').textContent = 'charts-rendered:' + drawn + '/' + "
      "charts.length;\n"
      "</script>\n</body></html>\n";
  return html;
}

}  // namespace spectrum::bench
