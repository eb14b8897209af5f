#include "core/stale_cgroups.h"

#include <dirent.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <set>
#include <string>
#include <vector>

#include "core/fd.h"

namespace spectrum {
namespace {

// Kills what is in a group until it is empty (a fork bomb refills it), then removes it.
void end_group(const std::string& group) {
  for (int attempt = 0; attempt < 100; ++attempt) {
    auto procs = read_file(group + "/cgroup.procs");
    if (!procs || procs->empty()) break;
    for (const char* p = procs->c_str(); *p;) {
      char* end = nullptr;
      long pid = std::strtol(p, &end, 10);
      if (end == p) break;
      ::kill(static_cast<pid_t>(pid), SIGKILL);
      p = end;
      while (*p == '\n') ++p;
    }
    ::usleep(1000);
  }
  ::rmdir(group.c_str());
}

}  // namespace

void collect_stale_cgroups(const CgroupLayout& layout) {
  std::set<std::string> parents;
  if (layout.version == CgroupVersion::v2)
    parents.insert(layout.unified_mount + "/spectrum");
  else
    for (const auto& [controller, mount] : layout.v1_mounts) parents.insert(mount + "/spectrum");
  // The container tier's groups limit devices through the v1 devices hierarchy.
  if (layout.version == CgroupVersion::v1 && !layout.devices_mount.empty())
    parents.insert(layout.devices_mount + "/spectrum");
  for (const std::string& parent : parents) {
    DIR* dir = ::opendir(parent.c_str());
    if (!dir) continue;
    std::vector<std::string> stale;
    while (dirent* entry = ::readdir(dir)) {
      std::string_view name = entry->d_name;
      if (!name.starts_with("run-")) continue;
      long pid = std::strtol(entry->d_name + 4, nullptr, 10);
      if (pid <= 0 || (::kill(static_cast<pid_t>(pid), 0) != 0 && errno == ESRCH)) stale.emplace_back(name);
    }
    ::closedir(dir);
    // What a killed spectrum left running is ended too (its direct child already got SIGKILL
    // through PR_SET_PDEATHSIG; its descendants did not).
    for (const std::string& name : stale) end_group(parent + "/" + name);
  }
}

void end_cgroup_everywhere(const CgroupLayout& layout, const std::string& relative) {
  if (layout.version == CgroupVersion::v2) {
    end_group(layout.unified_mount + "/" + relative);
    return;
  }
  std::set<std::string> mounts;
  for (const auto& [controller, mount] : layout.v1_mounts) mounts.insert(mount);
  if (!layout.devices_mount.empty()) mounts.insert(layout.devices_mount);
  for (const std::string& mount : mounts) end_group(mount + "/" + relative);
}

}  // namespace spectrum
