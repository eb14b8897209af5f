#include "container/state.h"

#include <dirent.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <ctime>

#include "container/try.h"
#include "core/fd.h"

namespace spectrum::container {

std::string_view to_string(Status status) {
  switch (status) {
    case Status::creating:
      return "creating";
    case Status::created:
      return "created";
    case Status::running:
      return "running";
    case Status::paused:
      return "paused";
    case Status::stopped:
      return "stopped";
  }
  return "unknown";
}

std::uint64_t process_start_time(pid_t pid) {
  auto text = read_file("/proc/" + std::to_string(pid) + "/stat");
  if (!text) return 0;
  // The command name may hold spaces and parentheses: fields count from the last ')'.
  std::size_t pos = text->rfind(')');
  if (pos == std::string::npos || pos + 2 >= text->size()) return 0;
  char state = (*text)[pos + 2];
  if (state == 'Z' || state == 'X') return 0;
  int field = 2;
  for (std::size_t i = pos + 1; i < text->size(); ++i)
    if ((*text)[i] == ' ' && ++field == 22) return std::strtoull(text->c_str() + i + 1, nullptr, 10);
  return 0;
}

std::string now_rfc3339() {
  auto now = std::chrono::system_clock::now();
  std::time_t seconds = std::chrono::system_clock::to_time_t(now);
  auto nanos =
      std::chrono::duration_cast<std::chrono::nanoseconds>(now.time_since_epoch()).count() % 1000000000;
  std::tm tm{};
  ::gmtime_r(&seconds, &tm);
  char buffer[64];
  std::snprintf(buffer, sizeof buffer, "%04d-%02d-%02dT%02d:%02d:%02d.%09lldZ", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, static_cast<long long>(nanos));
  return buffer;
}

Result<void> StateStore::check_id(const std::string& id) {
  if (id.empty()) return fail("container id cannot be empty");
  if (id.size() > 1024) return fail("container id is too long");
  for (char c : id)
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_' && c != '-' && c != '.' && c != '+')
      return fail("invalid container id '" + id + "': only letters, digits and _ - . + are allowed");
  if (id == "." || id == "..") return fail("invalid container id '" + id + "'");
  return {};
}

Result<void> StateStore::reserve(const std::string& id) const {
  if (::mkdir(dir_of(id).c_str(), 0711) == 0) return {};  // the root exists after the first container
  if (errno == EEXIST) return fail("container with id '" + id + "' already exists");
  for (std::size_t pos = 1; pos != std::string::npos;) {
    pos = root_.find('/', pos + 1);
    std::string prefix = root_.substr(0, pos);
    if (::mkdir(prefix.c_str(), 0711) != 0 && errno != EEXIST) return fail_errno("state directory " + prefix);
  }
  if (::mkdir(dir_of(id).c_str(), 0711) != 0) {
    if (errno == EEXIST) return fail("container with id '" + id + "' already exists");
    return fail_errno("state directory " + dir_of(id));
  }
  return {};
}

Result<void> StateStore::save(const ContainerState& s) const {
  nlohmann::json j = {{"id", s.id},
                      {"bundle", s.bundle},
                      {"pid", s.pid},
                      {"pid_start_time", s.pid_start_time},
                      {"created", s.created},
                      {"annotations", s.annotations},
                      {"handler", s.handler},
                      {"cgroup_dirs", s.cgroups.dirs},
                      {"cgroup_owned", s.cgroups.owned},
                      {"poststop", s.poststop}};
  nlohmann::json cgroups = {{"cgroup_dirs", s.cgroups.dirs}, {"cgroup_owned", s.cgroups.owned}};
  for (const auto& [name, text] :
       {std::pair{"/cgroups.json", cgroups.dump()}, std::pair{"/state.json", j.dump()}}) {
    std::string path = dir_of(s.id) + name;
    std::string temp = path + ".tmp";
    SPECTRUM_TRY(write_new_file(temp, text, 0600));
    if (::rename(temp.c_str(), path.c_str()) != 0) return fail_errno("save " + path);
  }
  return {};
}

namespace {
// A directory of a cgroup hierarchy below its root: killing what it lists and removing it can
// only touch one group (a damaged file naming a hierarchy's root, or any other path, is skipped).
bool is_cgroup_below_root(const std::string& dir) {
  struct statfs fs {};
  if (dir.empty() || dir.front() != '/' || ::statfs(dir.c_str(), &fs) != 0) return false;
  if (fs.f_type != CGROUP_SUPER_MAGIC && fs.f_type != CGROUP2_SUPER_MAGIC) return false;
  struct stat self {
  }, parent{};
  return ::stat(dir.c_str(), &self) == 0 && ::stat((dir + "/..").c_str(), &parent) == 0 &&
         self.st_dev == parent.st_dev && self.st_ino != parent.st_ino;
}
}  // namespace

Result<CgroupPaths> StateStore::load_cgroups(const std::string& id) const {
  SPECTRUM_TRY(check_id(id));
  std::string path = dir_of(id) + "/cgroups.json";
  std::string text = SPECTRUM_TRY(read_file(path));
  nlohmann::json j = nlohmann::json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return fail(path + ": corrupt cgroups file");
  CgroupPaths cgroups;
  try {
    for (auto& [name, dir] : j.at("cgroup_dirs").get<std::map<std::string, std::string>>())
      if (is_cgroup_below_root(dir)) cgroups.dirs.emplace(name, dir);
    for (auto& dir : j.at("cgroup_owned").get<std::vector<std::string>>())
      if (is_cgroup_below_root(dir)) cgroups.owned.push_back(dir);
  } catch (const nlohmann::json::exception& e) {
    return fail(path + ": corrupt cgroups file: " + e.what());
  }
  return cgroups;
}

namespace {
// The poststop hooks as `delete` reads them (runc_cli.cc): each an object with a string path,
// string arrays args and env, and an int timeout, so that reading them cannot throw there.
bool hooks_well_formed(const nlohmann::json& hooks) {
  const auto strings = [](const nlohmann::json& h, const char* key) {
    const auto it = h.find(key);
    return it != h.end() && it->is_array() &&
           std::all_of(it->begin(), it->end(), [](const nlohmann::json& v) { return v.is_string(); });
  };
  return hooks.is_array() && std::all_of(hooks.begin(), hooks.end(), [&](const nlohmann::json& h) {
           return h.is_object() && h.contains("path") && h["path"].is_string() && strings(h, "args") &&
                  strings(h, "env") && h.contains("timeout") && json_integer<int>(h["timeout"]);
         });
}
}  // namespace

Result<ContainerState> StateStore::load(const std::string& id) const {
  SPECTRUM_TRY(check_id(id));
  std::string path = dir_of(id) + "/state.json";
  auto text = read_file(path);
  if (!text) {
    if (text.error().sys_errno() == ENOENT) return fail("container '" + id + "' does not exist", ENOENT);
    return std::unexpected(text.error());
  }
  nlohmann::json j = nlohmann::json::parse(*text, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return fail(path + ": corrupt state file");
  try {
    ContainerState s;
    s.id = j.at("id").get<std::string>();
    s.bundle = j.at("bundle").get<std::string>();
    const auto pid = json_integer<pid_t>(j.at("pid"));
    const auto start_time = json_integer<std::uint64_t>(j.at("pid_start_time"));
    if (!pid || !start_time)
      return fail(path + ": corrupt state file: pid or pid_start_time is not an integer in range");
    s.pid = *pid;
    s.pid_start_time = *start_time;
    s.created = j.at("created").get<std::string>();
    s.annotations = j.at("annotations").get<std::map<std::string, std::string>>();
    s.handler = j.value("handler", std::string("container"));
    s.cgroups.dirs = j.at("cgroup_dirs").get<std::map<std::string, std::string>>();
    s.cgroups.owned = j.at("cgroup_owned").get<std::vector<std::string>>();
    s.poststop = j.at("poststop");
    if (!hooks_well_formed(s.poststop)) return fail(path + ": corrupt state file: poststop hooks");
    return s;
  } catch (const nlohmann::json::exception& e) {
    return fail(path + ": corrupt state file: " + e.what());
  }
}

Result<void> StateStore::remove(const std::string& id) const {
  std::string dir = dir_of(id);
  for (const char* name : {"/state.json", "/state.json.tmp", "/cgroups.json", "/cgroups.json.tmp",
                           "/exec.fifo", "/guest-exec.sock"})
    ::unlink((dir + name).c_str());
  if (::rmdir(dir.c_str()) != 0 && errno != ENOENT) return fail_errno("remove state directory " + dir);
  return {};
}

Status StateStore::status_of(const ContainerState& s) const {
  if (s.pid <= 0) return Status::stopped;
  std::uint64_t start = process_start_time(s.pid);
  if (start == 0 || start != s.pid_start_time) return Status::stopped;
  if (::access(fifo_of(s.id).c_str(), F_OK) == 0) return Status::created;
  if (Cgroup::adopt(s.cgroups).frozen()) return Status::paused;
  return Status::running;
}

nlohmann::json StateStore::oci_state(const ContainerState& s) const {
  Status status = status_of(s);
  nlohmann::json j = {{"ociVersion", "1.1.0"},
                      {"id", s.id},
                      {"status", std::string(to_string(status))},
                      {"pid", status == Status::stopped ? 0 : s.pid},
                      {"bundle", s.bundle},
                      {"rootfs", s.bundle + "/rootfs"},
                      {"created", s.created},
                      {"owner", ""}};
  if (!s.annotations.empty()) j["annotations"] = s.annotations;
  return j;
}

std::vector<std::string> StateStore::list() const {
  std::vector<std::string> ids;
  DIR* dir = ::opendir(root_.c_str());
  if (!dir) return ids;
  while (dirent* entry = ::readdir(dir)) {
    std::string name = entry->d_name;
    if (name == "." || name == ".." || name == "seccomp") continue;
    if (::access((root_ + "/" + name + "/state.json").c_str(), F_OK) == 0) ids.push_back(name);
  }
  ::closedir(dir);
  return ids;
}

}  // namespace spectrum::container

namespace spectrum::container {
Result<void> write_new_file(const std::string& path, std::string_view content, unsigned mode) {
  UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode));
  if (!fd) return fail_errno("cannot create " + path);
  return write_all(fd.get(), content);
}
}  // namespace spectrum::container
