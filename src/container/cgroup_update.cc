#include "container/cgroup_update.h"

#include "container/try.h"

namespace spectrum::container {
namespace {

using json = nlohmann::json;

json counter(const CgroupUsage::Counter& c) {
  return {{"usage", c.usage}, {"limit", c.limit}, {"max", c.max}, {"failcnt", c.failcnt}};
}

}  // namespace

Result<void> update_resources(const CgroupLayout& layout, CgroupPaths& paths,
                              const CgroupResources& resources) {
  Cgroup group = Cgroup::adopt(paths);
  auto updated = group.update(layout, resources);
  paths = group.paths();  // hierarchies joined before a failure are the container's too
  return with_context(std::move(updated), "linux.resources");
}

json container_stats(const CgroupPaths& paths) {
  CgroupUsage u = Cgroup::adopt(paths).usage();
  json data;
  if (u.cpu.has_usage) {
    data["cpu"]["usage"] = {{"total", u.cpu.total_ns}, {"user", u.cpu.user_ns}, {"kernel", u.cpu.kernel_ns}};
    if (!u.v2) data["cpu"]["usage"]["percpu"] = u.cpu.per_cpu_ns;
  }
  if (u.cpu.has_throttling)
    data["cpu"]["throttling"] = {{"periods", u.cpu.periods},
                                 {"throttled_periods", u.cpu.throttled_periods},
                                 {"throttled_time", u.cpu.throttled_ns}};
  if (u.memory) {
    const CgroupUsage::Memory& m = *u.memory;
    data["memory"] = {{"cache", m.cache}, {"usage", counter(m.usage)}, {"raw", m.raw}};
    if (u.v2)
      data["memory"]["swap_usage"] = {{"usage", m.swap.usage}, {"limit", m.swap.limit}};
    else {
      data["memory"]["swap_usage"] = counter(m.swap);
      data["memory"]["kernel_usage"] = counter(m.kernel);
    }
  }
  if (u.pids) data["pids"] = {{"current", u.pids->current}, {"limit", u.pids->limit}};
  return data;
}

}  // namespace spectrum::container
