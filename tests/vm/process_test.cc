// The monitor's host side of the workload's system calls: confinement to the root filesystem,
// guest pointer validation, refusals, guest-state calls, and the monitor's self-confinement.
#include "vm/kernel/process.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <linux/sched.h>
#include <sched.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include <cstring>

#include "core/tier.h"
#include "test_support.h"
#include "vm/boot.h"
#include "vm/confine.h"
#include "vm/guest/abi.h"
#include "vm/memory.h"
#include "vm/tier_internal.h"

namespace spectrum::vm {
namespace {

using namespace testing;
using x86::kPageSize;

constexpr std::uint64_t kScratch = 0x400000;  // a user page the tests write arguments into

class ProcessTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_.write("etc/shadow", "rootfs-shadow\n");
    root_.write("etc/hostname", "guest\n");
    root_.write("data/file.txt", "inside\n");
    fs::create_symlink("/../../../../etc", root_.path() / "escape");                // absolute, climbing
    fs::create_symlink("../../../../../../etc/shadow", root_.path() / "data/rel");  // relative, climbing
    fs::create_symlink("/proc/self/root/etc/shadow", root_.path() / "magic");
    memory_ = std::make_unique<GuestMemory>(std::move(*GuestMemory::create(32 << 20)));
    frames_ = std::make_unique<FrameAllocator>(*memory_, GUEST_KERNEL_AREA_END);
    const auto ranges = kernel_area_ranges();
    space_ = std::make_unique<AddressSpace>(std::move(*AddressSpace::create(*memory_, *frames_, ranges)));
    ASSERT_TRUE(space_->map(kScratch, 16 * kPageSize, kProtRead | kProtWrite));
    make_process();
  }
  void make_process(bool read_only = false) {
    ProcessConfig config;
    config.root = UniqueFd(::open(root_.path().c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
    int out[2];
    ASSERT_EQ(::pipe2(out, O_CLOEXEC | O_NONBLOCK), 0);
    out_read_.reset(out[0]);
    config.stdout_fd = UniqueFd(out[1]);
    config.read_only = read_only;
    config.memory_bytes = 32 << 20;
    config.executable = "/bin/busybox";
    config.log = [this](const std::string& line) { log_.push_back(line); };
    process_ = std::make_unique<Process>(*space_, *memory_, std::move(config));
    process_->set_brk_start(0x1000000);
  }
  std::uint64_t put(const std::string& s, std::uint64_t at = kScratch) {
    EXPECT_TRUE(space_->write(at, {reinterpret_cast<const std::uint8_t*>(s.c_str()), s.size() + 1}));
    return at;
  }
  std::int64_t call(long nr, std::uint64_t a0 = 0, std::uint64_t a1 = 0, std::uint64_t a2 = 0,
                    std::uint64_t a3 = 0, std::uint64_t a4 = 0, std::uint64_t a5 = 0) {
    SyscallResult r = process_->handle({static_cast<std::uint64_t>(nr), {a0, a1, a2, a3, a4, a5}});
    EXPECT_EQ(r.kind, SyscallResult::Kind::value);
    return r.value;
  }
  // Opens a guest path and returns its content, or "errno N".
  std::string read_guest_file(const std::string& path) {
    std::int64_t fd = call(SYS_openat, static_cast<std::uint64_t>(AT_FDCWD), put(path), O_RDONLY);
    if (fd < 0) return "errno " + std::to_string(-fd);
    const std::uint64_t buf = kScratch + 8 * kPageSize;
    std::int64_t n = call(SYS_read, fd, buf, 4096);
    EXPECT_EQ(call(SYS_close, fd), 0);
    if (n < 0) return "read errno " + std::to_string(-n);
    std::string out(static_cast<std::size_t>(n), '\0');
    EXPECT_TRUE(space_->read(buf, {reinterpret_cast<std::uint8_t*>(out.data()), out.size()}));
    return out;
  }
  std::string drain_stdout() {
    std::string out;
    char buf[4096];
    for (ssize_t n; (n = ::read(out_read_.get(), buf, sizeof buf)) > 0;) out.append(buf, n);
    return out;
  }

  TempDir root_;
  std::unique_ptr<GuestMemory> memory_;
  std::unique_ptr<FrameAllocator> frames_;
  std::unique_ptr<AddressSpace> space_;
  std::unique_ptr<Process> process_;
  UniqueFd out_read_;
  std::vector<std::string> log_;
};

TEST_F(ProcessTest, FilesComeFromTheRootFilesystem) {
  EXPECT_EQ(read_guest_file("/data/file.txt"), "inside\n");
  EXPECT_EQ(read_guest_file("/etc/hostname"), "guest\n");
  EXPECT_EQ(read_guest_file("/nonexistent"), "errno " + std::to_string(ENOENT));
}

TEST_F(ProcessTest, DotDotAndSymlinksCannotLeaveTheRoot) {
  EXPECT_EQ(read_guest_file("/../../etc/shadow"), "rootfs-shadow\n");
  EXPECT_EQ(read_guest_file("/escape/shadow"), "rootfs-shadow\n");
  EXPECT_EQ(read_guest_file("/data/rel"), "rootfs-shadow\n");
  EXPECT_EQ(read_guest_file("data/../../../etc/shadow"), "rootfs-shadow\n");
  // /proc/self/root is the sandbox kernel's link to the guest's own root (fs/proc.h), and ".."
  // after it stays there; a root filesystem's symlink into /proc reaches its own (absent) /proc.
  EXPECT_EQ(read_guest_file("/proc/self/root/etc/shadow"), "rootfs-shadow\n");
  EXPECT_EQ(read_guest_file("/proc/self/root/../../etc/shadow"), "rootfs-shadow\n");
  EXPECT_EQ(read_guest_file("/proc/1/cwd/../../../etc/shadow"), "rootfs-shadow\n");
  EXPECT_EQ(read_guest_file("/magic"), "errno " + std::to_string(ENOENT));
}

TEST_F(ProcessTest, AHostProcMountedInTheRootIsNeverFollowed) {
  // In a mount namespace of a child, with the host's /proc bound into the root filesystem: the
  // guest's /proc paths are the sandbox kernel's (the guest's own root), and a root filesystem's
  // symlink into the host's /proc meets its magic links, which the walk inside the root refuses.
  fs::create_directories(root_.path() / "proc");
  pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    if (::unshare(CLONE_NEWNS) != 0 || ::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0 ||
        ::mount("/proc", (root_.path() / "proc").c_str(), nullptr, MS_BIND | MS_REC, nullptr) != 0)
      ::_exit(77);
    make_process();
    const std::string shadow = read_guest_file("/proc/self/root/etc/shadow");
    const std::string via_fd = read_guest_file("/proc/self/cwd/etc/shadow");
    const std::string link = read_guest_file("/magic");
    const bool refused = shadow == "rootfs-shadow\n" && via_fd == "rootfs-shadow\n" &&
                         link == "errno " + std::to_string(ELOOP);
    ::_exit(refused ? 0 : 1);
  }
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFEXITED(status));
  if (WEXITSTATUS(status) == 77) GTEST_SKIP() << "no mount namespace here (needs root)";
  EXPECT_EQ(WEXITSTATUS(status), 0) << "a magic link of /proc was followed";
}

