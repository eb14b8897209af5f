// Attacks of a hostile workload on the host around it, kept as regression tests (no /dev/kvm):
//   - the invoker's stdio: flags, offset and content of a `>> log` or a terminal given as 0-2;
//   - a flood of refused syscalls must not flood the log;
//   - --mount HOST:GUEST:ro must be read-only all the way down, and never hand over a host /proc
//     or /sys (mount tests need root and skip otherwise).
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>

#include "test_support.h"
#include "vm/boot.h"
#include "vm/confine.h"
#include "vm/guest/abi.h"
#include "vm/kernel/process.h"
#include "vm/memory.h"

namespace spectrum::vm {
namespace {

using namespace testing;
using x86::kPageSize;

constexpr std::uint64_t kScratch = 0x400000;

class HostAttackTest : public ::testing::Test {
 protected:
  void SetUp() override {
    memory_ = std::make_unique<GuestMemory>(std::move(*GuestMemory::create(16 << 20)));
    frames_ = std::make_unique<FrameAllocator>(*memory_, GUEST_KERNEL_AREA_END);
    const auto ranges = kernel_area_ranges();
    space_ = std::make_unique<AddressSpace>(std::move(*AddressSpace::create(*memory_, *frames_, ranges)));
    ASSERT_TRUE(space_->map(kScratch, 4 * kPageSize, kProtRead | kProtWrite));
    // stdout: the invoker's `>> log`, already holding a line of its own.
    log_path_ = dir_.path() / "log";
    dir_.write("log", "the invoker's line\n");
    log_fd_ = ::open(log_path_.c_str(), O_WRONLY | O_APPEND | O_CLOEXEC);
    ASSERT_GE(log_fd_, 0);
    // stdin: a pipe the invoker reads and writes too (as a terminal would be).
    int in[2];
    ASSERT_EQ(::pipe2(in, O_CLOEXEC), 0);
    stdin_write_.reset(in[1]);
    stdin_read_ = in[0];
    ProcessConfig config;
    config.root = UniqueFd(::open(dir_.path().c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
    config.stdin_fd = UniqueFd(::fcntl(stdin_read_, F_DUPFD_CLOEXEC, 3));
    config.stdout_fd = UniqueFd(::fcntl(log_fd_, F_DUPFD_CLOEXEC, 3));
    config.memory_bytes = 16 << 20;
    config.log = [this](const std::string& line) { log_.push_back(line); };
    process_ = std::make_unique<Process>(*space_, *memory_, std::move(config));
  }
  void TearDown() override {
    ::close(log_fd_);
    ::close(stdin_read_);
  }
  std::int64_t call(long nr, std::uint64_t a0 = 0, std::uint64_t a1 = 0, std::uint64_t a2 = 0,
                    std::uint64_t a3 = 0) {
    return process_->handle({static_cast<std::uint64_t>(nr), {a0, a1, a2, a3, 0, 0}}).value;
  }
  std::uint64_t put(const std::string& s) {
    EXPECT_TRUE(space_->write(kScratch, {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()}));
    return kScratch;
  }
  std::string log_content() {
    std::ifstream in(log_path_);
    return {std::istreambuf_iterator<char>(in), {}};
  }

  TempDir dir_;
  fs::path log_path_;
  int log_fd_ = -1, stdin_read_ = -1;
  UniqueFd stdin_write_;
  std::unique_ptr<GuestMemory> memory_;
  std::unique_ptr<FrameAllocator> frames_;
  std::unique_ptr<AddressSpace> space_;
  std::unique_ptr<Process> process_;
  std::vector<std::string> log_;
};

TEST_F(HostAttackTest, TheGuestCannotChangeTheInvokersLogFile) {
  // The review's attack: clear O_APPEND, then overwrite and truncate the log.
  EXPECT_EQ(call(SYS_fcntl, 1, F_SETFL, 0), 0);
  EXPECT_EQ(call(SYS_fcntl, 1, F_GETFL) & O_APPEND, 0) << "the guest sees its own view";
  EXPECT_TRUE(::fcntl(log_fd_, F_GETFL) & O_APPEND) << "the invoker's description kept O_APPEND";
  EXPECT_EQ(call(SYS_pwrite64, 1, put("XXXX"), 4, 0), -ESPIPE);
  EXPECT_EQ(call(SYS_lseek, 1, 0, SEEK_SET), -ESPIPE);
  EXPECT_EQ(call(SYS_ftruncate, 1, 0), -EINVAL);
  // ...through a duplicate too.
  const std::int64_t dup = call(SYS_dup, 1);
  ASSERT_GE(dup, 2);  // fd 2 is free here
  EXPECT_EQ(call(SYS_ftruncate, static_cast<std::uint64_t>(dup), 0), -EINVAL);
  EXPECT_EQ(call(SYS_pwrite64, static_cast<std::uint64_t>(dup), put("YYYY"), 4, 0), -ESPIPE);
  const std::int64_t dup2 = call(SYS_fcntl, 1, F_DUPFD_CLOEXEC, 10);
  ASSERT_GE(dup2, 10);
  EXPECT_EQ(call(SYS_lseek, static_cast<std::uint64_t>(dup2), 0, SEEK_SET), -ESPIPE);
  // Writing is the guest's right, and it still appends.
  EXPECT_EQ(call(SYS_write, 1, put("guest\n"), 6), 6);
  EXPECT_EQ(log_content(), "the invoker's line\nguest\n");
}

TEST_F(HostAttackTest, NonBlockingStdinStaysTheGuestsOwnView) {
  EXPECT_EQ(call(SYS_fcntl, 0, F_SETFL, O_NONBLOCK), 0);
  EXPECT_FALSE(::fcntl(stdin_read_, F_GETFL) & O_NONBLOCK) << "O_NONBLOCK leaked onto the invoker's stdin";
  EXPECT_TRUE(call(SYS_fcntl, 0, F_GETFL) & O_NONBLOCK);
  // Emulated: an empty stdin is EAGAIN for the guest instead of blocking the monitor.
  EXPECT_EQ(call(SYS_read, 0, kScratch, 16), -EAGAIN);
  // ...and so is readv (it blocked the monitor until the invoker wrote or closed stdin).
  const std::uint64_t iov[2] = {kScratch + 64, 16};
  ASSERT_TRUE(space_->write(kScratch + 32, {reinterpret_cast<const std::uint8_t*>(iov), sizeof iov}));
  EXPECT_EQ(call(SYS_readv, 0, kScratch + 32, 1), -EAGAIN);
  ASSERT_EQ(::write(stdin_write_.get(), "in", 2), 2);
  EXPECT_EQ(call(SYS_readv, 0, kScratch + 32, 1), 2);
  ASSERT_EQ(::write(stdin_write_.get(), "in", 2), 2);
  EXPECT_EQ(call(SYS_read, 0, kScratch, 16), 2);
  EXPECT_EQ(call(SYS_fcntl, 0, F_SETFL, 0), 0);
  EXPECT_FALSE(call(SYS_fcntl, 0, F_GETFL) & O_NONBLOCK);
}

TEST_F(HostAttackTest, FilesTheGuestOpenedAreItsOwnToChange) {
  const std::int64_t fd = call(SYS_openat, static_cast<std::uint64_t>(AT_FDCWD),
                               put(std::string("/own\0", 5)), O_RDWR | O_CREAT | O_APPEND, 0644);
  ASSERT_GE(fd, 0);
  EXPECT_EQ(call(SYS_fcntl, static_cast<std::uint64_t>(fd), F_SETFL, 0), 0);
  EXPECT_EQ(call(SYS_fcntl, static_cast<std::uint64_t>(fd), F_GETFL) & O_APPEND, 0);
  EXPECT_EQ(call(SYS_write, static_cast<std::uint64_t>(fd), put("abcdef"), 6), 6);
  EXPECT_EQ(call(SYS_lseek, static_cast<std::uint64_t>(fd), 0, SEEK_SET), 0);
  EXPECT_EQ(call(SYS_ftruncate, static_cast<std::uint64_t>(fd), 2), 0);
  EXPECT_EQ(fs::file_size(dir_.path() / "own"), 2u);
}

TEST_F(HostAttackTest, AFloodOfRefusedSyscallsLogsABoundedNumberOfLines) {
  // Every number, low and high, many times: each low one at most once, the high ones once in
  // all, and never more than a few dozen lines.
  for (int round = 0; round < 3; ++round) {
    for (std::uint64_t nr = 0; nr < 4096; ++nr)
      if (!Process::implemented(nr)) call(static_cast<long>(nr));
    for (std::uint64_t nr : {1ull << 20, 1ull << 40, ~0ull}) call(static_cast<long>(nr));
  }
  EXPECT_LE(log_.size(), 40u);
  EXPECT_GE(log_.size(), 2u);
  EXPECT_NE(log_.back().find("not logged any more"), std::string::npos) << log_.back();
}

TEST_F(HostAttackTest, HighSyscallNumbersAreLoggedOnceInAll) {
  for (std::uint64_t nr = 1024; nr < 1024 + 5000; ++nr) call(static_cast<long>(nr));
  call(static_cast<long>(~0ull));
  ASSERT_EQ(log_.size(), 1u);
  EXPECT_NE(log_[0].find("1024"), std::string::npos) << log_[0];
}

// ---------- --mount: read-only all the way down, no host /proc or /sys ----------

// Runs `body` in a child with a mount namespace of its own (nothing leaks to the host); returns
// its wait status. 77: skipped (not root).
template <class F>
int in_mount_namespace(F body) {
  const pid_t child = ::fork();
  if (child == 0) {
    if (::geteuid() != 0 || ::unshare(CLONE_NEWNS) != 0) ::_exit(77);
    if (::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0) ::_exit(77);
    ::_exit(body());
  }
  int status = 0;
  ::waitpid(child, &status, 0);
  return status;
}

bool can_write(const std::string& path) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) return false;
  ::close(fd);
  return true;
}

TEST(MountAttackTest, ReadOnlyMountsAreReadOnlyAllTheWayDown) {
  TempDir root, host;
  fs::create_directories(root.path() / "host");
  fs::create_directories(host.path() / "shm");
  fs::create_directories(host.path() / "proc");
  const int status = in_mount_namespace([&] {
    // HOST has a writable submount (as /dev/shm under /) and a proc (as /proc under /).
    if (::mount("tmpfs", (host.path() / "shm").c_str(), "tmpfs", 0, nullptr) != 0) return 10;
    if (::mount("proc", (host.path() / "proc").c_str(), "proc", 0, nullptr) != 0) return 11;
    if (!can_write(host.path() / "shm/before")) return 12;
    std::vector<Mount> mounts{{host.path().string(), "/host", true}};
    if (auto ok = enter_rootfs_namespace(root.path().string(), mounts, false); !ok) return 13;
    if (can_write("/host/top")) return 20;         // the top is read-only
    if (can_write("/host/shm/x")) return 21;       // and so is every submount
    if (fs::exists("/host/proc/self")) return 22;  // no host /proc reaches the guest
    if (fs::exists("/host/shm/before") && can_write("/host/shm/before")) return 23;
    return 0;
  });
  if (WIFEXITED(status) && WEXITSTATUS(status) == 77) GTEST_SKIP() << "needs root for mount namespaces";
  ASSERT_TRUE(WIFEXITED(status)) << "killed";
  EXPECT_EQ(WEXITSTATUS(status), 0) << "step that failed";
}

TEST(MountAttackTest, AHostProcOrSysIsNeverMounted) {
  TempDir root;
  fs::create_directories(root.path() / "p");
  const int status = in_mount_namespace([&] {
    for (const char* source : {"/proc", "/sys", "/proc/sys", "/sys/kernel"}) {
      std::vector<Mount> mounts{{source, "/p", false}};
      const pid_t child = ::fork();  // enter_rootfs_namespace changes this process for good
      if (child == 0) {
        auto ok = enter_rootfs_namespace(root.path().string(), mounts, false);
        ::_exit(!ok && ok.error().message().find(source) != std::string::npos ? 0 : 1);
      }
      int st = 0;
      ::waitpid(child, &st, 0);
      if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) return 30;
    }
    return 0;
  });
  if (WIFEXITED(status) && WEXITSTATUS(status) == 77) GTEST_SKIP() << "needs root for mount namespaces";
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0);
}

}  // namespace
}  // namespace spectrum::vm
