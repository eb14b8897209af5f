#include "core/tier.h"

namespace spectrum {
namespace {
class VmTier final : public Tier {
 public:
  std::string_view name() const override { return "vm"; }
  TierProbe probe() const override { return {false, "the vm tier is not built yet", {}}; }
  Result<RunResult> run(const Workload&) override { return fail("tier 'vm' is not available yet"); }
};
}  // namespace
std::unique_ptr<Tier> make_vm_tier() { return std::make_unique<VmTier>(); }
}  // namespace spectrum
