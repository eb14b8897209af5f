// The cgroup v2 device program, attached to a real cgroup2 directory: a process inside may open
// what the rules allow and nothing else.
#include "container/device_filter.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/cgroup.h"
#include "core/fd.h"

namespace spectrum::container {
namespace {

DeviceRule rule(bool allow, std::string type, std::optional<std::int64_t> major,
                std::optional<std::int64_t> minor, std::string access) {
  DeviceRule r;
  r.allow = allow;
  r.type = std::move(type);
  r.major = major;
  r.minor = minor;
  r.access = std::move(access);
  return r;
}

// Opens `path` from a child placed in `dir`; returns the child's errno (0 = opened).
int open_in_group(const std::string& dir, const char* path, int flags) {
  pid_t pid = ::fork();
  if (pid == 0) {
    if (!write_file(dir + "/cgroup.procs", "0")) ::_exit(200);
    int fd = ::open(path, flags);
    ::_exit(fd >= 0 ? 0 : errno);
  }
  int status = 0;
  ::waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 255;
}

TEST(ContainerDeviceFilter, AllowsOnlyWhatTheRulesAllow) {
  auto layout = CgroupLayout::detect();
  if (!layout || layout->unified_mount.empty() || ::geteuid() != 0)
    GTEST_SKIP() << "needs root and a cgroup2 mount";
  auto group = Cgroup::create(CgroupLayout::unified_only(layout->unified_mount),
                              "spectrum-devtest-" + std::to_string(::getpid()));
  ASSERT_TRUE(group) << group.error().message();
  group->release();  // removed below: the attached program must not keep it busy
  std::string dir = group->path_of("");
  // Deny everything, then allow /dev/null read-write and /dev/zero read-only.
  std::vector<DeviceRule> rules = {rule(false, "a", {}, {}, "rwm"), rule(true, "c", 1, 3, "rw"),
                                   rule(true, "c", 1, 5, "r")};
  auto attached = group->attach_device_program(build_device_program(rules));
  if (!attached) {
    ::rmdir(dir.c_str());
    FAIL() << attached.error().message();
  }
  EXPECT_EQ(open_in_group(dir, "/dev/null", O_RDWR), 0);
  EXPECT_EQ(open_in_group(dir, "/dev/zero", O_RDONLY), 0);
  EXPECT_EQ(open_in_group(dir, "/dev/zero", O_WRONLY), EPERM);
  EXPECT_EQ(open_in_group(dir, "/dev/full", O_RDONLY), EPERM);
  EXPECT_EQ(::rmdir(dir.c_str()), 0);
}

TEST(ContainerDeviceFilter, DefaultsAndConfigDevicesAreAllowed) {
  Config config;
  config.device_rules = {rule(false, "a", {}, {}, "rwm")};
  Device extra;
  extra.type = 'c';
  extra.major = 10;
  extra.minor = 229;
  config.devices.push_back(extra);
  auto rules = effective_device_rules(config);
  ASSERT_EQ(rules.size(), 11u);  // deny-all, nine defaults, the config's device
  EXPECT_EQ(rules.back().to_v1_rule(), "c 10:229 rwm");
  EXPECT_EQ(rules[7].to_v1_rule(), "c 136:* rwm");
  // Six loads and shifts, then per rule at most 3 tests + 3 access + 2 exit, then the default.
  EXPECT_LE(build_device_program(rules).size(), 6 + 11 * 8 + 2u);
}

}  // namespace
}  // namespace spectrum::container
