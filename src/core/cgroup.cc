#include "core/cgroup.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
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

// Value of `key` in a flat keyed file ("key value" lines: memory.events, cpu.stat, oom_control).
std::optional<std::uint64_t> keyed_value(const std::string& path, std::string_view key) {
  auto content = read_file(path);
  if (!content) return std::nullopt;
  std::vector<std::string_view> words = split_fields(*content, " \n");
  for (std::size_t i = 0; i + 1 < words.size(); i += 2) {
    std::uint64_t value = 0;
    if (words[i] != key) continue;
    auto [end, error] = std::from_chars(words[i + 1].begin(), words[i + 1].end(), value);
    if (error == std::errc{}) return value;
  }
  return std::nullopt;
}

std::optional<std::uint64_t> number_file(const std::string& path) {
  auto content = read_file(path);
  if (!content) return std::nullopt;
  char* end = nullptr;
  unsigned long long value = std::strtoull(content->c_str(), &end, 10);
  if (end == content->c_str()) return std::nullopt;
  return value;
}

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
      for (std::string_view option : split_fields(after[2], ","))
        for (const char* controller : kV1Controllers)
          if (option == controller) layout.v1_mounts.emplace(std::string(option), mount_point);
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
  for (const auto& [controller, mount] : layout.v1_mounts) {
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

Cgroup::Cgroup(Cgroup&& other) noexcept
    : version_(other.version_),
      relative_path_(std::move(other.relative_path_)),
      dirs_(std::move(other.dirs_)),
      owned_(std::move(other.owned_)),
      v2_dir_fd_(std::move(other.v2_dir_fd_)) {
  other.owned_.clear();
  other.dirs_.clear();
}

Cgroup& Cgroup::operator=(Cgroup&& other) noexcept {
  if (this != &other) {
    (void)destroy();
    version_ = other.version_;
    relative_path_ = std::move(other.relative_path_);
    dirs_ = std::move(other.dirs_);
    owned_ = std::move(other.owned_);
    v2_dir_fd_ = std::move(other.v2_dir_fd_);
    other.owned_.clear();
    other.dirs_.clear();
  }
  return *this;
}

Cgroup::~Cgroup() { (void)destroy(); }

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

Result<void> Cgroup::add_process(pid_t pid) {
  std::set<std::string> done;
  for (const auto& [controller, dir] : dirs_) {
    if (!done.insert(dir).second) continue;
    SPECTRUM_TRY(write_file(dir + "/cgroup.procs", std::to_string(pid)));
  }
  return {};
}

Result<std::vector<pid_t>> Cgroup::processes() const {
  std::string dir = version_ == CgroupVersion::v2 ? path_of("") : path_of("freezer");
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
  if (version_ == CgroupVersion::v2) return write_file(path_of("") + "/cgroup.freeze", frozen ? "1" : "0");
  std::string dir = path_of("freezer");
  if (dir.empty()) return fail("the freezer controller is not available");
  SPECTRUM_TRY(write_file(dir + "/freezer.state", frozen ? "FROZEN" : "THAWED"));
  if (!frozen) return {};
  // FREEZING becomes FROZEN once every task has stopped.
  for (int i = 0; i < 1000; ++i) {
    auto state = read_file(dir + "/freezer.state");
    if (state && state->starts_with("FROZEN")) return {};
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return fail("cgroup " + dir + " did not freeze");
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
  // v1 (and v2 before cgroup.kill): freeze so nothing can fork while we kill, then kill each.
  bool frozen = static_cast<bool>(set_frozen(true));
  for (int round = 0; round < 5000; ++round) {
    auto procs = processes();
    if (!procs) return std::unexpected(procs.error());
    if (procs->empty()) {
      if (frozen) (void)set_frozen(false);
      return {};
    }
    for (pid_t pid : *procs) ::kill(pid, SIGKILL);
    if (frozen && round == 0) (void)set_frozen(false);  // killed tasks die once thawed
    std::this_thread::sleep_for(std::chrono::microseconds(200));
  }
  return fail("cgroup " + relative_path_ + " did not empty");
}

CgroupStats Cgroup::stats() const {
  CgroupStats s;
  if (version_ == CgroupVersion::v2) {
    std::string dir = path_of("");
    s.peak_memory_bytes = number_file(dir + "/memory.peak").value_or(0);
    s.oom_kills = keyed_value(dir + "/memory.events", "oom_kill").value_or(0);
    s.user_cpu_us = keyed_value(dir + "/cpu.stat", "user_usec").value_or(0);
    s.system_cpu_us = keyed_value(dir + "/cpu.stat", "system_usec").value_or(0);
    return s;
  }
  if (std::string dir = path_of("memory"); !dir.empty()) {
    s.peak_memory_bytes = number_file(dir + "/memory.max_usage_in_bytes").value_or(0);
    s.oom_kills = keyed_value(dir + "/memory.oom_control", "oom_kill").value_or(0);
  }
  if (std::string dir = path_of("cpuacct"); !dir.empty()) {
    s.user_cpu_us = number_file(dir + "/cpuacct.usage_user").value_or(0) / 1000;
    s.system_cpu_us = number_file(dir + "/cpuacct.usage_sys").value_or(0) / 1000;
  }
  return s;
}

Result<void> Cgroup::destroy() {
  if (owned_.empty()) {
    dirs_.clear();
    return {};
  }
  auto procs = processes();
  if (procs && !procs->empty()) (void)kill_all();
  v2_dir_fd_.reset();
  Result<void> result;
  // Deepest first; a parent shared with a concurrent run stays (EBUSY) and that is fine.
  for (auto it = owned_.rbegin(); it != owned_.rend(); ++it) {
    bool leaf = it->ends_with("/" + relative_path_);
    int err = 0;
    for (int attempt = 0; attempt < 200; ++attempt) {
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