TEST_F(ProcessTest, WriteReachesStdout) {
  const std::uint64_t text = put("hello guest\n");
  EXPECT_EQ(call(SYS_write, 1, text, 12), 12);
  // writev with two pieces
  struct {
    std::uint64_t base, len;
  } iov[2] = {{text, 6}, {text + 6, 6}};
  ASSERT_TRUE(space_->write(kScratch + kPageSize, {reinterpret_cast<const std::uint8_t*>(iov), sizeof iov}));
  EXPECT_EQ(call(SYS_writev, 1, kScratch + kPageSize, 2), 12);
  EXPECT_EQ(drain_stdout(), "hello guest\nhello guest\n");
  EXPECT_EQ(call(SYS_write, 7, text, 1), -EBADF);
}

TEST_F(ProcessTest, GarbagePointersAreEfaultAndHarmless) {
  EXPECT_EQ(call(SYS_write, 1, 0xdead0000000, 16), -EFAULT);
  EXPECT_EQ(call(SYS_write, 1, GUEST_KERNEL_ADDR, 16), -EFAULT) << "the kernel area is not the workload's";
  EXPECT_EQ(call(SYS_write, 1, kScratch, ~0ull >> 1), -EFAULT) << "length beyond the mapping";
  EXPECT_EQ(call(SYS_write, 1, ~0ull - 8, 64), -EFAULT) << "wraps";
  EXPECT_EQ(call(SYS_read, 0, kScratch, 16), -EBADF);
  EXPECT_EQ(call(SYS_openat, static_cast<std::uint64_t>(AT_FDCWD), ~0ull, O_RDONLY), -EFAULT);
  EXPECT_EQ(call(SYS_openat, static_cast<std::uint64_t>(AT_FDCWD), 0, O_RDONLY), -EFAULT);
  EXPECT_EQ(call(SYS_clock_gettime, CLOCK_MONOTONIC, 0x10), -EFAULT);
  EXPECT_EQ(
      call(SYS_newfstatat, static_cast<std::uint64_t>(AT_FDCWD), put("/data/file.txt"), GUEST_TSS_ADDR, 0),
      -EFAULT);
  // A read into a read-only page fails without writing.
  ASSERT_TRUE(space_->map(0x800000, kPageSize, kProtRead));
  std::int64_t fd = call(SYS_openat, static_cast<std::uint64_t>(AT_FDCWD), put("/data/file.txt"), O_RDONLY);
  ASSERT_GE(fd, 0);
  EXPECT_EQ(call(SYS_read, fd, 0x800000, 4), -EFAULT);
  // A path without its NUL inside mapped memory.
  std::string long_path(16 * kPageSize, 'a');
  ASSERT_TRUE(
      space_->write(kScratch, {reinterpret_cast<const std::uint8_t*>(long_path.data()), long_path.size()}));
  EXPECT_LT(call(SYS_openat, static_cast<std::uint64_t>(AT_FDCWD), kScratch, O_RDONLY), 0);
  EXPECT_EQ(read_guest_file("/data/file.txt"), "inside\n") << "the process still works";
}

