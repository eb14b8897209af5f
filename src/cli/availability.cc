// Which tiers bench and advise show, and whether each can run here: the registry's tiers with
// their probes, and planned tiers by name with the reason they are absent.
#include "cli/availability.h"

#include "cli/tiers.h"

namespace spectrum::cli {
namespace {

// Tiers that are planned but not in this build: requested by name, they are shown with the reason
// rather than refused. Once a tier joins the registry (cli/tiers.cc) its row here is ignored.
struct Planned {
  const char* name;
  const char* reason;
};
constexpr Planned kPlanned[] = {
    {"sandbox", "not in this build (the vm tier's sandbox kernel without KVM has not landed)"},
};

}  // namespace

Result<std::vector<bench::TierAvailability>> tier_availability(const std::string& list) {
  std::vector<std::string> names;
  if (list.empty()) {
    for (const TierEntry& entry : all_tiers()) names.emplace_back(entry.name);
  } else {
    std::size_t start = 0;
    while (start <= list.size()) {
      std::size_t comma = list.find(',', start);
      if (comma == std::string::npos) comma = list.size();
      if (comma > start) names.push_back(list.substr(start, comma - start));
      start = comma + 1;
    }
  }
  std::vector<bench::TierAvailability> tiers;
  for (const std::string& name : names) {
    bench::TierAvailability tier{name, false, {}};
    if (const TierEntry* entry = find_tier(name)) {
      TierProbe probe = entry->make()->probe();
      tier.usable = probe.usable;
      tier.reason = probe.reason;
    } else {
      const Planned* planned = nullptr;
      for (const Planned& p : kPlanned)
        if (name == p.name) planned = &p;
      if (!planned) {
        std::string known;
        for (const TierEntry& known_tier : all_tiers())
          known += (known.empty() ? "" : ", ") + std::string(known_tier.name);
        return fail("unknown tier '" + name + "' in --tiers (tiers: " + known + ")");
      }
      tier.reason = planned->reason;
    }
    tiers.push_back(std::move(tier));
  }
  return tiers;
}

}  // namespace spectrum::cli
