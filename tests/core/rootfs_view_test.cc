// The copy-on-write view of --rootfs, with real overlayfs and tmpfs mounts (needs root).
#include "core/rootfs_view.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>

#include "core/workload.h"

namespace spectrum {
namespace {

std::string slurp(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

void spit(const std::string& path, const std::string& text) { std::ofstream(path) << text; }

bool exists(const std::string& path) {
  struct stat st {};
  return ::lstat(path.c_str(), &st) == 0;
}

class RootfsViewTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (::geteuid() != 0) GTEST_SKIP() << "needs root (mount namespace, overlayfs)";
    char tmpl[] = "/tmp/spectrum-view-test.XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    base_ = tmpl;
    root_ = base_ + "/rootfs";
    ASSERT_EQ(::mkdir(root_.c_str(), 0755), 0);
    ASSERT_EQ(::mkdir((root_ + "/etc").c_str(), 0755), 0);
    spit(root_ + "/etc/hostname", "original\n");
    spit(root_ + "/keep", "kept\n");
  }
  void TearDown() override {
    if (!base_.empty()) std::system(("rm -rf " + base_).c_str());
  }
  std::string base_, root_;
};

TEST_F(RootfsViewTest, WritesGoToThePrivateLayerAndVanish) {
  Workload w;
  w.rootfs = root_;
  std::string merged;
  {
    auto view = RootfsView::open(w);
    ASSERT_TRUE(view) << view.error().message();
    merged = view->path();
    ASSERT_NE(merged, root_);
    EXPECT_EQ(slurp(merged + "/etc/hostname"), "original\n");
    spit(merged + "/etc/hostname", "changed\n");
    spit(merged + "/new", "new\n");
    ASSERT_EQ(::unlink((merged + "/keep").c_str()), 0);
    ASSERT_EQ(::chmod((merged + "/etc").c_str(), 0700), 0);
    EXPECT_EQ(slurp(merged + "/etc/hostname"), "changed\n");
    // The user's directory saw none of it.
    EXPECT_EQ(slurp(root_ + "/etc/hostname"), "original\n");
    EXPECT_FALSE(exists(root_ + "/new"));
    EXPECT_TRUE(exists(root_ + "/keep"));
    struct stat st {};
    ASSERT_EQ(::stat((root_ + "/etc").c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 07777, 0755u);
    // Its mounts are spectrum's alone: the host's namespace (PID 1's) never has them.
    EXPECT_EQ(slurp("/proc/1/mountinfo").find("spectrum-rootfs"), std::string::npos);
    EXPECT_NE(slurp("/proc/self/mountinfo").find("spectrum-rootfs"), std::string::npos);
  }
  EXPECT_EQ(slurp("/proc/self/mountinfo").find("spectrum-rootfs"), std::string::npos);
  EXPECT_FALSE(exists(merged));
}

TEST_F(RootfsViewTest, KeepChangesLeavesTheUpperLayerOnly) {
  Workload w;
  w.rootfs = root_;
  w.keep_changes = base_ + "/kept";
  {
    auto view = RootfsView::open(w);
    ASSERT_TRUE(view) << view.error().message();
    spit(view->path() + "/new", "new\n");
    ASSERT_EQ(::unlink((view->path() + "/keep").c_str()), 0);
  }
  EXPECT_EQ(slurp(base_ + "/kept/upper/new"), "new\n");
  struct stat st {};
  ASSERT_EQ(::lstat((base_ + "/kept/upper/keep").c_str(), &st), 0);
  EXPECT_TRUE(S_ISCHR(st.st_mode)) << "a deletion is overlayfs' whiteout";
  EXPECT_FALSE(exists(base_ + "/kept/work"));
  EXPECT_TRUE(exists(root_ + "/keep"));
  EXPECT_FALSE(exists(root_ + "/new"));
  // A second run into the same DIR would mix two runs' changes: refused, naming the directory.
  auto again = RootfsView::open(w);
  ASSERT_FALSE(again);
  EXPECT_NE(again.error().message().find(base_ + "/kept/upper"), std::string::npos);
}

TEST_F(RootfsViewTest, WritableIsTheRootfsItself) {
  Workload w;
  w.rootfs = root_;
  w.rootfs_writable = true;
  auto view = RootfsView::open(w);
  ASSERT_TRUE(view);
  EXPECT_EQ(view->path(), root_);
  w.keep_changes = base_ + "/kept";
  EXPECT_FALSE(RootfsView::open(w));
}

TEST_F(RootfsViewTest, MissingRootfsNamesIt) {
  Workload w;
  w.rootfs = base_ + "/absent";
  auto view = RootfsView::open(w);
  ASSERT_FALSE(view);
  EXPECT_NE(view.error().message().find(w.rootfs), std::string::npos);
}

}  // namespace
}  // namespace spectrum
