// The vm tier's checks before any VM exists, exposed for tests.
#pragma once

#include "core/error.h"
#include "core/fd.h"
#include "core/workload.h"
#include "vm/monitor.h"

namespace spectrum::vm {

struct PreflightResult {
  GuestSpec spec;
  UniqueFd root;
};
// Root filesystem, executable (found in it like execvp, parsed and validated), memory: each
// problem a one-line error, exit 125, without opening /dev/kvm.
Result<PreflightResult> preflight(const Workload& workload);

// The monitor in this process rather than a child: for a caller that is the workload's process
// (the OCI vm handler: the container's init is the monitor, so the container's pid is the
// monitor's and a signal sent to it reaches the guest, see ForwardedSignals). Stdio is this
// process's 0, 1, 2; no capture, no deadline beyond the workload's. This process confines itself
// on the way (its own mount namespace, no capabilities, the monitor's seccomp allow-list): the
// caller can only report the outcome and exit. `ptrace_platform`: the sandbox tier's platform
// (a ptrace stub, no /dev/kvm) instead of KVM.
Result<GuestOutcome> run_monitor_here(const Workload& workload, bool ptrace_platform, int exec_listener = -1);

}  // namespace spectrum::vm
