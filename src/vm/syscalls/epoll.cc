// epoll, kept by the monitor: an instance is an interest list (guest fd -> events, data) in an
// OpenFile of its own, with no host epoll behind it. epoll_wait polls the host fds of the list
// once; when nothing is ready it blocks on them like poll. Level-triggered: EPOLLET is taken as
// level (a program that reads until EAGAIN works the same), EPOLLONESHOT disarms after one event.
#include <poll.h>
#include <sys/epoll.h>

#include <chrono>
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

constexpr std::uint32_t kPollable = EPOLLIN | EPOLLOUT | EPOLLPRI | EPOLLRDHUP | EPOLLERR | EPOLLHUP;

Process::OpenFile* epoll_of(Process& p, std::uint64_t fd) {
  auto* e = p.fd(static_cast<std::int64_t>(fd));
  return e && e->epoll ? e : nullptr;
}

SyscallResult wait_common(Process& p, std::uint64_t epfd, std::uint64_t events_ptr, std::int64_t max_events,
                          std::optional<std::chrono::nanoseconds> timeout) {
  auto* ep = epoll_of(p, epfd);
  if (!ep) return SyscallResult::error(p.fd(static_cast<std::int64_t>(epfd)) ? EINVAL : EBADF);
  if (max_events <= 0 || max_events > (1 << 16)) return SyscallResult::error(EINVAL);
  std::vector<pollfd> host;
  std::vector<int> guest;
  std::vector<GuestEpollEvent> ready;
  for (auto it = ep->epoll->begin(); it != ep->epoll->end();) {
    auto* e = p.fd(it->first);
    if (!e) {  // closed since: Linux drops it from the set with its last reference
      it = ep->epoll->erase(it);
      continue;
    }
    if (it->second.events & kPollable) {
      if (e->device != vfs::Device::none) {
        ready.push_back({it->second.events & (EPOLLIN | EPOLLOUT), it->second.data});
      } else if (!e->epoll) {
        host.push_back({e->host.get(), static_cast<short>(it->second.events & kPollable), 0});
        guest.push_back(it->first);
      }
    }
    ++it;
  }
  if (::poll(host.data(), host.size(), 0) < 0) return SyscallResult::error(errno);
  for (std::size_t i = 0; i < host.size(); ++i) {
    if (!host[i].revents) continue;
    auto& interest = (*ep->epoll)[guest[i]];
    ready.push_back({static_cast<std::uint32_t>(host[i].revents), interest.data});
    if (interest.events & EPOLLONESHOT) interest.events &= ~kPollable;
  }
  if (!ready.empty()) {
    const std::size_t n = std::min<std::size_t>(ready.size(), static_cast<std::size_t>(max_events));
    TRY_GUEST_VOID(p.space().write(
        events_ptr, {reinterpret_cast<const std::uint8_t*>(ready.data()), n * sizeof(GuestEpollEvent)}));
    return SyscallResult::ret(static_cast<std::int64_t>(n));
  }
  if (timeout && timeout->count() == 0) return SyscallResult::ret(0);
  SyscallResult blocked = SyscallResult::ret(0);
  blocked.kind = SyscallResult::Kind::block;
  blocked.wait = host;
  if (timeout) blocked.deadline = std::chrono::steady_clock::now() + *timeout;
  return blocked;
}

}  // namespace

SyscallResult sys_epoll_create1(Process& p, const SyscallRequest& req) {
  if (ARG(0) & ~std::uint64_t{EPOLL_CLOEXEC}) return SyscallResult::error(EINVAL);
  Process::OpenFile f;
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
  auto& set = *ep->epoll;
  switch (ARG(1)) {
    case EPOLL_CTL_ADD:
    case EPOLL_CTL_MOD: {
      auto ev = TRY_GUEST(read_struct<GuestEpollEvent>(p, ARG(3)));
      const bool present = set.count(fd);
      if (ARG(1) == EPOLL_CTL_ADD && present) return SyscallResult::error(EEXIST);
      if (ARG(1) == EPOLL_CTL_MOD && !present) return SyscallResult::error(ENOENT);
      set[fd] = {ev.events | EPOLLERR | EPOLLHUP, ev.data};
      return SyscallResult::ret(0);
    }
    case EPOLL_CTL_DEL:
      return set.erase(fd) ? SyscallResult::ret(0) : SyscallResult::error(ENOENT);
    default:
      return SyscallResult::error(EINVAL);
  }
}

SyscallResult sys_epoll_wait(Process& p, const SyscallRequest& req) {
  const int ms = static_cast<int>(ARG(3));
  return wait_common(p, ARG(0), ARG(1), static_cast<std::int32_t>(ARG(2)),
                     ms < 0 ? std::nullopt : std::optional(std::chrono::milliseconds(ms)));
}
// epoll_pwait: the signal mask argument is not applied.
SyscallResult sys_epoll_pwait(Process& p, const SyscallRequest& req) { return sys_epoll_wait(p, req); }

}  // namespace spectrum::vm::syscalls
