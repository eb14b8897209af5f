#include "vm/kernel/proc_source.h"

#include <sys/ipc.h>
#include <sys/shm.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include <algorithm>
#include <csignal>
#include <cstring>

#include "vm/fs/root.h"
#include "vm/kernel/kernel.h"

namespace spectrum::vm::kernel {

namespace {

constexpr std::uint64_t kMaxArgumentBytes = 128 * 1024;  // cmdline and environ are read up to this

std::string read_range(const Process& p, std::uint64_t start, std::uint64_t end) {
  if (end <= start) return {};
  std::string out(std::min(end - start, kMaxArgumentBytes), '\0');
  if (!p.space().read(start, {reinterpret_cast<std::uint8_t*>(out.data()), out.size()})) return {};
  return out;
}

class KernelProcSource final : public vfs::ProcSource {
 public:
  explicit KernelProcSource(Process& caller) : caller_(caller) {}

  int self() const override {
    const Task* t = task_of(caller_);
    return t ? t->tgid : caller_.pid();
  }

  std::vector<int> processes() const override {
    std::vector<int> out;
    if (!caller_.kernel()) return {caller_.pid()};
    for (const auto& t : caller_.kernel()->tasks())
      if (t->pid == t->tgid && !t->reaped) out.push_back(t->pid);
    std::sort(out.begin(), out.end());
    return out;
  }

  int self_thread() const override {
    const Task* t = task_of(caller_);
    return t ? t->pid : caller_.pid();
  }

  std::vector<int> threads(int pid) const override {
    if (!caller_.kernel()) return {pid};
    std::vector<int> out;
    for (const auto& t : caller_.kernel()->tasks())
      if (t->tgid == pid && t->state != Task::State::zombie && !t->reaped) out.push_back(t->pid);
    std::sort(out.begin(), out.end());
    return out;
  }

  std::optional<vfs::ProcProcess> process(int pid) const override {
    const Task* task = find(pid);  // the thread group's leader, or the thread `pid` names
    Process* p = task ? task->process : !caller_.kernel() && pid == caller_.pid() ? &caller_ : nullptr;
    if (!task && !p) return std::nullopt;
    vfs::ProcProcess out;
    out.pid = pid;
    if (task) {
      const Task* leader = task->pid == task->tgid ? task : find(task->tgid);
      if (!leader) leader = task;
      out.pid = task->tgid;
      out.tid = task->pid;
      out.ppid = leader->ppid, out.pgid = leader->pgid, out.sid = leader->sid;
      out.state = task->state == Task::State::zombie    ? 'Z'
                  : task->stopped                       ? 'T'
                  : task->state == Task::State::blocked ? 'S'
                                                        : 'R';
      out.threads = std::max(static_cast<int>(threads(task->tgid).size()), 1);
    }
    if (!p) {  // a zombie: its memory and files are gone
      out.state = 'Z';
      return out;
    }
    out.name = std::string(p->thread_name_.data(), ::strnlen(p->thread_name_.data(), p->thread_name_.size()));
    out.exe = p->executable();
    out.cwd = p->fs().cwd;
    out.umask = p->fs().umask;
    out.sig_pending = p->pending_signals_;
    out.sig_blocked = p->sigmask_;
    for (int sig = 1; sig < 65; ++sig) {
      const std::uint64_t handler = p->sighand().actions[sig][0];
      if (handler == reinterpret_cast<std::uint64_t>(SIG_IGN))
        out.sig_ignored |= std::uint64_t{1} << (sig - 1);
      else if (handler != reinterpret_cast<std::uint64_t>(SIG_DFL))
        out.sig_caught |= std::uint64_t{1} << (sig - 1);
    }
    out.vm_bytes = p->space().mapped_bytes();
    out.fd_count = static_cast<int>(p->files().size());
    return out;
  }

  std::vector<int> fds(int pid) const override {
    std::vector<int> out;
    if (Process* p = process_of(pid))
      for (int fd = 0; fd < static_cast<int>(p->files().size()); ++fd)
        if (p->fd(fd)) out.push_back(fd);
    return out;
  }

  std::optional<std::string> fd_target(int pid, int fd) const override {
    Process* p = process_of(pid);
    const OpenFile* file = p ? p->fd(fd) : nullptr;
    if (!file) return std::nullopt;
    return kernel::fd_target(*file);
  }

  std::string maps(int pid) const override {
    Process* p = process_of(pid);
    if (!p) return {};
    std::map<std::uint64_t, NamedRange> names = p->mm().names;
    const std::uint64_t heap_start = p->mm().brk_start, heap_end = x86::page_up(p->mm().brk);
    if (heap_end > heap_start) names[heap_start] = {heap_start, heap_end, "[heap]"};
    std::string out;
    for (const AddressSpace::Change& run : p->space().mappings()) {
      const std::uint64_t end = run.start + run.length;
      for (std::uint64_t at = run.start; at < end;) {
        // The name covering `at`, or where the next one starts.
        auto next = names.upper_bound(at);
        std::uint64_t stop = next == names.end() ? end : std::min(end, next->first);
        std::string name;
        if (next != names.begin() && std::prev(next)->second.end > at) {
          name = std::prev(next)->second.name;
          stop = std::min(end, std::prev(next)->second.end);
        }
        out += vfs::proc_maps_line(at, stop, run.prot, name, run.shared);
        at = stop;
      }
    }
    return out;
  }

