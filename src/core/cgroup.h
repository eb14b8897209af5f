// Control groups, v1, v2 and the hybrid layout (v1 controllers plus a cgroup2 mount that owns no
// controller we need; that layout is treated as v1). One Cgroup object is one group, made in every
// hierarchy that has a controller we use, removed again by its destructor; or an existing group
// adopted from its kept directories (the OCI runtime's state, `update`), which outlives the object.
// Everything a tier does with a group is here: create, adopt, limits and their update, freeze,
// kill, stats and events, and device access (v1 devices controller, v2 BPF program).
#pragma once

#include <linux/bpf.h>
#include <sys/types.h>

#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
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
  std::string devices_mount;  // the v1 devices hierarchy ("" if none); used only when asked for
  bool hybrid = false;        // v1 controllers and a cgroup2 mount

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

// A flat keyed file ("key value" lines: memory.stat, cpu.stat, memory.events); empty if unreadable.
std::map<std::string, std::uint64_t> read_cgroup_keyed(const std::string& path);
// A file holding one number; "max" and an unreadable file give 0.
std::uint64_t read_cgroup_number(const std::string& path);

// Every counter the OCI runtime's `events --stats` reports, as the kernel names them; a section is
// absent where the group has no such controller. Times in nanoseconds.
struct CgroupUsage {
  struct Cpu {
    bool has_usage = false, has_throttling = false;
    std::uint64_t total_ns = 0, user_ns = 0, kernel_ns = 0;
    std::vector<std::uint64_t> per_cpu_ns;  // v1 only
    std::uint64_t periods = 0, throttled_periods = 0, throttled_ns = 0;
  };
  struct Counter {
    std::uint64_t usage = 0, limit = 0, max = 0, failcnt = 0;
  };
  struct Memory {
    std::uint64_t cache = 0;
    Counter usage, swap, kernel;               // kernel: v1 only
    std::map<std::string, std::uint64_t> raw;  // memory.stat
  };
  struct Pids {
    std::uint64_t current = 0, limit = 0;
  };
  bool v2 = false;
  Cpu cpu;
  std::optional<Memory> memory;
  std::optional<Pids> pids;
};

// A group as kept across processes (the OCI runtime's state file): its directories and which of
// them were made for it. Cgroup::adopt makes a group of it again.
struct CgroupPaths {
  std::map<std::string, std::string> dirs;  // controller (v1) or "" (v2) -> absolute directory
  std::vector<std::string> owned;           // directories made for the group, deepest last
};

class Cgroup {
 public:
  // Makes the group `relative_path` (e.g. "spectrum/run-1234") in each hierarchy we use. Missing
  // parents are made too; only directories made here are removed again. On v1, `v1_controllers`
  // limits the hierarchies touched (each costs a mkdir and an rmdir); empty means all we know.
  // "devices" in `v1_controllers` makes the group in the v1 devices hierarchy too.
  static Result<Cgroup> create(const CgroupLayout& layout, const std::string& relative_path,
                               const std::vector<std::string>& v1_controllers = {});
  // An existing group from its kept directories. The object leaves them in place when it goes;
  // destroy() removes the owned ones.
  static Cgroup adopt(const CgroupPaths& paths);
  Cgroup(Cgroup&&) noexcept;
  Cgroup& operator=(Cgroup&&) noexcept;
  Cgroup(const Cgroup&) = delete;
  Cgroup& operator=(const Cgroup&) = delete;
  ~Cgroup();  // kills what is left inside and removes the directories made

  Result<void> apply(const CgroupResources& resources);
  // `update` of a running group: a limit of a v1 hierarchy the group has not joined makes its
  // directory there and moves the members in (paths() lists it, also when a later write fails);
  // v1 memory+swap is raised before memory. Then apply().
  Result<void> update(const CgroupLayout& layout, const CgroupResources& resources);
  // Device access. v1: rules ("c 1:3 rwm"; first: allow, else deny) written in order to the
  // group's devices directory (create() with "devices"). v2: a BPF_PROG_TYPE_CGROUP_DEVICE
  // program, loaded and attached to the group; it stays while the group exists.
  Result<void> restrict_devices_v1(const std::vector<std::pair<bool, std::string>>& rules);
  Result<void> attach_device_program(std::span<const bpf_insn> program);
  // Joins `pid` (0: the caller) to the group in every hierarchy.
  Result<void> add_process(pid_t pid) const;
  // On v2, an fd of the group's directory for clone3(CLONE_INTO_CGROUP); -1 on v1.
  int clone_into_fd() const { return v2_dir_fd_.get(); }
  Result<std::vector<pid_t>> processes() const;
  // The processes of every directory of the group (v1 hierarchies may disagree after a crash
  // between joins); unreadable directories count as empty.
  std::vector<pid_t> members() const;
  // SIGKILLs every process in the group until it is empty (v2: cgroup.kill; v1: freeze, kill, thaw).
  Result<void> kill_all();
  // Sends `signal` once to every process of the group (a paused group is thawed after SIGKILL,
  // so that the killed processes can die).
  void signal_all(int signal);
  // v2 cgroup.freeze, v1 freezer.state; waits until the group reached the state.
  Result<void> set_frozen(bool frozen);
  bool frozen() const;
  CgroupStats stats() const;
  CgroupUsage usage() const;
  // How often the memory limit was hit (v2 memory.events "max", v1 memory.failcnt, or a v1 peak
  // within a page of the limit: failed charges of kernel memory do not always count in failcnt).
  std::uint64_t memory_limit_hits() const;
  // Removes the directories now (kill_all first if anything is left). Idempotent.
  Result<void> destroy();
  // Leaves the directories in place when the object goes (the OCI runtime's groups outlive the
  // runtime process); paths() still names them, destroy() still removes them.
  void release() { remove_on_destruction_ = false; }
  // Parents made for the group stop being its own: removing the group leaves them, as runc does,
  // since another group may be made in them meanwhile.
  void share_parents();

  CgroupVersion version() const { return version_; }
  const std::string& relative_path() const { return relative_path_; }
  // The directory of a controller's hierarchy ("memory", "pids", ...; v2: any name gives the one dir).
  std::string path_of(const std::string& controller) const;
  const std::map<std::string, std::string>& dirs() const { return dirs_; }
  CgroupPaths paths() const { return {dirs_, owned_}; }

 private:
  Cgroup() = default;
  CgroupVersion version_ = CgroupVersion::v1;
  std::string relative_path_;
  std::map<std::string, std::string> dirs_;  // controller (v1) or "" (v2) -> absolute directory
  std::vector<std::string> owned_;           // directories made by create(), deepest last
  UniqueFd v2_dir_fd_;
  bool remove_on_destruction_ = true;
};

}  // namespace spectrum
