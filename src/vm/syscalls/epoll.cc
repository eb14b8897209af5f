// epoll. An instance is a host epoll fd of the monitor's: every guest fd with a host fd is added
// to it under its host fd with the guest's events and data, so that edge-triggered (EPOLLET),
// one-shot (EPOLLONESHOT) and exclusive (EPOLLEXCLUSIVE) interest behave as the host kernel makes
// them, and an fd leaves the set when its last reference closes, as on Linux. The synthetic /dev
// files have no host fd; they are kept in the instance's own map and are always ready (level).
// epoll_wait asks the host instance without waiting; when nothing is ready the task blocks on the
// instance's fd (readable when an event is pending) until its timeout. The signal mask of
// epoll_pwait/epoll_pwait2 is not applied.
#include <poll.h>
#include <sys/epoll.h>

#include <chrono>
#include <climits>
#include <map>
#include <vector>

#include "vm/syscalls/syscalls.h"

namespace spectrum::vm::syscalls {

namespace {

struct __attribute__((packed)) GuestEpollEvent {
  std::uint32_t events;
  std::uint64_t data;
};
static_assert(sizeof(GuestEpollEvent) == sizeof(epoll_event) && sizeof(GuestEpollEvent) == 12);
static_assert(EPOLLIN == POLLIN && EPOLLOUT == POLLOUT && EPOLLERR == POLLERR && EPOLLHUP == POLLHUP);

// One epoll_wait returns at most this many events (fewer than asked is what Linux may return too).
constexpr std::size_t kMaxEventsPerWait = 1024;
// Linux's EP_MAX_EVENTS: a larger maxevents is EINVAL.
constexpr std::int64_t kEpMaxEvents = INT_MAX / sizeof(epoll_event);

Process::OpenFile* epoll_of(Process& p, std::uint64_t fd) {
  auto* e = p.fd(static_cast<std::int64_t>(fd));
  return e && e->epoll ? e : nullptr;
}

SyscallResult wait_common(Process& p, std::uint64_t epfd, std::uint64_t events_ptr, std::int64_t max_events,
                          std::optional<std::chrono::nanoseconds> timeout) {
  auto* ep = epoll_of(p, epfd);
  if (!ep) return SyscallResult::error(p.fd(static_cast<std::int64_t>(epfd)) ? EINVAL : EBADF);
  if (max_events <= 0 || max_events > kEpMaxEvents) return SyscallResult::error(EINVAL);
  const std::size_t room = std::min<std::size_t>(static_cast<std::size_t>(max_events), kMaxEventsPerWait);
  std::vector<GuestEpollEvent> ready;
  // The synthetic files first: they are always ready, and the host instance's wait may consume
  // edge-triggered events, which must then reach the guest.
  for (auto it = ep->epoll->begin(); it != ep->epoll->end() && ready.size() < room;) {
    auto* e = p.fd(it->first);
    if (!e || e->device == vfs::Device::none) {  // closed (or reused) since: Linux drops it
      it = ep->epoll->erase(it);
      continue;
    }
    const PollTarget t = poll_target(p, it->first, static_cast<short>(it->second.events));
    if (t.revents) ready.push_back({static_cast<std::uint32_t>(t.revents), it->second.data});
    if (t.revents && (it->second.events & EPOLLONESHOT))
      it->second.events &= ~std::uint32_t{EPOLLIN | EPOLLOUT};
    ++it;
  }
  if (ready.size() < room) {
    std::vector<epoll_event> host(room - ready.size());
    const int n = ::epoll_wait(ep->host.get(), host.data(), static_cast<int>(host.size()), 0);
    if (n < 0) return SyscallResult::error(errno);
    for (int i = 0; i < n; ++i) ready.push_back({host[i].events, host[i].data.u64});
  }
  if (!ready.empty()) {
    TRY_GUEST_VOID(p.space().write(events_ptr, {reinterpret_cast<const std::uint8_t*>(ready.data()),
                                                ready.size() * sizeof(GuestEpollEvent)}));
    return SyscallResult::ret(static_cast<std::int64_t>(ready.size()));
  }
  if (timeout && timeout->count() == 0) return SyscallResult::ret(0);
  return block_until({pollfd{ep->host.get(), POLLIN, 0}}, timeout);
}

}  // namespace

SyscallResult sys_epoll_create1(Process& p, const SyscallRequest& req) {
  if (ARG(0) & ~std::uint64_t{EPOLL_CLOEXEC}) return SyscallResult::error(EINVAL);
  Process::OpenFile f;
  f.host = UniqueFd(::epoll_create1(EPOLL_CLOEXEC));
  if (!f.host) return SyscallResult::error(errno);
  f.epoll = std::make_shared<std::map<int, Process::OpenFile::EpollInterest>>();
  return SyscallResult::ret(TRY_GUEST(p.install_fd(std::move(f), ARG(0) & EPOLL_CLOEXEC)));
}
SyscallResult sys_epoll_create(Process& p, const SyscallRequest& req) {
  if (static_cast<std::int32_t>(ARG(0)) <= 0) return SyscallResult::error(EINVAL);
  SyscallRequest no_flags = req;
  no_flags.args[0] = 0;
  return sys_epoll_create1(p, no_flags);
}

SyscallResult sys_epoll_ctl(Process& p, const SyscallRequest& req) {
  auto* ep = epoll_of(p, ARG(0));
  if (!ep) return SyscallResult::error(p.fd(static_cast<std::int64_t>(ARG(0))) ? EINVAL : EBADF);
  const int fd = static_cast<int>(ARG(2));
  auto* target = p.fd(fd);
  if (!target) return SyscallResult::error(EBADF);
  if (target == ep) return SyscallResult::error(EINVAL);
  if (!target->emulated_block && !target->shared && !target->epoll && target->device == vfs::Device::none)
    return SyscallResult::error(EPERM);  // a regular file or directory, as Linux refuses
  const int op = static_cast<int>(ARG(1));
  if (op != EPOLL_CTL_ADD && op != EPOLL_CTL_MOD && op != EPOLL_CTL_DEL) return SyscallResult::error(EINVAL);
  epoll_event event{};
  if (op != EPOLL_CTL_DEL) {
    auto ev = TRY_GUEST(read_struct<GuestEpollEvent>(p, ARG(3)));
    event.events = ev.events;
    event.data.u64 = ev.data;
  }
  if (target->device == vfs::Device::none)  // the host checks the flags (EPOLLEXCLUSIVE with MOD: EINVAL)
    return SyscallResult::ret(host_result(::epoll_ctl(ep->host.get(), op, target->host.get(), &event)));
  auto& set = *ep->epoll;
  const bool present = set.count(fd);
  switch (op) {
    case EPOLL_CTL_ADD:
    case EPOLL_CTL_MOD:
      if (op == EPOLL_CTL_ADD && present) return SyscallResult::error(EEXIST);
      if (op == EPOLL_CTL_MOD && !present) return SyscallResult::error(ENOENT);
      set[fd] = {event.events | EPOLLERR | EPOLLHUP, event.data.u64};
      return SyscallResult::ret(0);
    default:
      return set.erase(fd) ? SyscallResult::ret(0) : SyscallResult::error(ENOENT);
  }
}

SyscallResult sys_epoll_wait(Process& p, const SyscallRequest& req) {
  const int ms = static_cast<int>(ARG(3));
  return wait_common(p, ARG(0), ARG(1), static_cast<std::int32_t>(ARG(2)),
                     ms < 0 ? std::nullopt : std::optional(std::chrono::milliseconds(ms)));
}
SyscallResult sys_epoll_pwait(Process& p, const SyscallRequest& req) { return sys_epoll_wait(p, req); }
// epoll_pwait2: the timeout is a struct timespec (null: wait without one).
SyscallResult sys_epoll_pwait2(Process& p, const SyscallRequest& req) {
  return wait_common(p, ARG(0), ARG(1), static_cast<std::int32_t>(ARG(2)),
                     TRY_GUEST(read_timeout(p, ARG(3))));
}

}  // namespace spectrum::vm::syscalls
