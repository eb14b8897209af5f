// Placing each component: every rule applied to every tier, the best-scoring tier chosen, every
// other tier listed with why it was ruled out or ranked lower.
#pragma once

#include <nlohmann/json_fwd.hpp>
#include <string>
#include <vector>

#include "advise/facts.h"
#include "advise/system.h"

namespace spectrum::advise {

struct Finding {
  std::string rule;  // the rule's id
  int points = 0;    // 0 when it rules the tier out
  std::string reason;
};

struct Candidate {
  std::string tier;
  bool ruled_out = false;
  int score = 0;
  std::vector<Finding> findings;
};

struct Placement {
  std::string component;
  std::string tier;                   // empty: no tier fits
  std::vector<Candidate> candidates;  // the chosen one first, then by score, ruled out last
};

Placement place(const Component& component, const std::vector<TierFacts>& facts);
std::vector<Placement> place_all(const System& system, const std::vector<TierFacts>& facts);

// Renderings: text for the terminal, JSON, and an HTML section for the bench's page.
std::string render_placements(const System& system, const std::vector<Placement>& placements,
                              const std::vector<TierFacts>& facts, const std::string& figures_from);
nlohmann::json placements_json(const System& system, const std::vector<Placement>& placements,
                               const std::vector<TierFacts>& facts, const std::string& figures_from);
std::string placements_html(const std::vector<Placement>& placements);

}  // namespace spectrum::advise
