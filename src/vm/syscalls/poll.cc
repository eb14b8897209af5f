// Waiting for several fds: poll and ppoll. The guest's array is copied in once (bounded by the fd
// table's size), translated to host fds, and polled without waiting; when nothing is ready the
// call blocks on the host fds (the scheduler wakes it) until its timeout, when it returns 0.
#include <poll.h>
#include <time.h>

#include <chrono>
#include <vector>

#include "vm/syscalls/syscalls.h"

namespace spectrum::vm::syscalls {

static_assert(sizeof(pollfd) == 8);

namespace {

SyscallResult poll_common(Process& p, std::uint64_t fds_ptr, std::uint64_t nfds,
                          std::optional<std::chrono::nanoseconds> timeout) {
  if (nfds > static_cast<std::uint64_t>(kMaxFds)) return SyscallResult::error(EINVAL);
  std::vector<pollfd> guest(nfds), host(nfds);
  if (nfds)
    TRY_GUEST_VOID(
        p.space().read(fds_ptr, {reinterpret_cast<std::uint8_t*>(guest.data()), nfds * sizeof(pollfd)}));
  int invalid = 0;
  for (std::size_t i = 0; i < nfds; ++i) {
    host[i] = {-1, guest[i].events, 0};
    guest[i].revents = 0;
    if (guest[i].fd < 0) continue;
    if (auto* e = p.fd(guest[i].fd); e && e->device != vfs::Device::none) {
      guest[i].revents = static_cast<short>(guest[i].events & (POLLIN | POLLOUT | POLLRDNORM | POLLWRNORM));
      if (guest[i].revents) ++invalid;  // counted with the ready ones
    } else if (e) {
      host[i].fd = e->host.get();
    } else {
      guest[i].revents = POLLNVAL;
      ++invalid;
    }
  }
  const int n = ::poll(host.data(), host.size(), 0);
  if (n < 0) return SyscallResult::error(errno);
  for (std::size_t i = 0; i < nfds; ++i)
    if (host[i].fd >= 0) guest[i].revents = host[i].revents;
  auto write_back = [&]() {
    return nfds ? p.space().write(
                      fds_ptr, {reinterpret_cast<const std::uint8_t*>(guest.data()), nfds * sizeof(pollfd)})
                : GuestResult<void>{};
  };
  TRY_GUEST_VOID(write_back());
  if (n > 0 || invalid > 0 || (timeout && timeout->count() == 0)) return SyscallResult::ret(n + invalid);
  SyscallResult blocked = SyscallResult::ret(0);
  blocked.kind = SyscallResult::Kind::block;
  for (const pollfd& h : host)
    if (h.fd >= 0) blocked.wait.push_back(h);
  if (timeout) blocked.deadline = std::chrono::steady_clock::now() + *timeout;
  return blocked;
}

}  // namespace

SyscallResult sys_poll(Process& p, const SyscallRequest& req) {
  const int ms = static_cast<int>(ARG(2));
  return poll_common(p, ARG(0), ARG(1), ms < 0 ? std::nullopt : std::optional(std::chrono::milliseconds(ms)));
}

SyscallResult sys_ppoll(Process& p, const SyscallRequest& req) {
  std::optional<std::chrono::nanoseconds> timeout;
  if (ARG(2)) {
    auto ts = TRY_GUEST(read_struct<struct timespec>(p, ARG(2)));
    if (ts.tv_sec < 0 || ts.tv_nsec < 0 || ts.tv_nsec >= 1'000'000'000) return SyscallResult::error(EINVAL);
    timeout = std::chrono::seconds(std::min<std::int64_t>(ts.tv_sec, 1ll << 32)) +
              std::chrono::nanoseconds(ts.tv_nsec);
  }
  return poll_common(p, ARG(0), ARG(1), timeout);
}

}  // namespace spectrum::vm::syscalls