TEST_F(ProcessTest, UnknownSyscallsAreEnosysLoggedOnceByName) {
  EXPECT_EQ(call(SYS_mount, 0, 0, 0), -ENOSYS);
  EXPECT_EQ(call(SYS_mount, 0, 0, 0), -ENOSYS);
  EXPECT_EQ(call(SYS_ptrace, 0, 0, 0), -ENOSYS);
  EXPECT_EQ(call(777), -ENOSYS);
  ASSERT_EQ(log_.size(), 3u);
  EXPECT_NE(log_[0].find("mount"), std::string::npos) << log_[0];
  EXPECT_NE(log_[0].find("ENOSYS"), std::string::npos);
  EXPECT_NE(log_[1].find("ptrace"), std::string::npos);
  EXPECT_NE(log_[2].find("777"), std::string::npos);
  EXPECT_EQ(Process::syscall_name(SYS_openat), "openat");
}

TEST_F(ProcessTest, ForkFamilyIsEnosysNamingIt) {
  EXPECT_EQ(call(SYS_fork), -ENOSYS);
  EXPECT_EQ(call(SYS_vfork), -ENOSYS);
  EXPECT_EQ(call(SYS_clone, SIGCHLD, 0, 0, 0, 0), -ENOSYS);
  EXPECT_EQ(call(SYS_clone, CLONE_VM | CLONE_THREAD | CLONE_SIGHAND, 0, 0, 0, 0), -ENOSYS);
  ASSERT_EQ(log_.size(), 3u);  // clone is logged once whatever its flags
  EXPECT_NE(log_[0].find("fork"), std::string::npos) << log_[0];
  EXPECT_NE(log_[1].find("vfork"), std::string::npos) << log_[1];
  EXPECT_NE(log_[2].find("clone without CLONE_VM"), std::string::npos) << log_[2];
}

