#include "core/cgroup.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdlib>
#include <set>
#include <thread>

#include "core/fd.h"
#include "core/parse.h"

namespace spectrum {
namespace {

// v1 controllers we manage. cpuacct and freezer have no limits but give accounting and kill_all.
constexpr const char* kV1Controllers[] = {"memory", "cpu", "cpuacct", "cpuset", "pids", "freezer"};
constexpr const char* kV2Controllers[] = {"memory", "cpu", "cpuset", "pids"};

std::vector<std::string> split_words(std::string_view text, char separator) {
  std::vector<std::string> words;
  const char separators[] = {separator, '\n'};
  for (std::string_view word : split_fields(text, std::string_view(separators, 2))) words.emplace_back(word);
  return words;
}

std::uint64_t value_or_zero(const std::map<std::string, std::uint64_t>& keyed, const char* key) {
  auto it = keyed.find(key);
  return it == keyed.end() ? 0 : it->second;
}

// The uapi values the device program's bpf(2) calls use (enum members: no C++ layout question, but
// the numbers are the kernel's ABI).
static_assert(BPF_PROG_LOAD == 5 && BPF_PROG_ATTACH == 8);
static_assert(BPF_PROG_TYPE_CGROUP_DEVICE == 15 && BPF_CGROUP_DEVICE == 6 && BPF_F_ALLOW_MULTI == 2);
static_assert(sizeof(bpf_insn) == 8);

std::string parent_of(const std::string& path) { return path.substr(0, path.rfind('/')); }

// Makes `dir` and its missing parents below `root`; records what was made.
Result<void> make_dirs(const std::string& root, const std::string& relative, std::vector<std::string>& made) {
  std::string dir = root;
  for (const std::string& part : split_words(relative, '/')) {
    dir += "/" + part;
    if (::mkdir(dir.c_str(), 0755) == 0)
      made.push_back(dir);
    else if (errno != EEXIST)
      return fail_errno("cannot create cgroup " + dir);
  }
  return {};
}

}  // namespace

std::map<std::string, std::uint64_t> read_cgroup_keyed(const std::string& path) {
  std::map<std::string, std::uint64_t> out;
  auto text = read_file(path);
  if (!text) return out;
  std::vector<std::string_view> fields = split_fields(*text, " \n");
  for (std::size_t i = 0; i + 1 < fields.size(); i += 2)
    out[std::string(fields[i])] = std::strtoull(std::string(fields[i + 1]).c_str(), nullptr, 10);
  return out;
}

std::uint64_t read_cgroup_number(const std::string& path) {
  auto text = read_file(path);
  if (!text || text->starts_with("max")) return 0;
  return std::strtoull(text->c_str(), nullptr, 10);
}

Result<CgroupLayout> CgroupLayout::detect() {
  auto mountinfo = read_file("/proc/self/mountinfo");
  if (!mountinfo) return std::unexpected(mountinfo.error());
  // The cgroup2 root's controllers are read only if there is a cgroup2 mount.
  std::vector<std::string> controllers;
  auto first = from_mountinfo(*mountinfo, {});
  if (first && !first->unified_mount.empty()) {
    if (auto text = read_file(first->unified_mount + "/cgroup.controllers"))
      controllers = split_words(*text, ' ');
    return from_mountinfo(*mountinfo, controllers);
  }
  return first;
}

Result<CgroupLayout> CgroupLayout::from_mountinfo(std::string_view mountinfo,
                                                  const std::vector<std::string>& unified_controllers) {
  CgroupLayout layout;
  for (std::string_view line : split_fields(mountinfo, "\n")) {
    // "id parent major:minor root mountpoint options [optional...] - fstype source superoptions"
    std::size_t dash = line.find(" - ");
    if (dash == std::string_view::npos) continue;
    std::vector<std::string_view> before = split_fields(line.substr(0, dash), " ");
    std::vector<std::string_view> after = split_fields(line.substr(dash + 3), " ");
    if (before.size() < 5 || after.size() < 3) continue;
    std::string mount_point(before[4]);
    if (after[0] == "cgroup2") {
      layout.unified_mount = mount_point;
    } else if (after[0] == "cgroup") {
      for (std::string_view option : split_fields(after[2], ",")) {
        for (const char* controller : kV1Controllers)
          if (option == controller) layout.v1_mounts.emplace(std::string(option), mount_point);
        if (option == "devices" && layout.devices_mount.empty()) layout.devices_mount = mount_point;
      }
    }
  }
  layout.unified_controllers = unified_controllers;
  auto unified_has = [&](const char* name) {
    for (const std::string& c : layout.unified_controllers)
      if (c == name) return true;
    return false;
  };
  // v2 only when its hierarchy owns the controllers limits need; a cgroup2 mount holding only,
  // say, hugetlb beside v1 controllers (a hybrid host) is v1 for our purposes.
  bool v2_usable = !layout.unified_mount.empty() && unified_has("memory") && unified_has("pids");
  layout.version = v2_usable ? CgroupVersion::v2 : CgroupVersion::v1;
  layout.hybrid = !layout.unified_mount.empty() && !layout.v1_mounts.empty();
  if (!v2_usable && layout.v1_mounts.empty()) return fail("no usable cgroup hierarchy is mounted");
  return layout;
}

CgroupLayout CgroupLayout::unified_only(const std::string& mount) {
  CgroupLayout layout;
  layout.version = CgroupVersion::v2;
  layout.unified_mount = mount;
  if (auto text = read_file(mount + "/cgroup.controllers"))
    layout.unified_controllers = split_words(*text, ' ');
  return layout;
}

bool CgroupLayout::has_controller(const std::string& name) const {
  if (version == CgroupVersion::v2) {
    for (const std::string& c : unified_controllers)
      if (c == name) return true;
    return false;
  }
  return v1_mounts.contains(name);
}

std::string CgroupLayout::describe() const {
  std::string text = version == CgroupVersion::v2 ? "v2" : "v1";
  if (version == CgroupVersion::v2) {
    text += " at " + unified_mount + ":";
    for (const std::string& c : unified_controllers) text += " " + c;
    return text;
  }
  if (hybrid) {
    text += " (hybrid; cgroup2 at " + unified_mount + " with";
    if (unified_controllers.empty()) text += " no controllers";
    for (const std::string& c : unified_controllers) text += " " + c;
    text += ", unused)";
  }
  text += ":";
  for (const auto& [controller, mount] : v1_mounts) text += " " + controller;
  return text;
}

void CgroupResources::set_cpus(double cpus) {
  cpu_period_us = 100000;
  cpu_quota_us = static_cast<std::uint64_t>(cpus * 100000.0 + 0.5);
  if (*cpu_quota_us < 1000) cpu_quota_us = 1000;  // the kernel's minimum quota
}

Result<Cgroup> Cgroup::create(const CgroupLayout& layout, const std::string& relative_path,
                              const std::vector<std::string>& v1_controllers) {
  Cgroup group;
  group.version_ = layout.version;
  group.relative_path_ = relative_path;
  if (layout.version == CgroupVersion::v2) {
    // Controllers must be enabled in every ancestor's subtree_control to reach the leaf.
    std::string dir = layout.unified_mount;
    std::vector<std::string> parts = split_words(relative_path, '/');
    std::string enable;
    for (const char* controller : kV2Controllers)
      if (layout.has_controller(controller)) enable += std::string(enable.empty() ? "+" : " +") + controller;
    for (std::size_t i = 0; i < parts.size(); ++i) {
      if (!enable.empty()) (void)write_file(dir + "/cgroup.subtree_control", enable);
      dir += "/" + parts[i];
      if (::mkdir(dir.c_str(), 0755) == 0)
        group.owned_.push_back(dir);
      else if (errno != EEXIST)
        return fail_errno("cannot create cgroup " + dir);
    }
    group.dirs_.emplace("", dir);
    group.v2_dir_fd_.reset(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!group.v2_dir_fd_) return fail_errno("cannot open cgroup " + dir);
    return group;
  }
  std::set<std::string> done;  // co-mounted controllers share one directory
  std::map<std::string, std::string> mounts = layout.v1_mounts;
  bool wants_devices =
      std::find(v1_controllers.begin(), v1_controllers.end(), "devices") != v1_controllers.end();
  if (wants_devices) {
    if (layout.devices_mount.empty()) return fail("the devices cgroup controller is not mounted");
    mounts.emplace("devices", layout.devices_mount);
  }
  for (const auto& [controller, mount] : mounts) {
    if (!v1_controllers.empty() &&
        std::find(v1_controllers.begin(), v1_controllers.end(), controller) == v1_controllers.end())
      continue;
    std::string dir = mount + "/" + relative_path;
    group.dirs_.emplace(controller, dir);
    if (!done.insert(mount).second) continue;
    std::size_t first_new = group.owned_.size();
    SPECTRUM_TRY(make_dirs(mount, relative_path, group.owned_));
    if (auto cpuset = layout.v1_mounts.find("cpuset");
        cpuset != layout.v1_mounts.end() && cpuset->second == mount) {
      // A new v1 cpuset group starts with no CPUs and no memory nodes: inherit the parent's.
      for (std::size_t i = first_new; i < group.owned_.size(); ++i) {
        for (const char* file : {"cpuset.cpus", "cpuset.mems"}) {
          auto value = read_file(parent_of(group.owned_[i]) + "/" + file);
          if (!value) return std::unexpected(value.error());
          SPECTRUM_TRY(write_file(group.owned_[i] + "/" + file, *value));
        }
      }
    }
  }
  return group;
}

Cgroup Cgroup::adopt(const CgroupPaths& paths) {
  Cgroup group;
  group.version_ = paths.dirs.contains("") ? CgroupVersion::v2 : CgroupVersion::v1;
  group.dirs_ = paths.dirs;
  group.owned_ = paths.owned;
  group.remove_on_destruction_ = false;
  if (group.version_ == CgroupVersion::v2)
    group.v2_dir_fd_.reset(::open(group.dirs_[""].c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  return group;
}

void Cgroup::share_parents() {
  std::erase_if(owned_, [&](const std::string& dir) {
    return std::none_of(dirs_.begin(), dirs_.end(), [&](const auto& d) { return d.second == dir; });
  });
}

Cgroup::Cgroup(Cgroup&& other) noexcept
    : version_(other.version_),
      relative_path_(std::move(other.relative_path_)),
      dirs_(std::move(other.dirs_)),
      owned_(std::move(other.owned_)),
      v2_dir_fd_(std::move(other.v2_dir_fd_)),
      remove_on_destruction_(other.remove_on_destruction_) {
  other.owned_.clear();
  other.dirs_.clear();
}

Cgroup& Cgroup::operator=(Cgroup&& other) noexcept {
  if (this != &other) {
    if (remove_on_destruction_) (void)destroy();
    version_ = other.version_;
    relative_path_ = std::move(other.relative_path_);
    dirs_ = std::move(other.dirs_);
    owned_ = std::move(other.owned_);
    v2_dir_fd_ = std::move(other.v2_dir_fd_);
    remove_on_destruction_ = other.remove_on_destruction_;
    other.owned_.clear();
    other.dirs_.clear();
  }
  return *this;
}

Cgroup::~Cgroup() {
  if (remove_on_destruction_) (void)destroy();
}

std::string Cgroup::path_of(const std::string& controller) const {
  if (version_ == CgroupVersion::v2) {
    auto it = dirs_.find("");
    return it == dirs_.end() ? std::string() : it->second;
  }
  auto it = dirs_.find(controller);
  return it == dirs_.end() ? std::string() : it->second;
}

Result<void> Cgroup::apply(const CgroupResources& r) {
  auto set = [&](const char* controller, const std::string& file, const std::string& value) -> Result<void> {
    std::string dir = path_of(controller);
    if (dir.empty())
      return fail(std::string("cannot apply ") + file + ": the " + controller +
                  " controller is not available");
    return write_file(dir + "/" + file, value);
  };
  const bool v2 = version_ == CgroupVersion::v2;
  if (r.memory_limit) {
    SPECTRUM_TRY(set("memory", v2 ? "memory.max" : "memory.limit_in_bytes", std::to_string(*r.memory_limit)));
    // Without a swap limit the workload would swap instead of being killed at the limit.
    if (!r.memory_swap_limit) {
      if (v2)
        (void)set("memory", "memory.swap.max", "0");
      else
        (void)set("memory", "memory.memsw.limit_in_bytes", std::to_string(*r.memory_limit));
    }
  }
  if (r.memory_swap_limit) {
    std::string value = *r.memory_swap_limit < 0 ? (v2 ? "max" : "-1") : std::to_string(*r.memory_swap_limit);
    SPECTRUM_TRY(set("memory", v2 ? "memory.swap.max" : "memory.memsw.limit_in_bytes", value));
  }
  if (r.cpu_quota_us || r.cpu_period_us) {
    std::uint64_t period = r.cpu_period_us.value_or(100000);
    if (v2) {
      std::string quota = r.cpu_quota_us ? std::to_string(*r.cpu_quota_us) : "max";
      SPECTRUM_TRY(set("cpu", "cpu.max", quota + " " + std::to_string(period)));
    } else {
      SPECTRUM_TRY(set("cpu", "cpu.cfs_period_us", std::to_string(period)));
      SPECTRUM_TRY(set("cpu", "cpu.cfs_quota_us", r.cpu_quota_us ? std::to_string(*r.cpu_quota_us) : "-1"));
    }
  }
  if (r.cpu_shares) {
    if (v2) {
      std::uint64_t shares = std::clamp<std::uint64_t>(*r.cpu_shares, 2, 262144);
      std::uint64_t weight = 1 + ((shares - 2) * 9999) / 262142;
      SPECTRUM_TRY(set("cpu", "cpu.weight", std::to_string(weight)));
    } else {
      SPECTRUM_TRY(set("cpu", "cpu.shares", std::to_string(*r.cpu_shares)));
    }
  }
  if (r.cpuset_cpus) SPECTRUM_TRY(set("cpuset", "cpuset.cpus", *r.cpuset_cpus));
  if (r.cpuset_mems) SPECTRUM_TRY(set("cpuset", "cpuset.mems", *r.cpuset_mems));
  if (r.pids_limit)
    SPECTRUM_TRY(
        set("pids", "pids.max", *r.pids_limit <= 0 ? std::string("max") : std::to_string(*r.pids_limit)));
  return {};
}

Result<void> Cgroup::update(const CgroupLayout& layout, const CgroupResources& r) {
  if (version_ == CgroupVersion::v1) {
    std::vector<std::string> missing;
    auto need = [&](bool wanted, const char* controller) {
      if (wanted && !dirs_.contains(controller)) missing.emplace_back(controller);
    };
    need(r.memory_limit || r.memory_swap_limit, "memory");
    need(r.cpu_quota_us || r.cpu_period_us || r.cpu_shares, "cpu");
    need(r.cpuset_cpus || r.cpuset_mems, "cpuset");
    need(r.pids_limit.has_value(), "pids");
    if (!missing.empty()) {
      // The group's path below its hierarchy, from one directory it has.
      std::string relative;
      for (const auto& [controller, dir] : dirs_) {
        auto mount = layout.v1_mounts.find(controller);
        std::string root = controller == "devices" ? layout.devices_mount
                                                   : (mount == layout.v1_mounts.end() ? "" : mount->second);
        if (!root.empty() && dir.starts_with(root + "/")) relative = dir.substr(root.size() + 1);
      }
      if (relative.empty()) return fail("the group's directories are not under this host's cgroup mounts");
      std::vector<pid_t> members = processes().value_or(std::vector<pid_t>{});
      for (const std::string& controller : missing)
        if (!layout.v1_mounts.contains(controller))
          return fail("the " + controller + " cgroup controller is not mounted");
      // create() on existing directories makes nothing and owns nothing: only what is new to the
      // group is made, and becomes the group's.
      Cgroup added = SPECTRUM_TRY(create(layout, relative, missing));
      added.release();
      // Only the group's own new directories become its: parents made on the way stay shared.
      for (const auto& [controller, dir] : added.dirs_) {
        dirs_.emplace(controller, dir);
        bool made = std::find(added.owned_.begin(), added.owned_.end(), dir) != added.owned_.end();
        if (made && std::find(owned_.begin(), owned_.end(), dir) == owned_.end()) owned_.push_back(dir);
      }
      for (const std::string& controller : missing)
        for (pid_t pid : members)
          if (auto joined = write_file(path_of(controller) + "/cgroup.procs", std::to_string(pid));
              !joined && joined.error().sys_errno() != ESRCH)
            return std::unexpected(joined.error().wrap("move the group into its " + controller + " cgroup"));
    }
    // v1 refuses a memory limit above memory+swap's: raising both, memory+swap must go first.
    if (std::string dir = path_of("memory"); !dir.empty()) {
      std::string memsw = dir + "/memory.memsw.limit_in_bytes";
      std::optional<std::int64_t> target;
      if (r.memory_swap_limit)
        target = *r.memory_swap_limit;
      else if (r.memory_limit)
        target = static_cast<std::int64_t>(*r.memory_limit);
      if (target && ::access(memsw.c_str(), F_OK) == 0 &&
          (*target < 0 || static_cast<std::uint64_t>(*target) > read_cgroup_number(memsw)))
        if (auto raised = write_file(memsw, std::to_string(*target)); !raised)
          return std::unexpected(raised.error().wrap("memory.swap"));
    }
  }
  return apply(r);
}

Result<void> Cgroup::restrict_devices_v1(const std::vector<std::pair<bool, std::string>>& rules) {
  std::string dir = path_of("devices");
  if (version_ != CgroupVersion::v1 || dir.empty())
    return fail("the group has no directory in the devices cgroup hierarchy");
  for (const auto& [allow, rule] : rules)
    SPECTRUM_TRY(write_file(dir + (allow ? "/devices.allow" : "/devices.deny"), rule));
  return {};
}

Result<void> Cgroup::attach_device_program(std::span<const bpf_insn> program) {
  if (version_ != CgroupVersion::v2 || !v2_dir_fd_) return fail("a device program needs a cgroup v2 group");
  static const char license[] = "Apache-2.0";
  bpf_attr load{};
  load.prog_type = BPF_PROG_TYPE_CGROUP_DEVICE;
  load.insns = reinterpret_cast<std::uint64_t>(program.data());
  load.insn_cnt = static_cast<std::uint32_t>(program.size());
  load.license = reinterpret_cast<std::uint64_t>(license);
  UniqueFd prog(static_cast<int>(::syscall(SYS_bpf, BPF_PROG_LOAD, &load, sizeof load)));
  if (!prog) return fail_errno("load the cgroup v2 device program");
  bpf_attr attach{};
  attach.target_fd = static_cast<std::uint32_t>(v2_dir_fd_.get());
  attach.attach_bpf_fd = static_cast<std::uint32_t>(prog.get());
  attach.attach_type = BPF_CGROUP_DEVICE;
  attach.attach_flags = BPF_F_ALLOW_MULTI;
  if (::syscall(SYS_bpf, BPF_PROG_ATTACH, &attach, sizeof attach) != 0)
    return fail_errno("attach the device program to " + path_of(""));
  return {};
}

Result<void> Cgroup::add_process(pid_t pid) const {
  std::set<std::string> done;
  for (const auto& [controller, dir] : dirs_) {
    if (!done.insert(dir).second) continue;
    SPECTRUM_TRY(write_file(dir + "/cgroup.procs", std::to_string(pid)));
  }
  return {};
}

Result<std::vector<pid_t>> Cgroup::processes() const {
  // Any hierarchy the group joined lists the same processes; a v1 devices-only group as well.
  std::string dir;
  for (const char* preferred : {"", "freezer", "pids", "memory", "cpuacct", "cpu", "devices"})
    if (auto it = dirs_.find(preferred); dir.empty() && it != dirs_.end()) dir = it->second;
  if (dir.empty()) dir = dirs_.empty() ? std::string() : dirs_.begin()->second;
  if (dir.empty()) return std::vector<pid_t>{};
  auto content = read_file(dir + "/cgroup.procs");
  if (!content) return std::unexpected(content.error());
  std::vector<pid_t> pids;
  for (const std::string& word : split_words(*content, '\n'))
    pids.push_back(static_cast<pid_t>(std::atoi(word.c_str())));
  return pids;
}

Result<void> Cgroup::set_frozen(bool frozen) {
  if (version_ == CgroupVersion::v2) {
    std::string dir = path_of("");
    SPECTRUM_TRY(write_file(dir + "/cgroup.freeze", frozen ? "1" : "0"));
    // cgroup.events says "frozen 1" once every task has stopped (and "frozen 0" once thawed).
    for (int i = 0; i < 2000; ++i) {
      if (this->frozen() == frozen) return {};
      std::this_thread::sleep_for(std::chrono::microseconds(500));
    }
    return fail("cgroup " + dir + (frozen ? " did not freeze" : " did not thaw"));
  }
  std::string dir = path_of("freezer");
  if (dir.empty()) return fail("the freezer controller is not available");
  const char* wanted = frozen ? "FROZEN" : "THAWED";
  SPECTRUM_TRY(write_file(dir + "/freezer.state", wanted));
  // FREEZING becomes FROZEN once every task has stopped.
  for (int i = 0; i < 2000; ++i) {
    auto state = read_file(dir + "/freezer.state");
    if (!state) return std::unexpected(state.error());
    if (state->starts_with(wanted)) return {};
    std::this_thread::sleep_for(std::chrono::microseconds(500));
  }
  return fail("cgroup " + dir + (frozen ? " did not freeze" : " did not thaw"));
}

bool Cgroup::frozen() const {
  if (version_ == CgroupVersion::v2) {
    auto events = read_file(path_of("") + "/cgroup.events");
    return events && events->find("frozen 1") != std::string::npos;
  }
  std::string dir = path_of("freezer");
  if (dir.empty()) return false;
  auto state = read_file(dir + "/freezer.state");
  return state && state->starts_with("FROZEN");
}

void Cgroup::signal_all(int signal) {
  bool was_frozen = signal == SIGKILL && frozen();
  if (auto procs = processes())
    for (pid_t pid : *procs) ::kill(pid, signal);
  if (was_frozen) (void)set_frozen(false);
}

std::uint64_t Cgroup::memory_limit_hits() const {
  if (version_ == CgroupVersion::v2)
    return value_or_zero(read_cgroup_keyed(path_of("") + "/memory.events"), "max");
  std::string dir = path_of("memory");
  if (dir.empty()) return 0;
  std::uint64_t hits = read_cgroup_number(dir + "/memory.failcnt");
  std::uint64_t peak = read_cgroup_number(dir + "/memory.max_usage_in_bytes");
  std::uint64_t limit = read_cgroup_number(dir + "/memory.limit_in_bytes");
  if (hits == 0 && peak > 0 && peak + 4096 > limit) hits = 1;
  return hits;
}

Result<void> Cgroup::kill_all() {
  if (dirs_.empty()) return {};
  if (version_ == CgroupVersion::v2) {
    std::string dir = path_of("");
    if (write_file(dir + "/cgroup.kill", "1")) {
      for (int i = 0; i < 5000; ++i) {
        auto procs = processes();
        if (!procs || procs->empty()) return {};
        std::this_thread::sleep_for(std::chrono::microseconds(200));
      }
      return fail("cgroup " + dir + " did not empty after cgroup.kill");
    }
  }
  // v1 (and v2 before cgroup.kill): freeze so nothing can fork while we kill, then kill each. The
  // v1 hierarchies are each asked: after a crash between joins (a stale group) they may disagree.
  bool has_freezer = version_ == CgroupVersion::v1 && !path_of("freezer").empty();
  bool frozen = static_cast<bool>(set_frozen(true));
  for (int round = 0; round < 5000; ++round) {
    std::vector<pid_t> procs = members();
    if (procs.empty()) {
      if (frozen) (void)set_frozen(false);
      return {};
    }
    for (pid_t pid : procs) ::kill(pid, SIGKILL);
    // Killed tasks die once thawed (also when the freeze did not complete in time).
    if ((frozen || has_freezer) && round == 0) (void)set_frozen(false);
    frozen = false;
    std::this_thread::sleep_for(std::chrono::microseconds(200));
  }
  return fail("cgroup " + relative_path_ + " did not empty");
}

std::vector<pid_t> Cgroup::members() const {
  std::set<pid_t> all;
  std::set<std::string> read;
  for (const auto& [controller, dir] : dirs_) {
    if (!read.insert(dir).second) continue;
    auto content = read_file(dir + "/cgroup.procs");
    if (!content) continue;
    for (const std::string& word : split_words(*content, '\n'))
      all.insert(static_cast<pid_t>(std::atoi(word.c_str())));
  }
  return {all.begin(), all.end()};
}

CgroupStats Cgroup::stats() const {
  CgroupStats s;
  if (version_ == CgroupVersion::v2) {
    std::string dir = path_of("");
    s.peak_memory_bytes = read_cgroup_number(dir + "/memory.peak");
    s.oom_kills = value_or_zero(read_cgroup_keyed(dir + "/memory.events"), "oom_kill");
    s.user_cpu_us = value_or_zero(read_cgroup_keyed(dir + "/cpu.stat"), "user_usec");
    s.system_cpu_us = value_or_zero(read_cgroup_keyed(dir + "/cpu.stat"), "system_usec");
    return s;
  }
  if (std::string dir = path_of("memory"); !dir.empty()) {
    s.peak_memory_bytes = read_cgroup_number(dir + "/memory.max_usage_in_bytes");
    s.oom_kills = value_or_zero(read_cgroup_keyed(dir + "/memory.oom_control"), "oom_kill");
  }
  if (std::string dir = path_of("cpuacct"); !dir.empty()) {
    s.user_cpu_us = read_cgroup_number(dir + "/cpuacct.usage_user") / 1000;
    s.system_cpu_us = read_cgroup_number(dir + "/cpuacct.usage_sys") / 1000;
  }
  return s;
}

CgroupUsage Cgroup::usage() const {
  CgroupUsage u;
  if (version_ == CgroupVersion::v2) {
    std::string dir = path_of("");
    auto cpu = read_cgroup_keyed(dir + "/cpu.stat");
    auto memory_stat = read_cgroup_keyed(dir + "/memory.stat");
    auto memory_events = read_cgroup_keyed(dir + "/memory.events");
    u.v2 = true;
    u.cpu.has_usage = u.cpu.has_throttling = true;
    u.cpu.total_ns = value_or_zero(cpu, "usage_usec") * 1000;
    u.cpu.user_ns = value_or_zero(cpu, "user_usec") * 1000;
    u.cpu.kernel_ns = value_or_zero(cpu, "system_usec") * 1000;
    u.cpu.periods = value_or_zero(cpu, "nr_periods");
    u.cpu.throttled_periods = value_or_zero(cpu, "nr_throttled");
    u.cpu.throttled_ns = value_or_zero(cpu, "throttled_usec") * 1000;
    u.memory = CgroupUsage::Memory{};
    CgroupUsage::Memory& m = *u.memory;
    m.cache = value_or_zero(memory_stat, "file");
    m.usage = {read_cgroup_number(dir + "/memory.current"), read_cgroup_number(dir + "/memory.max"),
               read_cgroup_number(dir + "/memory.peak"), value_or_zero(memory_events, "max")};
    m.swap = {read_cgroup_number(dir + "/memory.swap.current"), read_cgroup_number(dir + "/memory.swap.max"),
              0, 0};
    m.raw = std::move(memory_stat);
    u.pids =
        CgroupUsage::Pids{read_cgroup_number(dir + "/pids.current"), read_cgroup_number(dir + "/pids.max")};
    return u;
  }
  if (std::string dir = path_of("cpuacct"); !dir.empty()) {
    u.cpu.has_usage = true;
    if (auto text = read_file(dir + "/cpuacct.usage_percpu"))
      for (std::string_view field : split_fields(*text, " \n"))
        u.cpu.per_cpu_ns.push_back(std::strtoull(std::string(field).c_str(), nullptr, 10));
    u.cpu.total_ns = read_cgroup_number(dir + "/cpuacct.usage");
    u.cpu.user_ns = read_cgroup_number(dir + "/cpuacct.usage_user");
    u.cpu.kernel_ns = read_cgroup_number(dir + "/cpuacct.usage_sys");
  }
  if (std::string dir = path_of("cpu"); !dir.empty()) {
    auto cpu = read_cgroup_keyed(dir + "/cpu.stat");
    u.cpu.has_throttling = true;
    u.cpu.periods = value_or_zero(cpu, "nr_periods");
    u.cpu.throttled_periods = value_or_zero(cpu, "nr_throttled");
    u.cpu.throttled_ns = value_or_zero(cpu, "throttled_time");
  }
  if (std::string dir = path_of("memory"); !dir.empty()) {
    auto counter = [&](const std::string& prefix) {
      return CgroupUsage::Counter{read_cgroup_number(dir + "/" + prefix + "usage_in_bytes"),
                                  read_cgroup_number(dir + "/" + prefix + "limit_in_bytes"),
                                  read_cgroup_number(dir + "/" + prefix + "max_usage_in_bytes"),
                                  read_cgroup_number(dir + "/" + prefix + "failcnt")};
    };
    u.memory = CgroupUsage::Memory{};
    CgroupUsage::Memory& m = *u.memory;
    m.raw = read_cgroup_keyed(dir + "/memory.stat");
    m.cache = value_or_zero(m.raw, "total_cache");
    m.usage = counter("memory.");
    m.swap = counter("memory.memsw.");
    m.kernel = counter("memory.kmem.");
  }
  if (std::string dir = path_of("pids"); !dir.empty())
    u.pids =
        CgroupUsage::Pids{read_cgroup_number(dir + "/pids.current"), read_cgroup_number(dir + "/pids.max")};
  return u;
}

Result<void> Cgroup::destroy() {
  if (owned_.empty()) {
    dirs_.clear();
    return {};
  }
  if (!members().empty()) (void)kill_all();
  v2_dir_fd_.reset();
  Result<void> result;
  // Deepest first; a parent shared with a concurrent run stays (EBUSY) and that is fine.
  for (auto it = owned_.rbegin(); it != owned_.rend(); ++it) {
    // A directory of the group itself (not a parent made for it) must go; others may stay shared.
    bool leaf = std::any_of(dirs_.begin(), dirs_.end(), [&](const auto& d) { return d.second == *it; });
    int err = 0;
    for (int attempt = 0; attempt < 500; ++attempt) {
      if (::rmdir(it->c_str()) == 0 || errno == ENOENT) {
        err = 0;
        break;
      }
      err = errno;
      if (err != EBUSY || !leaf) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(1));  // exiting tasks still counted
    }
    if (err != 0 && leaf && result) result = fail_errno("cannot remove cgroup " + *it, err);
  }
  owned_.clear();
  dirs_.clear();
  return result;
}

}  // namespace spectrum
