#pragma once
#include <string>
#include <vector>

#include "bench/bench.h"

namespace spectrum::cli {

// `list`: comma-separated tier names, or empty for every tier of the registry. A planned tier not
// in this build (sandbox, until it lands) is returned unusable with the reason; an unknown name is
// an Error listing the tiers.
Result<std::vector<bench::TierAvailability>> tier_availability(const std::string& list);

}  // namespace spectrum::cli
