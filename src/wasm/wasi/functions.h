// Private to the WASI implementation files (wasi.cc: the state, the table and the small calls;
// wasi_fd.cc: fd_*; wasi_path.cc: path_*): the host helpers, a descriptor's entry, and the
// functions the table binds, each declared exactly as the witx declares it.
#pragma once

#include <sys/stat.h>
#include <sys/uio.h>
#include <time.h>

#include <array>
#include <atomic>
#include <cstdint>
#include <expected>
#include <optional>
#include <string>
#include <vector>

#include "core/fd.h"
#include "wasm/wasi/abi.h"
#include "wasm/wasi/wasi.h"

namespace spectrum::wasi {

using abi::Errno;
using abi::Filetype;
using abi::GuestPtr;

template <class T>
using Expected = std::expected<T, Errno>;

// Host errno -> WASI errno (one table rather than a switch per call site).
Errno from_host(int err);
Errno last_error();
Filetype filetype_of(mode_t mode);
std::uint64_t to_ns(const timespec& ts);
abi::Filestat to_filestat(const struct stat& st);
std::optional<clockid_t> host_clock(std::uint32_t id);
std::uint64_t now_ns(clockid_t clock);

// A guest path as a host C string; WASI paths are not NUL-terminated and must not contain NUL.
Expected<std::string> read_path(const GuestMemory& memory, GuestPtr ptr, std::uint32_t len);

// A guest path opened beneath the directory `dirfd` (core's open_beneath: openat2 with
// RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS): `..`, absolute paths and symlinks leaving the
// directory fail with EXDEV, reported to the guest as ENOTCAPABLE; /proc magic links are refused.
// An open that can block (a FIFO without a partner) gives up with EINTR once `interrupted` is set.
Expected<UniqueFd> open_guest_path(int dirfd, const std::string& path, std::uint64_t flags, mode_t mode = 0,
                                   const std::atomic<bool>* interrupted = nullptr);

// For calls that create or remove a name: the confined parent directory and the last component.
// "." and ".." (and an empty last component) are never a name to create or remove.
struct ParentAndName {
  UniqueFd parent;
  std::string name;
};
Expected<ParentAndName> open_parent(int dirfd, std::string path);

std::string proc_fd_path(int fd);

constexpr std::uint32_t kMaxFds = 4096;
constexpr std::uint32_t kMaxIovecs = IOV_MAX;

struct Wasi::FdEntry {
  UniqueFd owned;  // empty for the borrowed stdio fds
  int host_fd = -1;
  Filetype type = Filetype::unknown;
  bool read_only = false;    // below a read-only preopen: refuse every modification
  std::string preopen_name;  // non-empty for a preopened directory
  DirId root;                // the directory of the preopen this fd was opened below
  std::uint64_t rights_base = abi::rights::all;
  std::uint64_t rights_inheriting = abi::rights::all;
  // fd_readdir: the listing read at cookie 0, served by index (the cookie) afterwards.
  struct DirEntry {
    std::string name;
    std::uint64_t ino;
    Filetype type;
  };
  std::vector<DirEntry> listing;
};

// The implementations. Each takes its arguments exactly as the witx declares them; the table at
// the end of wasi.cc binds them to their import names and the templates derive the wasm signatures.
struct Functions {
  using Entry = Wasi::FdEntry;

  static Expected<Entry*> lookup(Wasi& wasi, std::uint32_t fd);
  static Expected<Entry*> lookup_dir(Wasi& wasi, std::uint32_t fd);
  static Expected<Entry*> lookup_writable_dir(Wasi& wasi, std::uint32_t fd);
  // Whether `fd`, opened below the writable `dir`, lies in a read-only preopen's directory all
  // the same (a read-only mount inside a writable one: shadow.h). `is_dir`: fd is a directory.
  static bool shadowed(Wasi& w, const Entry& dir, int fd, bool is_dir);

  // Blocks until the fd is ready or the embedder interrupts; false when interrupted. Regular
  // files never block; pipes, terminals and sockets could hold the guest past its timeout.
  static bool wait_ready(Wasi& wasi, const Entry& entry, short events);

  // Guest iovec array -> host iovecs, every buffer checked against memory.
  static Expected<std::vector<iovec>> host_iovecs(const GuestMemory& memory, GuestPtr iovs,
                                                  std::uint32_t count);

  static Errno store_size(const GuestMemory& memory, GuestPtr ptr, std::uint64_t value);