TEST_F(ProcessTest, BrkMmapMunmapMprotect) {
  EXPECT_EQ(call(SYS_brk, 0), 0x1000000);
  EXPECT_EQ(call(SYS_brk, 0x1003000), 0x1003000);
  EXPECT_TRUE(space_->translate(0x1002ff8, Access::write));
  EXPECT_EQ(call(SYS_brk, 0x1001000), 0x1001000);
  EXPECT_FALSE(space_->is_mapped(0x1001000));
  EXPECT_EQ(call(SYS_brk, 0x10000000000), 0x1001000) << "too big: unchanged";

  std::int64_t a =
      call(SYS_mmap, 0, 3 * kPageSize, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, ~0ull, 0);
  ASSERT_GT(a, 0);
  EXPECT_EQ(a & 0xFFF, 0);
  EXPECT_TRUE(space_->translate(a, Access::write));
  EXPECT_EQ(call(SYS_mprotect, a, kPageSize, PROT_READ), 0);
  EXPECT_FALSE(space_->translate(a, Access::write));
  EXPECT_EQ(call(SYS_munmap, a, 3 * kPageSize), 0);
  EXPECT_FALSE(space_->is_mapped(a));
  EXPECT_EQ(call(SYS_mmap, 0, 0, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, ~0ull, 0), -EINVAL);
  EXPECT_EQ(call(SYS_mmap, 0, 1ull << 40, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, ~0ull, 0), -ENOMEM);
  std::int64_t fixed =
      call(SYS_mmap, 0x2000000, kPageSize, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, ~0ull, 0);
  EXPECT_EQ(fixed, 0x2000000);
  EXPECT_EQ(call(SYS_mmap, 0x2000000, kPageSize, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE,
                 ~0ull, 0),
            -EEXIST);

  // A private file mapping holds the file's bytes.
  std::int64_t fd = call(SYS_openat, static_cast<std::uint64_t>(AT_FDCWD), put("/data/file.txt"), O_RDONLY);
  ASSERT_GE(fd, 0);
  std::int64_t m = call(SYS_mmap, 0, kPageSize, PROT_READ, MAP_PRIVATE, fd, 0);
  ASSERT_GT(m, 0);
  auto text = space_->read_string(m, 100);
  ASSERT_TRUE(text);
  EXPECT_EQ(*text, "inside\n");
  EXPECT_FALSE(space_->translate(m, Access::write));
}

TEST_F(ProcessTest, MremapGrowsShrinksAndMoves) {
  std::int64_t a = call(SYS_mmap, 0x3000000, 2 * kPageSize, PROT_READ | PROT_WRITE,
                        MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, ~0ull, 0);
  ASSERT_EQ(a, 0x3000000);
  EXPECT_EQ(call(SYS_mremap, a, 2 * kPageSize, 3 * kPageSize, 0), a) << "grows in place";
  EXPECT_EQ(call(SYS_munmap, a + 2 * kPageSize, kPageSize), 0);
  put("keep me", a + kPageSize);
  // A mapping right above: growing needs a move.
  std::int64_t blocker = call(SYS_mmap, a + 2 * kPageSize, kPageSize, PROT_READ,
                              MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, ~0ull, 0);
  ASSERT_EQ(blocker, a + 2 * static_cast<std::int64_t>(kPageSize));
  EXPECT_EQ(call(SYS_mremap, a, 2 * kPageSize, 4 * kPageSize, 0), -ENOMEM);
  std::int64_t moved = call(SYS_mremap, a, 2 * kPageSize, 4 * kPageSize, MREMAP_MAYMOVE);
  ASSERT_GT(moved, 0);
  EXPECT_NE(moved, a);
  EXPECT_EQ(*space_->read_string(moved + kPageSize, 100), "keep me");
  EXPECT_FALSE(space_->is_mapped(a));
  EXPECT_TRUE(space_->translate(moved + 3 * kPageSize, Access::write));
  EXPECT_EQ(call(SYS_mremap, moved, 4 * kPageSize, kPageSize, 0), moved);
  EXPECT_FALSE(space_->is_mapped(moved + kPageSize));
  EXPECT_EQ(call(SYS_mremap, 0x30000000, kPageSize, 2 * kPageSize, MREMAP_MAYMOVE), -EFAULT);
}

