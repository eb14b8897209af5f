// eventfds: the monitor's own host eventfds, non-blocking on the host; the guest's blocking is the
// "block" outcome (see OpenFile), its O_NONBLOCK its own view. Sockets are in net.cc.
#include <sys/eventfd.h>

#include "vm/syscalls/syscalls.h"

namespace spectrum::vm::syscalls {

namespace {

Process::OpenFile monitor_made(UniqueFd fd, bool nonblock) {
  Process::OpenFile f;
  f.host = std::move(fd);
  f.emulated_block = true;
  f.status_flags = nonblock ? O_NONBLOCK : 0;
  return f;
}

}  // namespace

SyscallResult sys_eventfd2(Process& p, const SyscallRequest& req) {
  if (ARG(1) & ~std::uint64_t{EFD_CLOEXEC | EFD_NONBLOCK | EFD_SEMAPHORE})
    return SyscallResult::error(EINVAL);
  UniqueFd fd(::eventfd(static_cast<unsigned>(ARG(0)),
                        EFD_CLOEXEC | EFD_NONBLOCK | static_cast<int>(ARG(1) & EFD_SEMAPHORE)));
  if (!fd) return SyscallResult::error(errno);
  return SyscallResult::ret(
      TRY_GUEST(p.install_fd(monitor_made(std::move(fd), ARG(1) & EFD_NONBLOCK), ARG(1) & EFD_CLOEXEC)));
}
SyscallResult sys_eventfd(Process& p, const SyscallRequest& req) {
  SyscallRequest with_flags = req;
  with_flags.args[1] = 0;
  return sys_eventfd2(p, with_flags);
}

}  // namespace spectrum::vm::syscalls