  std::string cmdline(int pid) const override {
    Process* p = process_of(pid);
    return p ? read_range(*p, p->mm().arg_start, p->mm().arg_end) : std::string();
  }
  std::string environ(int pid) const override {
    Process* p = process_of(pid);
    return p ? read_range(*p, p->mm().env_start, p->mm().env_end) : std::string();
  }

  vfs::ProcSysv sysvipc() const override {
    vfs::ProcSysv out;
    Kernel* kernel = caller_.kernel();
    if (!kernel) return out;
    const auto ids = [](auto& row, int id, const auto& object) {
      row.key = object.key, row.id = id, row.mode = object.mode & 0777;
      row.uid = object.uid, row.gid = object.gid, row.cuid = object.cuid, row.cgid = object.cgid;
    };
    if (SysvShm* shm = kernel->sysv_shm_in_use()) {
      for (const auto& [id, segment] : shm->segments()) {
        vfs::ProcSysvShm row;
        ids(row, id, segment);
        if (segment.removed) row.key = IPC_PRIVATE, row.mode |= SHM_DEST;
        row.size = segment.size;
        row.cpid = segment.cpid, row.lpid = segment.lpid;
        row.attaches = shm->attaches(segment);
        row.atime = segment.atime, row.dtime = segment.dtime, row.ctime = segment.ctime;
        row.resident = segment.frames.size() * x86::kPageSize;  // guest memory is never swapped
        out.shm.push_back(row);
      }
    }
    for (const auto& [id, set] : kernel->sysv_sem().sets()) {
      vfs::ProcSysvSem row;
      ids(row, id, set);
      row.count = set.sems.size();
      row.otime = set.otime, row.ctime = set.ctime;
      out.sem.push_back(row);
    }
    for (const auto& [id, queue] : kernel->sysv_msg().queues()) {
      vfs::ProcSysvMsg row;
      ids(row, id, queue);
      row.bytes = queue.bytes, row.messages = queue.messages.size();
      row.lspid = queue.send_pid, row.lrpid = queue.receive_pid;
      row.stime = queue.send_time, row.rtime = queue.receive_time, row.ctime = queue.change_time;
      out.msg.push_back(row);
    }
    return out;
  }

  std::vector<vfs::ProcMount> mounts() const override {
    std::vector<vfs::ProcMount> out{{"/", "spectrum", "rootfs", caller_.fs().read_only}};
    for (const GuestMount& m : caller_.fs().mounts)
      out.push_back({vfs::normalize(m.target), "spectrum", "bind", m.read_only});
    out.push_back({"/proc", "proc", "proc", false});  // the sandbox kernel's own, read-only in effect
    out.push_back({"/dev", "devtmpfs", "dev", false});
    return out;
  }

  vfs::ProcCpu cpu() const override {
    if (!caller_.kernel()) return {};
    return caller_.kernel()->cpu_stats();
  }

  std::uint64_t memory_bytes() const override { return caller_.mm().limit_bytes; }
  std::uint64_t memory_free_bytes() const override {
    return caller_.mm().limit_bytes - std::min(caller_.mm().limit_bytes, caller_.space().mapped_bytes());
  }

 private:
  const Task* task_of(const Process& p) const {
    if (!p.kernel()) return nullptr;
    for (const auto& t : p.kernel()->tasks())
      if (t->process == &p) return t.get();
    return nullptr;
  }
  // The leader of thread group `pid`, or any task with that id.
  const Task* find(int pid) const {
    if (!caller_.kernel()) return nullptr;
    const Task* any = nullptr;
    for (const auto& t : caller_.kernel()->tasks()) {
      if (t->pid != pid || t->reaped) continue;
      if (t->tgid == pid) return t.get();
      any = t.get();
    }
    return any;
  }
  Process* process_of(int pid) const {
    if (!caller_.kernel()) return pid == caller_.pid() ? &caller_ : nullptr;
    const Task* t = find(pid);
    return t && t->state != Task::State::zombie ? t->process : nullptr;
  }

  Process& caller_;
};

}  // namespace

std::unique_ptr<vfs::ProcSource> proc_source(Process& caller) {
  return std::make_unique<KernelProcSource>(caller);
}

std::shared_ptr<OpenFile> proc_open_file(Process& caller, int pid, int fd) {
  Process* p = nullptr;
  if (!caller.kernel()) {
    p = pid == caller.pid() ? &caller : nullptr;
  } else {
    for (const auto& t : caller.kernel()->tasks())
      if (t->pid == pid && !t->reaped && t->state != Task::State::zombie) p = t->process;
  }
  FdEntry* entry = p ? p->files().get(fd) : nullptr;
  return entry ? entry->file : nullptr;
}

std::string fd_target(const OpenFile& file) {
  if (file.epoll) return "anon_inode:[eventpoll]";
  if (!file.path.empty()) return file.path;
  struct stat st {};
  if (!file.host || ::fstat(file.host.get(), &st) != 0) return "anon_inode:[unknown]";
  const std::string ino = std::to_string(st.st_ino);
  if (S_ISFIFO(st.st_mode)) return "pipe:[" + ino + "]";
  if (S_ISSOCK(st.st_mode)) return "socket:[" + ino + "]";
  if (S_ISCHR(st.st_mode) && st.st_rdev == makedev(1, 3)) return "/dev/null";
  if (const auto pts = vfs::pts_index(st)) return "/dev/pts/" + std::to_string(*pts);
  if ((st.st_mode & S_IFMT) == 0) return "anon_inode:[eventfd]";
  // One of the invoker's stdio files (a terminal, a file): its host path is not the guest's to see.
  return "host:[" + ino + "]";
}

}  // namespace spectrum::vm::kernel
