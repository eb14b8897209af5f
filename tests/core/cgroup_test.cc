#include "core/cgroup.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <csignal>

using namespace spectrum;

namespace {
constexpr const char* kHybrid =
    "25 1 0:22 / /sys/fs/cgroup rw - tmpfs tmpfs rw,mode=755\n"
    "26 25 0:23 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu\n"
    "27 25 0:24 / /sys/fs/cgroup/cpuacct rw,relatime - cgroup cgroup rw,cpuacct\n"
    "28 25 0:25 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory\n"
    "29 25 0:26 / /sys/fs/cgroup/pids rw,relatime - cgroup cgroup rw,pids\n"
    "30 25 0:27 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,name=systemd\n"
    "31 25 0:28 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw\n";
constexpr const char* kUnified =
    "30 1 0:26 / /sys/fs/cgroup rw,nosuid shared:4 - cgroup2 cgroup2 rw,nsdelegate\n";
constexpr const char* kComounted =
    "26 25 0:23 / /sys/fs/cgroup/cpu,cpuacct rw - cgroup cgroup rw,cpu,cpuacct\n"
    "28 25 0:25 / /sys/fs/cgroup/memory rw - cgroup cgroup rw,memory\n";

bool exists(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0;
}
}  // namespace

TEST(CgroupLayout, HybridWithUnusedUnifiedIsV1) {
  auto layout = CgroupLayout::from_mountinfo(kHybrid, {"hugetlb"});
  ASSERT_TRUE(layout);
  EXPECT_EQ(layout->version, CgroupVersion::v1);
  EXPECT_TRUE(layout->hybrid);
  EXPECT_EQ(layout->v1_mounts.at("memory"), "/sys/fs/cgroup/memory");
  EXPECT_FALSE(layout->v1_mounts.contains("systemd"));
  EXPECT_TRUE(layout->has_controller("pids"));
  EXPECT_NE(layout->describe().find("hybrid"), std::string::npos);
}

TEST(CgroupLayout, UnifiedWithControllersIsV2) {
  auto layout = CgroupLayout::from_mountinfo(kUnified, {"cpuset", "cpu", "io", "memory", "pids"});
  ASSERT_TRUE(layout);
  EXPECT_EQ(layout->version, CgroupVersion::v2);
  EXPECT_EQ(layout->unified_mount, "/sys/fs/cgroup");
  EXPECT_TRUE(layout->has_controller("memory"));
  EXPECT_FALSE(layout->has_controller("freezer"));
}

TEST(CgroupLayout, UnifiedWithoutControllersAndNoV1IsAnError) {
  EXPECT_FALSE(CgroupLayout::from_mountinfo(kUnified, {"hugetlb"}));
  EXPECT_FALSE(CgroupLayout::from_mountinfo("", {}));
}

TEST(CgroupLayout, CoMountedControllersShareAMount) {
  auto layout = CgroupLayout::from_mountinfo(kComounted, {});
  ASSERT_TRUE(layout);
  EXPECT_EQ(layout->v1_mounts.at("cpu"), layout->v1_mounts.at("cpuacct"));
}

// The real hierarchy of this host, whichever version it is.
TEST(Cgroup, CreateApplyJoinKillDestroyOnThisHost) {
  auto layout = CgroupLayout::detect();
  ASSERT_TRUE(layout) << layout.error().message();
  const std::string name = "spectrum-test/group-" + std::to_string(::getpid());
  std::string memory_dir;
  {
    auto group = Cgroup::create(*layout, name);
    ASSERT_TRUE(group) << group.error().message();
    memory_dir = group->path_of("memory");
    ASSERT_TRUE(exists(memory_dir));
    CgroupResources resources;
    resources.memory_limit = 64 << 20;
    resources.pids_limit = 16;
    resources.set_cpus(0.5);
    ASSERT_TRUE(group->apply(resources));
    pid_t child = ::fork();
    if (child == 0) {
      ::pause();
      ::_exit(0);
    }
    ASSERT_TRUE(group->add_process(child));
    auto procs = group->processes();
    ASSERT_TRUE(procs);
    ASSERT_EQ(procs->size(), 1u);
    EXPECT_EQ(procs->front(), child);
    ASSERT_TRUE(group->kill_all());
    int status = 0;
    ASSERT_EQ(::waitpid(child, &status, 0), child);
    EXPECT_TRUE(WIFSIGNALED(status));
    EXPECT_EQ(WTERMSIG(status), SIGKILL);
    ASSERT_TRUE(group->destroy());
  }
  EXPECT_FALSE(exists(memory_dir));
}

// cgroup v2 mechanics (create, join, cgroup.kill, remove) on the unified mount, even on a hybrid
// host where it has no resource controllers.
TEST(Cgroup, V2MechanicsOnTheUnifiedMount) {
  auto detected = CgroupLayout::detect();
  ASSERT_TRUE(detected);
  if (detected->unified_mount.empty()) GTEST_SKIP() << "no cgroup2 mount on this host";
  CgroupLayout layout = CgroupLayout::unified_only(detected->unified_mount);
  const std::string name = "spectrum-test/v2-" + std::to_string(::getpid());
  std::string dir;
  {
    auto group = Cgroup::create(layout, name);
    ASSERT_TRUE(group) << group.error().message();
    dir = group->path_of("");
    EXPECT_GE(group->clone_into_fd(), 0);
    pid_t child = ::fork();
    if (child == 0) {
      ::pause();
      ::_exit(0);
    }
    ASSERT_TRUE(group->add_process(child));
    ASSERT_EQ(group->processes()->size(), 1u);
    ASSERT_TRUE(group->kill_all());
    int status = 0;
    ASSERT_EQ(::waitpid(child, &status, 0), child);
    EXPECT_EQ(WTERMSIG(status), SIGKILL);
  }  // the destructor removes it
  EXPECT_FALSE(exists(dir));
}
