#pragma once
#include <memory>
#include <span>
#include <string_view>

#include "core/tier.h"

namespace spectrum::cli {

struct TierEntry {
  std::string_view name;
  std::unique_ptr<Tier> (*make)();
};

// Every tier, in the order of the isolation spectrum (least isolated first).
std::span<const TierEntry> all_tiers();
const TierEntry* find_tier(std::string_view name);

}  // namespace spectrum::cli
