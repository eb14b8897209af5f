#include "core/tier.h"

namespace spectrum {
namespace {
class ContainerTier final : public Tier {
 public:
  std::string_view name() const override { return "container"; }
  TierProbe probe() const override { return {false, "the container tier is not built yet", {}}; }
  Result<RunResult> run(const Workload&) override { return fail("tier 'container' is not available yet"); }
};
}  // namespace
std::unique_ptr<Tier> make_container_tier() { return std::make_unique<ContainerTier>(); }
}  // namespace spectrum
