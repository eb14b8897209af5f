// `advise --k8s OUT_DIR`: the placement as Kubernetes objects. One RuntimeClass per containerd
// handler used (docs/kubernetes.md defines them) and one Deployment per component.
#pragma once

#include <string>
#include <vector>

#include "advise/facts.h"
#include "advise/placement.h"
#include "advise/system.h"

namespace spectrum::advise {

// The containerd runtime handler that runs `tier` (docs/kubernetes.md).
std::string_view handler_for(std::string_view tier);

// The memory limit written for a component on `tier`: the tier's peak memory (measured where a
// bench gave it) with half again as headroom, rounded up to MiB, at least 16 MiB; a component's
// own memory budget caps it from below.
std::uint64_t memory_limit_bytes(const Component& component, const TierFacts& tier);

struct Manifest {
  std::string file;  // relative to OUT_DIR
  std::string yaml;
};
// Components with no tier get no Deployment (advise reports them).
std::vector<Manifest> kubernetes_manifests(const System& system, const std::vector<Placement>& placements,
                                           const std::vector<TierFacts>& facts);

Result<void> write_manifests(const std::string& out_dir, const std::vector<Manifest>& manifests);

}  // namespace spectrum::advise
