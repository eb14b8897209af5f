// The isolation probe (examples/probe/probe.c) run in one tier, and the verdicts drawn from what it
// reports compared with the host.
#pragma once

#include <map>
#include <string>

#include "bench/bench.h"

namespace spectrum::bench {

// Runs the probe in `tier` (scratch files under work_dir) and returns what it could reach.
Isolation probe_isolation(const std::string& tier, const Options& options, const std::string& work_dir);

// What the host looks like from the bench, for the comparison.
struct HostView {
  std::string kernel;  // "sysname release version", as the probe prints it
  std::string boot_id;
  std::string hostname;
};
HostView host_view();

// Draws the verdicts from the probe's "key value" lines. `wrote` is whether the probe's file
// appeared in the host directory it was told to write to (checked on the host, not reported).
Isolation judge(const std::map<std::string, std::string>& report, const HostView& host, bool wrote);
std::map<std::string, std::string> parse_probe_output(const std::string& text);

}  // namespace spectrum::bench