  // ---- args and environment ----
  static Errno write_string_list(const GuestMemory& memory, const std::vector<std::string>& list,
                                 GuestPtr pointers, GuestPtr buffer);
  static Errno write_list_sizes(const GuestMemory& memory, const std::vector<std::string>& list,
                                GuestPtr count_out, GuestPtr size_out);
  static Errno args_get(Wasi& w, const GuestMemory& m, GuestPtr argv, GuestPtr argv_buf);
  static Errno args_sizes_get(Wasi& w, const GuestMemory& m, GuestPtr argc, GuestPtr argv_buf_size);
  static Errno environ_get(Wasi& w, const GuestMemory& m, GuestPtr environ, GuestPtr environ_buf);
  static Errno environ_sizes_get(Wasi& w, const GuestMemory& m, GuestPtr count, GuestPtr buf_size);

  // ---- clocks, random, scheduling, exit ----
  static Errno clock_res_get(Wasi&, const GuestMemory& m, std::uint32_t id, GuestPtr resolution);
  static Errno clock_time_get(Wasi&, const GuestMemory& m, std::uint32_t id, std::uint64_t /*precision*/,
                              GuestPtr time);
  static Errno random_get(Wasi&, const GuestMemory& m, GuestPtr buf, std::uint32_t len);
  static Errno sched_yield(Wasi&, const GuestMemory&);
  struct Exit {
    std::uint32_t code;
  };
  static Exit proc_exit(Wasi&, const GuestMemory&, std::uint32_t code);
  static Errno proc_raise(Wasi&, const GuestMemory&, std::uint32_t);

  // ---- fd_* ----
  static CallResult fd_read(Wasi& w, const GuestMemory& m, std::uint32_t fd, GuestPtr iovs,
                            std::uint32_t iovs_len, GuestPtr nread);
  static CallResult fd_pread(Wasi& w, const GuestMemory& m, std::uint32_t fd, GuestPtr iovs,
                             std::uint32_t iovs_len, std::uint64_t offset, GuestPtr nread);
  static CallResult fd_write(Wasi& w, const GuestMemory& m, std::uint32_t fd, GuestPtr iovs,
                             std::uint32_t iovs_len, GuestPtr nwritten);
  static CallResult fd_pwrite(Wasi& w, const GuestMemory& m, std::uint32_t fd, GuestPtr iovs,
                              std::uint32_t iovs_len, std::uint64_t offset, GuestPtr nwritten);
  static CallResult read_or_write(Wasi& w, const GuestMemory& m, std::uint32_t fd, GuestPtr iovs,
                                  std::uint32_t iovs_len, std::optional<std::uint64_t> offset,
                                  GuestPtr count_out, bool write);
  static CallResult returned(Errno error);

  static Errno fd_close(Wasi& w, const GuestMemory&, std::uint32_t fd);
  static Errno fd_renumber(Wasi& w, const GuestMemory&, std::uint32_t from, std::uint32_t to);
  static Errno fd_seek(Wasi& w, const GuestMemory& m, std::uint32_t fd, std::int64_t offset,
                       std::uint32_t whence, GuestPtr new_offset);
  static Errno fd_tell(Wasi& w, const GuestMemory& m, std::uint32_t fd, GuestPtr offset);
  static Errno fd_fdstat_get(Wasi& w, const GuestMemory& m, std::uint32_t fd, GuestPtr out);
  static Errno fd_fdstat_set_flags(Wasi& w, const GuestMemory&, std::uint32_t fd, std::uint32_t fdflags);
  static Errno fd_fdstat_set_rights(Wasi& w, const GuestMemory&, std::uint32_t fd, std::uint64_t base,
                                    std::uint64_t inheriting);
  static Errno fd_filestat_get(Wasi& w, const GuestMemory& m, std::uint32_t fd, GuestPtr out);
  static Errno fd_filestat_set_size(Wasi& w, const GuestMemory&, std::uint32_t fd, std::uint64_t size);
  static Expected<std::array<timespec, 2>> utimens_times(std::uint64_t atime_ns, std::uint64_t mtime_ns,
                                                         std::uint32_t fst_flags);
  static Errno fd_filestat_set_times(Wasi& w, const GuestMemory&, std::uint32_t fd, std::uint64_t atim,
                                     std::uint64_t mtim, std::uint32_t fst_flags);
  static Errno fd_sync(Wasi& w, const GuestMemory&, std::uint32_t fd);
  static Errno fd_datasync(Wasi& w, const GuestMemory&, std::uint32_t fd);
  static Errno fd_advise(Wasi& w, const GuestMemory&, std::uint32_t fd, std::uint64_t offset,
                         std::uint64_t len, std::uint32_t advice);
  static Errno fd_allocate(Wasi& w, const GuestMemory&, std::uint32_t fd, std::uint64_t offset,
                           std::uint64_t len);
  static Errno fd_prestat_get(Wasi& w, const GuestMemory& m, std::uint32_t fd, GuestPtr out);
  static Errno fd_prestat_dir_name(Wasi& w, const GuestMemory& m, std::uint32_t fd, GuestPtr path,
                                   std::uint32_t len);
  static Errno fd_readdir(Wasi& w, const GuestMemory& m, std::uint32_t fd, GuestPtr buf,
                          std::uint32_t buf_len, std::uint64_t cookie, GuestPtr bufused);

