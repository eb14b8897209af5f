// CVE-2019-5736: a container whose /bin/sh is "#!/proc/self/exe" makes the runtime's own binary
// run inside it; from there /proc/PID/exe hands the container a descriptor of the host's binary,
// which it rewrites once the runtime exits, and the host's next run executes the payload as root.
// The runtime therefore never enters a container from a writable view of its binary: before a verb
// that does (create, run, exec, the container tier), it re-executes itself from a read-only
// clone of its own mount (open_tree + mount_setattr: no copy, the same page cache), or, where that
// is not allowed (no CAP_SYS_ADMIN), from a sealed memfd copy as runc and crun do.
#pragma once

#include "core/error.h"

namespace spectrum::container {

// Returns when /proc/self/exe is read-only to everyone (a read-only mount or a write-sealed
// memfd); otherwise re-executes `argv` (nullptr: this process's own command line) from such a
// view and does not return, or returns the error that prevented it.
Result<void> ensure_sealed_runtime(char** argv = nullptr);

// Closes the detached read-only view handed across the re-exec. Its unmount waits for an RCU
// grace period, so callers do it once the container's process runs (while they wait for it).
// Harmless when there is none; also done by the process's exit.
void release_sealed_view();

}  // namespace spectrum::container
