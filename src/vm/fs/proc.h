// The synthetic /proc of the sandbox kernel: what programs read about themselves (cmdline,
// environ, status, stat, maps, fd, exe, cwd, root) and about the machine (cpuinfo, meminfo,
// uptime, stat), built by the monitor from its own state; the host's /proc is never reachable.
//
// This file knows the tree and the text formats; the kernel answers the questions about its
// processes through ProcSource (kernel/proc_source.cc). The magic links are the guest's own:
// /proc/PID/root is "/" (the guest's root), cwd its working directory, exe its program, fd/N
// what the fd refers to, so a walk through them stays inside the root like any other path.
#pragma once

#include <cstdint>
#include <expected>
#include <optional>
#include <string>
#include <vector>

namespace spectrum::vm::vfs {

struct DirEntry {
  std::string name;
  unsigned char type;  // DT_DIR, DT_REG, DT_LNK
  std::uint64_t ino;
};

// One mount of the sandbox's (there is one mount namespace): the root filesystem, the --mount
// binds, /proc and /dev. `source` and `type` are what mountinfo shows; never a host path.
struct ProcMount {
  std::string target, type, source;
  bool read_only = false;
};

// What the sandbox kernel tells /proc about one process (a thread group), or one of its threads.
struct ProcProcess {
  int pid = 0, ppid = 0, pgid = 0, sid = 0, threads = 1;
  int tid = 0;       // the thread (/proc/PID/task/TID, or a TID looked up as /proc/TID); 0: pid
  char state = 'R';  // R running or ready, S blocked, T stopped, Z zombie
  std::string name;  // the thread's name (comm)
  std::string exe, cwd;
  std::uint64_t sig_pending = 0, sig_blocked = 0, sig_ignored = 0, sig_caught = 0;
  std::uint64_t vm_bytes = 0;  // mapped user memory
  unsigned umask = 022;
  int fd_count = 0;
};

// The System V IPC objects of the sandbox's namespace, as /proc/sysvipc lists them.
struct ProcSysvIds {
  std::int32_t key = 0;
  int id = 0;
  unsigned mode = 0;
  unsigned uid = 0, gid = 0, cuid = 0, cgid = 0;
};
struct ProcSysvShm : ProcSysvIds {
  std::uint64_t size = 0, attaches = 0, resident = 0;
  int cpid = 0, lpid = 0;
  std::int64_t atime = 0, dtime = 0, ctime = 0;
};
struct ProcSysvSem : ProcSysvIds {
  std::uint64_t count = 0;
  std::int64_t otime = 0, ctime = 0;
};
struct ProcSysvMsg : ProcSysvIds {
  std::uint64_t bytes = 0, messages = 0;
  int lspid = 0, lrpid = 0;
  std::int64_t stime = 0, rtime = 0, ctime = 0;
};
struct ProcSysv {
  std::vector<ProcSysvShm> shm;
  std::vector<ProcSysvSem> sem;
  std::vector<ProcSysvMsg> msg;
};

// The machine's CPU as /proc/stat shows it: one CPU, what every task of the sandbox used.
struct ProcCpu {
  std::uint64_t user_ns = 0, system_ns = 0;
  std::uint64_t switches = 0;  // ctxt: switches between tasks
  std::uint64_t forks = 0;     // processes: tasks made since the start
  unsigned running = 1;        // procs_running: tasks on the CPU or ready for it
};

class ProcSource {
 public:
  virtual ~ProcSource() = default;
  virtual int self() const = 0;                    // the caller's process id
  virtual std::vector<int> processes() const = 0;  // every live or zombie process, ascending
  // A process, or a thread by its id (its own name and state, its process's ids).
  virtual std::optional<ProcProcess> process(int pid) const = 0;
  virtual std::vector<int> threads(int pid) const { return {pid}; }         // its live threads, ascending
  virtual int self_thread() const { return self(); }                        // the caller's thread id
  virtual std::vector<int> fds(int pid) const = 0;                          // open fds, ascending
  virtual std::optional<std::string> fd_target(int pid, int fd) const = 0;  // readlink of fd/N
  virtual std::string maps(int pid) const = 0;                              // the maps file
  // argv / envp: NUL-terminated strings as they are in its memory (read only for those files).
  virtual std::string cmdline(int pid) const = 0;
  virtual std::string environ(int pid) const = 0;
  virtual std::uint64_t memory_bytes() const = 0;  // the guest's memory
  virtual std::uint64_t memory_free_bytes() const = 0;
  virtual std::vector<ProcMount> mounts() const { return {}; }  // the root's first
  virtual ProcSysv sysvipc() const { return {}; }
  virtual ProcCpu cpu() const { return {}; }
};

// What a path under /proc names.
struct ProcNode {
  enum class Kind {
    directory,  // `entries`; `path` is the normalized directory path
    file,       // `text` is the content
    link,       // not followed: `text` is the target (readlink, lstat)
    redirect,   // a magic link followed: `text` is the guest path it stands for (root, cwd, exe)
    fd,         // fd/N followed: the description of fd `fd` of process `pid` itself
  };
  Kind kind = Kind::file;
  std::string text;
  std::string path;
  std::vector<DirEntry> entries;
  int pid = 0, fd = -1;
  std::uint64_t ino = 0;
};

// The inode number of a /proc path (stable for the run).
std::uint64_t proc_inode(const std::string& path);
// The components of a path, in order, "." and ".." kept, empty ones (from "//") dropped.
std::vector<std::string> path_components(const std::string& path);
// Whether a normalized absolute guest path is /proc or below it.
bool in_proc(const std::string& path);
// Resolves a normalized path under /proc. `follow` follows a final link (open and stat do;
// readlink and lstat do not); links before the last component are always followed. -errno
// (ENOENT, ENOTDIR) when the path names nothing.
std::expected<ProcNode, int> proc_lookup(const std::string& path, const ProcSource& source, bool follow);

// The file formats, for the tests as well.
std::string proc_status(const ProcProcess& p);
std::string proc_stat(const ProcProcess& p);
// /proc/PID/mountinfo and /proc/PID/mounts (= /proc/mounts) of a mount table.
std::string proc_mountinfo(const std::vector<ProcMount>& mounts);
std::string proc_mounts(const std::vector<ProcMount>& mounts);
// /proc/sysvipc/shm, sem and msg, in Linux's columns.
std::string proc_sysvipc(const std::string& name, const ProcSysv& objects);
std::string proc_maps_line(std::uint64_t start, std::uint64_t end, unsigned prot, const std::string& name,
                           bool shared = false);

}  // namespace spectrum::vm::vfs
