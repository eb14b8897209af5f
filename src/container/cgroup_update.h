// A running container's cgroups after create: changing their limits (`update`) and reading their
// counters (`events --stats`), on v1 and v2, from the paths kept in the container's state. The
// cgroup work is core's (Cgroup::adopt, update, usage); this is the OCI runtime's view of it.
#pragma once

#include <nlohmann/json.hpp>

#include "core/cgroup.h"
#include "core/error.h"

namespace spectrum::container {

// Applies `resources` to the container's groups. On v1 a limit of a hierarchy the container has not
// joined (cpu, cpuset, pids, memory) makes its group there and moves the container's processes in;
// `paths` then lists the new directories (also when a later write fails: save it either way).
Result<void> update_resources(const CgroupLayout& layout, CgroupPaths& paths,
                              const CgroupResources& resources);

// The "data" of runc's stats event: cpu, memory and pids counters as runc names them.
nlohmann::json container_stats(const CgroupPaths& paths);

}  // namespace spectrum::container
