// The sandbox kernel's view of one guest task: the state Linux lets clone(2) share, split along
// the lines it shares it (CLONE_VM: the memory context; CLONE_FILES: the fd table; CLONE_FS: root,
// cwd and umask; CLONE_SIGHAND: signal dispositions), each behind a shared_ptr so that a task
// made with the flag shares the object and one made without it gets a copy. What is the task's
// own (TLS bases, signal mask, name) is a plain member.
//
// Calls that concern the guest alone (brk, mmap, arch_prctl, ...) change state the monitor owns;
// file, directory, time and randomness calls run on the host, confined to the root filesystem
// (fs/root.h); the rest is refused with ENOSYS, logged once by name. The handlers live in
// src/vm/syscalls/, one file per family, found from the table in syscalls/table.cc.
//
// Why the monitor and not the guest kernel runs brk/mmap/...: on kvm_pvm every ring-0 instruction
// is emulated at ~2 us while one exit to the monitor costs ~7 us, so even a 10-instruction ring-0
// handler loses to the exit the forwarded path takes anyway; see docs/vm.md.
#pragma once

#include <fcntl.h>
#include <poll.h>
#include <sys/uio.h>

#include <array>
#include <bitset>
#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/error.h"
#include "core/fd.h"
#include "vm/fs/devices.h"
#include "vm/fs/proc.h"
#include "vm/loader/load.h"
#include "vm/memory.h"

namespace spectrum::vm {

struct SyscallRequest {
  std::uint64_t number = 0;
  std::array<std::uint64_t, 6> args{};  // rdi, rsi, rdx, r10, r8, r9
};

// What a handler decided. `value` completes the call (rax); `exit` and `signal` end the process
// (every thread of it), `exit_thread` the calling thread only;
// `block` means the task cannot go on yet: it waits until one of `wait` is ready (or another task
// changes something it waits for, such as a child's exit) and the same call is then made again,
// or until `deadline`, when the call completes with `value` (a poll's 0); `restart` makes the
// same call again at once (an interrupted call that is restartable).
struct SyscallResult {
  enum class Kind { value, exit, signal, block, restart, exit_thread };
  Kind kind = Kind::value;
  std::int64_t value = 0;  // return value (-errno on error), exit status or signal number
  std::optional<std::uint64_t> fs_base, gs_base;                  // the workload's new TLS bases, if changed
  std::vector<pollfd> wait;                                       // block: host fds that wake the task
  std::optional<std::chrono::steady_clock::time_point> deadline;  // block: give up then

