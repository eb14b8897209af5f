// The one cgroup model against this host's real hierarchies: a group adopted from its kept paths
// (the OCI runtime's state), update, freeze and thaw, signals, stats, and device access through the
// v1 devices controller and through a v2 BPF program. Each runs on the detected layout (v1, v2 or
// this machine's hybrid) and again on the hybrid's cgroup2 mount where there is one.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <linux/bpf.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <csignal>
#include <optional>
#include <string>
#include <vector>

#include "core/cgroup.h"
#include "core/fd.h"
#include "core/stale_cgroups.h"

using namespace spectrum;

namespace {

bool exists(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0;
}

bool root() { return ::geteuid() == 0; }

// A child that waits for a byte on `go`, then opens `device` and exits 0 if the open succeeded,
// 1 if it was refused with EPERM, 2 otherwise; or, with `device` empty, just sleeps.
struct Waiter {
  pid_t pid = -1;
  UniqueFd go;
  static Waiter start(const std::string& device) {
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) != 0) return {};
    pid_t pid = ::fork();
    if (pid == 0) {
      ::close(fds[1]);
      ::alarm(60);  // a test that fails to kill it must not hang: SIGALRM then fails its check
      char byte;
      if (::read(fds[0], &byte, 1) != 1) ::_exit(3);
      if (device.empty()) {
        for (;;) ::pause();
      }
      int fd = ::open(device.c_str(), O_RDONLY | O_CLOEXEC);
      ::_exit(fd >= 0 ? 0 : errno == EPERM ? 1 : 2);
    }
    ::close(fds[0]);
    Waiter w;
    w.pid = pid;
    w.go.reset(fds[1]);
    return w;
  }
  void release() { (void)!::write(go.get(), "x", 1); }
  int wait() {
    int status = 0;
    ::waitpid(pid, &status, 0);
    return status;
  }
};

std::string name(const char* what) {
  return "spectrum-test/" + std::string(what) + "-" + std::to_string(::getpid());
}

// The whole life of a group kept as paths, as `create`, `pause`, `update`, `events` and `delete`
// of the OCI runtime use it, each step from a freshly adopted object.
void adopted_group_life(const CgroupLayout& layout, std::vector<std::string> first_controllers) {
  auto created = Cgroup::create(layout, name("adopt"), first_controllers);
  ASSERT_TRUE(created) << created.error().message();
  auto made = std::make_optional(std::move(*created));
  made->release();
  const CgroupPaths kept = made->paths();
  ASSERT_FALSE(kept.dirs.empty());
  for (const auto& [controller, dir] : kept.dirs) EXPECT_TRUE(exists(dir)) << dir;
  Waiter child = Waiter::start("");
  ASSERT_GT(child.pid, 0);
  ASSERT_TRUE(made->add_process(child.pid));
  made.reset();  // gone: the directories stay (released)
  for (const auto& [controller, dir] : kept.dirs) EXPECT_TRUE(exists(dir)) << dir;

  {
    Cgroup group = Cgroup::adopt(kept);
    auto procs = group.processes();
    ASSERT_TRUE(procs);
    ASSERT_EQ(procs->size(), 1u);
    EXPECT_EQ(procs->front(), child.pid);
    // Freeze and thaw, seen from a second adopted object as `state` would.
    ASSERT_TRUE(group.set_frozen(true));
    EXPECT_TRUE(Cgroup::adopt(kept).frozen());
    ASSERT_TRUE(group.set_frozen(false));
    EXPECT_FALSE(Cgroup::adopt(kept).frozen());
  }  // an adopted group stays when its object goes
  for (const auto& [controller, dir] : kept.dirs) EXPECT_TRUE(exists(dir)) << dir;

  // `update`: a pids limit. On v1 the group had no pids directory: it is made, the member moves in.
  CgroupPaths updated_paths;
  {
    Cgroup group = Cgroup::adopt(kept);
    CgroupResources limits;
    limits.pids_limit = 7;
    auto updated = group.update(layout, limits);
    ASSERT_TRUE(updated) << updated.error().message();
    std::string pids_dir = group.path_of("pids");
    ASSERT_FALSE(pids_dir.empty());
    auto max = read_file(pids_dir + "/pids.max");
    ASSERT_TRUE(max);
    EXPECT_EQ(*max, "7\n");
    auto members = read_file(pids_dir + "/cgroup.procs");
    ASSERT_TRUE(members);
    EXPECT_EQ(*members, std::to_string(child.pid) + "\n");
    updated_paths = group.paths();
    CgroupUsage usage = group.usage();
    ASSERT_TRUE(usage.pids);
    EXPECT_EQ(usage.pids->current, 1u);
    EXPECT_EQ(usage.pids->limit, 7u);
    EXPECT_EQ(usage.v2, layout.version == CgroupVersion::v2);
  }
  if (layout.version == CgroupVersion::v1) {
    EXPECT_TRUE(updated_paths.dirs.contains("pids"));
  }

  // `kill --all`, then `delete`: everything the group owns goes, the updated hierarchy too.
  Cgroup::adopt(updated_paths).signal_all(SIGKILL);
  int status = child.wait();
  EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
  ASSERT_TRUE(Cgroup::adopt(updated_paths).destroy());
  for (const auto& [controller, dir] : updated_paths.dirs) EXPECT_FALSE(exists(dir)) << dir;
}

}  // namespace

