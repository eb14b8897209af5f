// The synthetic /proc's tree and formats (fs/proc.h), against a fixed set of processes; the
// end-to-end cases (programs reading /proc in the sandbox) are in tests/conformance.
#include "vm/fs/proc.h"

#include <dirent.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <sstream>

namespace spectrum::vm::vfs {
namespace {

class FakeSource final : public ProcSource {
 public:
  FakeSource() {
    ProcProcess init;
    init.pid = 1, init.name = "sh", init.exe = "/bin/sh", init.cwd = "/work", init.threads = 2;
    processes_[1] = init;
    ProcProcess child = init;
    child.pid = 7, child.ppid = 1, child.name = "cat", child.exe = "/bin/cat", child.state = 'S';
    processes_[7] = child;
    ProcProcess zombie;
    zombie.pid = 9, zombie.ppid = 1, zombie.state = 'Z';
    processes_[9] = zombie;
    fds_[7] = {{0, "/dev/null"}, {1, "pipe:[42]"}, {3, "/data"}};
  }
  int self() const override { return 7; }
  int self_thread() const override { return 8; }
  std::vector<int> processes() const override { return {1, 7, 9}; }
  // Process 7 has a second thread, 8 ("worker").
  std::vector<int> threads(int pid) const override {
    return pid == 7 ? std::vector<int>{7, 8} : std::vector<int>{pid};
  }
  std::optional<ProcProcess> process(int pid) const override {
    if (pid == 8) {
      ProcProcess thread = processes_.at(7);
      thread.tid = 8, thread.name = "worker", thread.state = 'R';
      return thread;
    }
    auto it = processes_.find(pid);
    if (it == processes_.end()) return std::nullopt;
    return it->second;
  }
  std::vector<int> fds(int pid) const override {
    std::vector<int> out;
    if (auto it = fds_.find(pid); it != fds_.end())
      for (const auto& [fd, target] : it->second) out.push_back(fd);
    return out;
  }
  std::optional<std::string> fd_target(int pid, int fd) const override {
    auto it = fds_.find(pid);
    if (it == fds_.end() || !it->second.contains(fd)) return std::nullopt;
    return it->second.at(fd);
  }
  std::string maps(int) const override { return proc_maps_line(0x400000, 0x401000, 5, "/bin/cat"); }
  std::string cmdline(int pid) const override { return pid == 1 ? std::string("sh\0-c\0true\0", 12) : ""; }
  std::string environ(int) const override { return {}; }
  std::uint64_t memory_bytes() const override { return 64 << 20; }
  std::uint64_t memory_free_bytes() const override { return 60 << 20; }

