// The confined-path resolver against the tricks a hostile root filesystem plays: absolute and
// relative symlinks out of the root, ".." chains, magic links, and a racer that swaps a directory
// and a symlink while paths through it are created.
#include "core/confined_path.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <thread>

using namespace spectrum;
namespace fs = std::filesystem;

namespace {

class ConfinedPath : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/spectrum-confined-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    base_ = tmpl;
    root_ = base_ + "/root";
    outside_ = base_ + "/outside";
    fs::create_directories(root_ + "/etc");
    fs::create_directories(outside_);
    root_fd_.reset(::open(root_.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
    ASSERT_TRUE(root_fd_);
  }
  void TearDown() override { fs::remove_all(base_); }

  // Where an fd really is, as the kernel names it.
  static std::string real_path(int fd) { return fs::read_symlink(fd_path(fd)).string(); }
  bool outside_is_empty() const { return fs::is_empty(outside_); }

  std::string base_, root_, outside_;
  UniqueFd root_fd_;
};

TEST_F(ConfinedPath, AbsoluteSymlinkRestartsAtTheRoot) {
  fs::create_directory_symlink("/etc", root_ + "/abs");
  auto fd = open_in_root(root_fd_.get(), "/abs");
  ASSERT_TRUE(fd) << fd.error().message();
  EXPECT_EQ(real_path(fd->get()), root_ + "/etc");
}

TEST_F(ConfinedPath, DotDotChainsStopAtTheRoot) {
  fs::create_directory_symlink("../../../../../../outside", root_ + "/up");
  auto fd = open_in_root(root_fd_.get(), "/../../../etc");
  ASSERT_TRUE(fd) << fd.error().message();
  EXPECT_EQ(real_path(fd->get()), root_ + "/etc");
  auto made = open_in_root(root_fd_.get(), "/up/made", Missing::directory);
  ASSERT_TRUE(made) << made.error().message();
  EXPECT_EQ(real_path(made->get()), root_ + "/outside/made");
  EXPECT_TRUE(outside_is_empty());
}

TEST_F(ConfinedPath, MissingIsAnErrorUnlessAsked) {
  auto fd = open_in_root(root_fd_.get(), "/no/such/dir");
  ASSERT_FALSE(fd);
  EXPECT_EQ(fd.error().sys_errno(), ENOENT);
  EXPECT_FALSE(fs::exists(root_ + "/no"));
}

TEST_F(ConfinedPath, CreatesFilesAndDirectoriesThroughSymlinksInside) {
  fs::create_directory_symlink("/", root_ + "/to-root");
  auto file = open_in_root(root_fd_.get(), "/to-root/a/b/file", Missing::file, 0600);
  ASSERT_TRUE(file) << file.error().message();
  EXPECT_EQ(real_path(file->get()), root_ + "/a/b/file");
  EXPECT_TRUE(fs::is_regular_file(root_ + "/a/b/file"));
  EXPECT_EQ(fs::status(root_ + "/a/b/file").permissions() & fs::perms::all,
            fs::perms::owner_read | fs::perms::owner_write);
}

TEST_F(ConfinedPath, DanglingSymlinkAsLastComponentIsCreatedInside) {
  fs::create_symlink(outside_ + "/planted", root_ + "/dangling");
  auto file = open_in_root(root_fd_.get(), "/dangling", Missing::file);
  ASSERT_TRUE(file) << file.error().message();
  EXPECT_TRUE(outside_is_empty());
  EXPECT_EQ(real_path(file->get()).rfind(root_ + "/", 0), 0u) << real_path(file->get());
}

TEST_F(ConfinedPath, MagicLinksAreRefused) {
  UniqueFd host_root(::open("/", O_PATH | O_DIRECTORY | O_CLOEXEC));
  auto fd = open_in_root(host_root.get(), "/proc/self/root/etc");
  ASSERT_FALSE(fd);
  EXPECT_EQ(fd.error().sys_errno(), ELOOP);
}

TEST_F(ConfinedPath, ParentAndNameForStarAtCalls) {
  auto pn = open_parent_in_root(root_fd_.get(), "/dev/sub/node", true);
  ASSERT_TRUE(pn) << pn.error().message();
  EXPECT_EQ(pn->name, "node");
  EXPECT_EQ(real_path(pn->parent.get()), root_ + "/dev/sub");
  EXPECT_FALSE(open_parent_in_root(root_fd_.get(), "/", true));
  EXPECT_FALSE(open_parent_in_root(root_fd_.get(), "/a/..", true));
}

// CVE-2021-30465's shape: while paths through vol/d are resolved and created, a racer exchanges
// vol/d (a directory) with vol/l (a symlink out of the root). No result may land outside.
TEST_F(ConfinedPath, SwapRacerNeverLeadsOutside) {
  fs::create_directories(root_ + "/vol/d");
  fs::create_directory_symlink("../../outside", root_ + "/vol/l");
  std::atomic<bool> stop{false};
  std::atomic<long> swaps{0};
  std::thread racer([&] {
    std::string d = root_ + "/vol/d", l = root_ + "/vol/l";
    while (!stop.load(std::memory_order_relaxed))
      if (::renameat2(AT_FDCWD, d.c_str(), AT_FDCWD, l.c_str(), RENAME_EXCHANGE) == 0) ++swaps;
  });
  int escapes = 0;
  for (int i = 0; i < 3000; ++i) {
    auto fd = open_in_root(root_fd_.get(), "/vol/d/m" + std::to_string(i % 8), Missing::directory);
    if (!fd) continue;  // a lost race may fail: what matters is that nothing lands outside
    if (real_path(fd->get()).rfind(root_ + "/", 0) != 0) ++escapes;
  }
  stop = true;
  racer.join();
  EXPECT_GT(swaps.load(), 0);
  EXPECT_EQ(escapes, 0);
  EXPECT_TRUE(outside_is_empty());
}

}  // namespace