  static SyscallResult ret(std::int64_t v) { return {Kind::value, v, {}, {}, {}, {}}; }
  static SyscallResult error(int err) { return {Kind::value, -err, {}, {}, {}, {}}; }
  static SyscallResult block_on(int fd, short events) {
    return {Kind::block, 0, {}, {}, {pollfd{fd, events, 0}}, {}};
  }
};

// A --mount bind as the guest sees it (/proc/PID/mountinfo): where, and whether read-only.
struct GuestMount {
  std::string target;
  bool read_only = false;
};

struct ProcessConfig {
  UniqueFd root;  // the root filesystem, an O_PATH directory fd
  UniqueFd stdin_fd, stdout_fd, stderr_fd;
  std::string cwd = "/";
  bool read_only = false;  // refuse writes to the root filesystem (EROFS)
  std::uint64_t memory_bytes = 0;
  std::uint64_t max_tasks = 0;                  // --pids: processes at once (0: the kernel's bound)
  std::string executable;                       // the program's guest path: /proc/self/exe, the thread's name
  std::vector<GuestMount> mounts;               // the --mount binds, in order
  std::function<void(const std::string&)> log;  // one line, without newline; default: stderr
};

namespace kernel {

// CLONE_VM: the address space and the program break. The first process's address space is the
// prepared guest's; a forked one owns its copy.
struct MemoryContext {
  AddressSpace* space;
  GuestMemory& memory;
  std::unique_ptr<AddressSpace> owned;
  std::uint64_t brk_start = 0, brk = 0;
  std::uint64_t limit_bytes = 0;  // --memory, for getrlimit and sysinfo
  // What /proc/PID/maps names, by start (the mappings themselves are the page tables'): the
  // program and its dynamic linker, the stack, mapped files. At most kMaxNames; beyond that a
  // mapped file shows unnamed. And where argv and envp lie, for cmdline and environ.
  static constexpr std::size_t kMaxNames = 4096;
  std::map<std::uint64_t, NamedRange> names{};
  std::uint64_t arg_start = 0, arg_end = 0, env_start = 0, env_end = 0;
  // System V shared memory attached here (shmat), by address: the segment and the length, which
  // shmdt detaches. Copied by fork, as the mappings are; a new program has none.
  struct SysvAttach {
    int id;
    std::uint64_t length;
  };
  std::map<std::uint64_t, SysvAttach> sysv_attaches{};
  void forget_attaches(std::uint64_t start, std::uint64_t end);  // unmapped or mapped over
  void forget_names(std::uint64_t start, std::uint64_t end);
  void name_range(std::uint64_t start, std::uint64_t end, const std::string& name);  // replaces
  void set_layout(const LoadedProgram& program);  // a new program: its names and arguments only
};

struct Socket;

// An open file description, as Linux has them: shared by the fds dup() makes and by fork's copy
// of the table, so that offsets, O_NONBLOCK and the end of a pipe are the same for all of them.
// `host` is the host fd the monitor acts on; it closes when the last guest fd referring to it does.
struct OpenFile {
  UniqueFd host;
  std::string path;  // the guest's path of a directory (for *at calls relative to it)
  bool directory = false;
  // One of the invoker's stdio open file descriptions (a terminal, a `>> log`, a pipe), shared
  // as with a native child for reading and writing, but not the guest's to change: no seeking
  // or positioned writes (lseek, pwrite: ESPIPE, as on a pipe), no truncation (EINVAL), and
  // F_SETFL only changes `status_flags`, the guest's own view (O_NONBLOCK emulated on reads).
  bool shared = false;
  // The host fd is O_NONBLOCK whatever the guest asked (pipes, eventfds, sockets the monitor
  // made): a call that would block returns the "block" outcome, so the monitor never waits in a
  // host call while another guest task could run. `status_flags` is the guest's view.
  bool emulated_block = false;
  int status_flags = 0;  // O_APPEND | O_NONBLOCK as the guest set them (shared or emulated_block)
  vfs::Device device = vfs::Device::none;  // a synthetic /dev file (no host fd)
  int device_access = O_RDWR;              // and how it was opened (F_GETFL; a host fd knows its own)
  // An epoll instance: `host` is a host epoll fd holding the interest in every guest fd that has
  // a host fd (the host gives edge-triggered, one-shot and exclusive wake-ups as Linux does);
  // this map holds the synthetic /dev files (no host fd: always ready), guest fd -> (events, data).
  struct EpollInterest {
    std::uint32_t events;
    std::uint64_t data;
  };
  std::shared_ptr<std::map<int, EpollInterest>> epoll;
  // A socket made by socket(2) or socketpair(2): its guest-visible names and credentials
  // (syscalls/net.h).
  std::shared_ptr<Socket> socket;
  // A synthetic /proc directory (`path`, no host fd): listed afresh by a getdents at position 0.
  // (A /proc file is a host memfd holding the text made at open, so it reads like any file.)
  bool proc_directory = false;
  std::vector<vfs::DirEntry> proc_entries;
  std::size_t proc_position = 0;
};

// One guest fd: its description and the fd's own close-on-exec flag.
struct FdEntry {
  std::shared_ptr<OpenFile> file;
  bool cloexec = false;
};

// CLONE_FILES: the fd table. Guest fd numbers are indices, bounded by kMaxFds whatever the guest
// names.
class FileTable {
 public:
  static constexpr int kMaxFds = 1024;
  FdEntry* get(std::int64_t guest_fd);
  // The lowest free number >= lowest; EMFILE when none below kMaxFds.
  GuestResult<int> install(FdEntry entry, int lowest = 0);
  // Puts `entry` at `number` (closing what was there); EBADF outside [0, kMaxFds).
  GuestResult<int> install_at(FdEntry entry, std::int64_t number);
  bool close(std::int64_t guest_fd);
  // RLIMIT_NOFILE, kept with the table (a fork copies both; threads share both). New fds are
  // below the soft limit; neither limit can pass kMaxFds.
  std::uint64_t soft_limit = kMaxFds, hard_limit = kMaxFds;
  void close_on_exec();  // execve: every fd with FD_CLOEXEC goes
  void close_all();      // the process ends
  std::size_t size() const { return fds_.size(); }

