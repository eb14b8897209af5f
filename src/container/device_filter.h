// cgroup v2 has no devices.allow/deny files: access to device nodes is decided by a
// BPF_PROG_TYPE_CGROUP_DEVICE program attached to the group. This builds that program from the
// OCI rules (the last matching rule wins, nothing matching is denied, as on v1); core's
// Cgroup::attach_device_program loads and attaches it.
#pragma once

#include <linux/bpf.h>

#include <string>
#include <vector>

#include "container/oci_config.h"
#include "core/error.h"

namespace spectrum::container {

// The v1-style rules a container gets: the config's, then the defaults (null, zero, full, tty,
// random, urandom, pts, ptmx) and the config's own devices.
std::vector<DeviceRule> effective_device_rules(const Config& config);
std::vector<bpf_insn> build_device_program(const std::vector<DeviceRule>& rules);

}  // namespace spectrum::container
