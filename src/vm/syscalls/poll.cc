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

PollTarget poll_target(Process& p, std::int64_t guest_fd, short events) {
  auto* e = p.fd(guest_fd);
  if (!e) return {-1, POLLNVAL};
  if (e->device != vfs::Device::none)  // a synthetic /dev file: always readable and writable
    return {-1, static_cast<short>(events & (POLLIN | POLLOUT | POLLRDNORM | POLLWRNORM))};
  return {e->host.get(), 0};
}

SyscallResult block_until(std::vector<pollfd> wait, std::optional<std::chrono::nanoseconds> timeout) {
  SyscallResult blocked = SyscallResult::ret(0);
  blocked.kind = SyscallResult::Kind::block;
  blocked.wait = std::move(wait);
  if (timeout) blocked.deadline = std::chrono::steady_clock::now() + *timeout;
  return blocked;
}

GuestResult<std::optional<std::chrono::nanoseconds>> read_timeout(const Process& p, std::uint64_t vaddr) {
  if (!vaddr) return std::optional<std::chrono::nanoseconds>{};
  auto ts = read_struct<struct timespec>(p, vaddr);
  if (!ts) return std::unexpected(ts.error());
  if (ts->tv_sec < 0 || ts->tv_nsec < 0 || ts->tv_nsec >= 1'000'000'000) return std::unexpected(EINVAL);
  return std::optional<std::chrono::nanoseconds>(
      std::chrono::seconds(std::min<std::int64_t>(ts->tv_sec, 1ll << 32)) +
      std::chrono::nanoseconds(ts->tv_nsec));
}

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
    const PollTarget t = poll_target(p, guest[i].fd, guest[i].events);
    host[i].fd = t.host_fd;
    guest[i].revents = t.revents;
    if (t.revents) ++invalid;  // ready without the host (counted with the ready ones)
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
  std::vector<pollfd> wait;
  for (const pollfd& h : host)
    if (h.fd >= 0) wait.push_back(h);
  return block_until(std::move(wait), timeout);
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
    const PollTarget t = poll_target(p, static_cast<std::int64_t>(fd), events);
    if (t.revents & POLLNVAL) return SyscallResult::error(EBADF);
    if (t.host_fd < 0) {
      const bool ready[2] = {(t.revents & POLLIN) != 0, (t.revents & POLLOUT) != 0};
      for (int k = 0; k < 2; ++k)
        if (ready[k]) out[k][fd / 64] |= 1ull << (fd % 64), ++count;
      continue;
    }
    host.push_back({t.host_fd, events, 0});
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
  return block_until(std::move(host), timeout);
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
  return select_common(p, ARG(0), ARG(1), ARG(2), ARG(3), TRY_GUEST(read_timeout(p, ARG(4))));
}

SyscallResult sys_poll(Process& p, const SyscallRequest& req) {
  const int ms = static_cast<int>(ARG(2));
  return poll_common(p, ARG(0), ARG(1), ms < 0 ? std::nullopt : std::optional(std::chrono::milliseconds(ms)));
}

SyscallResult sys_ppoll(Process& p, const SyscallRequest& req) {
  return poll_common(p, ARG(0), ARG(1), TRY_GUEST(read_timeout(p, ARG(2))));
}

}  // namespace spectrum::vm::syscalls
