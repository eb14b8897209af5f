// wasi_snapshot_preview1 for Spectrum's engine: the state of one WASI program (arguments,
// environment, its file descriptor table with the preopened directories) and the table of host
// functions that an embedder links as the module "wasi_snapshot_preview1".
//
// The functions here know nothing of the engine: each gets the caller's linear memory as a
// GuestMemory view and its arguments as raw 64-bit slots, and returns a CallResult (a WASI errno
// result, a proc_exit, or an interruption by the embedder). The tier adapts the table to the
// engine's host-function API.
//
// Confinement: a guest path is resolved only relative to a directory fd of the table, by core's
// one resolver (core/confined_path.h: openat2 RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS); `..`, absolute paths
// and symlinks that leave the preopen fail with ENOTCAPABLE and never touch the host outside it. Read-only
// preopens and everything below them refuse every modification with EROFS, also when reached through a
// writable preopen that contains them (shadow.h).
#pragma once

#include <atomic>
#include <cstdint>
#include <cstring>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.h"
#include "core/fd.h"
#include "wasm/wasi/abi.h"
#include "wasm/wasi/shadow.h"

namespace spectrum::wasi {

// The caller's linear memory at the time of the call. Every access is bounds-checked: a guest
// pointer and length outside memory make the WASI call fail with EFAULT, never a host access.
class GuestMemory {
 public:
  GuestMemory(std::uint8_t* data, std::uint64_t size) : data_(data), size_(size) {}

  // The host address of [ptr, ptr + len), or nullptr when any byte lies outside memory.
  std::uint8_t* bytes(std::uint64_t ptr, std::uint64_t len) const {
    if (ptr > size_ || len > size_ - ptr) return nullptr;
    return data_ + ptr;
  }
  template <class T>
  std::optional<T> load(std::uint64_t ptr) const {
    const std::uint8_t* p = bytes(ptr, sizeof(T));
    if (!p) return std::nullopt;
    T value;
    std::memcpy(&value, p, sizeof(T));
    return value;
  }
  template <class T>
  bool store(std::uint64_t ptr, const T& value) const {
    std::uint8_t* p = bytes(ptr, sizeof(T));
    if (!p) return false;
    std::memcpy(p, &value, sizeof(T));
    return true;
  }
  std::uint64_t size() const { return size_; }

 private:
  std::uint8_t* data_;
  std::uint64_t size_;
};

// How a host call ended.
struct CallResult {
  enum class Kind : std::uint8_t {
    returned,     // the function returned `value`, its WASI errno
    exited,       // proc_exit(value): the program ends, not a trap
    interrupted,  // the embedder called Wasi::interrupt() while the call was blocked
  };
  Kind kind = Kind::returned;
  std::uint32_t value = 0;
};

enum class ValType : std::uint8_t { i32, i64 };

class Wasi;

// One row of the host-function table: the import name, its wasm signature and the marshaller that
// decodes raw argument slots (i32 in the low half) and writes the results.
struct HostFunction {
  std::string_view name;
  std::span<const ValType> params;
  std::span<const ValType> results;
  CallResult (*invoke)(Wasi& wasi, const GuestMemory& memory, const std::uint64_t* args,
                       std::uint64_t* results);
};

inline constexpr std::string_view module_name = "wasi_snapshot_preview1";

// Every function of wasi_snapshot_preview1 that Spectrum provides, each declared once.
std::span<const HostFunction> host_functions();
const HostFunction* find_host_function(std::string_view name);

struct Preopen {
  std::string host_path;   // a directory on the host
  std::string guest_path;  // the name the guest sees (fd_prestat_dir_name), e.g. "/data"
  bool read_only = false;
};

struct Config {
  std::vector<std::string> args;  // argv, argv[0] included
  std::vector<std::string> env;   // "KEY=VALUE"
  std::vector<Preopen> preopens;  // become fds 3, 4, ... in this order
  // Host fds for the guest's 0, 1, 2; borrowed (the caller keeps them open for the run).
  int stdin_fd = 0, stdout_fd = 1, stderr_fd = 2;
};

class Wasi {
 public:
  // Opens the preopened directories; an Error names the mount that failed.
  static Result<std::unique_ptr<Wasi>> create(Config config);
  ~Wasi();
  Wasi(const Wasi&) = delete;
  Wasi& operator=(const Wasi&) = delete;

  // Thread-safe: wakes a guest blocked in poll_oneoff or a read of a pipe or terminal, which then
  // returns CallResult::Kind::interrupted; and so does every later call. A call blocked in the
  // kernel elsewhere (a write into a full pipe, the open of a FIFO) ends too when the embedder
  // also sends the calling thread a signal whose handler is installed without SA_RESTART (the
  // tier's watchdog does): the call's EINTR is then reported as interrupted, never retried.
  void interrupt();
  bool interrupted() const;

 private:
  struct FdEntry;
  friend struct Functions;
  Wasi();

  Config config_;
  std::vector<std::unique_ptr<FdEntry>> fds_;  // index = guest fd; null = free
  UniqueFd interrupt_event_;                   // an eventfd, readable once interrupted
  std::atomic<bool> interrupted_{false};
  ReadOnlyDirs read_only_dirs_;  // read-only preopens, when a writable one could reach them
};

}  // namespace spectrum::wasi
