// socket, bind, listen, accept, connect, getsockname/getpeername, setsockopt/getsockopt (see net.h).
//
// AF_UNIX names never lead the host outside the guest's root or this sandbox:
// - a path is resolved through core/confined_path (its parent directory, inside the root), and
//   the host call names only the last component, relative to that directory; a connect follows a
//   symlink in the last component itself, inside the root, a bounded number of times;
// - an abstract name is the guest's: it is looked up in this sandbox's table of names, and the
//   host socket is bound under a name the host kernel picks (autobind), so that no guest name
//   ever reaches the host's abstract namespace (containerd's, systemd's sockets).
// AF_INET/AF_INET6 exist only with --net host, as the monitor's own TCP and UDP sockets.
#include "vm/syscalls/net.h"

#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <map>
#include <utility>

#include "core/confined_path.h"
#include "vm/kernel/kernel.h"
#include "vm/syscalls/syscalls.h"

namespace spectrum::vm::syscalls {

namespace {

bool g_host_network = false;

constexpr int kMaxSymlinks = 40;  // Linux's MAXSYMLINKS
constexpr std::size_t kUnixPathMax = sizeof(sockaddr_un::sun_path);
static_assert(kUnixPathMax == 108 && sizeof(sockaddr_storage) == 128);

// This sandbox's AF_UNIX names: the guest's abstract names (the sockaddr bytes) and its bound
// path sockets (by the socket file's device and inode), each with the host address it is bound
// at. Entries of closed sockets are dropped when met.
struct BoundName {
  std::weak_ptr<Socket> socket;
  sockaddr_un host{};
  socklen_t host_length = 0;
};
std::map<std::string, BoundName>& abstract_names() {
  static std::map<std::string, BoundName> names;
  return names;
}
std::map<std::pair<dev_t, ino_t>, BoundName>& path_names() {
  static std::map<std::pair<dev_t, ino_t>, BoundName> names;
  return names;
}
template <class Map>
BoundName* live(Map& map, const typename Map::key_type& key) {
  auto it = map.find(key);
  if (it == map.end()) return nullptr;
  if (it->second.socket.expired()) {
    map.erase(it);
    return nullptr;
  }
  return &it->second;
}

Process::OpenFile* socket_of(Process& p, std::uint64_t fd, int& error) {
  auto* e = p.fd(static_cast<std::int64_t>(fd));
  error = !e ? EBADF : !e->socket ? ENOTSOCK : 0;
  return error ? nullptr : e;
}

Process::OpenFile new_socket(UniqueFd host, int family, int type, bool nonblock) {
  Process::OpenFile f;
  f.host = std::move(host);
  f.emulated_block = true;
  f.status_flags = nonblock ? O_NONBLOCK : 0;
  f.socket = std::make_shared<Socket>();
  f.socket->family = family;
  f.socket->type = type;
  return f;
}

GuestResult<std::string> read_sockaddr(Process& p, std::uint64_t addr, std::uint64_t length) {
  if (length > sizeof(sockaddr_storage) || length < sizeof(sa_family_t)) return std::unexpected(EINVAL);
  std::string bytes(length, '\0');
  auto ok = p.space().read(addr, {reinterpret_cast<std::uint8_t*>(bytes.data()), bytes.size()});
  if (!ok) return std::unexpected(ok.error());
  return bytes;
}
sa_family_t family_of(const std::string& sockaddr) {
  sa_family_t f;
  std::memcpy(&f, sockaddr.data(), sizeof f);
  return f;
}
std::string unnamed_unix() { return std::string("\x01\x00", 2); }
static_assert(AF_UNIX == 1);

// The path of a guest AF_UNIX sockaddr ("" for an abstract or unnamed one): up to the first NUL.
std::string unix_path(const std::string& guest) {
  const std::string rest = guest.substr(sizeof(sa_family_t));
  return rest.substr(0, rest.find('\0'));
}
bool is_abstract(const std::string& guest) {
  return guest.size() > sizeof(sa_family_t) && guest[sizeof(sa_family_t)] == '\0';
}
// The sockaddr getsockname reports for a path: the family, the path and its NUL.
std::string path_sockaddr(const std::string& path) { return unnamed_unix() + path + std::string(1, '\0'); }

GuestResult<ParentAndName> parent_in_root(Process& p, const std::string& path) {
  auto absolute = p.guest_path(AT_FDCWD, path);
  if (!absolute) return std::unexpected(absolute.error());
  auto parent = open_parent_in_root(p.fs().root.get(), *absolute, false);
  if (!parent) return std::unexpected(parent.error().sys_errno() ? parent.error().sys_errno() : EIO);
  if (parent->name.empty() || parent->name == "." || parent->name == "..") return std::unexpected(EADDRINUSE);
  return std::move(*parent);
}

// Binds `e` under the guest's AF_UNIX address.
SyscallResult bind_unix(Process& p, Process::OpenFile& e, const std::string& guest) {
  Socket& s = *e.socket;
  if (!s.name.empty()) return SyscallResult::error(EINVAL);
  const sockaddr autobind{AF_UNIX, {}};
  if (guest.size() == sizeof(sa_family_t) || is_abstract(guest)) {
    if (is_abstract(guest) && live(abstract_names(), guest)) return SyscallResult::error(EADDRINUSE);
    if (::bind(e.host.get(), &autobind, sizeof(sa_family_t)) != 0) return SyscallResult::error(errno);
    BoundName bound{e.socket, {}, sizeof(sockaddr_un)};
    if (::getsockname(e.host.get(), reinterpret_cast<sockaddr*>(&bound.host), &bound.host_length) != 0)
      return SyscallResult::error(errno);
    // An autobind of the guest's own is the host's name (unique among the host's, so in here too).
    s.name = guest.size() == sizeof(sa_family_t)
                 ? std::string(reinterpret_cast<const char*>(&bound.host), bound.host_length)
                 : guest;
    abstract_names()[s.name] = bound;
    return SyscallResult::ret(0);
  }
  const std::string path = unix_path(guest);
  if (p.fs().read_only) return SyscallResult::error(EROFS);
  auto parent = parent_in_root(p, path);
  if (!parent) return SyscallResult::error(parent.error());
  if (parent->name.size() >= kUnixPathMax) return SyscallResult::error(ENAMETOOLONG);
  sockaddr_un host{};
  host.sun_family = AF_UNIX;
  std::memcpy(host.sun_path, parent->name.data(), parent->name.size());
  const socklen_t length = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + parent->name.size() + 1);
  const int fd = e.host.get();
  if (in_directory(p, parent->parent.get(),
                   [&] { return ::bind(fd, reinterpret_cast<sockaddr*>(&host), length); }) != 0)
    return SyscallResult::error(errno);
  struct stat st {};
  if (::fstatat(parent->parent.get(), parent->name.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0)
    path_names()[{st.st_dev, st.st_ino}] = {e.socket, host, length};
  s.name = path_sockaddr(path);
  return SyscallResult::ret(0);
}

SyscallResult connect_unix(Process& p, Process::OpenFile& e, const std::string& guest) {
  Socket& s = *e.socket;
  auto address = unix_peer_address(p, guest);
  if (!address) return SyscallResult::error(address.error());
  const int fd = e.host.get();
  auto call = [&] {
    return ::connect(fd, reinterpret_cast<const sockaddr*>(&address->host), address->host_length);
  };
  const int r = address->dir ? in_directory(p, address->dir.get(), call) : call();
  if (r != 0 && errno == EAGAIN && !(e.status_flags & O_NONBLOCK))
    return SyscallResult::error(EAGAIN);  // a full backlog: see docs/vm.md (not waited for)
  if (r != 0) return SyscallResult::error(errno);
  auto listener = unix_bound_socket(*address);
  s.peer = listener && !listener->name.empty() ? listener->name : address->guest;  // the name it was bound by
  if (listener) {
    s.peer_cred = s.type == SOCK_DGRAM ? std::optional<GuestCred>{} : listener->listen_cred;
    if (listener->listening) listener->connecting.push_back(guest_cred(p));
  }
  return SyscallResult::ret(0);
}

SyscallResult connect_inet(Process& p, Process::OpenFile& e, const std::string& guest) {
  (void)p;
  Socket& s = *e.socket;
  const int r = ::connect(e.host.get(), reinterpret_cast<const sockaddr*>(guest.data()),
                          static_cast<socklen_t>(guest.size()));
  if (r == 0 || (errno == EISCONN && s.connect_in_progress)) {
    s.connect_in_progress = false;
    return SyscallResult::ret(0);
  }
  if (errno == EINPROGRESS || errno == EALREADY) {
    const bool first = errno == EINPROGRESS;
    if (e.status_flags & O_NONBLOCK) return SyscallResult::error(first ? EINPROGRESS : EALREADY);
    s.connect_in_progress = true;
    return SyscallResult::block_on(e.host.get(), POLLOUT);
  }
  const int error = errno;
  if (s.connect_in_progress) {  // the wait ended in an error: the one the host kept for SO_ERROR
    s.connect_in_progress = false;
    int so_error = 0;
    socklen_t len = sizeof so_error;
    if (::getsockopt(e.host.get(), SOL_SOCKET, SO_ERROR, &so_error, &len) == 0 && so_error)
      return SyscallResult::error(so_error);
  }
  return SyscallResult::error(error);
}

// setsockopt/getsockopt options the guest may use (others: ENOPROTOOPT): what programs set on
// ordinary sockets, nothing that needs a capability or gives the host kernel a program (filters).
bool option_allowed(int level, int name) {
  switch (level) {
    case SOL_SOCKET:
      switch (name) {
        case SO_REUSEADDR:
        case SO_REUSEPORT:
        case SO_KEEPALIVE:
        case SO_RCVBUF:
        case SO_SNDBUF:
        case SO_LINGER:
        case SO_TYPE:
        case SO_ERROR:
        case SO_DOMAIN:
        case SO_PROTOCOL:
        case SO_ACCEPTCONN:
        case SO_PASSCRED:
        case SO_BROADCAST:
        case SO_OOBINLINE:
        case SO_RCVLOWAT:
        case SO_RCVTIMEO_OLD:
        case SO_SNDTIMEO_OLD:
          return true;
        default:
          return false;
      }
    case IPPROTO_TCP:
      return name == TCP_NODELAY || name == TCP_KEEPIDLE || name == TCP_KEEPINTVL || name == TCP_KEEPCNT ||
             name == TCP_CORK || name == TCP_QUICKACK || name == TCP_USER_TIMEOUT || name == TCP_MAXSEG;
    case IPPROTO_IP:
      return name == IP_TOS || name == IP_TTL;
    case IPPROTO_IPV6:
      return name == IPV6_V6ONLY || name == IPV6_UNICAST_HOPS;
    default:
      return false;
  }
}
constexpr std::uint32_t kMaxOption = 256;  // the largest option above is struct linger / timeval

}  // namespace

void set_host_network(bool on) { g_host_network = on; }
bool host_network(const Process&) { return g_host_network; }

GuestCred guest_cred(Process& p) {
  GuestCred c;
  c.pid = p.kernel() ? static_cast<int>(p.kernel()->process_ids(p, SYS_getpid, 0, 0).value) : 1;
  return c;
}

int in_directory(const Process& p, int dir, const std::function<int()>& call) {
  if (::fchdir(dir) != 0) return -1;
  const int r = call();
  const int error = errno;
  // Back to the root: the monitor's cwd is in no guest path (every call goes through directory
  // fds), and after the pivot the root is where the monitor started.
  [[maybe_unused]] const int back = ::fchdir(p.fs().root.get());
  errno = error;
  return r;
}

GuestResult<UnixAddress> unix_peer_address(Process& p, const std::string& guest) {
  UnixAddress out;
  out.guest = guest;
  if (guest.size() <= sizeof(sa_family_t)) return std::unexpected(EINVAL);
  if (is_abstract(guest)) {
    auto* bound = live(abstract_names(), guest);
    if (!bound) return std::unexpected(ECONNREFUSED);
    out.host = bound->host;
    out.host_length = bound->host_length;
    return out;
  }
  std::string path = unix_path(guest);
  if (path.empty()) return std::unexpected(EINVAL);
  out.guest = path_sockaddr(path);
  for (int hops = 0;; ++hops) {
    if (hops > kMaxSymlinks) return std::unexpected(ELOOP);
    auto parent = parent_in_root(p, path);
    if (!parent) return std::unexpected(parent.error() == EADDRINUSE ? ECONNREFUSED : parent.error());
    struct stat st {};
    if (::fstatat(parent->parent.get(), parent->name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0)
      return std::unexpected(errno);
    if (S_ISLNK(st.st_mode)) {  // followed here, inside the root, never by the host's connect
      char target[kMaxPath];
      const ssize_t n = ::readlinkat(parent->parent.get(), parent->name.c_str(), target, sizeof target - 1);
      if (n <= 0) return std::unexpected(n < 0 ? errno : ENOENT);
      const std::string link(target, static_cast<std::size_t>(n));
      auto absolute = p.guest_path(AT_FDCWD, path);
      if (!absolute) return std::unexpected(absolute.error());
      path = link.front() == '/' ? link : absolute->substr(0, absolute->rfind('/') + 1) + link;
      continue;
    }
    if (!S_ISSOCK(st.st_mode)) return std::unexpected(ECONNREFUSED);
    if (parent->name.size() >= kUnixPathMax) return std::unexpected(ENAMETOOLONG);
    out.host.sun_family = AF_UNIX;
    std::memcpy(out.host.sun_path, parent->name.data(), parent->name.size());
    out.host_length = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + parent->name.size() + 1);
    out.dir = std::move(parent->parent);
    return out;
  }
}

std::shared_ptr<Socket> unix_bound_socket(const UnixAddress& address) {
  if (!address.dir) {
    auto* bound = live(abstract_names(), address.guest);
    return bound ? bound->socket.lock() : nullptr;
  }
  struct stat st {};
  if (::fstatat(address.dir.get(), address.host.sun_path, &st, AT_SYMLINK_NOFOLLOW) != 0) return nullptr;
  auto* bound = live(path_names(), {st.st_dev, st.st_ino});
  return bound ? bound->socket.lock() : nullptr;
}

std::string guest_name_of_host(const sockaddr_un& host, socklen_t length) {
  const std::string bytes(reinterpret_cast<const char*>(&host), std::min<socklen_t>(length, sizeof host));
  for (auto& [name, bound] : abstract_names())
    if (!bound.socket.expired() &&
        std::string(reinterpret_cast<const char*>(&bound.host), bound.host_length) == bytes)
      return name;
  for (auto& [id, bound] : path_names())
    if (!bound.socket.expired() &&
        std::string(reinterpret_cast<const char*>(&bound.host), bound.host_length) == bytes)
      if (auto s = bound.socket.lock()) return s->name;
  return unnamed_unix();
}

GuestResult<void> write_sockaddr(Process& p, std::uint64_t addr, std::uint64_t length_ptr,
                                 const std::string& bytes) {
  auto length = read_struct<std::int32_t>(p, length_ptr);
  if (!length) return std::unexpected(length.error());
  if (*length < 0) return std::unexpected(EINVAL);
  const std::size_t n = std::min<std::size_t>(static_cast<std::size_t>(*length), bytes.size());
  if (n) {
    auto ok = p.space().write(addr, {reinterpret_cast<const std::uint8_t*>(bytes.data()), n});
    if (!ok) return ok;
  }
  return write_struct(p, length_ptr, static_cast<std::uint32_t>(bytes.size()));
}

SyscallResult sys_socket(Process& p, const SyscallRequest& req) {
  const int family = static_cast<int>(ARG(0));
  const int flags = static_cast<int>(ARG(1)) & (SOCK_NONBLOCK | SOCK_CLOEXEC);
  const int type = static_cast<int>(ARG(1)) & ~(SOCK_NONBLOCK | SOCK_CLOEXEC);
  const int protocol = static_cast<int>(ARG(2));
  if (family == AF_INET || family == AF_INET6) {
    if (!host_network(p)) {  // named once: the run has no network
      static bool logged = false;
      if (!std::exchange(logged, true))
        p.log(
            "vm: socket(AF_INET/AF_INET6) refused with EAFNOSUPPORT: the run has no network (--net none; "
            "--net host gives the guest the host's)");
      return SyscallResult::error(EAFNOSUPPORT);
    }
    if (type == SOCK_RAW) return SyscallResult::error(EPERM);  // no raw sockets, as without CAP_NET_RAW
    if (type != SOCK_STREAM && type != SOCK_DGRAM) return SyscallResult::error(EINVAL);
    const int expected = type == SOCK_STREAM ? IPPROTO_TCP : IPPROTO_UDP;
    if (protocol != 0 && protocol != expected) return SyscallResult::error(EPROTONOSUPPORT);
  } else if (family != AF_UNIX) {
    return SyscallResult::error(EAFNOSUPPORT);  // AF_NETLINK, AF_PACKET, ...: no such family here
  } else if (type != SOCK_STREAM && type != SOCK_DGRAM && type != SOCK_SEQPACKET) {
    return SyscallResult::error(type == SOCK_RAW ? ESOCKTNOSUPPORT : EINVAL);
  }
  UniqueFd host(::socket(family, type | SOCK_NONBLOCK | SOCK_CLOEXEC, protocol));
  if (!host) return SyscallResult::error(errno);
  return SyscallResult::ret(TRY_GUEST(
      p.install_fd(new_socket(std::move(host), family, type, flags & SOCK_NONBLOCK), flags & SOCK_CLOEXEC)));
}

SyscallResult sys_socketpair(Process& p, const SyscallRequest& req) {
  // Only AF_UNIX pairs (inet families have none, as on Linux).
  if (ARG(0) == AF_INET || ARG(0) == AF_INET6) return SyscallResult::error(EOPNOTSUPP);
  if (ARG(0) != AF_UNIX) return SyscallResult::error(EAFNOSUPPORT);
  const int type = static_cast<int>(ARG(1)) & ~(SOCK_NONBLOCK | SOCK_CLOEXEC);
  if (type != SOCK_STREAM && type != SOCK_DGRAM && type != SOCK_SEQPACKET)
    return SyscallResult::error(EINVAL);
  if (ARG(2) != 0 && ARG(2) != PF_UNIX) return SyscallResult::error(EPROTONOSUPPORT);
  int host[2];
  if (::socketpair(AF_UNIX, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, host) != 0)
    return SyscallResult::error(errno);
  UniqueFd a(host[0]), b(host[1]);
  const bool nonblock = ARG(1) & SOCK_NONBLOCK, cloexec = ARG(1) & SOCK_CLOEXEC;
  auto first_file = new_socket(std::move(a), AF_UNIX, type, nonblock);
  auto second_file = new_socket(std::move(b), AF_UNIX, type, nonblock);
  first_file.socket->peer_cred = second_file.socket->peer_cred = guest_cred(p);  // both: the creator
  const int first = TRY_GUEST(p.install_fd(std::move(first_file), cloexec));
  auto second = p.install_fd(std::move(second_file), cloexec);
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

SyscallResult sys_bind(Process& p, const SyscallRequest& req) {
  int error;
  auto* e = socket_of(p, ARG(0), error);
  if (!e) return SyscallResult::error(error);
  const std::string guest = TRY_GUEST(read_sockaddr(p, ARG(1), ARG(2)));
  if (family_of(guest) != e->socket->family) return SyscallResult::error(EINVAL);
  if (e->socket->family == AF_UNIX) return bind_unix(p, *e, guest);
  return SyscallResult::ret(host_result(::bind(e->host.get(), reinterpret_cast<const sockaddr*>(guest.data()),
                                               static_cast<socklen_t>(guest.size()))));
}

SyscallResult sys_listen(Process& p, const SyscallRequest& req) {
  int error;
  auto* e = socket_of(p, ARG(0), error);
  if (!e) return SyscallResult::error(error);
  if (::listen(e->host.get(), static_cast<int>(ARG(1))) != 0) return SyscallResult::error(errno);
  e->socket->listening = true;
  e->socket->listen_cred = guest_cred(p);
  return SyscallResult::ret(0);
}

SyscallResult sys_accept4(Process& p, const SyscallRequest& req) {
  int error;
  auto* e = socket_of(p, ARG(0), error);
  if (!e) return SyscallResult::error(error);
  const int flags = req.number == SYS_accept ? 0 : static_cast<int>(ARG(3));
  if (flags & ~(SOCK_NONBLOCK | SOCK_CLOEXEC)) return SyscallResult::error(EINVAL);
  sockaddr_storage peer{};
  socklen_t peer_length = sizeof peer;
  UniqueFd host(::accept4(e->host.get(), reinterpret_cast<sockaddr*>(&peer), &peer_length,
                          SOCK_NONBLOCK | SOCK_CLOEXEC));
  if (!host) {
    if (errno == EAGAIN && !(e->status_flags & O_NONBLOCK))
      return SyscallResult::block_on(e->host.get(), POLLIN);
    return SyscallResult::error(errno);
  }
  const Socket& listener = *e->socket;
  auto file = new_socket(std::move(host), listener.family, listener.type, flags & SOCK_NONBLOCK);
  std::string peer_name(reinterpret_cast<const char*>(&peer), peer_length);
  if (listener.family == AF_UNIX) {
    file.socket->name = listener.name;
    peer_name = guest_name_of_host(reinterpret_cast<const sockaddr_un&>(peer), peer_length);
    file.socket->peer = peer_name == unnamed_unix() ? "" : peer_name;
    if (!e->socket->connecting.empty()) {
      file.socket->peer_cred = e->socket->connecting.front();
      e->socket->connecting.pop_front();
    }
  }
  auto shared = std::make_shared<Process::OpenFile>(std::move(file));
  const int fd = TRY_GUEST(p.files().install({shared, (flags & SOCK_CLOEXEC) != 0}));
  if (ARG(1)) {
    if (auto ok = write_sockaddr(p, ARG(1), ARG(2), peer_name); !ok) {
      p.files().close(fd);
      return SyscallResult::error(ok.error());
    }
  }
  return SyscallResult::ret(fd);
}

SyscallResult sys_connect(Process& p, const SyscallRequest& req) {
  int error;
  auto* e = socket_of(p, ARG(0), error);
  if (!e) return SyscallResult::error(error);
  const std::string guest = TRY_GUEST(read_sockaddr(p, ARG(1), ARG(2)));
  if (e->socket->family == AF_UNIX) {
    if (family_of(guest) != AF_UNIX) return SyscallResult::error(EINVAL);
    return connect_unix(p, *e, guest);
  }
  return connect_inet(p, *e, guest);
}

// getsockname/getpeername: the guest's names of an AF_UNIX socket; the host's of an inet one.
SyscallResult sys_socket_name(Process& p, const SyscallRequest& req) {
  int error;
  auto* e = socket_of(p, ARG(0), error);
  if (!e) return SyscallResult::error(error);
  const bool peer = req.number == SYS_getpeername;
  std::string bytes;
  if (e->socket->family == AF_UNIX) {
    const bool connected = e->socket->peer_cred || !e->socket->peer.empty();
    if (peer && !connected) return SyscallResult::error(ENOTCONN);
    bytes = peer ? e->socket->peer : e->socket->name;
    if (bytes.empty()) bytes = unnamed_unix();
  } else {
    sockaddr_storage host{};
    socklen_t length = sizeof host;
    const int r = peer ? ::getpeername(e->host.get(), reinterpret_cast<sockaddr*>(&host), &length)
                       : ::getsockname(e->host.get(), reinterpret_cast<sockaddr*>(&host), &length);
    if (r != 0) return SyscallResult::error(errno);
    bytes.assign(reinterpret_cast<const char*>(&host), std::min<socklen_t>(length, sizeof host));
  }
  TRY_GUEST_VOID(write_sockaddr(p, ARG(1), ARG(2), bytes));
  return SyscallResult::ret(0);
}

SyscallResult sys_shutdown(Process& p, const SyscallRequest& req) {
  int error;
  auto* e = socket_of(p, ARG(0), error);
  if (!e) return SyscallResult::error(error);
  if (ARG(1) > SHUT_RDWR) return SyscallResult::error(EINVAL);
  return SyscallResult::ret(host_result(::shutdown(e->host.get(), static_cast<int>(ARG(1)))));
}

SyscallResult sys_setsockopt(Process& p, const SyscallRequest& req) {
  int error;
  auto* e = socket_of(p, ARG(0), error);
  if (!e) return SyscallResult::error(error);
  const int level = static_cast<int>(ARG(1)), name = static_cast<int>(ARG(2));
  if (!option_allowed(level, name)) return SyscallResult::error(ENOPROTOOPT);
  const std::uint32_t length = static_cast<std::uint32_t>(ARG(4));
  if (length > kMaxOption) return SyscallResult::error(EINVAL);
  std::array<std::uint8_t, kMaxOption> value{};
  if (length) TRY_GUEST_VOID(p.space().read(ARG(3), {value.data(), length}));
  return SyscallResult::ret(host_result(::setsockopt(e->host.get(), level, name, value.data(), length)));
}

SyscallResult sys_getsockopt(Process& p, const SyscallRequest& req) {
  int error;
  auto* e = socket_of(p, ARG(0), error);
  if (!e) return SyscallResult::error(error);
  const int level = static_cast<int>(ARG(1)), name = static_cast<int>(ARG(2));
  const std::int32_t asked = TRY_GUEST(read_struct<std::int32_t>(p, ARG(4)));
  if (asked < 0) return SyscallResult::error(EINVAL);
  std::array<std::uint8_t, kMaxOption> value{};
  socklen_t length = std::min<socklen_t>(static_cast<socklen_t>(asked), kMaxOption);
  if (level == SOL_SOCKET && name == SO_PEERCRED) {
    // The guest's ids of the peer (the host's would be the monitor's); none: pid 0, ids -1.
    struct ucred cred {
      0, static_cast<uid_t>(-1), static_cast<gid_t>(-1)
    };
    if (e->socket->peer_cred)
      cred = {e->socket->peer_cred->pid, e->socket->peer_cred->uid, e->socket->peer_cred->gid};
    length = std::min<socklen_t>(length, sizeof cred);
    std::memcpy(value.data(), &cred, length);
  } else {
    if (!option_allowed(level, name)) return SyscallResult::error(ENOPROTOOPT);
    if (::getsockopt(e->host.get(), level, name, value.data(), &length) != 0)
      return SyscallResult::error(errno);
  }
  if (length) TRY_GUEST_VOID(p.space().write(ARG(3), {value.data(), length}));
  TRY_GUEST_VOID(write_struct(p, ARG(4), static_cast<std::uint32_t>(length)));
  return SyscallResult::ret(0);
}

}  // namespace spectrum::vm::syscalls
