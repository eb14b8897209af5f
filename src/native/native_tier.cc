#include "core/tier.h"

namespace spectrum {
namespace {
class NativeTier final : public Tier {
 public:
  std::string_view name() const override { return "native"; }
  TierProbe probe() const override { return {true, {}, {}}; }
  Result<RunResult> run(const Workload&) override { return fail("native tier: not yet"); }
};
}  // namespace
std::unique_ptr<Tier> make_native_tier() { return std::make_unique<NativeTier>(); }
}  // namespace spectrum