TEST_F(ProcessTest, ThreadStateAndExit) {
  SyscallResult r = process_->handle({SYS_arch_prctl, {0x1002, 0x7000000}});
  EXPECT_EQ(r.value, 0);
  ASSERT_TRUE(r.fs_base);
  EXPECT_EQ(*r.fs_base, 0x7000000u);
  EXPECT_EQ(call(SYS_arch_prctl, 0x1003, kScratch), 0);
  std::uint64_t fs = 0;
  ASSERT_TRUE(space_->read(kScratch, {reinterpret_cast<std::uint8_t*>(&fs), 8}));
  EXPECT_EQ(fs, 0x7000000u);
  EXPECT_EQ(call(SYS_arch_prctl, 0x1002, 0xffff800000000000), -EPERM);
  EXPECT_EQ(call(SYS_getpid), 1);
  EXPECT_EQ(call(SYS_set_tid_address, kScratch), 1);
  EXPECT_EQ(call(SYS_uname, kScratch), 0);
  EXPECT_EQ(*space_->read_string(kScratch, 64), "Linux");

  // rt_sigaction records, and reports the old action back.
  std::uint64_t act[4] = {reinterpret_cast<std::uint64_t>(SIG_IGN), 0, 0, 0};
  ASSERT_TRUE(space_->write(kScratch, {reinterpret_cast<const std::uint8_t*>(act), sizeof act}));
  EXPECT_EQ(call(SYS_rt_sigaction, SIGPIPE, kScratch, 0, 8), 0);
  EXPECT_EQ(call(SYS_rt_sigaction, SIGPIPE, 0, kScratch + 64, 8), 0);
  std::uint64_t old[4];
  ASSERT_TRUE(space_->read(kScratch + 64, {reinterpret_cast<std::uint8_t*>(old), sizeof old}));
  EXPECT_EQ(old[0], reinterpret_cast<std::uint64_t>(SIG_IGN));
  EXPECT_EQ(call(SYS_kill, 1, SIGPIPE), 0) << "ignored";
  SyscallResult abort = process_->handle({SYS_tgkill, {1, 1, SIGABRT}});
  EXPECT_EQ(abort.kind, SyscallResult::Kind::signal);
  EXPECT_EQ(abort.value, SIGABRT);

  SyscallResult exit = process_->handle({SYS_exit_group, {42}});
  EXPECT_EQ(exit.kind, SyscallResult::Kind::exit);
  EXPECT_EQ(exit.value, 42);
}

