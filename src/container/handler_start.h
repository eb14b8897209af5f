// What the wasm and vm handlers share on the way from a bundle to another tier's workload, inside
// the container's init (after pivot_root: "/" is the container's root).
#pragma once

#include <string>
#include <string_view>

#include "container/oci_config.h"
#include "core/error.h"
#include "core/workload.h"

namespace spectrum::container {

// process.args[0] inside the container's root: with a '/', as given (relative to process.cwd);
// without, along the process's $PATH, then in process.cwd. Paths resolve in the container's root,
// so neither ".." nor a symlink of the image leads out of it. `what` names the program in errors
// ("wasm module", "vm program"); a missing one is exit 127.
Result<std::string> find_in_root(const Process& process, std::string_view what);

// The workload both tiers take from the bundle: the program found, process.args[1..] and the whole
// process.env, the root "/" (read-only with root.readonly), every bind mount whose destination is
// a directory (read-only where the mount is: the kernel's read-only mounts hold underneath too),
// and linux.resources.memory.limit.
Workload workload_of(const Config& config, const std::string& program);

// One line "spectrum HANDLER: MESSAGE" on the container's stderr (the init's, the workload's
// stream: the runtime has returned by then); returns `status`.
int report_line(std::string_view handler, const std::string& message, int status);

}  // namespace spectrum::container
