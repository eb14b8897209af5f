// The wasi_snapshot_preview1 guest ABI: constants and the memory layout of every struct the guest
// and the host exchange, pinned with static_assert so that a wrong field can never compile.
// Source of truth: WebAssembly/WASI phases/snapshot/witx/typenames.witx (preview1); checked
// against wasi-libc's <wasi/api.h> by the guest tests (errno names printed by the guest's strerror).
#pragma once

#include <cstddef>
#include <cstdint>

namespace spectrum::wasi::abi {

// The guest's errno values (witx `errno`, u16). Not the host's: translate with to_wasi_errno().
enum class Errno : std::uint16_t {
  success = 0,
  toobig = 1,
  acces = 2,
  addrinuse = 3,
  addrnotavail = 4,
  afnosupport = 5,
  again = 6,
  already = 7,
  badf = 8,
  badmsg = 9,
  busy = 10,
  canceled = 11,
  child = 12,
  connaborted = 13,
  connrefused = 14,
  connreset = 15,
  deadlk = 16,
  destaddrreq = 17,
  dom = 18,
  dquot = 19,
  exist = 20,
  fault = 21,
  fbig = 22,
  hostunreach = 23,
  idrm = 24,
  ilseq = 25,
  inprogress = 26,
  intr = 27,
  inval = 28,
  io = 29,
  isconn = 30,
  isdir = 31,
  loop = 32,
  mfile = 33,
  mlink = 34,
  msgsize = 35,
  multihop = 36,
  nametoolong = 37,
  netdown = 38,
  netreset = 39,
  netunreach = 40,
  nfile = 41,
  nobufs = 42,
  nodev = 43,
  noent = 44,
  noexec = 45,
  nolck = 46,
  nolink = 47,
  nomem = 48,
  nomsg = 49,
  noprotoopt = 50,
  nospc = 51,
  nosys = 52,
  notconn = 53,
  notdir = 54,
  notempty = 55,
  notrecoverable = 56,
  notsock = 57,
  notsup = 58,
  notty = 59,
  nxio = 60,
  overflow = 61,
  ownerdead = 62,
  perm = 63,
  pipe = 64,
  proto = 65,
  protonosupport = 66,
  prototype = 67,
  range = 68,
  rofs = 69,
  spipe = 70,
  srch = 71,
  stale = 72,
  timedout = 73,
  txtbsy = 74,
  xdev = 75,
  notcapable = 76,
};

static_assert(static_cast<int>(Errno::pipe) == 64 && static_cast<int>(Errno::notcapable) == 76);

enum class Filetype : std::uint8_t {
  unknown = 0,
  block_device = 1,
  character_device = 2,
  directory = 3,
  regular_file = 4,
  socket_dgram = 5,
  socket_stream = 6,
  symbolic_link = 7,
};

enum class Whence : std::uint8_t { set = 0, cur = 1, end = 2 };

enum class Clockid : std::uint32_t { realtime = 0, monotonic = 1, process_cputime = 2, thread_cputime = 3 };

enum class Eventtype : std::uint8_t { clock = 0, fd_read = 1, fd_write = 2 };

enum class Preopentype : std::uint8_t { dir = 0 };

namespace fdflags {
inline constexpr std::uint16_t append = 1, dsync = 2, nonblock = 4, rsync = 8, sync = 16;
}
namespace oflags {
inline constexpr std::uint16_t creat = 1, directory = 2, excl = 4, trunc = 8;
}
namespace lookupflags {
inline constexpr std::uint32_t symlink_follow = 1;
}
namespace fstflags {
inline constexpr std::uint16_t atim = 1, atim_now = 2, mtim = 4, mtim_now = 8;
}
namespace subclockflags {
inline constexpr std::uint16_t abstime = 1;
}
namespace eventrwflags {
inline constexpr std::uint16_t hangup = 1;
}

namespace rights {
inline constexpr std::uint64_t fd_datasync = 1ull << 0, fd_read = 1ull << 1, fd_seek = 1ull << 2,
                               fd_fdstat_set_flags = 1ull << 3, fd_sync = 1ull << 4, fd_tell = 1ull << 5,
                               fd_write = 1ull << 6, fd_advise = 1ull << 7, fd_allocate = 1ull << 8,
                               path_create_directory = 1ull << 9, path_create_file = 1ull << 10,
                               path_link_source = 1ull << 11, path_link_target = 1ull << 12,
                               path_open = 1ull << 13, fd_readdir = 1ull << 14, path_readlink = 1ull << 15,
                               path_rename_source = 1ull << 16, path_rename_target = 1ull << 17,
                               path_filestat_get = 1ull << 18, path_filestat_set_size = 1ull << 19,
                               path_filestat_set_times = 1ull << 20, fd_filestat_get = 1ull << 21,
                               fd_filestat_set_size = 1ull << 22, fd_filestat_set_times = 1ull << 23,
                               path_symlink = 1ull << 24, path_remove_directory = 1ull << 25,
                               path_unlink_file = 1ull << 26, poll_fd_readwrite = 1ull << 27,
                               sock_shutdown = 1ull << 28, sock_accept = 1ull << 29;
inline constexpr std::uint64_t all = (1ull << 30) - 1;
// Rights that modify the file system: what a read-only mount never grants.
inline constexpr std::uint64_t writing =
    fd_datasync | fd_write | fd_allocate | fd_fdstat_set_flags | path_create_directory | path_create_file |
    path_link_target | path_rename_source | path_rename_target | path_filestat_set_size |
    path_filestat_set_times | fd_filestat_set_size | fd_filestat_set_times | path_symlink |
    path_remove_directory | path_unlink_file;
}  // namespace rights

// Guest pointers are 32-bit offsets into linear memory.
using GuestPtr = std::uint32_t;
using GuestSize = std::uint32_t;

struct Iovec {  // also ciovec: the same layout
  GuestPtr buf;
  GuestSize buf_len;
};
static_assert(sizeof(Iovec) == 8 && offsetof(Iovec, buf_len) == 4);

struct Fdstat {
  Filetype fs_filetype;
  std::uint16_t fs_flags;
  std::uint64_t fs_rights_base;
  std::uint64_t fs_rights_inheriting;
};
static_assert(sizeof(Fdstat) == 24 && alignof(Fdstat) == 8);
static_assert(offsetof(Fdstat, fs_flags) == 2 && offsetof(Fdstat, fs_rights_base) == 8 &&
              offsetof(Fdstat, fs_rights_inheriting) == 16);

struct Filestat {
  std::uint64_t dev;
  std::uint64_t ino;
  Filetype filetype;
  std::uint64_t nlink;
  std::uint64_t size;
  std::uint64_t atim;
  std::uint64_t mtim;
  std::uint64_t ctim;
};
static_assert(sizeof(Filestat) == 64);
static_assert(offsetof(Filestat, ino) == 8 && offsetof(Filestat, filetype) == 16 &&
              offsetof(Filestat, nlink) == 24 && offsetof(Filestat, size) == 32 &&
              offsetof(Filestat, atim) == 40 && offsetof(Filestat, mtim) == 48 &&
              offsetof(Filestat, ctim) == 56);

struct Dirent {  // followed in the buffer by d_namlen bytes of name, no NUL
  std::uint64_t d_next;
  std::uint64_t d_ino;
  std::uint32_t d_namlen;
  Filetype d_type;
};
static_assert(sizeof(Dirent) == 24 && offsetof(Dirent, d_ino) == 8 && offsetof(Dirent, d_namlen) == 16 &&
              offsetof(Dirent, d_type) == 20);

struct Prestat {
  Preopentype tag;
  std::uint32_t pr_name_len;  // the only variant: dir
};
static_assert(sizeof(Prestat) == 8 && offsetof(Prestat, pr_name_len) == 4);

struct SubscriptionClock {
  Clockid id;
  std::uint64_t timeout;
  std::uint64_t precision;
  std::uint16_t flags;
};
static_assert(sizeof(SubscriptionClock) == 32 && offsetof(SubscriptionClock, timeout) == 8 &&
              offsetof(SubscriptionClock, precision) == 16 && offsetof(SubscriptionClock, flags) == 24);

struct SubscriptionFdReadwrite {
  std::uint32_t file_descriptor;
};

struct Subscription {
  std::uint64_t userdata;
  Eventtype tag;
  union {
    SubscriptionClock clock;
    SubscriptionFdReadwrite fd_readwrite;
  } u;
};
static_assert(sizeof(Subscription) == 48 && offsetof(Subscription, tag) == 8 &&
              offsetof(Subscription, u) == 16);

struct EventFdReadwrite {
  std::uint64_t nbytes;
  std::uint16_t flags;
};
static_assert(sizeof(EventFdReadwrite) == 16 && offsetof(EventFdReadwrite, flags) == 8);

struct Event {
  std::uint64_t userdata;
  Errno error;
  Eventtype type;
  EventFdReadwrite fd_readwrite;
};
static_assert(sizeof(Event) == 32 && offsetof(Event, error) == 8 && offsetof(Event, type) == 10 &&
              offsetof(Event, fd_readwrite) == 16);

}  // namespace spectrum::wasi::abi
