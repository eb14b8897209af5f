// The one small interface every isolation tier implements. The CLI, bench and advise only talk to
// tiers through it; adding a tier means one folder and one row in the registry (cli/tiers.cc).
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/error.h"
#include "core/run_result.h"
#include "core/workload.h"

namespace spectrum {

// What `spectrum info` prints for a tier: whether it can run here, why not, and facts found.
struct TierProbe {
  bool usable = false;
  std::string reason;                                      // why not usable (empty when usable)
  std::vector<std::pair<std::string, std::string>> facts;  // e.g. {"cgroup", "v1 (hybrid)"}
};

class Tier {
 public:
  virtual ~Tier() = default;
  virtual std::string_view name() const = 0;
  // Cheap checks of the host; must not start anything.
  virtual TierProbe probe() const = 0;
  // Runs the workload to completion. An Error means Spectrum could not run it (bad input, host
  // failure); everything the workload itself did is in the RunResult.
  virtual Result<RunResult> run(const Workload& workload) = 0;
};

// Factories, one per tier folder.
std::unique_ptr<Tier> make_native_tier();
std::unique_ptr<Tier> make_container_tier();
std::unique_ptr<Tier> make_vm_tier();
std::unique_ptr<Tier> make_sandbox_tier();  // src/vm: the vm tier's monitor on the ptrace platform
std::unique_ptr<Tier> make_wasm_tier();

}  // namespace spectrum