// The beneath confinement (WASI's preopens): what would leave the directory is refused with EXDEV,
// never clamped to it as open_in_root does.
TEST_F(ConfinedPath, BeneathRefusesEveryWayOut) {
  fs::create_directory_symlink("/etc", root_ + "/abs");
  fs::create_directory_symlink("../outside", root_ + "/rel");
  fs::create_directory_symlink("etc", root_ + "/inside");
  for (const char* escape : {"..", "../outside", "/etc", "abs", "rel", "etc/../../outside", "abs/passwd"}) {
    auto fd = open_beneath(root_fd_.get(), escape, O_PATH);
    ASSERT_FALSE(fd) << escape << " opened " << real_path(fd->get());
    EXPECT_EQ(fd.error().sys_errno(), EXDEV) << escape << ": " << fd.error().message();
  }
  auto inside = open_beneath(root_fd_.get(), "inside", O_RDONLY | O_DIRECTORY);
  ASSERT_TRUE(inside) << inside.error().message();
  EXPECT_EQ(real_path(inside->get()), root_ + "/etc");
  auto missing = open_beneath(root_fd_.get(), "etc/none", O_RDONLY);
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().sys_errno(), ENOENT);
}

TEST_F(ConfinedPath, BeneathRefusesMagicLinks) {
  UniqueFd proc(::open("/proc/self", O_PATH | O_DIRECTORY | O_CLOEXEC));
  ASSERT_TRUE(proc);
  // /proc/self/root is a magic link to "/": followed, it would leave any directory.
  auto fd = open_beneath(proc.get(), "root/etc", O_PATH);
  ASSERT_FALSE(fd);
  EXPECT_TRUE(fd.error().sys_errno() == ELOOP || fd.error().sys_errno() == EXDEV) << fd.error().message();
}

TEST_F(ConfinedPath, BeneathCreatesWithTheModeGiven) {
  auto fd = open_beneath(root_fd_.get(), "etc/new", O_CREAT | O_EXCL | O_WRONLY, 0640);
  ASSERT_TRUE(fd) << fd.error().message();
  struct stat st {};
  ASSERT_EQ(::fstat(fd->get(), &st), 0);
  mode_t mask = ::umask(022);
  ::umask(mask);
  EXPECT_EQ(st.st_mode & 0777, 0640u & ~mask);
  EXPECT_TRUE(outside_is_empty());
}
