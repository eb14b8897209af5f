#include "core/limit_events.h"

#include <cstdlib>

#include "core/fd.h"

namespace spectrum {

std::uint64_t pids_limit_hits(const Cgroup& cgroup) {
  for (const char* controller : {"pids", ""}) {
    std::string dir = cgroup.path_of(controller);
    if (dir.empty()) continue;
    auto events = read_file(dir + "/pids.events");
    if (!events) continue;
    std::size_t at = events->find("max ");
    if (at != std::string::npos) return std::strtoull(events->c_str() + at + 4, nullptr, 10);
  }
  return 0;
}

std::string pids_limit_detail(const Cgroup& cgroup, std::uint64_t limit) {
  std::uint64_t refused = pids_limit_hits(cgroup);
  if (refused == 0) return {};
  return "the pids limit (" + std::to_string(limit) + ") refused " + std::to_string(refused) + " fork" +
         (refused == 1 ? "" : "s");
}

}  // namespace spectrum