TEST_F(ProcessTest, DirectoriesAndCwd) {
  EXPECT_EQ(call(SYS_chdir, put("/data")), 0);
  EXPECT_EQ(read_guest_file("file.txt"), "inside\n");
  EXPECT_EQ(call(SYS_getcwd, kScratch, 100), 6);
  EXPECT_EQ(*space_->read_string(kScratch, 100), "/data");
  EXPECT_EQ(call(SYS_chdir, put("/../../..")), 0);
  EXPECT_EQ(call(SYS_getcwd, kScratch, 100), 2);
  std::int64_t dir =
      call(SYS_openat, static_cast<std::uint64_t>(AT_FDCWD), put("/data"), O_RDONLY | O_DIRECTORY);
  ASSERT_GE(dir, 0);
  std::int64_t n = call(SYS_getdents64, dir, kScratch, 4096);
  ASSERT_GT(n, 0);
  std::string raw(static_cast<std::size_t>(n), '\0');
  ASSERT_TRUE(space_->read(kScratch, {reinterpret_cast<std::uint8_t*>(raw.data()), raw.size()}));
  EXPECT_NE(raw.find("file.txt"), std::string::npos);
  std::int64_t rel = call(SYS_openat, dir, put("file.txt"), O_RDONLY);
  EXPECT_GE(rel, 0);
  EXPECT_EQ(call(SYS_mkdirat, static_cast<std::uint64_t>(AT_FDCWD), put("/newdir"), 0755), 0);
  EXPECT_TRUE(fs::is_directory(root_.path() / "newdir"));
  EXPECT_EQ(call(SYS_unlinkat, static_cast<std::uint64_t>(AT_FDCWD), put("/newdir"), AT_REMOVEDIR), 0);
  EXPECT_EQ(call(SYS_readlinkat, static_cast<std::uint64_t>(AT_FDCWD), put("/escape"), kScratch + 256, 100),
            16);
  EXPECT_EQ(call(SYS_readlink, put("/proc/self/exe"), kScratch + 256, 100), 12);
  std::string exe(12, '\0');
  ASSERT_TRUE(space_->read(kScratch + 256, {reinterpret_cast<std::uint8_t*>(exe.data()), exe.size()}));
  EXPECT_EQ(exe, "/bin/busybox");
  EXPECT_EQ(call(SYS_prctl, PR_GET_NAME, kScratch), 0);
  EXPECT_EQ(*space_->read_string(kScratch, 16), "busybox");
}

TEST_F(ProcessTest, ReadOnlyRootRefusesWrites) {
  make_process(true);
  EXPECT_EQ(call(SYS_openat, static_cast<std::uint64_t>(AT_FDCWD), put("/new"), O_WRONLY | O_CREAT, 0644),
            -EROFS);
  EXPECT_EQ(call(SYS_mkdir, put("/d"), 0755), -EROFS);
  EXPECT_FALSE(fs::exists(root_.path() / "new"));
  EXPECT_EQ(read_guest_file("/data/file.txt"), "inside\n");
}

// ---------- the monitor's self-confinement ----------

// Runs `body` in a child; returns its wait status.
template <class F>
int in_child(F body) {
  pid_t child = ::fork();
  if (child == 0) ::_exit(body());
  int status = 0;
  ::waitpid(child, &status, 0);
  return status;
}

TEST_F(ProcessTest, SeccompAllowsTheHypercallsAndKillsTheRest) {
  int report[2];
  ASSERT_EQ(::pipe(report), 0);
  int status = in_child([&] {
    if (!install_monitor_seccomp()) return 10;
    // The handlers work under the filter...
    if (read_guest_file("/data/file.txt") != "inside\n") return 11;
    if (call(SYS_newfstatat, static_cast<std::uint64_t>(AT_FDCWD), put("/data"), kScratch + 512, 0) != 0)
      return 12;
    if (call(SYS_clock_gettime, CLOCK_REALTIME, kScratch) != 0) return 13;
    if (call(SYS_getrandom, kScratch, 32, 0) != 32) return 14;
    if (call(SYS_mkdirat, static_cast<std::uint64_t>(AT_FDCWD), put("/made"), 0755) != 0) return 15;
    Process::syscall_name(SYS_openat);
    (void)!::write(report[1], "ok", 2);
    // ...and anything else ends the monitor (an inet socket too, without --net host).
    ::socket(AF_INET, SOCK_STREAM, 0);
    return 20;
  });
  ::close(report[1]);
  char buf[4] = {};
  EXPECT_EQ(::read(report[0], buf, 2), 2) << "status " << status;
  ::close(report[0]);
  EXPECT_STREQ(buf, "ok");
  ASSERT_TRUE(WIFSIGNALED(status)) << "exit " << WEXITSTATUS(status);
  EXPECT_EQ(WTERMSIG(status), SIGSYS);
}

