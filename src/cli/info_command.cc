// `spectrum info [--json]`: each tier, whether it can run here, why not, and what was found.
#include <cstdio>
#include <cstring>
#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "cli/tiers.h"

namespace spectrum::cli {

int info_command(int argc, char** argv) {
  bool json = false;
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--json") == 0)
      json = true;
    else {
      std::fprintf(stderr, "spectrum: error: info: unknown option '%s'\n", argv[i]);
      return 125;
    }
  }
  nlohmann::json out = nlohmann::json::array();
  for (const TierEntry& entry : all_tiers()) {
    TierProbe probe = entry.make()->probe();
    if (json) {
      nlohmann::json facts = nlohmann::json::object();
      for (const auto& [key, value] : probe.facts) facts[key] = value;
      out.push_back(
          {{"tier", entry.name}, {"usable", probe.usable}, {"reason", probe.reason}, {"facts", facts}});
      continue;
    }
    std::printf("%-10s %s%s%s\n", std::string(entry.name).c_str(), probe.usable ? "usable" : "unavailable",
                probe.usable ? "" : ": ", probe.reason.c_str());
    for (const auto& [key, value] : probe.facts) std::printf("  %-20s %s\n", key.c_str(), value.c_str());
  }
  if (json) std::printf("%s\n", out.dump(2).c_str());
  return 0;
}

}  // namespace spectrum::cli
