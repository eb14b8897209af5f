// The state directory of the runc-compatible runtime: one folder per container under --root
// (default /run/spectrum) holding state.json and, between create and start, the exec fifo. The
// state is written before `create` returns, so a crash of Spectrum between create and start leaves
// everything `start`, `kill` and `delete --force` need.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <utility>

#include "container/launcher.h"
#include "core/error.h"

namespace spectrum::container {

// A JSON integer that T holds, else nothing. nlohmann's get<T>() converts a float (what a number
// beyond 64 bits parses as) with a cast whose overflow is undefined: state files are untrusted.
template <class T>
std::optional<T> json_integer(const nlohmann::json& v) {
  if (v.is_number_unsigned()) {
    if (const auto u = v.get<std::uint64_t>(); std::in_range<T>(u)) return static_cast<T>(u);
  } else if (v.is_number_integer()) {
    if (const auto i = v.get<std::int64_t>(); std::in_range<T>(i)) return static_cast<T>(i);
  }
  return std::nullopt;
}

enum class Status { creating, created, running, paused, stopped };
std::string_view to_string(Status status);

struct ContainerState {
  std::string id;
  std::string bundle;
  pid_t pid = 0;
  std::uint64_t pid_start_time = 0;  // /proc/PID/stat field 22: tells a reused pid apart
  std::string created;               // RFC 3339
  std::map<std::string, std::string> annotations;
  std::string handler = "container";  // the tier that runs it (handler_name): exec goes there too
  CgroupPaths cgroups;                // Cgroup::adopt(cgroups) acts on the container's group
  nlohmann::json poststop = nlohmann::json::array();  // hooks to run at delete
};

class StateStore {
 public:
  explicit StateStore(std::string root) : root_(std::move(root)) {}
  const std::string& root() const { return root_; }
  std::string dir_of(const std::string& id) const { return root_ + "/" + id; }
  std::string fifo_of(const std::string& id) const { return dir_of(id) + "/exec.fifo"; }

  static Result<void> check_id(const std::string& id);
  // Makes the container's folder; fails when the id is taken.
  Result<void> reserve(const std::string& id) const;
  Result<void> save(const ContainerState& state) const;
  Result<ContainerState> load(const std::string& id) const;  // "container does not exist" if absent
  // The container's cgroups from their own file (cgroups.json, written by save beside state.json),
  // for `delete --force` when state.json is damaged: a container given its own cgroupsPath is
  // found nowhere else. Only directories inside a cgroup hierarchy, never a hierarchy's root.
  Result<CgroupPaths> load_cgroups(const std::string& id) const;
  Result<void> remove(const std::string& id) const;
  Status status_of(const ContainerState& state) const;
  nlohmann::json oci_state(const ContainerState& state) const;  // the JSON `state` prints
  std::vector<std::string> list() const;

 private:
  std::string root_;
};

std::uint64_t process_start_time(pid_t pid);  // 0 if gone or a zombie
std::string now_rfc3339();

}  // namespace spectrum::container