TEST(Confine, CapabilitiesAreDropped) {
  int status = in_child([] {
    if (!drop_capabilities()) return 10;
    auto text = read_file("/proc/self/status");
    if (!text) return 11;
    for (const char* key : {"CapEff:\t0000000000000000", "CapPrm:\t0000000000000000",
                            "CapBnd:\t0000000000000000", "NoNewPrivs:\t1"})
      if (text->find(key) == std::string::npos) return 12;
    // Without CAP_SYS_ADMIN, a mount namespace is out of reach.
    return ::unshare(CLONE_NEWNS) == 0 ? 13 : 0;
  });
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0);
}

TEST(Confine, MountNamespaceShowsOnlyTheRootFilesystem) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root";
  TempDir root, extra;
  root.write("marker", "root\n");
  root.write("mnt/.keep", "");
  root.write("etc/.keep", "");
  extra.write("shared.txt", "from the host\n");
  fs::create_symlink("/etc", root.path() / "sneaky");  // a bind target must not follow it out
  int status = in_child([&] {
    std::vector<Mount> mounts = {{extra.path().string(), "/mnt", true}};
    if (auto ok = enter_rootfs_namespace(root.path().string(), mounts, false); !ok) {
      std::fprintf(stderr, "%s\n", ok.error().message().c_str());
      return 10;
    }
    struct stat st;
    if (::stat("/marker", &st) != 0) return 11;
    if (::stat(extra.path().c_str(), &st) == 0) return 12;  // the host's temp dir is gone
    auto shared = read_file("/mnt/shared.txt");
    if (!shared || *shared != "from the host\n") return 13;
    if (::open("/mnt/new", O_WRONLY | O_CREAT, 0644) >= 0 || errno != EROFS) return 14;
    return 0;
  });
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0);
  EXPECT_TRUE(fs::exists(root.path() / "marker")) << "the host's view is unchanged";
  int sneaky = in_child([&] {
    std::vector<Mount> mounts = {{extra.path().string(), "/sneaky", false}};
    if (auto ok = enter_rootfs_namespace(root.path().string(), mounts, false); !ok) {
      std::fprintf(stderr, "%s\n", ok.error().message().c_str());
      return 10;
    }
    // The bind landed on the root filesystem's /etc (resolved inside it), not on the host's.
    return fs::exists("/etc/shared.txt") ? 0 : 11;
  });
  ASSERT_TRUE(WIFEXITED(sneaky));
  EXPECT_EQ(WEXITSTATUS(sneaky), 0);
}

TEST(Confine, AnUnprivilegedMonitorStillGetsItsMountNamespace) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root to become nobody";
  TempDir root;
  root.write("marker", "root\n");
  fs::permissions(root.path(), fs::perms::owner_all | fs::perms::group_read | fs::perms::group_exec |
                                   fs::perms::others_read | fs::perms::others_exec);
  int status = in_child([&] {
    if (::setgid(65534) != 0 || ::setuid(65534) != 0) return 9;
    ::prctl(PR_SET_DUMPABLE, 1);  // as a process that never changed ids: /proc/self is its own
    if (auto ok = enter_rootfs_namespace(root.path().string(), {}, true); !ok) {
      std::fprintf(stderr, "%s\n", ok.error().message().c_str());
      // Hosts that forbid unprivileged user namespaces cannot do this at all.
      return ok.error().sys_errno() == EPERM || ok.error().sys_errno() == ENOSPC ? 77 : 10;
    }
    struct stat st;
    if (::stat("/marker", &st) != 0) return 11;
    if (::stat(root.path().c_str(), &st) == 0) return 12;
    return 0;
  });
  ASSERT_TRUE(WIFEXITED(status));
  if (WEXITSTATUS(status) == 77) GTEST_SKIP() << "unprivileged user namespaces are disabled here";
  EXPECT_EQ(WEXITSTATUS(status), 0);
}

// ---------- checks before /dev/kvm ----------

class PreflightTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    root_ = new TempDir;
    compiled_ = compile_program("probe", "-static", root_->path() / "bin/probe") &&
                compile_program("probe", "", root_->path() / "bin/dynamic");
    root_->write("bin/corrupt", std::string("\x7f"
                                            "ELF\x02\x01\x01",
                                            7) +
                                    std::string(100, '\0'));
    root_->write(
        "bin/text",
        "#!/bin/sh\n# a script, long enough to be mistaken for an ELF header by size alone\necho hi\n");
  }
  static void TearDownTestSuite() {
    delete root_;
    root_ = nullptr;
  }
  void SetUp() override {
    ASSERT_TRUE(compiled_) << "gcc failed";
    workload_.rootfs = root_->path().string();
  }
  Error expect_error(const std::string& program, std::uint64_t memory = 256 << 20) {
    workload_.program = program;
    workload_.limits.memory_bytes = memory;
    auto pre = preflight(workload_);
    EXPECT_FALSE(pre) << program;
    if (pre) return Error();
    EXPECT_EQ(pre.error().exit_status(), 125) << pre.error().message();
    EXPECT_EQ(pre.error().message().find('\n'), std::string::npos) << pre.error().message();
    // The tier reports the same error, before it ever looks at /dev/kvm.
    auto run = make_vm_tier()->run(workload_);
    EXPECT_FALSE(run);
    if (!run) {
      EXPECT_EQ(run.error().message(), pre.error().message());
    }
    return pre.error();
  }
  static inline TempDir* root_ = nullptr;
  static inline bool compiled_ = false;
  Workload workload_;
};

TEST_F(PreflightTest, FindsAStaticProgramInTheRootFilesystem) {
  workload_.program = "probe";
  auto pre = preflight(workload_);
  ASSERT_TRUE(pre) << pre.error().message();
  EXPECT_EQ(pre->spec.program_name, "/bin/probe");
  EXPECT_EQ(pre->spec.argv.front(), "probe");
  workload_.program = "/bin/../../bin/probe";
  EXPECT_TRUE(preflight(workload_));
}

TEST_F(PreflightTest, ADynamicProgramWithoutItsLinkerInTheRootIsExit127) {
  workload_.program = "/bin/dynamic";
  auto pre = preflight(workload_);
  ASSERT_FALSE(pre);
  EXPECT_EQ(pre.error().exit_status(), 127);
  EXPECT_NE(
      pre.error().message().find("dynamic linker /lib64/ld-linux-x86-64.so.2 is not in the root filesystem"),
      std::string::npos)
      << pre.error().message();
  EXPECT_EQ(pre.error().message().find('\n'), std::string::npos);
}

TEST_F(PreflightTest, EachProblemIsOneLineExit125) {
  EXPECT_NE(expect_error("missing").message().find("not found"), std::string::npos);
  EXPECT_NE(expect_error("/bin/corrupt").message().find("not a valid x86-64 ELF"), std::string::npos);
  EXPECT_NE(expect_error("/bin/text").message().find("bad magic"), std::string::npos);
  EXPECT_NE(expect_error("probe", 1 << 20).message().find("too small"), std::string::npos);
  workload_.rootfs = (root_->path() / "nonexistent").string();
  EXPECT_NE(expect_error("probe").message().find("root filesystem"), std::string::npos);
  workload_.rootfs.clear();
  EXPECT_NE(expect_error("probe").message().find("--rootfs"), std::string::npos);
}

TEST_F(PreflightTest, WithoutKvmTheRunSaysWhy) {
  if (kvm_usable()) GTEST_SKIP() << "/dev/kvm is usable here";
  workload_.program = "probe";
  auto run = make_vm_tier()->run(workload_);
  ASSERT_FALSE(run);
  EXPECT_EQ(run.error().exit_status(), 125);
  EXPECT_NE(run.error().message().find(kvm_device()), std::string::npos) << run.error().message();
  auto probe = make_vm_tier()->probe();
  EXPECT_FALSE(probe.usable);
  bool has_flavour = false, has_kernel = false;
  for (const auto& [k, v] : probe.facts) {
    has_flavour |= k == "kvm flavour";
    has_kernel |= k == "guest kernel";
  }
  EXPECT_TRUE(has_flavour && has_kernel);
}

}  // namespace
}  // namespace spectrum::vm
