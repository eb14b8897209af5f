#pragma once
#include "core/cgroup.h"

namespace spectrum {
// Removes groups "spectrum/run-PID-N" left by a spectrum process that was killed outright
// (SIGKILL gives no chance to clean up): the owning PID no longer exists. Processes still in
// them are killed first.
void collect_stale_cgroups(const CgroupLayout& layout);
}  // namespace spectrum
