#pragma once
#include "core/cgroup.h"

namespace spectrum {
// Removes groups "spectrum/run-PID-..." (the native and container tiers' groups) left by a
// spectrum process that was killed outright (SIGKILL gives no chance to clean up): the owning PID
// no longer exists. Processes still in them are killed first. Looks in every hierarchy of `layout`,
// the v1 devices one included. A spectrum in another PID namespace sharing
// this cgroup tree would see our live runs as stale: not supported.
void collect_stale_cgroups(const CgroupLayout& layout);

// Kills every process of the group `relative` (e.g. "spectrum/ID") and removes it, in every
// hierarchy of `layout`: for a container whose state is lost, so that `delete --force` still ends it.
void end_cgroup_everywhere(const CgroupLayout& layout, const std::string& relative);
}  // namespace spectrum
