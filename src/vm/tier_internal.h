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

}  // namespace spectrum::vm
