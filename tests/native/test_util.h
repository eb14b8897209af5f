#pragma once
#include <dirent.h>
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

// Groups under spectrum/ in every hierarchy (must be none after a run).
inline std::vector<std::string> spectrum_cgroups() {
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
      if (name.starts_with("run-")) found.push_back(root + "/spectrum/" + name);
    }
    if (dir) ::closedir(dir);
  }
  return found;
}

}  // namespace spectrum::test_support
