// Sockets of the sandbox kernel (net.cc: socket, bind, listen, accept, connect, names, options;
// messages.cc: send/recv with addresses and control data). Every guest socket is a host socket of
// the monitor's, non-blocking on the host (the guest's blocking is the "block" outcome). What the
// guest sees of it that the host would get wrong is kept here: AF_UNIX names (a path is bound
// through its parent directory resolved inside the root, so the host's name is relative; an
// abstract name is the guest's own, bound on the host under a name the host kernel picks), and
// the guest credentials of the peer (the host's would be the monitor's).
#pragma once

#include <sys/socket.h>
#include <sys/un.h>

#include <deque>
#include <memory>
#include <string>

#include "vm/kernel/process.h"

namespace spectrum::vm::kernel {

struct GuestCred {
  int pid = 0;
  unsigned uid = 0, gid = 0;
};

struct Socket {
  int family = AF_UNIX;
  int type = SOCK_STREAM;  // without SOCK_NONBLOCK / SOCK_CLOEXEC
  std::string name;        // the guest's sockaddr of the local name ("" = unnamed)
  std::string peer;        // the guest's sockaddr of the peer ("" = unnamed or not connected)
  std::optional<GuestCred> peer_cred;
  GuestCred listen_cred;             // who called listen: the connecting side's SO_PEERCRED
  std::deque<GuestCred> connecting;  // a listener: the credentials of connections not yet accepted
  bool listening = false;
  bool connect_in_progress = false;  // an inet connect that returned EINPROGRESS on the host
};

}  // namespace spectrum::vm::kernel

namespace spectrum::vm::syscalls {

using kernel::GuestCred;
using kernel::Socket;

// The guest credentials of the calling task (its pid; uid and gid are 0 in the sandbox).
GuestCred guest_cred(Process& p);

// A guest AF_UNIX address made into the host's: `host` is what to give the host call (an abstract
// name the host picked, or the last component of a path, relative to `dir`, a directory fd inside
// the root that the call is made in), `guest` the guest's own sockaddr bytes.
struct UnixAddress {
  sockaddr_un host{};
  socklen_t host_length = 0;
  UniqueFd dir;  // for a path: the parent directory (-1 for an abstract name)
  std::string guest;
};
// Resolve the address of a connect or sendto: ECONNREFUSED for an abstract name no socket of this
// sandbox has bound, ENOENT for a path that does not exist, symlinks followed inside the root.
GuestResult<UnixAddress> unix_peer_address(Process& p, const std::string& guest);
// The listening or bound socket behind a resolved peer address, if it is one of this sandbox's.
std::shared_ptr<Socket> unix_bound_socket(const UnixAddress& address);
// The guest's sockaddr for a host address received from the host (a datagram's sender), or an
// unnamed one.
std::string guest_name_of_host(const sockaddr_un& host, socklen_t length);
// Run `call` with the monitor's working directory at `dir` (a path socket's parent), then at the
// guest's root again.
int in_directory(const Process& p, int dir, const std::function<int()>& call);
// Write a sockaddr (at most what the guest's *length says fits) and its full length back.
GuestResult<void> write_sockaddr(Process& p, std::uint64_t addr, std::uint64_t length_ptr,
                                 const std::string& bytes);

// Whether guest AF_INET/AF_INET6 sockets become the monitor's host sockets (--net host).
bool host_network(const Process& p);

}  // namespace spectrum::vm::syscalls
