#include "cli/tiers.h"

namespace spectrum::cli {

namespace {
constexpr TierEntry kTiers[] = {
    {"native", make_native_tier},   {"wasm", make_wasm_tier}, {"container", make_container_tier},
    {"sandbox", make_sandbox_tier}, {"vm", make_vm_tier},
};
}  // namespace

std::span<const TierEntry> all_tiers() { return kTiers; }

const TierEntry* find_tier(std::string_view name) {
  for (const TierEntry& entry : kTiers)
    if (entry.name == name) return &entry;
  return nullptr;
}

}  // namespace spectrum::cli
