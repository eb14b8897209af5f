// Waiting for several fds: poll, ppoll, select and pselect6 (the signal mask argument is not
// applied). The guest's array is copied in once (bounded by the fd
// table's size), translated to host fds, and polled without waiting; when nothing is ready the
// call blocks on the host fds (the scheduler wakes it) until its timeout, when it returns 0.
#include <poll.h>
#include <sys/time.h>
#include <time.h>

#include <array>
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

// select: the fd sets as poll events, the same wait. On a timeout the sets are left as the guest
// passed them (Linux clears them); the return value 0 says nothing is ready.
SyscallResult select_common(Process& p, std::uint64_t nfds, std::uint64_t read_ptr, std::uint64_t write_ptr,
                            std::uint64_t except_ptr, std::optional<std::chrono::nanoseconds> timeout) {
  if (nfds > static_cast<std::uint64_t>(kMaxFds)) return SyscallResult::error(EINVAL);
  const std::size_t words = (nfds + 63) / 64;
  std::array<std::vector<std::uint64_t>, 3> sets;
  const std::array<std::uint64_t, 3> ptrs{read_ptr, write_ptr, except_ptr};
  for (int k = 0; k < 3; ++k) {
    sets[k].assign(words, 0);
    if (ptrs[k] && words)
      TRY_GUEST_VOID(p.space().read(ptrs[k], {reinterpret_cast<std::uint8_t*>(sets[k].data()), words * 8}));
  }
  auto has = [&](int k, std::size_t fd) { return (sets[k][fd / 64] >> (fd % 64)) & 1; };
  std::vector<pollfd> host;
  std::vector<int> guest_fd;
  std::array<std::vector<std::uint64_t>, 3> out;
  for (auto& o : out) o.assign(words, 0);
  int count = 0;
  for (std::size_t fd = 0; fd < nfds; ++fd) {
    const short events = static_cast<short>((has(0, fd) ? POLLIN : 0) | (has(1, fd) ? POLLOUT : 0) |
                                            (has(2, fd) ? POLLPRI : 0));
    if (!events) continue;
    auto* e = p.fd(static_cast<std::int64_t>(fd));
    if (!e) return SyscallResult::error(EBADF);
    if (e->device != vfs::Device::none) {  // always ready
      for (int k = 0; k < 2; ++k)
        if (has(k, fd)) out[k][fd / 64] |= 1ull << (fd % 64), ++count;
      continue;
    }
    host.push_back({e->host.get(), events, 0});
    guest_fd.push_back(static_cast<int>(fd));
  }
  if (::poll(host.data(), host.size(), 0) < 0) return SyscallResult::error(errno);
  for (std::size_t i = 0; i < host.size(); ++i) {
    const std::size_t fd = static_cast<std::size_t>(guest_fd[i]);
    const short r = host[i].revents;
    const bool ready[3] = {(r & (POLLIN | POLLHUP | POLLERR)) && has(0, fd),
                           (r & (POLLOUT | POLLERR)) && has(1, fd), (r & POLLPRI) && has(2, fd)};
    for (int k = 0; k < 3; ++k)
      if (ready[k]) out[k][fd / 64] |= 1ull << (fd % 64), ++count;
  }
  if (count > 0 || (timeout && timeout->count() == 0)) {
    for (int k = 0; k < 3; ++k)
      if (ptrs[k] && words)
        TRY_GUEST_VOID(
            p.space().write(ptrs[k], {reinterpret_cast<const std::uint8_t*>(out[k].data()), words * 8}));
    return SyscallResult::ret(count);
  }
  SyscallResult blocked = SyscallResult::ret(0);
  blocked.kind = SyscallResult::Kind::block;
  blocked.wait = host;
  if (timeout) blocked.deadline = std::chrono::steady_clock::now() + *timeout;
  return blocked;
}

}  // namespace

SyscallResult sys_select(Process& p, const SyscallRequest& req) {
  std::optional<std::chrono::nanoseconds> timeout;
  if (ARG(4)) {
    auto tv = TRY_GUEST(read_struct<struct timeval>(p, ARG(4)));
    if (tv.tv_sec < 0 || tv.tv_usec < 0 || tv.tv_usec >= 1000000) return SyscallResult::error(EINVAL);
    timeout = std::chrono::seconds(std::min<std::int64_t>(tv.tv_sec, 1ll << 32)) +
              std::chrono::microseconds(tv.tv_usec);
  }
  return select_common(p, ARG(0), ARG(1), ARG(2), ARG(3), timeout);
}

SyscallResult sys_pselect6(Process& p, const SyscallRequest& req) {
  std::optional<std::chrono::nanoseconds> timeout;
  if (ARG(4)) {
    auto ts = TRY_GUEST(read_struct<struct timespec>(p, ARG(4)));
    if (ts.tv_sec < 0 || ts.tv_nsec < 0 || ts.tv_nsec >= 1'000'000'000) return SyscallResult::error(EINVAL);
    timeout = std::chrono::seconds(std::min<std::int64_t>(ts.tv_sec, 1ll << 32)) +
              std::chrono::nanoseconds(ts.tv_nsec);
  }
  return select_common(p, ARG(0), ARG(1), ARG(2), ARG(3), timeout);
}

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