TEST(CgroupModel, AdoptFreezeUpdateKillStatsDestroyOnThisHost) {
  if (!root()) GTEST_SKIP() << "needs root (cgroups)";
  auto layout = CgroupLayout::detect();
  ASSERT_TRUE(layout) << layout.error().message();
  // v1: memory and freezer only at first, so that update has a hierarchy to add.
  adopted_group_life(*layout, {"memory", "freezer"});
}

// The hybrid's cgroup2 mount (it lists only hugetlb here): freeze, kill and stats are cgroup2's
// own files and work without controllers; a limit of a controller it lacks is a clear error.
TEST(CgroupModel, HybridUnifiedMountFreezeKillStats) {
  if (!root()) GTEST_SKIP() << "needs root (cgroups)";
  auto detected = CgroupLayout::detect();
  ASSERT_TRUE(detected);
  if (detected->unified_mount.empty() || detected->version == CgroupVersion::v2)
    GTEST_SKIP() << "no hybrid cgroup2 mount on this host (" << detected->describe() << ")";
  CgroupLayout layout = CgroupLayout::unified_only(detected->unified_mount);
  auto group = Cgroup::create(layout, name("hybrid"));
  ASSERT_TRUE(group) << group.error().message();
  Waiter child = Waiter::start("");
  ASSERT_TRUE(group->add_process(child.pid));
  ASSERT_TRUE(group->set_frozen(true));
  EXPECT_TRUE(Cgroup::adopt(group->paths()).frozen());
  ASSERT_TRUE(group->set_frozen(false));
  EXPECT_FALSE(group->frozen());
  CgroupUsage usage = group->usage();
  EXPECT_TRUE(usage.v2);
  EXPECT_EQ(group->memory_limit_hits(), 0u);
  if (!layout.has_controller("pids")) {
    CgroupResources limits;
    limits.pids_limit = 5;
    auto refused = group->update(layout, limits);
    ASSERT_FALSE(refused);
    EXPECT_NE(refused.error().message().find("pids.max"), std::string::npos) << refused.error().message();
  }
  ASSERT_TRUE(group->kill_all());
  int status = child.wait();
  EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
  std::string dir = group->path_of("");
  ASSERT_TRUE(group->destroy());
  EXPECT_FALSE(exists(dir));
}

// Attack: a process of a group whose device rules allow only /dev/null opens /dev/zero. The v1
// devices controller must refuse it; /dev/null still opens.
TEST(CgroupModel, V1DevicesControllerRefusesADeviceNotAllowed) {
  if (!root()) GTEST_SKIP() << "needs root (cgroups)";
  auto layout = CgroupLayout::detect();
  ASSERT_TRUE(layout);
  if (layout->version != CgroupVersion::v1 || layout->devices_mount.empty())
    GTEST_SKIP() << "no v1 devices hierarchy (" << layout->describe() << ")";
  auto group = Cgroup::create(*layout, name("devices"), {"devices"});
  ASSERT_TRUE(group) << group.error().message();
  std::string dir = group->path_of("devices");
  ASSERT_TRUE(dir.starts_with(layout->devices_mount + "/")) << dir;
  ASSERT_TRUE(group->restrict_devices_v1({{false, "a *:* rwm"}, {true, "c 1:3 rwm"}}));
  for (auto [device, expected] : {std::pair{"/dev/zero", 1}, std::pair{"/dev/null", 0}}) {
    Waiter child = Waiter::start(device);
    ASSERT_TRUE(group->add_process(child.pid));
    child.release();
    int status = child.wait();
    ASSERT_TRUE(WIFEXITED(status));
    EXPECT_EQ(WEXITSTATUS(status), expected) << device;
  }
  ASSERT_TRUE(group->destroy());
  EXPECT_FALSE(exists(dir));
}

