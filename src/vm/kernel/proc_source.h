// The sandbox kernel's answers to /proc (fs/proc.h): its processes, their fds and memory.
#pragma once

#include <memory>
#include <string>

#include "vm/fs/proc.h"

namespace spectrum::vm {
class Process;
}

namespace spectrum::vm::kernel {

struct OpenFile;

// /proc as `caller` sees it: every process of its kernel (only itself when it runs without one,
// as in the unit tests).
std::unique_ptr<vfs::ProcSource> proc_source(Process& caller);
// The description behind fd `fd` of process `pid` (an open of /proc/PID/fd/N), or null.
std::shared_ptr<OpenFile> proc_open_file(Process& caller, int pid, int fd);
// What /proc/PID/fd/N reads as: the guest path, or "pipe:[INO]", "socket:[INO]", ...
std::string fd_target(const OpenFile& file);

}  // namespace spectrum::vm::kernel
