#pragma once
#include "core/cgroup.h"

namespace spectrum {
// Removes groups "spectrum/run-PID-..." (the native and container tiers' groups) left by a
// spectrum process that was killed outright (SIGKILL gives no chance to clean up): the owning PID
// no longer exists. Processes still in them are killed first. Looks in every hierarchy of `layout`
// (a caller that also uses, say, devices adds it). A spectrum in another PID namespace sharing
// this cgroup tree would see our live runs as stale: not supported.
void collect_stale_cgroups(const CgroupLayout& layout);
}  // namespace spectrum
