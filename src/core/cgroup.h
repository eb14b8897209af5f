// Control groups, v1, v2 and the hybrid layout (v1 controllers plus a cgroup2 mount that owns no
// controller we need; that layout is treated as v1). One Cgroup object is one group, made in every
// hierarchy that has a controller we use, removed again by its destructor.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.h"
#include "core/fd.h"

namespace spectrum {

enum class CgroupVersion { v1, v2 };

struct CgroupLayout {
  CgroupVersion version = CgroupVersion::v1;
  std::string unified_mount;                     // cgroup2 mount point, if any
  std::vector<std::string> unified_controllers;  // controllers enabled at the cgroup2 root
  std::map<std::string, std::string> v1_mounts;  // v1 controller name -> mount point
  bool hybrid = false;                           // v1 controllers and a cgroup2 mount

  // Reads /proc/self/mountinfo. v2 is chosen when the cgroup2 mount offers memory and pids.
  static Result<CgroupLayout> detect();
  // The same from a mountinfo text; `unified_controllers` gives the cgroup2 root's controllers.
  static Result<CgroupLayout> from_mountinfo(std::string_view mountinfo,
                                             const std::vector<std::string>& unified_controllers);
  // Only the cgroup2 mount, as v2 whatever its controllers (tests of the v2 mechanics on v1 hosts).
  static CgroupLayout unified_only(const std::string& mount);
  bool has_controller(const std::string& name) const;
  std::string describe() const;  // e.g. "v1 (hybrid; cgroup2 at /sys/fs/cgroup/unified: hugetlb)"
};

struct CgroupResources {
  std::optional<std::uint64_t> memory_limit;      // bytes
  std::optional<std::int64_t> memory_swap_limit;  // bytes of memory+swap (v1) / swap (v2); -1 = unlimited
  std::optional<std::uint64_t> cpu_quota_us;      // with cpu_period_us
  std::optional<std::uint64_t> cpu_period_us;
  std::optional<std::uint64_t> cpu_shares;  // v1 shares (2..262144); converted to weight on v2
  std::optional<std::string> cpuset_cpus;
  std::optional<std::string> cpuset_mems;
  std::optional<std::int64_t> pids_limit;  // -1 or 0 = unlimited

  // Sets quota and period for a fraction of CPUs (0.5 = half of one CPU).
  void set_cpus(double cpus);
};

struct CgroupStats {
  std::uint64_t peak_memory_bytes = 0;
  std::uint64_t oom_kills = 0;
  std::uint64_t user_cpu_us = 0;
  std::uint64_t system_cpu_us = 0;
};

class Cgroup {
 public:
  // Makes the group `relative_path` (e.g. "spectrum/run-1234") in each hierarchy we use. Missing
  // parents are made too; only directories made here are removed again. On v1, `v1_controllers`
  // limits the hierarchies touched (each costs a mkdir and an rmdir); empty means all we know.
  static Result<Cgroup> create(const CgroupLayout& layout, const std::string& relative_path,
                               const std::vector<std::string>& v1_controllers = {});
  Cgroup(Cgroup&&) noexcept;
  Cgroup& operator=(Cgroup&&) noexcept;
  Cgroup(const Cgroup&) = delete;
  Cgroup& operator=(const Cgroup&) = delete;
  ~Cgroup();  // kills what is left inside and removes the directories made

  Result<void> apply(const CgroupResources& resources);
  Result<void> add_process(pid_t pid);
  // On v2, an fd of the group's directory for clone3(CLONE_INTO_CGROUP); -1 on v1.
  int clone_into_fd() const { return v2_dir_fd_.get(); }
  Result<std::vector<pid_t>> processes() const;
  // SIGKILLs every process in the group until it is empty (v2: cgroup.kill; v1: freeze, kill, thaw).
  Result<void> kill_all();
  Result<void> set_frozen(bool frozen);
  CgroupStats stats() const;
  // Removes the directories now (kill_all first if anything is left). Idempotent.
  Result<void> destroy();
  // Leaves the directories in place (the container tier's groups outlive the runtime process).
  void release() { owned_.clear(); }

  CgroupVersion version() const { return version_; }
  const std::string& relative_path() const { return relative_path_; }
  // The directory of a controller's hierarchy ("memory", "pids", ...; v2: any name gives the one dir).
  std::string path_of(const std::string& controller) const;

 private:
  Cgroup() = default;
  CgroupVersion version_ = CgroupVersion::v1;
  std::string relative_path_;
  std::map<std::string, std::string> dirs_;  // controller (v1) or "" (v2) -> absolute directory
  std::vector<std::string> owned_;           // directories made by create(), deepest last
  UniqueFd v2_dir_fd_;
};

}  // namespace spectrum
