// The workload's process as the monitor sees it: its address space, files, signal dispositions and
// the Linux system calls it makes. Calls that concern the guest alone (brk, mmap, arch_prctl, ...)
// change the guest state the monitor owns; file, directory, time and randomness calls run on the
// host, confined to the root filesystem (openat2 RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS); all
// else is refused with ENOSYS, logged once by name.
//
// Why the monitor and not the guest kernel runs brk/mmap/...: on kvm_pvm every ring-0 instruction
// is emulated at ~2 us while one exit to the monitor costs ~7 us, so even a 10-instruction ring-0
// handler loses to the exit the forwarded path takes anyway; see docs/vm.md.
#pragma once

#include <sys/uio.h>

#include <array>
#include <bitset>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "core/error.h"
#include "core/fd.h"
#include "vm/memory.h"

namespace spectrum::vm {

struct SyscallRequest {
  std::uint64_t number = 0;
  std::array<std::uint64_t, 6> args{};  // rdi, rsi, rdx, r10, r8, r9
};

struct SyscallResult {
  enum class Kind { value, exit, signal };
  Kind kind = Kind::value;
  std::int64_t value = 0;  // return value (-errno on error), exit status or signal number
  std::optional<std::uint64_t> fs_base, gs_base;  // the workload's new TLS bases, if changed

  static SyscallResult ret(std::int64_t v) { return {Kind::value, v, {}, {}}; }
  static SyscallResult error(int err) { return {Kind::value, -err, {}, {}}; }
};

struct ProcessConfig {
  UniqueFd root;  // the root filesystem, an O_PATH directory fd
  UniqueFd stdin_fd, stdout_fd, stderr_fd;
  std::string cwd = "/";
  bool read_only = false;  // refuse writes to the root filesystem (EROFS)
  std::uint64_t memory_bytes = 0;
  std::string executable;                       // the program's guest path: /proc/self/exe, the thread's name
  std::function<void(const std::string&)> log;  // one line, without newline; default: stderr
};

class Process {
 public:
  Process(AddressSpace& space, GuestMemory& memory, ProcessConfig config);

  void set_brk_start(std::uint64_t start) { brk_start_ = brk_ = start; }
  std::uint64_t fs_base() const { return fs_base_; }

  SyscallResult handle(const SyscallRequest& request);

  // The name of a syscall number ("openat"), or "syscall_N".
  static std::string syscall_name(std::uint64_t number);
  // Whether a syscall number is implemented (the rest return ENOSYS).
  static bool implemented(std::uint64_t number);

  struct FdEntry {
    UniqueFd host;
    std::string path;  // the guest's path of a directory (for *at calls relative to it)
    bool directory = false;
    bool cloexec = false;
    // One of the invoker's stdio open file descriptions (a terminal, a `>> log`, a pipe), shared
    // as with a native child for reading and writing, but not the guest's to change: no seeking
    // or positioned writes (lseek, pwrite: ESPIPE, as on a pipe), no truncation (EINVAL), and
    // F_SETFL only changes `status_flags`, the guest's own view (O_NONBLOCK emulated on reads).
    bool shared = false;
    int status_flags = 0;  // O_APPEND | O_NONBLOCK as the guest set them, for a shared entry
  };

  // Guest path resolution: the absolute guest path of `path` relative to `dirfd`.
  GuestResult<std::string> guest_path(int dirfd, const std::string& path) const;
  // openat2 inside the root filesystem.
  GuestResult<UniqueFd> open_in_root(const std::string& absolute_path, int flags, unsigned mode) const;

  // Public for the handler table in process.cc.
  AddressSpace& space_;
  GuestMemory& memory_;
  ProcessConfig config_;
  std::vector<std::optional<FdEntry>> fds_;
  std::uint64_t brk_start_ = 0, brk_ = 0;
  std::uint64_t fs_base_ = 0, gs_base_ = 0;
  std::array<std::array<std::uint64_t, 4>, 65> sigactions_{};  // kernel struct sigaction, by signal
  std::uint64_t sigmask_ = 0;
  unsigned umask_ = 022;
  std::array<char, 16> thread_name_{};
  std::bitset<1024> refused_logged_;  // numbers below 1024 already logged
  bool refused_high_logged_ = false;  // one line for every number of 1024 or more
  unsigned refused_lines_ = 0;        // at most kMaxRefusalLines, then one last line

  void log(const std::string& line) const;
  void refuse_once(std::uint64_t number, const std::string& why);
  GuestResult<int> install_fd(FdEntry entry, int lowest = 0);
  FdEntry* fd(std::int64_t guest_fd);
  // Host iovecs covering guest [vaddr, vaddr+length) for `access`, contiguous frames merged.
  GuestResult<std::vector<::iovec>> guest_iovecs(std::uint64_t vaddr, std::uint64_t length,
                                                 Access access) const;
};

}  // namespace spectrum::vm
