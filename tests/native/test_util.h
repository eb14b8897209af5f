#pragma once
#include <dirent.h>
#include <unistd.h>

#include <string>
#include <vector>

#include "core/cgroup.h"
#include "core/fd.h"

namespace spectrum::test_support {

// Processes whose command line contains `marker` (to prove nothing was left running).
inline std::vector<int> processes_with(const std::string& marker) {
  std::vector<int> found;
  DIR* dir = ::opendir("/proc");
  while (dirent* entry = dir ? ::readdir(dir) : nullptr) {
    int pid = std::atoi(entry->d_name);
    if (pid <= 0) continue;
    auto cmdline = read_file("/proc/" + std::string(entry->d_name) + "/cmdline");
    if (!cmdline) continue;
    for (char& c : *cmdline)
      if (c == '\0') c = ' ';
    if (cmdline->find(marker) != std::string::npos) found.push_back(pid);
  }
  if (dir) ::closedir(dir);
  return found;
}

// Groups under spectrum/ made by the spectrum process `owner` (must be none after its runs).
// Tests run in parallel, so only the groups of one owner are looked at.
inline std::vector<std::string> spectrum_cgroups(int owner = ::getpid()) {
  const std::string prefix = "run-" + std::to_string(owner) + "-";
  std::vector<std::string> found;
  auto layout = CgroupLayout::detect();
  if (!layout) return found;
  std::vector<std::string> roots;
  if (layout->version == CgroupVersion::v2) roots.push_back(layout->unified_mount);
  for (const auto& [controller, mount] : layout->v1_mounts) roots.push_back(mount);
  for (const std::string& root : roots) {
    DIR* dir = ::opendir((root + "/spectrum").c_str());
    while (dirent* entry = dir ? ::readdir(dir) : nullptr) {
      std::string name = entry->d_name;
      if (name.starts_with(prefix)) found.push_back(root + "/spectrum/" + name);
    }
    if (dir) ::closedir(dir);
  }
  return found;
}

}  // namespace spectrum::test_support