 private:
  std::map<int, ProcProcess> processes_;
  std::map<int, std::map<int, std::string>> fds_;
};

// The errno of a lookup that must fail (0 when it succeeded).
int error_of(const std::expected<ProcNode, int>& result) { return result ? 0 : result.error(); }

std::vector<std::string> names(const ProcNode& node) {
  std::vector<std::string> out;
  for (const DirEntry& e : node.entries) out.push_back(e.name);
  return out;
}

TEST(ProcTest, TheTopListsEveryProcessTheMachineFilesAndSelf) {
  FakeSource source;
  auto top = proc_lookup("/proc", source, true);
  ASSERT_TRUE(top);
  ASSERT_EQ(top->kind, ProcNode::Kind::directory);
  EXPECT_EQ(names(*top),
            (std::vector<std::string>{".", "..", "1", "7", "9", "cpuinfo", "meminfo", "stat", "uptime",
                                      "self", "thread-self", "mounts", "sys", "sysvipc"}));
  auto self = proc_lookup("/proc/self", source, false);
  ASSERT_TRUE(self);
  EXPECT_EQ(self->kind, ProcNode::Kind::link);
  EXPECT_EQ(self->text, "7");
  auto followed = proc_lookup("/proc/self", source, true);
  ASSERT_TRUE(followed);
  EXPECT_EQ(followed->kind, ProcNode::Kind::directory);
  EXPECT_EQ(followed->path, "/proc/7");
  EXPECT_TRUE(std::any_of(followed->entries.begin(), followed->entries.end(),
                          [](const DirEntry& e) { return e.name == "fd" && e.type == DT_DIR; }));
}

// The rows, column for column, as Linux 6.18 printed the same objects (made with ipcmk in a new
// IPC namespace).
TEST(ProcTest, SysvipcFilesHaveLinuxsColumns) {
  ProcSysv objects;
  ProcSysvShm shm;
  shm.key = -1982292305, shm.id = 0, shm.mode = 0644, shm.size = 4097, shm.cpid = 25646,
  shm.ctime = 1796317737;
  objects.shm.push_back(shm);
  ProcSysvSem sem;
  sem.key = 2024929326, sem.mode = 0644, sem.count = 3, sem.ctime = 1796317737;
  objects.sem.push_back(sem);
  ProcSysvMsg msg;
  msg.key = -728925159, msg.mode = 0644, msg.ctime = 1796317737;
  objects.msg.push_back(msg);
  EXPECT_EQ(proc_sysvipc("shm", objects),
            "       key      shmid perms                  size  cpid  lpid nattch   uid   gid  cuid  cgid    "
            "  atime "
            "     dtime      ctime                   rss                  swap\n"
            "-1982292305          0   644                  4097 25646     0      0     0     0     0     0   "
            "       0 "
            "         0 1796317737                     0                     0\n");
  EXPECT_EQ(proc_sysvipc("sem", objects),
            "       key      semid perms      nsems   uid   gid  cuid  cgid      otime      ctime\n"
            "2024929326          0   644          3     0     0     0     0          0 1796317737\n");
  EXPECT_EQ(proc_sysvipc("msg", objects),
            "       key      msqid perms      cbytes       qnum lspid lrpid   uid   gid  cuid  cgid      "
            "stime      "
            "rtime      ctime\n"
            "-728925159          0   644           0          0     0     0     0     0     0     0          "
            "0        "
            "  0 1796317737\n");
  FakeSource source;
  auto dir = proc_lookup("/proc/sysvipc", source, true);
  ASSERT_TRUE(dir);
  EXPECT_EQ(names(*dir), (std::vector<std::string>{".", "..", "msg", "sem", "shm"}));
  EXPECT_EQ(proc_lookup("/proc/sysvipc/other", source, true).error(), ENOENT);
  EXPECT_EQ(proc_lookup("/proc/sysvipc/shm/x", source, true).error(), ENOTDIR);
}

TEST(ProcTest, TheMagicLinksLeadIntoTheGuestsOwnTreeOnly) {
  FakeSource source;
  // root is the guest's "/": what follows is a guest path, resolved inside the root like any.
  auto root = proc_lookup("/proc/self/root/etc/passwd", source, true);
  ASSERT_TRUE(root);
  EXPECT_EQ(root->kind, ProcNode::Kind::redirect);
  EXPECT_EQ(root->text, "/etc/passwd");
  auto bare = proc_lookup("/proc/1/root", source, true);
  ASSERT_TRUE(bare);
  EXPECT_EQ(bare->text, "/");
  auto cwd = proc_lookup("/proc/1/cwd/notes", source, true);
  ASSERT_TRUE(cwd);
  EXPECT_EQ(cwd->text, "/work/notes");
  auto cwd_link = proc_lookup("/proc/1/cwd", source, false);
  ASSERT_TRUE(cwd_link);
  EXPECT_EQ(cwd_link->kind, ProcNode::Kind::link);
  EXPECT_EQ(cwd_link->text, "/work");
  auto exe = proc_lookup("/proc/self/exe", source, true);
  ASSERT_TRUE(exe);
  EXPECT_EQ(exe->kind, ProcNode::Kind::redirect);
  EXPECT_EQ(exe->text, "/bin/cat");
  EXPECT_EQ(error_of(proc_lookup("/proc/self/exe/x", source, true)), ENOTDIR);
  // A zombie has no root, cwd or fds any more.
  EXPECT_EQ(error_of(proc_lookup("/proc/9/root/etc", source, true)), ENOENT);
  EXPECT_EQ(error_of(proc_lookup("/proc/9/fd", source, true)), ENOENT);
}

TEST(ProcTest, FdEntriesAreTheOpenFdsAndTheirTargets) {
  FakeSource source;
  auto dir = proc_lookup("/proc/self/fd", source, true);
  ASSERT_TRUE(dir);
  EXPECT_EQ(names(*dir), (std::vector<std::string>{".", "..", "0", "1", "3"}));
  auto link = proc_lookup("/proc/7/fd/1", source, false);
  ASSERT_TRUE(link);
  EXPECT_EQ(link->text, "pipe:[42]");
  auto followed = proc_lookup("/proc/7/fd/1", source, true);
  ASSERT_TRUE(followed);
  EXPECT_EQ(followed->kind, ProcNode::Kind::fd);
  EXPECT_EQ(followed->pid, 7);
  EXPECT_EQ(followed->fd, 1);
  auto below = proc_lookup("/proc/7/fd/3/file", source, true);
  ASSERT_TRUE(below);
  EXPECT_EQ(below->text, "/data/file");
  EXPECT_EQ(error_of(proc_lookup("/proc/7/fd/1/x", source, true)), ENOTDIR);
  EXPECT_EQ(error_of(proc_lookup("/proc/7/fd/2", source, true)), ENOENT);
  EXPECT_EQ(error_of(proc_lookup("/proc/7/fd/01", source, true)), ENOENT);
  EXPECT_EQ(error_of(proc_lookup("/proc/7/fd/-1", source, true)), ENOENT);
}

TEST(ProcTest, NamesThatAreNotThereAreErrors) {
  FakeSource source;
  for (const char* path : {"/proc/2", "/proc/07", "/proc/99999999999999999999", "/proc/kcore", "/proc/7/mem",
                           "/proc/sys/kernel/core_pattern", "/proc/7/environ2"})
    EXPECT_EQ(error_of(proc_lookup(path, source, true)), ENOENT) << path;
  EXPECT_EQ(error_of(proc_lookup("/proc/7/status/x", source, true)), ENOTDIR);
  EXPECT_EQ(error_of(proc_lookup("/proc/cpuinfo/x", source, true)), ENOTDIR);
  EXPECT_FALSE(in_proc("/procfs"));
  EXPECT_TRUE(in_proc("/proc"));
  EXPECT_TRUE(in_proc("/proc/self"));
}

TEST(ProcTest, StatusAndStatHaveLinuxsFields) {
  FakeSource source;
  auto status = proc_lookup("/proc/7/status", source, true);
  ASSERT_TRUE(status);
  EXPECT_NE(status->text.find("Name:\tcat\n"), std::string::npos);
  EXPECT_NE(status->text.find("State:\tS (sleeping)\n"), std::string::npos);
  EXPECT_NE(status->text.find("\nPid:\t7\nPPid:\t1\n"), std::string::npos);
  EXPECT_NE(status->text.find("\nThreads:\t2\n"), std::string::npos);
  auto stat = proc_lookup("/proc/7/stat", source, true);
  ASSERT_TRUE(stat);
  std::istringstream fields(stat->text);
  std::vector<std::string> words;
  for (std::string w; fields >> w;) words.push_back(w);
  ASSERT_EQ(words.size(), 52u);  // pid (comm) state ... as proc(5) lists them
  EXPECT_EQ(words[0], "7");
  EXPECT_EQ(words[1], "(cat)");
  EXPECT_EQ(words[2], "S");
  EXPECT_EQ(words[3], "1");
  EXPECT_EQ(words[19], "2");  // num_threads
  auto cmdline = proc_lookup("/proc/1/cmdline", source, true);
  ASSERT_TRUE(cmdline);
  EXPECT_EQ(cmdline->text, std::string("sh\0-c\0true\0", 12));
  auto meminfo = proc_lookup("/proc/meminfo", source, true);
  ASSERT_TRUE(meminfo);
  EXPECT_EQ(meminfo->text.rfind("MemTotal:          65536 kB\nMemFree:           61440 kB\n", 0), 0u)
      << meminfo->text;
  auto cpuinfo = proc_lookup("/proc/cpuinfo", source, true);
  ASSERT_TRUE(cpuinfo);
  EXPECT_EQ(cpuinfo->text.rfind("processor\t: 0\n", 0), 0u);
}

TEST(ProcTest, MapsLinesLineUpTheirNames) {
  EXPECT_EQ(proc_maps_line(0x400000, 0x401000, 5, "/bin/cat"),
            "00400000-00401000 r-xp 00000000 00:00 0                                  /bin/cat\n");
  EXPECT_EQ(proc_maps_line(0x7fff0000, 0x7fff1000, 3, ""), "7fff0000-7fff1000 rw-p 00000000 00:00 0\n");
}

TEST(ProcTest, TaskListsTheThreadsAndThreadSelfIsTheCallersOwn) {
  FakeSource source;
  auto task = proc_lookup("/proc/7/task", source, true);
  ASSERT_TRUE(task);
  EXPECT_EQ(names(*task), (std::vector<std::string>{".", "..", "7", "8"}));
  auto thread = proc_lookup("/proc/7/task/8", source, true);
  ASSERT_TRUE(thread);
  EXPECT_EQ(thread->path, "/proc/7/task/8");
  const auto entries = names(*thread);
  EXPECT_EQ(std::count(entries.begin(), entries.end(), "task"), 0);  // no task/ inside a thread's
  EXPECT_EQ(std::count(entries.begin(), entries.end(), "status"), 1);
  auto comm = proc_lookup("/proc/7/task/8/comm", source, true);
  ASSERT_TRUE(comm);
  EXPECT_EQ(comm->text, "worker\n");
  auto status = proc_lookup("/proc/7/task/8/status", source, true);
  ASSERT_TRUE(status);
  EXPECT_NE(status->text.find("\nTgid:\t7\n"), std::string::npos);
  EXPECT_NE(status->text.find("\nPid:\t8\n"), std::string::npos);
  auto stat = proc_lookup("/proc/7/task/8/stat", source, true);
  ASSERT_TRUE(stat);
  EXPECT_TRUE(stat->text.starts_with("8 (worker) R 1 "));
  auto self = proc_lookup("/proc/thread-self", source, false);
  ASSERT_TRUE(self);
  EXPECT_EQ(self->kind, ProcNode::Kind::link);
  EXPECT_EQ(self->text, "7/task/8");
  auto followed = proc_lookup("/proc/thread-self/comm", source, true);
  ASSERT_TRUE(followed);
  EXPECT_EQ(followed->text, "worker\n");
  // Another process's thread ids are not under this one's task/, nor are made-up ones.
  EXPECT_EQ(error_of(proc_lookup("/proc/1/task/8", source, true)), ENOENT);
  EXPECT_EQ(error_of(proc_lookup("/proc/7/task/99", source, true)), ENOENT);
  EXPECT_EQ(error_of(proc_lookup("/proc/7/task/x", source, true)), ENOENT);
  EXPECT_EQ(error_of(proc_lookup("/proc/7/task/8/task", source, true)), ENOENT);
}

TEST(ProcTest, CgroupIsTheRootOfAHierarchyOfItsOwn) {
  FakeSource source;
  auto cgroup = proc_lookup("/proc/self/cgroup", source, true);
  ASSERT_TRUE(cgroup);
  EXPECT_EQ(cgroup->kind, ProcNode::Kind::file);
  EXPECT_EQ(cgroup->text, "0::/\n");
  auto listed = proc_lookup("/proc/7", source, true);
  ASSERT_TRUE(listed);
  EXPECT_TRUE(std::any_of(listed->entries.begin(), listed->entries.end(),
                          [](const auto& e) { return e.name == "cgroup"; }));
}

TEST(ProcTest, MountinfoAndMountsHaveLinuxsFieldsAndEscapes) {
  const std::vector<ProcMount> mounts{{"/", "spectrum", "rootfs", true},
                                      {"/data dir", "spectrum", "bind", false},
                                      {"/proc", "proc", "proc", false}};
  EXPECT_EQ(proc_mountinfo(mounts),
            "2 1 0:32 / / ro,relatime - spectrum rootfs ro\n"
            "3 2 0:33 / /data\\040dir rw,relatime - spectrum bind rw\n"
            "4 2 0:34 / /proc rw,relatime - proc proc rw\n");
  EXPECT_EQ(proc_mounts(mounts),
            "rootfs / spectrum ro,relatime 0 0\n"
            "bind /data\\040dir spectrum rw,relatime 0 0\n"
            "proc /proc proc rw,relatime 0 0\n");
  FakeSource source;
  auto link = proc_lookup("/proc/mounts", source, false);
  ASSERT_TRUE(link);
  EXPECT_EQ(link->kind, ProcNode::Kind::link);
  EXPECT_EQ(link->text, "self/mounts");
  EXPECT_EQ(error_of(proc_lookup("/proc/mounts/x", source, true)), ENOTDIR);
}

TEST(ProcTest, SysAnswersWhatProgramsReadAndNothingElse) {
  FakeSource source;
  auto top = proc_lookup("/proc/sys", source, true);
  ASSERT_TRUE(top);
  EXPECT_EQ(names(*top), (std::vector<std::string>{".", "..", "fs", "kernel", "net", "vm"}));
  auto kernel = proc_lookup("/proc/sys/kernel", source, true);
  ASSERT_TRUE(kernel);
  const auto listed = names(*kernel);
  EXPECT_EQ(std::count(listed.begin(), listed.end(), "random"), 1);
  EXPECT_EQ(std::count(listed.begin(), listed.end(), "ostype"), 1);
  auto ostype = proc_lookup("/proc/sys/kernel/ostype", source, true);
  ASSERT_TRUE(ostype);
  EXPECT_EQ(ostype->kind, ProcNode::Kind::file);
  EXPECT_EQ(ostype->text, "Linux\n");
  EXPECT_EQ(proc_lookup("/proc/sys/vm/overcommit_memory", source, true)->text, "2\n");  // no overcommit
  EXPECT_EQ(proc_lookup("/proc/sys/fs/nr_open", source, true)->text, "1024\n");
  // uuid is new at each read, boot_id the same for the run; both version-4 UUIDs.
  const std::string a = proc_lookup("/proc/sys/kernel/random/uuid", source, true)->text;
  const std::string b = proc_lookup("/proc/sys/kernel/random/uuid", source, true)->text;
  EXPECT_NE(a, b);
  ASSERT_EQ(a.size(), 37u);
  EXPECT_EQ(a[14], '4');
  EXPECT_EQ(proc_lookup("/proc/sys/kernel/random/boot_id", source, true)->text,
            proc_lookup("/proc/sys/kernel/random/boot_id", source, true)->text);
  EXPECT_EQ(error_of(proc_lookup("/proc/sys/kernel/nope", source, true)), ENOENT);
  EXPECT_EQ(error_of(proc_lookup("/proc/sys/nope", source, true)), ENOENT);
  EXPECT_EQ(error_of(proc_lookup("/proc/sys/kernel/ostype/x", source, true)), ENOTDIR);
}

}  // namespace
}  // namespace spectrum::vm::vfs
