// sendto/recvfrom and sendmsg/recvmsg on the guest's sockets (see net.h), with AF_UNIX addresses
// made into the host's and back, and control data:
// - SCM_RIGHTS: the guest's fds travel as their host fds in the host message, so the host kernel
//   keeps them with the bytes they were sent with. Each also waits in this sandbox's table of fds
//   in flight (by the host file's device and inode) with its open file description, and the
//   receiver gets that same description (offsets, flags, a /dev file with no host fd behind it: a
//   placeholder eventfd travels for it). A received host fd that no guest sent is closed, never
//   given to the guest.
// - SCM_CREDENTIALS: guest ids only; the host's (the monitor's) are replaced by the sender's guest
//   pid when known.
// Every guest length is bounded before use: the iovec count by UIO_MAXIOV, the bytes by kMaxIo,
// the control data by kMaxControl, the fds of one message by SCM_MAX_FD, as Linux bounds them.
#include <sys/eventfd.h>
#include <sys/stat.h>
#include <sys/syscall.h>

#include <cstring>
#include <map>

#include "vm/kernel/kernel.h"
#include "vm/syscalls/net.h"
#include "vm/syscalls/syscalls.h"

namespace spectrum::vm::syscalls {

namespace {

constexpr std::size_t kUioMaxIov = 1024;    // UIO_MAXIOV
constexpr std::size_t kScmMaxFd = 253;      // SCM_MAX_FD
constexpr std::size_t kMaxControl = 20480;  // net.core.optmem_max's default: more is ENOBUFS
constexpr std::size_t kMaxInFlight = 4096;  // fds in flight in one sandbox (more: ETOOMANYREFS)

struct GuestMsghdr {
  std::uint64_t name;
  std::uint32_t namelen, pad0;
  std::uint64_t iov, iovlen, control, controllen;
  std::int32_t flags, pad1;
};
static_assert(sizeof(GuestMsghdr) == sizeof(msghdr) &&
              offsetof(msghdr, msg_flags) == offsetof(GuestMsghdr, flags));
static_assert(offsetof(msghdr, msg_controllen) == offsetof(GuestMsghdr, controllen));
struct GuestIovec {
  std::uint64_t base, length;
};
static_assert(sizeof(GuestIovec) == sizeof(iovec) && sizeof(cmsghdr) == 16);

// The fds in flight: host (dev, ino) -> the descriptions sent under it, oldest first.
std::multimap<std::pair<dev_t, ino_t>, std::shared_ptr<Process::OpenFile>>& in_flight() {
  static std::multimap<std::pair<dev_t, ino_t>, std::shared_ptr<Process::OpenFile>> files;
  return files;
}
std::optional<std::pair<dev_t, ino_t>> identity(int host_fd) {
  struct stat st {};
  if (::fstat(host_fd, &st) != 0) return std::nullopt;
  return std::pair{st.st_dev, st.st_ino};
}

// The guest's buffers of one call, as host iovecs (a bounce buffer when they need more host
// iovecs than one host call takes: a datagram must go in one call).
struct Buffers {
  std::vector<iovec> host;
  std::vector<std::uint8_t> bounce;
  std::uint64_t total = 0;
};
GuestResult<Buffers> gather(Process& p, const std::vector<GuestIovec>& guest, bool is_send) {
  Buffers b;
  for (const GuestIovec& v : guest) {
    if (v.length > kMaxIo - b.total) return std::unexpected(EINVAL);
    b.total += v.length;
    if (v.length == 0) continue;
    auto part = p.guest_iovecs(v.base, v.length, is_send ? Access::read : Access::write);
    if (!part) return std::unexpected(part.error());
    b.host.insert(b.host.end(), part->begin(), part->end());
  }
  if (b.host.size() > IOV_MAX) {
    b.bounce.resize(b.total);
    if (is_send) {
      std::size_t at = 0;
      for (const iovec& v : b.host) std::memcpy(b.bounce.data() + at, v.iov_base, v.iov_len), at += v.iov_len;
    }
    b.host = {{b.bounce.data(), b.bounce.size()}};
  }
  return b;
}
void scatter_bounce(const Buffers& b, std::size_t received, std::vector<iovec> targets) {
  std::size_t at = 0;
  for (const iovec& v : targets) {
    const std::size_t n = std::min(v.iov_len, received - at);
    std::memcpy(v.iov_base, b.bounce.data() + at, n);
    at += n;
    if (at == received) break;
  }
}

// The guest's control data as the host's: fds made host fds (kept in flight), credentials
// checked. `pending` holds what went in flight, to take back if the send fails.
struct SendControl {
  std::vector<std::uint8_t> host;
  std::vector<UniqueFd> placeholders;
  std::vector<std::multimap<std::pair<dev_t, ino_t>, std::shared_ptr<Process::OpenFile>>::iterator> pending;
  void take_back() {
    for (auto it : pending) in_flight().erase(it);
    pending.clear();
  }
};
GuestResult<void> translate_send_control(Process& p, const std::vector<std::uint8_t>& guest,
                                         SendControl& out) {
  out.host.assign(guest.begin(), guest.end());
  std::size_t at = 0;
  while (guest.size() - at >= sizeof(cmsghdr)) {
    cmsghdr header;
    std::memcpy(&header, guest.data() + at, sizeof header);
    if (header.cmsg_len < sizeof(cmsghdr) || header.cmsg_len > guest.size() - at)
      return std::unexpected(EINVAL);
    const std::size_t data_length = header.cmsg_len - CMSG_LEN(0);
    std::uint8_t* data = out.host.data() + at + CMSG_LEN(0);
    if (header.cmsg_level != SOL_SOCKET) return std::unexpected(EINVAL);
    if (header.cmsg_type == SCM_RIGHTS) {
      const std::size_t count = data_length / sizeof(int);
      if (count > kScmMaxFd) return std::unexpected(EINVAL);
      if (in_flight().size() + count > kMaxInFlight) return std::unexpected(ETOOMANYREFS);
      for (std::size_t i = 0; i < count; ++i) {
        int fd;
        std::memcpy(&fd, data + i * sizeof fd, sizeof fd);
        Process::FdEntry* entry = p.files().get(fd);
        if (!entry) return std::unexpected(EBADF);
        int host = entry->file->host.get();
        if (host < 0) {  // a /dev file: a placeholder carries it
          out.placeholders.emplace_back(::eventfd(0, EFD_CLOEXEC));
          host = out.placeholders.back().get();
          if (host < 0) return std::unexpected(errno);
        }
        auto id = identity(host);
        if (!id) return std::unexpected(EBADF);
        out.pending.push_back(in_flight().emplace(*id, entry->file));
        std::memcpy(data + i * sizeof host, &host, sizeof host);
      }
    } else if (header.cmsg_type == SCM_CREDENTIALS) {
      if (data_length < sizeof(ucred)) return std::unexpected(EINVAL);
      ucred claimed;
      std::memcpy(&claimed, data, sizeof claimed);
      const GuestCred self = guest_cred(p);
      if (claimed.pid != self.pid || claimed.uid != self.uid || claimed.gid != self.gid)
        return std::unexpected(EPERM);  // as Linux refuses ids not one's own without a capability
      const ucred host{::getpid(), ::getuid(), ::getgid()};
      std::memcpy(data, &host, sizeof host);
    } else {
      return std::unexpected(EINVAL);
    }
    at += CMSG_ALIGN(header.cmsg_len);
    if (at > guest.size()) break;
  }
  return {};
}

// The host's received control data made the guest's, in place: host fds become guest fds of the
// same descriptions; what does not fit, or was never sent by this sandbox, is closed and the
// message gets MSG_CTRUNC.
void translate_received_control(Process& p, const Socket& socket, std::vector<std::uint8_t>& control,
                                std::size_t& length, int& flags, bool cloexec) {
  std::size_t at = 0;
  while (length - at >= sizeof(cmsghdr)) {
    cmsghdr header;
    std::memcpy(&header, control.data() + at, sizeof header);
    if (header.cmsg_len < sizeof(cmsghdr) || header.cmsg_len > length - at) break;
    std::uint8_t* data = control.data() + at + CMSG_LEN(0);
    const std::size_t data_length = header.cmsg_len - CMSG_LEN(0);
    if (header.cmsg_level == SOL_SOCKET && header.cmsg_type == SCM_RIGHTS) {
      const std::size_t count = data_length / sizeof(int);
      std::size_t kept = 0;
      for (std::size_t i = 0; i < count; ++i) {
        int host;
        std::memcpy(&host, data + i * sizeof host, sizeof host);
        UniqueFd received(host);
        std::shared_ptr<Process::OpenFile> file;
        if (auto id = identity(host)) {
          if (auto it = in_flight().find(*id); it != in_flight().end()) {
            file = it->second;
            in_flight().erase(it);
          }
        }
        std::optional<int> guest;
        if (file) {
          if (auto installed = p.files().install({file, cloexec}); installed) guest = *installed;
        }
        if (!guest) {
          flags |= MSG_CTRUNC;
          continue;
        }
        std::memcpy(data + kept * sizeof(int), &*guest, sizeof(int));
        ++kept;
      }
      header.cmsg_len = CMSG_LEN(kept * sizeof(int));
      std::memcpy(control.data() + at, &header, sizeof header);
      if (kept == 0 && count > 0) {  // nothing of it reached the guest: the header goes too
        control.erase(control.begin() + static_cast<std::ptrdiff_t>(at),
                      control.begin() + static_cast<std::ptrdiff_t>(
                                            std::min(length, at + CMSG_SPACE(count * sizeof(int)))));
        length -= std::min(length - at, CMSG_SPACE(count * sizeof(int)));
        continue;
      }
      if (kept < count) {
        const std::size_t old_space = std::min(length - at, CMSG_SPACE(count * sizeof(int)));
        const std::size_t new_space = CMSG_SPACE(kept * sizeof(int));
        control.erase(control.begin() + static_cast<std::ptrdiff_t>(at + new_space),
                      control.begin() + static_cast<std::ptrdiff_t>(at + old_space));
        length -= old_space - new_space;
        at += new_space;
        continue;
      }
    } else if (header.cmsg_level == SOL_SOCKET && header.cmsg_type == SCM_CREDENTIALS &&
               data_length >= sizeof(ucred)) {
      const GuestCred sender = socket.peer_cred.value_or(GuestCred{});
      const ucred guest{sender.pid, sender.uid, sender.gid};
      std::memcpy(data, &guest, sizeof guest);
    }
    at += CMSG_ALIGN(header.cmsg_len);
  }
}

struct Message {
  std::uint64_t name = 0, name_length_ptr = 0;  // recv: where the address and its length go
  std::string address;                          // send: the guest's sockaddr ("" = none)
  std::vector<GuestIovec> iov;
  std::vector<std::uint8_t> control;  // send: the guest's; recv: room for the host's
  int flags = 0;
};

SyscallResult send_message(Process& p, Process::OpenFile& e, Message& m) {
  Socket& s = *e.socket;
  auto buffers = gather(p, m.iov, true);
  if (!buffers) return SyscallResult::error(buffers.error());
  msghdr msg{};
  UnixAddress unix_address;
  if (!m.address.empty()) {
    if (s.family == AF_UNIX) {
      if (s.type != SOCK_DGRAM && s.type != SOCK_SEQPACKET) return SyscallResult::error(EISCONN);
      auto resolved = unix_peer_address(p, m.address);
      if (!resolved) return SyscallResult::error(resolved.error());
      unix_address = std::move(*resolved);
      msg.msg_name = &unix_address.host;
      msg.msg_namelen = unix_address.host_length;
    } else {
      msg.msg_name = m.address.data();
      msg.msg_namelen = static_cast<socklen_t>(m.address.size());
    }
  }
  SendControl control;
  if (!m.control.empty()) {
    if (s.family != AF_UNIX) return SyscallResult::error(EINVAL);
    if (auto ok = translate_send_control(p, m.control, control); !ok) {
      control.take_back();
      return SyscallResult::error(ok.error());
    }
    msg.msg_control = control.host.data();
    msg.msg_controllen = control.host.size();
  }
  msg.msg_iov = buffers->host.data();
  msg.msg_iovlen = buffers->host.size();
  const int host_flags = (m.flags & (MSG_EOR | MSG_MORE | MSG_OOB)) | MSG_DONTWAIT | MSG_NOSIGNAL;
  const int fd = e.host.get();
  auto call = [&] { return static_cast<int>(::sendmsg(fd, &msg, host_flags)); };
  const long r =
      unix_address.dir ? in_directory(p, unix_address.dir.get(), call) : ::sendmsg(fd, &msg, host_flags);
  const int error = errno;
  if (r < 0) control.take_back();
  if (r < 0 && error == EAGAIN && !(e.status_flags & O_NONBLOCK) && !(m.flags & MSG_DONTWAIT))
    return SyscallResult::block_on(fd, POLLOUT);
  if (r < 0 && error == EPIPE && !(m.flags & MSG_NOSIGNAL) && s.type != SOCK_DGRAM) {
    SyscallResult sig = p.kernel() ? p.kernel()->raise(p, SIGPIPE) : signal_self(p, 1, SIGPIPE);
    if (sig.kind == SyscallResult::Kind::signal) return sig;
  }
  return SyscallResult::ret(r < 0 ? -error : r);
}

SyscallResult receive_message(Process& p, Process::OpenFile& e, Message& m, std::uint64_t msghdr_ptr) {
  Socket& s = *e.socket;
  auto buffers = gather(p, m.iov, false);
  if (!buffers) return SyscallResult::error(buffers.error());
  std::vector<iovec> targets;
  if (!buffers->bounce.empty()) {
    for (const GuestIovec& v : m.iov) {
      if (!v.length) continue;
      auto part = p.guest_iovecs(v.base, v.length, Access::write);
      if (!part) return SyscallResult::error(part.error());
      targets.insert(targets.end(), part->begin(), part->end());
    }
  }
  sockaddr_storage from{};
  msghdr msg{};
  msg.msg_name = &from;
  msg.msg_namelen = sizeof from;
  msg.msg_iov = buffers->host.data();
  msg.msg_iovlen = buffers->host.size();
  msg.msg_control = m.control.empty() ? nullptr : m.control.data();
  msg.msg_controllen = m.control.size();
  const int host_flags =
      (m.flags & (MSG_PEEK | MSG_TRUNC | MSG_WAITALL | MSG_OOB)) | MSG_DONTWAIT | MSG_CMSG_CLOEXEC;
  const long r = ::recvmsg(e.host.get(), &msg, host_flags & ~MSG_WAITALL);
  if (r < 0) {
    if (errno == EAGAIN && !(e.status_flags & O_NONBLOCK) && !(m.flags & MSG_DONTWAIT))
      return SyscallResult::block_on(e.host.get(), POLLIN);
    return SyscallResult::error(errno);
  }
  if (!buffers->bounce.empty()) scatter_bounce(*buffers, std::min<std::size_t>(r, buffers->total), targets);
  std::size_t control_length = msg.msg_controllen;
  int flags = msg.msg_flags & (MSG_TRUNC | MSG_CTRUNC | MSG_EOR | MSG_OOB);
  if (control_length)
    translate_received_control(p, s, m.control, control_length, flags, m.flags & MSG_CMSG_CLOEXEC);
  std::string address;
  if (msg.msg_namelen > 0) {
    if (s.family == AF_UNIX)
      address = guest_name_of_host(reinterpret_cast<const sockaddr_un&>(from), msg.msg_namelen);
    else
      address.assign(reinterpret_cast<const char*>(&from), std::min<socklen_t>(msg.msg_namelen, sizeof from));
  } else if (s.family == AF_UNIX && s.type == SOCK_DGRAM) {
    address.assign("\x01\x00", 2);
  }
  if (msghdr_ptr) {  // recvmsg: the name, the control data, their lengths and the flags back
    GuestMsghdr h = TRY_GUEST(read_struct<GuestMsghdr>(p, msghdr_ptr));
    if (h.name && h.namelen) {
      const std::size_t n = std::min<std::size_t>(h.namelen, address.size());
      TRY_GUEST_VOID(p.space().write(h.name, {reinterpret_cast<const std::uint8_t*>(address.data()), n}));
    }
    h.namelen = h.name ? static_cast<std::uint32_t>(address.size()) : 0;
    if (control_length) TRY_GUEST_VOID(p.space().write(h.control, {m.control.data(), control_length}));
    h.controllen = control_length;
    h.flags = flags;
    TRY_GUEST_VOID(write_struct(p, msghdr_ptr, h));
  } else if (m.name) {  // recvfrom
    TRY_GUEST_VOID(write_sockaddr(p, m.name, m.name_length_ptr, address));
  }
  return SyscallResult::ret((m.flags & MSG_TRUNC) ? r : std::min<long>(r, static_cast<long>(buffers->total)));
}

constexpr int kSendFlags = MSG_DONTWAIT | MSG_NOSIGNAL | MSG_EOR | MSG_MORE | MSG_CONFIRM | MSG_OOB;
constexpr int kRecvFlags = MSG_DONTWAIT | MSG_PEEK | MSG_TRUNC | MSG_WAITALL | MSG_CMSG_CLOEXEC | MSG_OOB;

Process::OpenFile* socket_file(Process& p, std::uint64_t fd, int& error) {
  auto* e = p.fd(static_cast<std::int64_t>(fd));
  error = !e ? EBADF : !e->socket ? ENOTSOCK : 0;
  return error ? nullptr : e;
}

}  // namespace

SyscallResult sys_sendto(Process& p, const SyscallRequest& req) {
  int error;
  auto* e = socket_file(p, ARG(0), error);
  if (!e) return SyscallResult::error(error);
  Message m;
  m.flags = static_cast<int>(ARG(3));
  if (m.flags & ~kSendFlags) return SyscallResult::error(EOPNOTSUPP);
  m.iov.push_back({ARG(1), std::min<std::uint64_t>(ARG(2), kMaxIo)});
  if (ARG(4)) {
    if (ARG(5) > sizeof(sockaddr_storage) || ARG(5) < sizeof(sa_family_t))
      return SyscallResult::error(EINVAL);
    m.address.resize(ARG(5));
    TRY_GUEST_VOID(
        p.space().read(ARG(4), {reinterpret_cast<std::uint8_t*>(m.address.data()), m.address.size()}));
  }
  return send_message(p, *e, m);
}

SyscallResult sys_recvfrom(Process& p, const SyscallRequest& req) {
  int error;
  auto* e = socket_file(p, ARG(0), error);
  if (!e) return SyscallResult::error(error);
  Message m;
  m.flags = static_cast<int>(ARG(3));
  if (m.flags & ~kRecvFlags) return SyscallResult::error(EOPNOTSUPP);
  m.iov.push_back({ARG(1), std::min<std::uint64_t>(ARG(2), kMaxIo)});
  m.name = ARG(4);
  m.name_length_ptr = ARG(5);
  return receive_message(p, *e, m, 0);
}

// sendmsg/recvmsg: the guest's msghdr, its iovec array (at most UIO_MAXIOV) and control data
// (at most kMaxControl bytes) copied in once, every pointer checked by the copy.
SyscallResult sys_sendmsg_recvmsg(Process& p, const SyscallRequest& req) {
  const bool is_send = req.number == SYS_sendmsg;
  int error;
  auto* e = socket_file(p, ARG(0), error);
  if (!e) return SyscallResult::error(error);
  Message m;
  m.flags = static_cast<int>(ARG(2));
  if (m.flags & ~(is_send ? kSendFlags : kRecvFlags)) return SyscallResult::error(EOPNOTSUPP);
  const GuestMsghdr h = TRY_GUEST(read_struct<GuestMsghdr>(p, ARG(1)));
  if (h.iovlen > kUioMaxIov) return SyscallResult::error(EMSGSIZE);
  if (h.controllen > INT32_MAX) return SyscallResult::error(is_send ? ENOBUFS : EINVAL);
  m.iov.resize(h.iovlen);
  if (h.iovlen)
    TRY_GUEST_VOID(p.space().read(
        h.iov, {reinterpret_cast<std::uint8_t*>(m.iov.data()), h.iovlen * sizeof(GuestIovec)}));
  for (const GuestIovec& v : m.iov)
    if (v.length > static_cast<std::uint64_t>(SSIZE_MAX)) return SyscallResult::error(EINVAL);
  if (is_send) {
    if (h.name && h.namelen) {
      if (h.namelen > sizeof(sockaddr_storage)) return SyscallResult::error(EINVAL);
      m.address.resize(h.namelen);
      TRY_GUEST_VOID(p.space().read(h.name, {reinterpret_cast<std::uint8_t*>(m.address.data()), h.namelen}));
      if (m.address.size() < sizeof(sa_family_t)) return SyscallResult::error(EINVAL);
    }
    if (h.controllen) {
      if (h.controllen > kMaxControl) return SyscallResult::error(ENOBUFS);
      if (h.controllen < sizeof(cmsghdr)) return SyscallResult::error(EINVAL);
      m.control.resize(h.controllen);
      TRY_GUEST_VOID(p.space().read(h.control, {m.control.data(), m.control.size()}));
    }
    return send_message(p, *e, m);
  }
  if (h.control && h.controllen) m.control.resize(std::min<std::uint64_t>(h.controllen, kMaxControl));
  return receive_message(p, *e, m, ARG(1));
}

}  // namespace spectrum::vm::syscalls
