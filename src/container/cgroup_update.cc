#include "container/cgroup_update.h"

#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <optional>

#include "container/try.h"
#include "core/fd.h"
#include "core/parse.h"

namespace spectrum::container {
namespace {

using json = nlohmann::json;

// The group's path below its hierarchy's mount, found from one directory the state kept.
Result<std::string> relative_path(const CgroupLayout& layout, const CgroupDirs& dirs) {
  for (const auto& [controller, dir] : dirs.dirs) {
    std::string mount;
    if (controller.empty())
      mount = layout.unified_mount;
    else if (auto it = layout.v1_mounts.find(controller); it != layout.v1_mounts.end())
      mount = it->second;
    if (!mount.empty() && dir.starts_with(mount + "/")) return dir.substr(mount.size() + 1);
  }
  return fail("the container's cgroups are not under this host's cgroup mounts");
}

std::vector<std::string> hierarchies_needed(const CgroupDirs& dirs, const CgroupResources& r) {
  std::vector<std::string> controllers;
  for (const auto& [controller, dir] : dirs.dirs)
    if (controller != "devices") controllers.push_back(controller);
  auto need = [&](bool wanted, const char* controller) {
    if (wanted && !dirs.dirs.contains(controller)) controllers.emplace_back(controller);
  };
  need(r.memory_limit || r.memory_swap_limit, "memory");
  need(r.cpu_quota_us || r.cpu_period_us || r.cpu_shares, "cpu");
  need(r.cpuset_cpus || r.cpuset_mems, "cpuset");
  need(r.pids_limit.has_value(), "pids");
  return controllers;
}

std::uint64_t number_in(const std::string& path) {
  auto text = read_file(path);
  if (!text) return 0;
  if (text->starts_with("max")) return 0;
  return std::strtoull(text->c_str(), nullptr, 10);
}

// "key value" lines (memory.stat, cpu.stat, memory.events) as a JSON object of numbers.
json keyed_numbers(const std::string& path) {
  json out = json::object();
  auto text = read_file(path);
  if (!text) return out;
  std::vector<std::string_view> fields = split_fields(*text, " \n");
  for (std::size_t i = 0; i + 1 < fields.size(); i += 2)
    out[std::string(fields[i])] = std::strtoull(std::string(fields[i + 1]).c_str(), nullptr, 10);
  return out;
}

std::uint64_t value_or_zero(const json& object, const char* key) {
  auto it = object.find(key);
  return it == object.end() ? 0 : it->get<std::uint64_t>();
}

json v2_stats(const std::string& dir) {
  json cpu_stat = keyed_numbers(dir + "/cpu.stat");
  json memory_stat = keyed_numbers(dir + "/memory.stat");
  json memory_events = keyed_numbers(dir + "/memory.events");
  json data;
  data["cpu"] = {{"usage",
                  {{"total", value_or_zero(cpu_stat, "usage_usec") * 1000},
                   {"user", value_or_zero(cpu_stat, "user_usec") * 1000},
                   {"kernel", value_or_zero(cpu_stat, "system_usec") * 1000}}},
                 {"throttling",
                  {{"periods", value_or_zero(cpu_stat, "nr_periods")},
                   {"throttled_periods", value_or_zero(cpu_stat, "nr_throttled")},
                   {"throttled_time", value_or_zero(cpu_stat, "throttled_usec") * 1000}}}};
  data["memory"] = {
      {"cache", value_or_zero(memory_stat, "file")},
      {"usage",
       {{"usage", number_in(dir + "/memory.current")},
        {"limit", number_in(dir + "/memory.max")},
        {"max", number_in(dir + "/memory.peak")},
        {"failcnt", value_or_zero(memory_events, "max")}}},
      {"swap_usage",
       {{"usage", number_in(dir + "/memory.swap.current")}, {"limit", number_in(dir + "/memory.swap.max")}}},
      {"raw", memory_stat}};
  data["pids"] = {{"current", number_in(dir + "/pids.current")}, {"limit", number_in(dir + "/pids.max")}};
  return data;
}

json v1_stats(const CgroupDirs& dirs) {
  json data;
  if (auto it = dirs.dirs.find("cpuacct"); it != dirs.dirs.end()) {
    const std::string& dir = it->second;
    json percpu = json::array();
    if (auto text = read_file(dir + "/cpuacct.usage_percpu"))
      for (std::string_view field : split_fields(*text, " \n"))
        percpu.push_back(std::strtoull(std::string(field).c_str(), nullptr, 10));
    data["cpu"]["usage"] = {{"total", number_in(dir + "/cpuacct.usage")},
                            {"percpu", percpu},
                            {"user", number_in(dir + "/cpuacct.usage_user")},
                            {"kernel", number_in(dir + "/cpuacct.usage_sys")}};
  }
  if (auto it = dirs.dirs.find("cpu"); it != dirs.dirs.end()) {
    json cpu_stat = keyed_numbers(it->second + "/cpu.stat");
    data["cpu"]["throttling"] = {{"periods", value_or_zero(cpu_stat, "nr_periods")},
                                 {"throttled_periods", value_or_zero(cpu_stat, "nr_throttled")},
                                 {"throttled_time", value_or_zero(cpu_stat, "throttled_time")}};
  }
  if (auto it = dirs.dirs.find("memory"); it != dirs.dirs.end()) {
    const std::string& dir = it->second;
    json memory_stat = keyed_numbers(dir + "/memory.stat");
    auto usage = [&](const std::string& prefix) {
      return json{{"usage", number_in(dir + "/" + prefix + "usage_in_bytes")},
                  {"limit", number_in(dir + "/" + prefix + "limit_in_bytes")},
                  {"max", number_in(dir + "/" + prefix + "max_usage_in_bytes")},
                  {"failcnt", number_in(dir + "/" + prefix + "failcnt")}};
    };
    data["memory"] = {{"cache", value_or_zero(memory_stat, "total_cache")},
                      {"usage", usage("memory.")},
                      {"swap_usage", usage("memory.memsw.")},
                      {"kernel_usage", usage("memory.kmem.")},
                      {"raw", memory_stat}};
  }
  if (auto it = dirs.dirs.find("pids"); it != dirs.dirs.end())
    data["pids"] = {{"current", number_in(it->second + "/pids.current")},
                    {"limit", number_in(it->second + "/pids.max")}};
  return data;
}

}  // namespace

Result<void> update_resources(const CgroupLayout& layout, CgroupDirs& dirs,
                              const CgroupResources& resources) {
  std::string relative = SPECTRUM_TRY(relative_path(layout, dirs));
  std::vector<std::string> controllers = hierarchies_needed(dirs, resources);
  // create() on existing directories makes nothing and owns nothing: only hierarchies new to the
  // container are made here.
  Cgroup group = SPECTRUM_TRY(Cgroup::create(layout, relative, controllers));
  std::vector<pid_t> members = dirs.processes();
  if (layout.version == CgroupVersion::v1) {
    for (const std::string& controller : controllers) {
      if (dirs.dirs.contains(controller)) continue;
      std::string dir = group.path_of(controller);
      if (dir.empty()) {
        group.release();
        return fail("linux.resources: the " + controller + " cgroup controller is not mounted");
      }
      dirs.dirs[controller] = dir;
      if (std::find(dirs.owned.begin(), dirs.owned.end(), dir) == dirs.owned.end()) dirs.owned.push_back(dir);
      for (pid_t pid : members)
        if (auto joined = write_file(dir + "/cgroup.procs", std::to_string(pid));
            !joined && joined.error().sys_errno() != ESRCH) {
          group.release();
          return std::unexpected(
              joined.error().wrap("move the container into its " + controller + " cgroup"));
        }
    }
  }
  group.release();  // the state owns the directories; delete removes them
  // v1 refuses a memory limit above memory+swap's: raising both, memory+swap must go first.
  if (auto memory = dirs.dirs.find("memory");
      layout.version == CgroupVersion::v1 && memory != dirs.dirs.end()) {
    std::string memsw = memory->second + "/memory.memsw.limit_in_bytes";
    std::optional<std::int64_t> target;
    if (resources.memory_swap_limit)
      target = *resources.memory_swap_limit;
    else if (resources.memory_limit)
      target = static_cast<std::int64_t>(*resources.memory_limit);
    if (target && ::access(memsw.c_str(), F_OK) == 0 &&
        (*target < 0 || static_cast<std::uint64_t>(*target) > number_in(memsw)))
      SPECTRUM_TRY(with_context(write_file(memsw, std::to_string(*target)), "linux.resources.memory.swap"));
  }
  return with_context(group.apply(resources), "linux.resources");
}

nlohmann::json container_stats(const CgroupDirs& dirs) {
  if (auto it = dirs.dirs.find(""); it != dirs.dirs.end()) return v2_stats(it->second);
  return v1_stats(dirs);
}

}  // namespace spectrum::container
