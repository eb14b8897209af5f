#include "advise/placement.h"

#include <algorithm>
#include <nlohmann/json.hpp>

#include "advise/rules.h"
#include "bench/report.h"

namespace spectrum::advise {

Placement place(const Component& component, const std::vector<TierFacts>& facts) {
  Placement placement;
  placement.component = component.name;
  for (const TierFacts& tier : facts) {
    Candidate candidate;
    candidate.tier = tier.tier;
    for (const Rule& rule : rules()) {
      if (!rule.fires(component, tier)) continue;
      Finding finding{std::string(rule.id), rule.rules_out() ? 0 : rule.points_for(component, tier),
                      rule.reason(component, tier)};
      if (rule.rules_out()) candidate.ruled_out = true;
      candidate.score += finding.points;
      candidate.findings.push_back(std::move(finding));
    }
    placement.candidates.push_back(std::move(candidate));
  }
  // Highest score first; ties keep the spectrum's order (the cheaper tier); ruled out last.
  std::stable_sort(placement.candidates.begin(), placement.candidates.end(),
                   [](const Candidate& a, const Candidate& b) {
                     if (a.ruled_out != b.ruled_out) return !a.ruled_out;
                     return !a.ruled_out && a.score > b.score;
                   });
  if (!placement.candidates.empty() && !placement.candidates.front().ruled_out)
    placement.tier = placement.candidates.front().tier;
  return placement;
}

std::vector<Placement> place_all(const System& system, const std::vector<TierFacts>& facts) {
  std::vector<Placement> out;
  for (const Component& component : system.components) out.push_back(place(component, facts));
  return out;
}

namespace {

std::string signed_points(int points) { return (points > 0 ? "+" : "") + std::to_string(points); }

std::string figures_line(const std::vector<TierFacts>& facts, const std::string& figures_from) {
  std::string measured, defaults;
  for (const TierFacts& f : facts) {
    std::string& list = f.measured ? measured : defaults;
    list += (list.empty() ? "" : ", ") + f.tier;
  }
  std::string line = "figures: ";
  if (!measured.empty()) line += "measured (" + figures_from + ") for " + measured;
  if (!measured.empty() && !defaults.empty()) line += "; ";
  if (!defaults.empty()) line += "built-in defaults for " + defaults;
  return line;
}

}  // namespace

std::string render_placements(const System& system, const std::vector<Placement>& placements,
                              const std::vector<TierFacts>& facts, const std::string& figures_from) {
  std::string out = "Placement" + (system.name.empty() ? std::string() : " for '" + system.name + "'") +
                    " (" + figures_line(facts, figures_from) + ")\n";
  for (std::size_t i = 0; i < placements.size(); ++i) {
    const Placement& p = placements[i];
    const Component& c = system.components[i];
    out += "\n" + p.component + " (" + std::string(to_string(c.trust)) + ") -> " +
           (p.tier.empty() ? "NO TIER FITS" : p.tier) + "\n";
    for (const Candidate& candidate : p.candidates) {
      const bool chosen = candidate.tier == p.tier;
      if (chosen) {
        for (const Finding& f : candidate.findings)
          out += "    " + signed_points(f.points) + "  " + f.reason + "\n";
        if (candidate.findings.empty()) out += "    nothing against it, and it costs least\n";
        continue;
      }
      char head[64];
      std::snprintf(head, sizeof head, "  %-10s ", candidate.tier.c_str());
      if (candidate.ruled_out) {
        std::string why;
        for (const Finding& f : candidate.findings)
          if (f.points == 0) why += (why.empty() ? "" : "; ") + f.reason;
        out += head + std::string("ruled out: ") + why + "\n";
      } else {
        std::string why;
        for (const Finding& f : candidate.findings)
          why += (why.empty() ? "" : "; ") + signed_points(f.points) + " " + f.reason;
        out += head + std::string("ranked lower (score ") + std::to_string(candidate.score) +
               (why.empty() ? ")" : "): " + why) + "\n";
      }
    }
  }
  return out;
}

nlohmann::json placements_json(const System& system, const std::vector<Placement>& placements,
                               const std::vector<TierFacts>& facts, const std::string& figures_from) {
  using nlohmann::json;
  json figures = json::object();
  for (const TierFacts& f : facts)
    figures[f.tier] = {{"source", f.source()},
                       {"available", f.available},
                       {"unavailable_reason", f.unavailable_reason},
                       {"failed", f.failed},
                       {"failure", f.failure},
                       {"startup_seconds", f.startup_seconds},
                       {"overhead", f.overhead},
                       {"peak_memory_bytes", f.peak_memory_bytes},
                       {"boundaries_held", f.boundaries_held}};
  json components = json::array();
  for (const Placement& p : placements) {
    json candidates = json::array();
    for (const Candidate& c : p.candidates) {
      json findings = json::array();
      for (const Finding& f : c.findings)
        findings.push_back(
            {{"rule", f.rule}, {"points", f.points}, {"rules_out", f.points == 0}, {"reason", f.reason}});
      candidates.push_back(
          {{"tier", c.tier}, {"ruled_out", c.ruled_out}, {"score", c.score}, {"findings", findings}});
    }
    components.push_back({{"name", p.component},
                          {"tier", p.tier.empty() ? json(nullptr) : json(p.tier)},
                          {"candidates", candidates}});
  }
  return {{"system", system.name},
          {"figures_from", figures_from},
          {"figures", figures},
          {"components", components}};
}

std::string placements_html(const std::vector<Placement>& placements) {
  using bench::html_escape;
  std::string html =
      "<h2>Placement</h2>\n<table class=\"placement\"><thead><tr><th>component</th><th>tier</th>"
      "<th>why</th><th>the others</th></tr></thead><tbody>\n";
  for (const Placement& p : placements) {
    html += "<tr><th>" + html_escape(p.component) + "</th><td class=\"tier\">" +
            html_escape(p.tier.empty() ? "none fits" : p.tier) + "</td><td><ul>";
    std::string others;
    for (const Candidate& c : p.candidates) {
      if (c.tier == p.tier) {
        for (const Finding& f : c.findings)
          html += "<li>" + html_escape(signed_points(f.points) + " " + f.reason) + "</li>";
        continue;
      }
      std::string why;
      for (const Finding& f : c.findings)
        if (!c.ruled_out || f.points == 0) why += (why.empty() ? "" : "; ") + f.reason;
      others +=
          "<li><strong>" + html_escape(c.tier) + "</strong> " +
          html_escape(c.ruled_out ? "ruled out: " + why
                                  : "score " + std::to_string(c.score) + (why.empty() ? "" : ": " + why)) +
          "</li>";
    }
    html += "</ul></td><td><ul>" + others + "</ul></td></tr>\n";
  }
  return html + "</tbody></table>\n";
}

}  // namespace spectrum::advise
