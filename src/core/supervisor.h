// One supervision loop for every tier that runs a host process: the workload's (or its monitor's)
// exit through a pidfd, captured output with a bound, the deadline, forwarded signals and the
// resources the process used. Each tier says how to end its tree; everything else is the same.
#pragma once

#include <sys/resource.h>

#include <chrono>
#include <csignal>
#include <cstddef>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "core/error.h"
#include "core/fd.h"
#include "core/process.h"
#include "core/run_result.h"
#include "core/stdio.h"

namespace spectrum {

using SteadyClock = std::chrono::steady_clock;

// Blocks SIGINT, SIGTERM, SIGHUP and SIGQUIT for the duration of a run and receives them through a
// signalfd, so that an interrupted run still cleans up; restores the mask on every path. Make it
// before spawning the workload so that a signal during the launch is not lost.
class SignalGuard {
 public:
  SignalGuard();
  ~SignalGuard();
  SignalGuard(const SignalGuard&) = delete;
  SignalGuard& operator=(const SignalGuard&) = delete;
  int fd() const { return fd_.get(); }
  int take();  // the next pending signal, or 0

 private:
  sigset_t set_{}, old_{};
  UniqueFd fd_;
  bool taken_ = false;
};

// A pipe whose contents the supervisor collects, up to `limit` bytes.
struct CapturedPipe {
  UniqueFd* fd = nullptr;  // read end; reset at end of file
  std::string* into = nullptr;
  bool* truncated = nullptr;  // set when bytes past `limit` were dropped (may be null)
  std::size_t limit = kCaptureLimitBytes;
};

struct Supervision {
  Child* child = nullptr;           // the process whose exit ends the run
  std::vector<CapturedPipe> pipes;  // drained until every writer has closed them
  std::optional<SteadyClock::time_point> deadline;
  SignalGuard* signals = nullptr;  // forward the first signal, end the tree on the second
  // Ends the whole tree (a cgroup's kill_all, a namespace's init); SIGKILL to the child if unset.
  std::function<void()> kill_tree;
  // Runs once the child has exited while pipes are still open: descendants that hold them are
  // ended here (the tier knows where they are). Unset: nothing.
  std::function<void()> after_exit;
};

struct SupervisedExit {
  ExitStatus status;
  bool timed_out = false;
  SteadyClock::time_point ended;  // when the child's exit was seen
  rusage usage{};                 // of the child and the descendants it waited for
};

// Runs until the child has exited and every pipe is closed. The child is reaped here.
Result<SupervisedExit> supervise(Supervision& supervision);

// Fills the fields every tier reports the same way: outcome and code, times, peak memory (the
// largest of the tier's processes, raised to `cgroup_peak` when the tier has a group: see
// docs/architecture.md "Peak memory"), the timeout's detail text.
void record_exit(const SupervisedExit& exit, SteadyClock::time_point start,
                 std::optional<std::chrono::nanoseconds> timeout, RunResult& result);

}  // namespace spectrum
