// IPC objects the monitor makes on the host for the guest: eventfds and AF_UNIX socket pairs
// (connected, anonymous: no path, no fd passing). Both are non-blocking on the host; the guest's
// blocking is the "block" outcome (see OpenFile), its O_NONBLOCK its own view.
#include <sys/eventfd.h>
#include <sys/socket.h>

#include <array>

#include "vm/kernel/kernel.h"
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

// Send and receive on a socket the monitor made; `dontwait` also when the guest asked for it.
SyscallResult socket_io(Process& p, const SyscallRequest& req, bool is_send) {
  auto* e = p.fd(static_cast<std::int64_t>(ARG(0)));
  if (!e) return SyscallResult::error(EBADF);
  if (!e->emulated_block || e->device != vfs::Device::none) return SyscallResult::error(ENOTSOCK);
  if (ARG(4) != 0) return SyscallResult::error(is_send ? EISCONN : EINVAL);  // socket pairs only
  const int allowed = MSG_DONTWAIT | MSG_NOSIGNAL | MSG_PEEK | MSG_WAITALL | MSG_TRUNC | MSG_EOR;
  const int flags = static_cast<int>(ARG(3));
  if (flags & ~allowed) return SyscallResult::error(EOPNOTSUPP);
  const std::uint64_t length = std::min<std::uint64_t>(ARG(2), kMaxIo);
  auto iov = TRY_GUEST(p.guest_iovecs(ARG(1), length, is_send ? Access::read : Access::write));
  msghdr msg{};
  msg.msg_iov = iov.data();
  msg.msg_iovlen = std::min<std::size_t>(iov.size(), IOV_MAX);
  const int host_flags = (flags & (MSG_PEEK | MSG_TRUNC | MSG_EOR)) | MSG_DONTWAIT | MSG_NOSIGNAL;
  const long r =
      is_send ? ::sendmsg(e->host.get(), &msg, host_flags) : ::recvmsg(e->host.get(), &msg, host_flags);
  if (r < 0 && errno == EAGAIN && !(e->status_flags & O_NONBLOCK) && !(flags & MSG_DONTWAIT))
    return SyscallResult::block_on(e->host.get(), is_send ? POLLOUT : POLLIN);
  if (r < 0 && errno == EPIPE && is_send && !(flags & MSG_NOSIGNAL)) {
    SyscallResult sig = p.kernel() ? p.kernel()->raise(p, SIGPIPE) : signal_self(p, 1, SIGPIPE);
    if (sig.kind == SyscallResult::Kind::signal) return sig;
    return SyscallResult::error(EPIPE);
  }
  if (r >= 0 && !is_send && ARG(5)) TRY_GUEST_VOID(write_struct(p, ARG(5), std::uint32_t{0}));  // no address
  return SyscallResult::ret(host_result(r));
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

SyscallResult sys_socketpair(Process& p, const SyscallRequest& req) {
  // Only AF_UNIX pairs (inet families have none, as on Linux; no network inside the sandbox).
  if (ARG(0) == AF_INET || ARG(0) == AF_INET6) return SyscallResult::error(EOPNOTSUPP);
  if (ARG(0) != AF_UNIX) return SyscallResult::error(EAFNOSUPPORT);
  const int type = static_cast<int>(ARG(1)) & ~(SOCK_NONBLOCK | SOCK_CLOEXEC);
  if (type != SOCK_STREAM && type != SOCK_DGRAM && type != SOCK_SEQPACKET)
    return SyscallResult::error(EINVAL);
  if (ARG(2) != 0) return SyscallResult::error(EPROTONOSUPPORT);
  int host[2];
  if (::socketpair(AF_UNIX, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, host) != 0)
    return SyscallResult::error(errno);
  UniqueFd a(host[0]), b(host[1]);
  const bool nonblock = ARG(1) & SOCK_NONBLOCK, cloexec = ARG(1) & SOCK_CLOEXEC;
  const int first = TRY_GUEST(p.install_fd(monitor_made(std::move(a), nonblock), cloexec));
  auto second = p.install_fd(monitor_made(std::move(b), nonblock), cloexec);
  if (!second) {
    p.files().close(first);
    return SyscallResult::error(second.error());
  }
  const std::array<int, 2> guest{first, *second};
  if (auto ok = write_struct(p, ARG(3), guest); !ok) {
    p.files().close(first);
    p.files().close(*second);
    return SyscallResult::error(ok.error());
  }
  return SyscallResult::ret(0);
}

SyscallResult sys_sendto(Process& p, const SyscallRequest& req) { return socket_io(p, req, true); }
SyscallResult sys_recvfrom(Process& p, const SyscallRequest& req) { return socket_io(p, req, false); }

// getsockname/getpeername: a socket pair's ends have no names (AF_UNIX, unnamed: length 2).
SyscallResult sys_socket_name(Process& p, const SyscallRequest& req) {
  auto* e = p.fd(static_cast<std::int64_t>(ARG(0)));
  if (!e) return SyscallResult::error(EBADF);
  if (!e->emulated_block || e->device != vfs::Device::none) return SyscallResult::error(ENOTSOCK);
  auto length = TRY_GUEST(read_struct<std::uint32_t>(p, ARG(2)));
  if (static_cast<std::int32_t>(length) < 0) return SyscallResult::error(EINVAL);
  const std::uint16_t family = AF_UNIX;
  if (length >= sizeof family) TRY_GUEST_VOID(write_struct(p, ARG(1), family));
  TRY_GUEST_VOID(write_struct(p, ARG(2), std::uint32_t{sizeof family}));
  return SyscallResult::ret(0);
}

SyscallResult sys_shutdown(Process& p, const SyscallRequest& req) {
  auto* e = p.fd(static_cast<std::int64_t>(ARG(0)));
  if (!e) return SyscallResult::error(EBADF);
  if (!e->emulated_block) return SyscallResult::error(ENOTSOCK);
  if (ARG(1) > SHUT_RDWR) return SyscallResult::error(EINVAL);
  return SyscallResult::ret(host_result(::shutdown(e->host.get(), static_cast<int>(ARG(1)))));
}

}  // namespace spectrum::vm::syscalls
