// The advice rules: one table (rules.cc), each row a rule in words, its effect and its test.
// docs/choosing.md lists them; tests/advise/rules_test.cc fires and spares each one.
#pragma once

#include <span>
#include <string>
#include <string_view>

#include "advise/facts.h"
#include "advise/system.h"

namespace spectrum::advise {

struct Rule {
  std::string_view id;
  std::string_view says;  // the rule in the product's words
  // 0: the tier is ruled out when the rule fires; otherwise the points it adds (or takes away).
  int points;
  bool (*fires)(const Component&, const TierFacts&);
  // The reason as the component's placement states it, with the figures behind it.
  std::string (*reason)(const Component&, const TierFacts&);
  // Optional multiplier of `points` (e.g. per boundary held); absent: once.
  int (*times)(const Component&, const TierFacts&) = nullptr;
  bool rules_out() const { return points == 0; }
  int points_for(const Component& c, const TierFacts& t) const {
    return times ? points * times(c, t) : points;
  }
};

std::span<const Rule> rules();
const Rule* find_rule(std::string_view id);

}  // namespace spectrum::advise
