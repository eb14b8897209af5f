#include "core/stale_cgroups.h"

#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <map>
#include <set>
#include <string>
#include <vector>

namespace spectrum {
namespace {

// Every hierarchy a spectrum group may have a directory in: the layout's, and v1 devices.
std::map<std::string, std::string> hierarchies(const CgroupLayout& layout) {
  if (layout.version == CgroupVersion::v2) return {{"", layout.unified_mount}};
  std::map<std::string, std::string> mounts = layout.v1_mounts;
  if (!layout.devices_mount.empty()) mounts.emplace("devices", layout.devices_mount);
  return mounts;
}

// The group `relative` wherever it exists, adopted as one group that owns those directories.
Cgroup adopt_everywhere(const CgroupLayout& layout, const std::string& relative) {
  CgroupPaths paths;
  std::set<std::string> seen;  // co-mounted controllers share a directory
  for (const auto& [controller, mount] : hierarchies(layout)) {
    std::string dir = mount + "/" + relative;
    struct stat st {};
    if (::stat(dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) continue;
    paths.dirs.emplace(controller, dir);
    if (seen.insert(dir).second) paths.owned.push_back(dir);
  }
  return Cgroup::adopt(paths);
}

}  // namespace

void collect_stale_cgroups(const CgroupLayout& layout) {
  std::set<std::string> stale;
  std::set<std::string> parents;
  for (const auto& [controller, mount] : hierarchies(layout)) parents.insert(mount + "/spectrum");
  for (const std::string& parent : parents) {
    DIR* dir = ::opendir(parent.c_str());
    if (!dir) continue;
    while (dirent* entry = ::readdir(dir)) {
      std::string_view name = entry->d_name;
      if (!name.starts_with("run-")) continue;
      long pid = std::strtol(entry->d_name + 4, nullptr, 10);
      if (pid <= 0 || (::kill(static_cast<pid_t>(pid), 0) != 0 && errno == ESRCH)) stale.emplace(name);
    }
    ::closedir(dir);
  }
  // What a killed spectrum left running is ended too (its direct child already got SIGKILL
  // through PR_SET_PDEATHSIG; its descendants did not): destroy() kills before it removes.
  for (const std::string& name : stale) (void)adopt_everywhere(layout, "spectrum/" + name).destroy();
}

void end_cgroup_everywhere(const CgroupLayout& layout, const std::string& relative) {
  (void)adopt_everywhere(layout, relative).destroy();
}

}  // namespace spectrum