 private:
  std::vector<std::optional<FdEntry>> fds_;
};

// CLONE_FS: the root, the working directory and the umask.
struct FsContext {
  UniqueFd root;
  std::string cwd = "/";
  unsigned umask = 022;
  bool read_only = false;
  std::vector<GuestMount> mounts;  // the binds under the root (the sandbox's one mount table)
};

// CLONE_SIGHAND: the kernel struct sigaction of each signal (handler, flags, restorer, mask).
struct SignalHandlers {
  std::array<std::array<std::uint64_t, 4>, 65> actions{};
};

class Kernel;

// Refused calls are logged once per number for the whole run, shared by every process.
struct RefusalLog {
  std::bitset<1024> logged;  // numbers below 1024 already logged
  bool high_logged = false;  // one line for every number of 1024 or more
  unsigned lines = 0;        // at most kMaxRefusalLines, then one last line
};

}  // namespace kernel

class Process {
 public:
  using FdEntry = kernel::FdEntry;
  using OpenFile = kernel::OpenFile;

  Process(AddressSpace& space, GuestMemory& memory, ProcessConfig config);
  // clone: a child task. With CLONE_VM it shares the parent's memory context (`space` is null),
  // else it owns `space`, a copy; CLONE_FILES, CLONE_FS and CLONE_SIGHAND share the fd table, fs
  // context and dispositions, else the child gets copies.
  Process(const Process& parent, std::unique_ptr<AddressSpace> space, std::uint64_t clone_flags = 0);
  // The task ends: its fds close unless another task shares the table.
  void release_files();
  // execve of a process whose memory context another process shares (vfork): it gets its own,
  // over `space`, and the other keeps the old one.
  void replace_memory(std::unique_ptr<AddressSpace> space);
  // Whether another task (a thread, or a vfork child or parent) shares this memory context.
  bool memory_shared() const { return mm_.use_count() > 1; }
  Process(const Process&) = delete;

  // The kernel that schedules this process (fork, exec, wait), or null: a process alone, as in
  // the unit tests, where those calls are refused.
  kernel::Kernel* kernel() const { return kernel_; }
  void set_kernel(kernel::Kernel* k, int pid) {
    kernel_ = k;
    pid_ = pid;
  }
  int pid() const { return pid_; }
  std::uint64_t max_tasks() const { return max_tasks_; }
  void set_executable(const std::string& path);

  void set_brk_start(std::uint64_t start) { mm_->brk_start = mm_->brk = start; }
  std::uint64_t fs_base() const { return fs_base_; }

  SyscallResult handle(const SyscallRequest& request);

  // The name of a syscall number ("openat"), or "syscall_N".
  static std::string syscall_name(std::uint64_t number);
  // Whether a syscall number is implemented (the rest return ENOSYS).
  static bool implemented(std::uint64_t number);