// Attack, v2: the same open under a BPF device program that refuses everything, attached to a
// cgroup2 group (the hybrid's mount here, the whole hierarchy on a v2 host).
TEST(CgroupModel, V2DeviceProgramRefusesEveryDevice) {
  if (!root()) GTEST_SKIP() << "needs root (cgroups, bpf)";
  auto detected = CgroupLayout::detect();
  ASSERT_TRUE(detected);
  if (detected->unified_mount.empty()) GTEST_SKIP() << "no cgroup2 mount on this host";
  CgroupLayout layout = CgroupLayout::unified_only(detected->unified_mount);
  auto group = Cgroup::create(layout, name("bpf"));
  ASSERT_TRUE(group) << group.error().message();
  // r0 = 0 (deny); exit.
  bpf_insn deny[2] = {};
  deny[0].code = BPF_ALU64 | BPF_MOV | BPF_K;
  deny[1].code = BPF_JMP | BPF_EXIT;
  ASSERT_TRUE(group->attach_device_program(deny)) << "bpf";
  Waiter child = Waiter::start("/dev/null");
  ASSERT_TRUE(group->add_process(child.pid));
  child.release();
  int status = child.wait();
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 1) << "/dev/null opened under a deny-all device program";
  ASSERT_TRUE(group->destroy());
}

// A device program on a v1 group, or device rules on a v2 one, is refused rather than ignored.
TEST(CgroupModel, DeviceRulesOfTheWrongVersionAreRefused) {
  if (!root()) GTEST_SKIP() << "needs root (cgroups)";
  auto layout = CgroupLayout::detect();
  ASSERT_TRUE(layout);
  auto group = Cgroup::create(*layout, name("wrong"), {"memory"});
  ASSERT_TRUE(group) << group.error().message();
  bpf_insn none[2] = {};
  if (layout->version == CgroupVersion::v1) {
    EXPECT_FALSE(group->attach_device_program(none));
  }
  EXPECT_FALSE(group->restrict_devices_v1({{true, "c 1:3 rwm"}}));  // not made with "devices"
}

// The stale-group collector finds a dead spectrum's group in the v1 devices hierarchy too.
TEST(CgroupModel, StaleCollectorCoversTheDevicesHierarchy) {
  if (!root()) GTEST_SKIP() << "needs root (cgroups)";
  auto layout = CgroupLayout::detect();
  ASSERT_TRUE(layout);
  if (layout->version != CgroupVersion::v1 || layout->devices_mount.empty())
    GTEST_SKIP() << "no v1 devices hierarchy";
  // A pid that is certainly gone: a reaped child's.
  pid_t dead = ::fork();
  if (dead == 0) ::_exit(0);
  ::waitpid(dead, nullptr, 0);
  auto group =
      Cgroup::create(*layout, "spectrum/run-" + std::to_string(dead) + "-test", {"devices", "memory"});
  ASSERT_TRUE(group) << group.error().message();
  group->release();
  std::string devices_dir = group->path_of("devices"), memory_dir = group->path_of("memory");
  collect_stale_cgroups(*layout);
  EXPECT_FALSE(exists(devices_dir));
  EXPECT_FALSE(exists(memory_dir));
}

// A spectrum killed between joining its child to one v1 hierarchy and the next leaves a group
// whose hierarchies disagree: the collector must still end the child and remove every directory.
TEST(CgroupModel, StaleCollectorEndsAProcessInOneHierarchyOnly) {
  if (!root()) GTEST_SKIP() << "needs root (cgroups)";
  auto layout = CgroupLayout::detect();
  ASSERT_TRUE(layout);
  if (layout->version != CgroupVersion::v1) GTEST_SKIP() << "v1 only (" << layout->describe() << ")";
  pid_t dead = ::fork();
  if (dead == 0) ::_exit(0);
  ::waitpid(dead, nullptr, 0);
  auto group =
      Cgroup::create(*layout, "spectrum/run-" + std::to_string(dead) + "-half", {"freezer", "memory"});
  ASSERT_TRUE(group) << group.error().message();
  group->release();
  std::string memory_dir = group->path_of("memory"), freezer_dir = group->path_of("freezer");
  Waiter child = Waiter::start("");
  ASSERT_TRUE(write_file(memory_dir + "/cgroup.procs", std::to_string(child.pid)));  // memory only
  collect_stale_cgroups(*layout);
  int status = child.wait();
  EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
  EXPECT_FALSE(exists(memory_dir));
  EXPECT_FALSE(exists(freezer_dir));
}
