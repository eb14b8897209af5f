// The workload's stdio as file descriptors, the same for every tier that runs a host process.
#pragma once

#include <string>

#include "core/error.h"
#include "core/fd.h"
#include "core/workload.h"

namespace spectrum {

// The fd to give the workload for one stream: none (-1) for inherit, /dev/null, a file, or the
// write end of a pipe whose read end goes to *capture. `name` ("stdout") appears in errors.
Result<UniqueFd> open_stdio_stream(const Stdio& stdio, bool output, UniqueFd* capture, const char* name);

// Appends what is ready on a capture pipe to `into`; closes the pipe at end of file or on error.
void drain_pipe(UniqueFd& fd, std::string& into);

}  // namespace spectrum
