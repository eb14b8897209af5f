#include "core/tier.h"

namespace spectrum {
namespace {
class WasmTier final : public Tier {
 public:
  std::string_view name() const override { return "wasm"; }
  TierProbe probe() const override { return {false, "the WebAssembly engine is not built yet", {}}; }
  Result<RunResult> run(const Workload&) override { return fail("tier 'wasm' is not available yet"); }
};
}  // namespace
std::unique_ptr<Tier> make_wasm_tier() { return std::make_unique<WasmTier>(); }
}  // namespace spectrum
