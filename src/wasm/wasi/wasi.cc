// wasi_snapshot_preview1 host functions over Linux system calls.
//
// Layering: each function first decodes and validates its guest arguments (pointers against
// memory, fds against the table, rights against read-only mounts), then makes the host call, then
// encodes the answer into guest memory. Host errors become WASI errnos through one table.
#include "wasm/wasi/wasi.h"

#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <climits>
#include <ctime>
#include <tuple>
#include <type_traits>
#include <utility>

#include "core/confined_path.h"
#include "wasm/wasi/functions.h"

namespace spectrum::wasi {
namespace {

// Host errno -> WASI errno. One table rather than a switch per call site.
constexpr std::pair<int, Errno> kErrnoTable[] = {
    {E2BIG, Errno::toobig},
    {EACCES, Errno::acces},
    {EADDRINUSE, Errno::addrinuse},
    {EADDRNOTAVAIL, Errno::addrnotavail},
    {EAFNOSUPPORT, Errno::afnosupport},
    {EAGAIN, Errno::again},
    {EALREADY, Errno::already},
    {EBADF, Errno::badf},
    {EBADMSG, Errno::badmsg},
    {EBUSY, Errno::busy},
    {ECANCELED, Errno::canceled},
    {ECHILD, Errno::child},
    {ECONNABORTED, Errno::connaborted},
    {ECONNREFUSED, Errno::connrefused},
    {ECONNRESET, Errno::connreset},
    {EDEADLK, Errno::deadlk},
    {EDESTADDRREQ, Errno::destaddrreq},
    {EDOM, Errno::dom},
    {EDQUOT, Errno::dquot},
    {EEXIST, Errno::exist},
    {EFAULT, Errno::fault},
    {EFBIG, Errno::fbig},
    {EHOSTUNREACH, Errno::hostunreach},
    {EIDRM, Errno::idrm},
    {EILSEQ, Errno::ilseq},
    {EINPROGRESS, Errno::inprogress},
    {EINTR, Errno::intr},
    {EINVAL, Errno::inval},
    {EIO, Errno::io},
    {EISCONN, Errno::isconn},
    {EISDIR, Errno::isdir},
    {ELOOP, Errno::loop},
    {EMFILE, Errno::mfile},
    {EMLINK, Errno::mlink},
    {EMSGSIZE, Errno::msgsize},
    {EMULTIHOP, Errno::multihop},
    {ENAMETOOLONG, Errno::nametoolong},
    {ENETDOWN, Errno::netdown},
    {ENETRESET, Errno::netreset},
    {ENETUNREACH, Errno::netunreach},
    {ENFILE, Errno::nfile},
    {ENOBUFS, Errno::nobufs},
    {ENODEV, Errno::nodev},
    {ENOENT, Errno::noent},
    {ENOEXEC, Errno::noexec},
    {ENOLCK, Errno::nolck},
    {ENOLINK, Errno::nolink},
    {ENOMEM, Errno::nomem},
    {ENOMSG, Errno::nomsg},
    {ENOPROTOOPT, Errno::noprotoopt},
    {ENOSPC, Errno::nospc},
    {ENOSYS, Errno::nosys},
    {ENOTCONN, Errno::notconn},
    {ENOTDIR, Errno::notdir},
    {ENOTEMPTY, Errno::notempty},
    {ENOTRECOVERABLE, Errno::notrecoverable},
    {ENOTSOCK, Errno::notsock},
    {ENOTSUP, Errno::notsup},
    {ENOTTY, Errno::notty},
    {ENXIO, Errno::nxio},
    {EOVERFLOW, Errno::overflow},
    {EOWNERDEAD, Errno::ownerdead},
    {EPERM, Errno::perm},
    {EPIPE, Errno::pipe},
    {EPROTO, Errno::proto},
    {EPROTONOSUPPORT, Errno::protonosupport},
    {EPROTOTYPE, Errno::prototype},
    {ERANGE, Errno::range},
    {EROFS, Errno::rofs},
    {ESPIPE, Errno::spipe},
    {ESRCH, Errno::srch},
    {ESTALE, Errno::stale},
    {ETIMEDOUT, Errno::timedout},
    {ETXTBSY, Errno::txtbsy},
    {EXDEV, Errno::xdev},
};

}  // namespace

Errno from_host(int err) {
  for (const auto& [host, guest] : kErrnoTable)
    if (host == err) return guest;
  return Errno::io;
}
Errno last_error() { return from_host(errno); }

Filetype filetype_of(mode_t mode) {
  switch (mode & S_IFMT) {
    case S_IFREG:
      return Filetype::regular_file;
    case S_IFDIR:
      return Filetype::directory;
    case S_IFCHR:
      return Filetype::character_device;
    case S_IFBLK:
      return Filetype::block_device;
    case S_IFLNK:
      return Filetype::symbolic_link;
    case S_IFSOCK:
      return Filetype::socket_stream;
    default:
      return Filetype::unknown;
  }
}

std::uint64_t to_ns(const timespec& ts) {
  return static_cast<std::uint64_t>(ts.tv_sec) * 1'000'000'000ull + static_cast<std::uint64_t>(ts.tv_nsec);
}

abi::Filestat to_filestat(const struct stat& st) {
  abi::Filestat out{};
  out.dev = st.st_dev;
  out.ino = st.st_ino;
  out.filetype = filetype_of(st.st_mode);
  out.nlink = st.st_nlink;
  out.size = static_cast<std::uint64_t>(st.st_size);
  out.atim = to_ns(st.st_atim);
  out.mtim = to_ns(st.st_mtim);
  out.ctim = to_ns(st.st_ctim);
  return out;
}

std::optional<clockid_t> host_clock(std::uint32_t id) {
  switch (static_cast<abi::Clockid>(id)) {
    case abi::Clockid::realtime:
      return CLOCK_REALTIME;
    case abi::Clockid::monotonic:
      return CLOCK_MONOTONIC;
    case abi::Clockid::process_cputime:
      return CLOCK_PROCESS_CPUTIME_ID;
    case abi::Clockid::thread_cputime:
      return CLOCK_THREAD_CPUTIME_ID;
  }
  return std::nullopt;
}

std::uint64_t now_ns(clockid_t clock) {
  timespec ts{};
  ::clock_gettime(clock, &ts);
  return to_ns(ts);
}

// A guest path as a host C string; WASI paths are not NUL-terminated and must not contain NUL.
Expected<std::string> read_path(const GuestMemory& memory, GuestPtr ptr, std::uint32_t len) {
  const std::uint8_t* p = memory.bytes(ptr, len);
  if (!p) return std::unexpected(Errno::fault);
  std::string path(reinterpret_cast<const char*>(p), len);
  if (path.find('\0') != std::string::npos) return std::unexpected(Errno::ilseq);
  if (path.size() >= PATH_MAX) return std::unexpected(Errno::nametoolong);
  return path;
}

Expected<UniqueFd> open_guest_path(int dirfd, const std::string& path, std::uint64_t flags, mode_t mode,
                                   const std::atomic<bool>* interrupted) {
  if (path.empty()) return std::unexpected(Errno::noent);
  auto fd = open_beneath(dirfd, path, flags, mode, interrupted);
  if (!fd)
    return std::unexpected(fd.error().sys_errno() == EXDEV ? Errno::notcapable
                                                           : from_host(fd.error().sys_errno()));
  return std::move(*fd);
}

Expected<ParentAndName> open_parent(int dirfd, std::string path) {
  while (path.size() > 1 && path.back() == '/') path.pop_back();
  if (path.empty()) return std::unexpected(Errno::noent);
  std::size_t slash = path.rfind('/');
  std::string parent = slash == std::string::npos ? "." : path.substr(0, slash);
  std::string name = slash == std::string::npos ? path : path.substr(slash + 1);
  if (parent.empty()) return std::unexpected(Errno::notcapable);  // absolute path
  if (name.empty() || name == "." || name == "..") return std::unexpected(Errno::inval);
  auto fd = open_guest_path(dirfd, parent, O_PATH | O_DIRECTORY);
  if (!fd) return std::unexpected(fd.error());
  return ParentAndName{std::move(*fd), std::move(name)};
}

std::string proc_fd_path(int fd) { return "/proc/self/fd/" + std::to_string(fd); }

Wasi::Wasi() = default;
Wasi::~Wasi() = default;

bool Wasi::interrupted() const { return interrupted_.load(std::memory_order_relaxed); }

void Wasi::interrupt() {
  interrupted_.store(true, std::memory_order_relaxed);
  std::uint64_t one = 1;
  if (interrupt_event_) [[maybe_unused]]
    auto n = ::write(interrupt_event_.get(), &one, sizeof one);
}

Result<std::unique_ptr<Wasi>> Wasi::create(Config config) {
  std::unique_ptr<Wasi> wasi(new Wasi());
  int event = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (event < 0) return fail_errno("wasi: eventfd");
  wasi->interrupt_event_.reset(event);
  for (int fd : {config.stdin_fd, config.stdout_fd, config.stderr_fd}) {
    auto entry = std::make_unique<FdEntry>();
    entry->host_fd = fd;
    struct stat st {};
    entry->type = ::fstat(fd, &st) == 0 ? filetype_of(st.st_mode) : Filetype::unknown;
    entry->rights_base = abi::rights::all & ~(abi::rights::fd_readdir);
    // A terminal cannot seek: without these two rights wasi-libc's isatty() reports it as one.
    if (::isatty(fd)) entry->rights_base &= ~(abi::rights::fd_seek | abi::rights::fd_tell);
    entry->rights_inheriting = 0;
    wasi->fds_.push_back(std::move(entry));
  }
  for (const Preopen& preopen : config.preopens) {
    int fd = ::open(preopen.host_path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return fail_errno("wasi: mount '" + preopen.host_path + "'");
    auto entry = std::make_unique<FdEntry>();
    entry->owned.reset(fd);
    entry->host_fd = fd;
    entry->type = Filetype::directory;
    entry->read_only = preopen.read_only;
    entry->preopen_name = preopen.guest_path;
    entry->root = DirId::of(fd);
    if (preopen.read_only) wasi->read_only_dirs_.add(fd);
    // The inheriting rights stay whole: wasi-libc derives an open's rights from them, and only
    // when the guest asks for writing can path_open refuse it with EROFS as POSIX would.
    if (preopen.read_only) entry->rights_base &= ~abi::rights::writing;
    wasi->fds_.push_back(std::move(entry));
  }
  // Read-only directories matter only where a writable preopen could reach them.
  bool any_writable = false;
  for (const Preopen& preopen : config.preopens) any_writable |= !preopen.read_only;
  if (!any_writable) wasi->read_only_dirs_.clear();
  wasi->config_ = std::move(config);
  return wasi;
}

Expected<Wasi::FdEntry*> Functions::lookup(Wasi& wasi, std::uint32_t fd) {
  if (fd >= wasi.fds_.size() || !wasi.fds_[fd]) return std::unexpected(Errno::badf);
  return wasi.fds_[fd].get();
}

Expected<Wasi::FdEntry*> Functions::lookup_dir(Wasi& wasi, std::uint32_t fd) {
  auto entry = lookup(wasi, fd);
  if (entry && (*entry)->type != Filetype::directory) return std::unexpected(Errno::notdir);
  return entry;
}

Expected<Wasi::FdEntry*> Functions::lookup_writable_dir(Wasi& wasi, std::uint32_t fd) {
  auto entry = lookup_dir(wasi, fd);
  if (entry && (*entry)->read_only) return std::unexpected(Errno::rofs);
  return entry;
}

// Whether `fd`, opened below the writable `dir`, lies in a read-only preopen's directory all
// the same (a read-only mount inside a writable one: shadow.h). `is_dir`: fd is a directory.
bool Functions::shadowed(Wasi& w, const Entry& dir, int fd, bool is_dir) {
  if (w.read_only_dirs_.empty()) return false;
  return is_dir ? w.read_only_dirs_.covers_dir(fd, dir.root) : w.read_only_dirs_.covers(fd, dir.root);
}

// Blocks until the fd is ready or the embedder interrupts; false when interrupted. Regular
// files never block; pipes, terminals and sockets could hold the guest past its timeout.
bool Functions::wait_ready(Wasi& wasi, const Entry& entry, short events) {
  if (entry.type == Filetype::regular_file || entry.type == Filetype::directory) return true;
  pollfd fds[2] = {{entry.host_fd, events, 0}, {wasi.interrupt_event_.get(), POLLIN, 0}};
  for (;;) {
    int n = ::poll(fds, 2, -1);
    if (n < 0 && errno == EINTR) continue;
    if (fds[1].revents) return false;
    return true;  // ready, or a poll error that the read or write itself will report
  }
}

// Guest iovec array -> host iovecs, every buffer checked against memory.
Expected<std::vector<iovec>> Functions::host_iovecs(const GuestMemory& memory, GuestPtr iovs,
                                                    std::uint32_t count) {
  if (count > kMaxIovecs) return std::unexpected(Errno::inval);
  if (!memory.bytes(iovs, std::uint64_t{count} * sizeof(abi::Iovec))) return std::unexpected(Errno::fault);
  std::vector<iovec> out(count);
  for (std::uint32_t i = 0; i < count; ++i) {
    auto iov = *memory.load<abi::Iovec>(iovs + std::uint64_t{i} * sizeof(abi::Iovec));
    std::uint8_t* buf = memory.bytes(iov.buf, iov.buf_len);
    if (!buf) return std::unexpected(Errno::fault);
    out[i] = {buf, iov.buf_len};
  }
  return out;
}

Errno Functions::store_size(const GuestMemory& memory, GuestPtr ptr, std::uint64_t value) {
  return memory.store<std::uint32_t>(ptr, static_cast<std::uint32_t>(value)) ? Errno::success : Errno::fault;
}

// ---- args and environment ----
Errno Functions::write_string_list(const GuestMemory& memory, const std::vector<std::string>& list,
                                   GuestPtr pointers, GuestPtr buffer) {
  std::uint64_t total = 0;
  for (const auto& s : list) total += s.size() + 1;
  if (!memory.bytes(pointers, std::uint64_t{4} * list.size()) || !memory.bytes(buffer, total))
    return Errno::fault;
  std::uint64_t offset = buffer;
  for (std::size_t i = 0; i < list.size(); ++i) {
    memory.store<std::uint32_t>(pointers + 4 * i, static_cast<std::uint32_t>(offset));
    std::memcpy(memory.bytes(offset, list[i].size() + 1), list[i].c_str(), list[i].size() + 1);
    offset += list[i].size() + 1;
  }
  return Errno::success;
}

Errno Functions::write_list_sizes(const GuestMemory& memory, const std::vector<std::string>& list,
                                  GuestPtr count_out, GuestPtr size_out) {
  std::uint64_t total = 0;
  for (const auto& s : list) total += s.size() + 1;
  if (!memory.bytes(count_out, 4) || !memory.bytes(size_out, 4)) return Errno::fault;
  store_size(memory, count_out, list.size());
  return store_size(memory, size_out, total);
}

Errno Functions::args_get(Wasi& w, const GuestMemory& m, GuestPtr argv, GuestPtr argv_buf) {
  return write_string_list(m, w.config_.args, argv, argv_buf);
}

Errno Functions::args_sizes_get(Wasi& w, const GuestMemory& m, GuestPtr argc, GuestPtr argv_buf_size) {
  return write_list_sizes(m, w.config_.args, argc, argv_buf_size);
}

Errno Functions::environ_get(Wasi& w, const GuestMemory& m, GuestPtr environ, GuestPtr environ_buf) {
  return write_string_list(m, w.config_.env, environ, environ_buf);
}

Errno Functions::environ_sizes_get(Wasi& w, const GuestMemory& m, GuestPtr count, GuestPtr buf_size) {
  return write_list_sizes(m, w.config_.env, count, buf_size);
}

// ---- clocks, random, scheduling, exit ----
Errno Functions::clock_res_get(Wasi&, const GuestMemory& m, std::uint32_t id, GuestPtr resolution) {
  auto clock = host_clock(id);
  if (!clock) return Errno::inval;
  timespec ts{};
  if (::clock_getres(*clock, &ts) != 0) return last_error();
  return m.store<std::uint64_t>(resolution, to_ns(ts)) ? Errno::success : Errno::fault;
}

Errno Functions::clock_time_get(Wasi&, const GuestMemory& m, std::uint32_t id, std::uint64_t /*precision*/,
                                GuestPtr time) {
  auto clock = host_clock(id);
  if (!clock) return Errno::inval;
  return m.store<std::uint64_t>(time, now_ns(*clock)) ? Errno::success : Errno::fault;
}

Errno Functions::random_get(Wasi&, const GuestMemory& m, GuestPtr buf, std::uint32_t len) {
  std::uint8_t* p = m.bytes(buf, len);
  if (!p) return Errno::fault;
  for (std::uint32_t done = 0; done < len;) {
    ssize_t n = ::getrandom(p + done, len - done, 0);
    if (n < 0) {
      if (errno == EINTR) continue;
      return last_error();
    }
    done += static_cast<std::uint32_t>(n);
  }
  return Errno::success;
}

Errno Functions::sched_yield(Wasi&, const GuestMemory&) {
  ::sched_yield();
  return Errno::success;
}

Functions::Exit Functions::proc_exit(Wasi&, const GuestMemory&, std::uint32_t code) { return {code}; }

Errno Functions::proc_raise(Wasi&, const GuestMemory&, std::uint32_t) { return Errno::notsup; }

// ---- poll_oneoff ----
CallResult Functions::poll_oneoff(Wasi& w, const GuestMemory& m, GuestPtr in, GuestPtr out,
                                  std::uint32_t nsubscriptions, GuestPtr nevents_out) {
  if (nsubscriptions == 0) return returned(Errno::inval);
  if (!m.bytes(in, std::uint64_t{nsubscriptions} * sizeof(abi::Subscription)) ||
      !m.bytes(out, std::uint64_t{nsubscriptions} * sizeof(abi::Event)) || !m.bytes(nevents_out, 4))
    return returned(Errno::fault);
  std::vector<abi::Subscription> subs(nsubscriptions);
  for (std::uint32_t i = 0; i < nsubscriptions; ++i)
    subs[i] = *m.load<abi::Subscription>(in + std::uint64_t{i} * sizeof(abi::Subscription));

  std::vector<abi::Event> events;
  auto add_event = [&](const abi::Subscription& sub, Errno error, std::uint64_t nbytes = 0) {
    abi::Event event{};
    event.userdata = sub.userdata;
    event.error = error;
    event.type = sub.tag;
    event.fd_readwrite.nbytes = nbytes;
    events.push_back(event);
  };
  // Decode: clocks become a deadline on the monotonic clock; fds become pollfds.
  std::optional<std::uint64_t> deadline;  // monotonic ns
  std::vector<std::pair<std::size_t, std::uint64_t>> clock_deadlines;
  std::vector<pollfd> pollfds;
  std::vector<std::size_t> pollfd_sub;
  std::uint64_t now = now_ns(CLOCK_MONOTONIC);
  for (std::size_t i = 0; i < subs.size(); ++i) {
    const auto& sub = subs[i];
    switch (sub.tag) {
      case abi::Eventtype::clock: {
        auto clock = host_clock(static_cast<std::uint32_t>(sub.u.clock.id));
        if (!clock) {
          add_event(sub, Errno::inval);
          break;
        }
        std::uint64_t relative = sub.u.clock.timeout;
        if (sub.u.clock.flags & abi::subclockflags::abstime) {
          std::uint64_t clock_now = now_ns(*clock);
          relative = sub.u.clock.timeout > clock_now ? sub.u.clock.timeout - clock_now : 0;
        }
        std::uint64_t at = relative > UINT64_MAX - now ? UINT64_MAX : now + relative;
        clock_deadlines.push_back({i, at});
        deadline = std::min(deadline.value_or(UINT64_MAX), at);
        break;
      }
      case abi::Eventtype::fd_read:
      case abi::Eventtype::fd_write: {
        auto entry = lookup(w, sub.u.fd_readwrite.file_descriptor);
        if (!entry) {
          add_event(sub, entry.error());
          break;
        }
        bool read = sub.tag == abi::Eventtype::fd_read;
        if ((*entry)->type == Filetype::regular_file) {
          // Files are always ready; for reads WASI reports the bytes left.
          std::uint64_t left = 0;
          struct stat st {};
          off_t pos = ::lseek((*entry)->host_fd, 0, SEEK_CUR);
          if (read && pos >= 0 && ::fstat((*entry)->host_fd, &st) == 0 && st.st_size > pos)
            left = static_cast<std::uint64_t>(st.st_size - pos);
          add_event(sub, Errno::success, left);
          break;
        }
        pollfds.push_back({(*entry)->host_fd, static_cast<short>(read ? POLLIN : POLLOUT), 0});
        pollfd_sub.push_back(i);
        break;
      }
      default:
        add_event(sub, Errno::inval);
        break;
    }
  }
  if (events.empty()) {
    pollfds.push_back({w.interrupt_event_.get(), POLLIN, 0});
    for (;;) {
      // ppoll, not poll: a guest's nanosleep of microseconds must not last a millisecond.
      timespec timeout{};
      std::uint64_t current = now_ns(CLOCK_MONOTONIC);
      if (deadline) {
        std::uint64_t left = *deadline > current ? *deadline - current : 0;
        left = std::min<std::uint64_t>(left, 365ull * 24 * 3600 * 1'000'000'000ull);
        timeout = {static_cast<time_t>(left / 1'000'000'000ull), static_cast<long>(left % 1'000'000'000ull)};
      }
      int n = ::ppoll(pollfds.data(), pollfds.size(), deadline ? &timeout : nullptr, nullptr);
      if (n < 0 && errno != EINTR) return returned(last_error());
      if (pollfds.back().revents) return {CallResult::Kind::interrupted, 0};
      for (std::size_t k = 0; k + 1 < pollfds.size(); ++k) {
        if (!pollfds[k].revents) continue;
        const auto& sub = subs[pollfd_sub[k]];
        int available = 0;
        if (sub.tag == abi::Eventtype::fd_read) ::ioctl(pollfds[k].fd, FIONREAD, &available);
        abi::Event event{};
        event.userdata = sub.userdata;
        event.type = sub.tag;
        event.fd_readwrite.nbytes = static_cast<std::uint64_t>(available);
        if (pollfds[k].revents & POLLHUP) event.fd_readwrite.flags = abi::eventrwflags::hangup;
        if (pollfds[k].revents & (POLLERR | POLLNVAL)) event.error = Errno::io;
        events.push_back(event);
      }
      current = now_ns(CLOCK_MONOTONIC);
      for (const auto& [index, at] : clock_deadlines)
        if (at <= current) add_event(subs[index], Errno::success);
      if (!events.empty()) break;
      if (!deadline && n == 0) continue;
    }
  }
  for (std::size_t i = 0; i < events.size(); ++i) m.store(out + i * sizeof(abi::Event), events[i]);
  return returned(store_size(m, nevents_out, events.size()));
}

// ---- sockets: not offered (no socket can be opened), but linkable ----
Errno Functions::sock_accept(Wasi&, const GuestMemory&, std::uint32_t, std::uint32_t, GuestPtr) {
  return Errno::notsup;
}

Errno Functions::sock_recv(Wasi&, const GuestMemory&, std::uint32_t, GuestPtr, std::uint32_t, std::uint32_t,
                           GuestPtr, GuestPtr) {
  return Errno::notsup;
}

Errno Functions::sock_send(Wasi&, const GuestMemory&, std::uint32_t, GuestPtr, std::uint32_t, std::uint32_t,
                           GuestPtr) {
  return Errno::notsup;
}

Errno Functions::sock_shutdown(Wasi&, const GuestMemory&, std::uint32_t, std::uint32_t) {
  return Errno::notsup;
}

namespace {

// Marshalling: the wasm type of each C++ parameter type, and how a raw slot decodes into it.
template <class T>
struct Param;
template <>
struct Param<std::uint32_t> {
  static constexpr ValType type = ValType::i32;
  static std::uint32_t decode(std::uint64_t raw) { return static_cast<std::uint32_t>(raw); }
};
template <>
struct Param<std::uint64_t> {
  static constexpr ValType type = ValType::i64;
  static std::uint64_t decode(std::uint64_t raw) { return raw; }
};
template <>
struct Param<std::int64_t> {
  static constexpr ValType type = ValType::i64;
  static std::int64_t decode(std::uint64_t raw) { return static_cast<std::int64_t>(raw); }
};

template <class Signature, Signature Fn>
struct Binding;
template <class Ret, class... Args, Ret (*Fn)(Wasi&, const GuestMemory&, Args...)>
struct Binding<Ret (*)(Wasi&, const GuestMemory&, Args...), Fn> {
  static constexpr bool no_result = std::is_same_v<Ret, Functions::Exit>;
  static constexpr std::array<ValType, sizeof...(Args)> params{Param<Args>::type...};
  static constexpr std::array<ValType, no_result ? 0 : 1> results = [] {
    std::array<ValType, no_result ? 0 : 1> out{};
    if constexpr (!no_result) out[0] = ValType::i32;  // every WASI function but proc_exit returns an errno
    return out;
  }();

  static CallResult invoke(Wasi& wasi, const GuestMemory& memory, const std::uint64_t* args,
                           std::uint64_t* out) {
    // Once interrupted, nothing more happens on the guest's behalf; a call that the interruption
    // cut short (EINTR) ends as interrupted too, never as an errno the guest could retry.
    if (wasi.interrupted()) return CallResult{CallResult::Kind::interrupted, 0};
    return [&]<std::size_t... I>(std::index_sequence<I...>) {
      Ret r = Fn(wasi, memory, Param<Args>::decode(args[I])...);
      if constexpr (!no_result) {
        const bool cut_short = [&] {
          if constexpr (std::is_same_v<Ret, Errno>)
            return r == Errno::intr;
          else
            return r.kind == CallResult::Kind::returned && r.value == static_cast<std::uint32_t>(Errno::intr);
        }();
        if (cut_short && wasi.interrupted()) return CallResult{CallResult::Kind::interrupted, 0};
      }
      if constexpr (std::is_same_v<Ret, Errno>) {
        out[0] = static_cast<std::uint32_t>(r);
        return CallResult{CallResult::Kind::returned, static_cast<std::uint32_t>(r)};
      } else if constexpr (no_result) {
        return CallResult{CallResult::Kind::exited, r.code};
      } else {
        static_assert(std::is_same_v<Ret, CallResult>);
        if (r.kind == CallResult::Kind::returned) out[0] = r.value;
        return r;
      }
    }
    (std::index_sequence_for<Args...>{});
  }
};

template <auto Fn>
constexpr HostFunction bind(std::string_view name) {
  using B = Binding<decltype(Fn), Fn>;
  return {name, B::params, B::results, &B::invoke};
}

// The module, one row per function: name and implementation. Signatures come from the C++ types.
constexpr HostFunction kHostFunctions[] = {
    bind<&Functions::args_get>("args_get"),
    bind<&Functions::args_sizes_get>("args_sizes_get"),
    bind<&Functions::environ_get>("environ_get"),
    bind<&Functions::environ_sizes_get>("environ_sizes_get"),
    bind<&Functions::clock_res_get>("clock_res_get"),
    bind<&Functions::clock_time_get>("clock_time_get"),
    bind<&Functions::fd_advise>("fd_advise"),
    bind<&Functions::fd_allocate>("fd_allocate"),
    bind<&Functions::fd_close>("fd_close"),
    bind<&Functions::fd_datasync>("fd_datasync"),
    bind<&Functions::fd_fdstat_get>("fd_fdstat_get"),
    bind<&Functions::fd_fdstat_set_flags>("fd_fdstat_set_flags"),
    bind<&Functions::fd_fdstat_set_rights>("fd_fdstat_set_rights"),
    bind<&Functions::fd_filestat_get>("fd_filestat_get"),
    bind<&Functions::fd_filestat_set_size>("fd_filestat_set_size"),
    bind<&Functions::fd_filestat_set_times>("fd_filestat_set_times"),
    bind<&Functions::fd_pread>("fd_pread"),
    bind<&Functions::fd_prestat_get>("fd_prestat_get"),
    bind<&Functions::fd_prestat_dir_name>("fd_prestat_dir_name"),
    bind<&Functions::fd_pwrite>("fd_pwrite"),
    bind<&Functions::fd_read>("fd_read"),
    bind<&Functions::fd_readdir>("fd_readdir"),
    bind<&Functions::fd_renumber>("fd_renumber"),
    bind<&Functions::fd_seek>("fd_seek"),
    bind<&Functions::fd_sync>("fd_sync"),
    bind<&Functions::fd_tell>("fd_tell"),
    bind<&Functions::fd_write>("fd_write"),
    bind<&Functions::path_create_directory>("path_create_directory"),
    bind<&Functions::path_filestat_get>("path_filestat_get"),
    bind<&Functions::path_filestat_set_times>("path_filestat_set_times"),
    bind<&Functions::path_link>("path_link"),
    bind<&Functions::path_open>("path_open"),
    bind<&Functions::path_readlink>("path_readlink"),
    bind<&Functions::path_remove_directory>("path_remove_directory"),
    bind<&Functions::path_rename>("path_rename"),
    bind<&Functions::path_symlink>("path_symlink"),
    bind<&Functions::path_unlink_file>("path_unlink_file"),
    bind<&Functions::poll_oneoff>("poll_oneoff"),
    bind<&Functions::proc_exit>("proc_exit"),
    bind<&Functions::proc_raise>("proc_raise"),
    bind<&Functions::random_get>("random_get"),
    bind<&Functions::sched_yield>("sched_yield"),
    bind<&Functions::sock_accept>("sock_accept"),
    bind<&Functions::sock_recv>("sock_recv"),
    bind<&Functions::sock_send>("sock_send"),
    bind<&Functions::sock_shutdown>("sock_shutdown"),
};

}  // namespace

std::span<const HostFunction> host_functions() { return kHostFunctions; }

const HostFunction* find_host_function(std::string_view name) {
  for (const HostFunction& function : kHostFunctions)
    if (function.name == name) return &function;
  return nullptr;
}

}  // namespace spectrum::wasi
