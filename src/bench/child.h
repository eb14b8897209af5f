// One `spectrum run` child, measured from outside: wall clock from spawn to exit, and the CPU time
// and peak resident set of it and every process it waited for (wait4's rusage).
#pragma once

#include <string>
#include <vector>

#include "core/error.h"

namespace spectrum::bench {

struct ChildRun {
  double wall_seconds = 0;
  double cpu_seconds = 0;
  double max_rss_bytes = 0;   // the largest of the child and the processes it waited for
  double own_peak_bytes = 0;  // the child's own resident high-water mark (sampled while it ran)
  int status = 0;             // shell status of the spectrum child (128+N for a signal)
};

// Ctrl-C or SIGTERM to the bench: the running child is asked to stop (SIGTERM, which spectrum run
// forwards to its workload), no further run starts, and the bench returns so that its scratch
// folder is removed. Installs the handlers (without SA_RESTART, so that waits are interrupted).
void stop_on_signals();
bool stop_requested();

// stdout and stderr of the child go to the named files (created or truncated).
Result<ChildRun> run_child(const std::vector<std::string>& argv, const std::string& stdout_path,
                           const std::string& stderr_path);

}  // namespace spectrum::bench
