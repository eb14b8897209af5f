// The workload's stdio as file descriptors, the same for every tier that runs a host process.
#pragma once

#include <cstddef>
#include <string>

#include "core/error.h"
#include "core/fd.h"
#include "core/workload.h"

namespace spectrum {

// The fd to give the workload for one stream: none (-1) for inherit, /dev/null, a file, or the
// write end of a pipe whose read end goes to *capture. `name` ("stdout") appears in errors.
Result<UniqueFd> open_stdio_stream(const Stdio& stdio, bool output, UniqueFd* capture, const char* name);

// Captured stdout or stderr past this many bytes is read and dropped, and the result record says
// so (RunResult::stdout_truncated): a workload under --memory 64M must not drive spectrum itself to
// the size of what it writes.
inline constexpr std::size_t kCaptureLimitBytes = 16u << 20;

// Appends what is ready on a capture pipe to `into`, keeping at most `limit` bytes there and
// dropping the rest so the writer never blocks (`*truncated` is then set); closes the pipe at end
// of file or on error.
void drain_pipe(UniqueFd& fd, std::string& into, bool* truncated = nullptr,
                std::size_t limit = kCaptureLimitBytes);

}  // namespace spectrum