  // The shareable parts (see the top of this file).
  AddressSpace& space() const { return *mm_->space; }
  GuestMemory& memory() const { return mm_->memory; }
  // One of the invoker's files (a terminal, a pipe, a `>> log`) as guest fd `number`: shared with
  // the invoker, never reopened (the workload's stdio, or a `spectrum exec`'s).
  void install_invokers_file(UniqueFd fd, int number);
  kernel::MemoryContext& mm() { return *mm_; }
  kernel::FileTable& files() { return *files_; }
  kernel::FsContext& fs() { return *fs_; }
  const kernel::FsContext& fs() const { return *fs_; }
  kernel::SignalHandlers& sighand() { return *sighand_; }
  const std::string& executable() const { return executable_; }
  // (st_dev, st_ino) of the running program, found in the root at first need: a write-open of it
  // is ETXTBSY (the Linux answer to rewriting a running binary, CVE-2019-5736's first step).
  std::optional<std::pair<std::uint64_t, std::uint64_t>> executable_id();

  // The task's own state.
  std::uint64_t fs_base_ = 0, gs_base_ = 0;
  std::uint64_t sigmask_ = 0;
  // Signals sent and not yet delivered (bit sig-1), with who sent each (kernel/signals.cc), and
  // the mask rt_sigsuspend replaced (restored by the handler's rt_sigreturn).
  std::uint64_t pending_signals_ = 0;
  struct SignalSource {
    int pid = 0, code = 0, status = 0;
    std::uint64_t value = 0;          // si_value of a queued signal (sigqueue)
    std::uint64_t fault_address = 0;  // si_addr of a fault (SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGTRAP)
    bool fault = false;
  };
  std::array<SignalSource, 65> signal_sources_{};
  // Real-time signals (32..64) queue: each one sent is an instance, delivered in order, and the
  // pending bit stays while one is queued. At most kMaxQueuedSignals per task (then sigqueue is
  // EAGAIN and kill sets the bit alone, as Linux past RLIMIT_SIGPENDING).
  static constexpr std::size_t kMaxQueuedSignals = 1024;
  struct QueuedSignal {
    int sig;
    SignalSource source;
  };
  std::deque<QueuedSignal> queued_signals_;
  std::optional<std::uint64_t> saved_mask_;
  std::array<char, 16> thread_name_{};

  // The description behind a guest fd, or nullptr (EBADF).
  OpenFile* fd(std::int64_t guest_fd) {
    FdEntry* e = files_->get(guest_fd);
    return e ? e->file.get() : nullptr;
  }
  // A new description at the lowest free fd >= lowest.
  GuestResult<int> install_fd(OpenFile file, bool cloexec, int lowest = 0) {
    return files_->install({std::make_shared<OpenFile>(std::move(file)), cloexec}, lowest);
  }
  // Guest path resolution: the absolute guest path of `path` relative to `dirfd`.
  GuestResult<std::string> guest_path(int dirfd, const std::string& path);
  // A file inside the root filesystem (fs/root.h).
  GuestResult<UniqueFd> open_in_root(const std::string& absolute_path, int flags, unsigned mode) const;
  // Host iovecs covering guest [vaddr, vaddr+length) for `access`, contiguous frames merged.
  GuestResult<std::vector<::iovec>> guest_iovecs(std::uint64_t vaddr, std::uint64_t length,
                                                 Access access) const;

  void log(const std::string& line) const;
  void refuse_once(std::uint64_t number, const std::string& why);

 private:
  std::shared_ptr<kernel::MemoryContext> mm_;
  std::shared_ptr<kernel::FileTable> files_;
  std::shared_ptr<kernel::FsContext> fs_;
  std::shared_ptr<kernel::SignalHandlers> sighand_;
  std::string executable_;
  std::optional<std::pair<std::uint64_t, std::uint64_t>> executable_id_;
  std::function<void(const std::string&)> log_;
  std::shared_ptr<kernel::RefusalLog> refusals_;
  kernel::Kernel* kernel_ = nullptr;
  int pid_ = 1;
  std::uint64_t max_tasks_ = 0;
};

}  // namespace spectrum::vm