  // ---- path_* ----
  static Errno path_open(Wasi& w, const GuestMemory& m, std::uint32_t dirfd, std::uint32_t lookup_flags,
                         GuestPtr path_ptr, std::uint32_t path_len, std::uint32_t open_flags,
                         std::uint64_t rights_base, std::uint64_t rights_inheriting, std::uint32_t fdflags,
                         GuestPtr fd_out);
  static Errno path_create_directory(Wasi& w, const GuestMemory& m, std::uint32_t dirfd, GuestPtr path_ptr,
                                     std::uint32_t path_len);
  static Errno path_remove_directory(Wasi& w, const GuestMemory& m, std::uint32_t dirfd, GuestPtr path_ptr,
                                     std::uint32_t path_len);
  static Errno path_unlink_file(Wasi& w, const GuestMemory& m, std::uint32_t dirfd, GuestPtr path_ptr,
                                std::uint32_t path_len);
  static Errno remove(Wasi& w, const GuestMemory& m, std::uint32_t dirfd, GuestPtr path_ptr,
                      std::uint32_t path_len, int flags);
  static Errno path_rename(Wasi& w, const GuestMemory& m, std::uint32_t old_dirfd, GuestPtr old_ptr,
                           std::uint32_t old_len, std::uint32_t new_dirfd, GuestPtr new_ptr,
                           std::uint32_t new_len);
  static Errno path_symlink(Wasi& w, const GuestMemory& m, GuestPtr old_ptr, std::uint32_t old_len,
                            std::uint32_t dirfd, GuestPtr new_ptr, std::uint32_t new_len);
  static Errno path_link(Wasi& w, const GuestMemory& m, std::uint32_t old_dirfd, std::uint32_t old_flags,
                         GuestPtr old_ptr, std::uint32_t old_len, std::uint32_t new_dirfd, GuestPtr new_ptr,
                         std::uint32_t new_len);
  static Errno path_readlink(Wasi& w, const GuestMemory& m, std::uint32_t dirfd, GuestPtr path_ptr,
                             std::uint32_t path_len, GuestPtr buf, std::uint32_t buf_len, GuestPtr bufused);
  static Errno path_filestat_get(Wasi& w, const GuestMemory& m, std::uint32_t dirfd, std::uint32_t flags,
                                 GuestPtr path_ptr, std::uint32_t path_len, GuestPtr out);
  static Errno path_filestat_set_times(Wasi& w, const GuestMemory& m, std::uint32_t dirfd,
                                       std::uint32_t flags, GuestPtr path_ptr, std::uint32_t path_len,
                                       std::uint64_t atim, std::uint64_t mtim, std::uint32_t fst_flags);

  // ---- poll_oneoff ----
  static CallResult poll_oneoff(Wasi& w, const GuestMemory& m, GuestPtr in, GuestPtr out,
                                std::uint32_t nsubscriptions, GuestPtr nevents_out);

  // ---- sockets: not offered (no socket can be opened), but linkable ----
  static Errno sock_accept(Wasi&, const GuestMemory&, std::uint32_t, std::uint32_t, GuestPtr);
  static Errno sock_recv(Wasi&, const GuestMemory&, std::uint32_t, GuestPtr, std::uint32_t, std::uint32_t,
                         GuestPtr, GuestPtr);
  static Errno sock_send(Wasi&, const GuestMemory&, std::uint32_t, GuestPtr, std::uint32_t, std::uint32_t,
                         GuestPtr);
  static Errno sock_shutdown(Wasi&, const GuestMemory&, std::uint32_t, std::uint32_t);
};

}  // namespace spectrum::wasi
