// The OCI runtime configuration (config.json, runtime-spec 1.1) decoded into plain structs.
// Decoding validates everything it can without touching the host; every error names the JSON field
// path ("config.json: linux.namespaces[2].type: unknown namespace type 'foo'"). Fields the runtime
// does not implement are rejected by name, never ignored.
#pragma once

#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "core/cgroup.h"
#include "core/error.h"

namespace spectrum::container {

struct User {
  std::uint32_t uid = 0;
  std::uint32_t gid = 0;
  std::optional<std::uint32_t> umask;
  std::vector<std::uint32_t> additional_gids;
};

struct Rlimit {
  std::string name;  // "RLIMIT_NOFILE"
  int resource = 0;
  std::uint64_t soft = 0;
  std::uint64_t hard = 0;
};

// Capability sets as bit masks (bit N = capability N).
struct CapabilitySets {
  std::uint64_t bounding = 0, effective = 0, inheritable = 0, permitted = 0, ambient = 0;
};

struct Process {
  bool terminal = false;
  std::vector<std::string> args;
  std::vector<std::string> env;
  std::string cwd = "/";
  User user;
  std::optional<CapabilitySets> capabilities;  // absent: no capabilities at all (runc's behaviour)
  std::vector<Rlimit> rlimits;
  bool no_new_privileges = false;
  std::optional<int> oom_score_adj;
};

struct MountEntry {
  std::string destination;
  std::string type;
  std::string source;
  unsigned long flags = 0;        // MS_* set by options
  unsigned long clear_flags = 0;  // MS_* explicitly cleared (rw, suid, ...)
  unsigned long propagation = 0;  // MS_PRIVATE/MS_SLAVE/MS_SHARED/MS_UNBINDABLE (|MS_REC)
  // runc's recursive options (rro, rnosuid, ...): MS_* set or cleared on every mount of the tree,
  // submounts included (mount_setattr with AT_RECURSIVE), where plain ones touch the top only.
  unsigned long recursive_flags = 0;
  unsigned long recursive_clear = 0;
  bool bind = false;
  std::string data;  // options the filesystem itself takes (mode=755, size=65536k, ...)
};

enum class NamespaceKind { pid, network, ipc, uts, mount, user, cgroup };

struct Namespace {
  NamespaceKind kind;
  int clone_flag = 0;
  std::string path;  // empty: create a new one
};

struct IdMapping {
  std::uint32_t container_id = 0, host_id = 0, size = 0;
};

struct Device {
  char type = 'c';  // c, b, u, p
  std::string path;
  std::int64_t major = 0, minor = 0;
  std::uint32_t file_mode = 0666;
  std::uint32_t uid = 0, gid = 0;
};

// linux.resources.devices: the v1 devices controller's allow/deny list.
struct DeviceRule {
  bool allow = false;
  std::string type = "a";
  std::optional<std::int64_t> major, minor;
  std::string access = "rwm";
  std::string to_v1_rule() const;  // "c 1:3 rwm"
};

struct Hook {
  std::string path;
  std::vector<std::string> args;
  std::vector<std::string> env;
  std::optional<int> timeout_seconds;
};

struct Hooks {
  std::vector<Hook> prestart, create_runtime, create_container, start_container, poststart, poststop;
  bool empty() const {
    return prestart.empty() && create_runtime.empty() && create_container.empty() &&
           start_container.empty() && poststart.empty() && poststop.empty();
  }
};

struct SeccompArg {
  unsigned index = 0;
  std::uint64_t value = 0, value_two = 0;
  int op = 0;  // scmp_compare
};
struct SeccompRule {
  std::vector<std::string> names;
  std::uint32_t action = 0;  // SCMP_ACT_* with the errno folded in
  std::vector<SeccompArg> args;
};
struct Seccomp {
  std::uint32_t default_action = 0;
  std::vector<std::uint32_t> architectures;  // SCMP_ARCH_*
  std::vector<std::string> flags;            // SECCOMP_FILTER_FLAG_* names
  std::vector<SeccompRule> rules;
  std::string canonical_json;  // the section as given, dumped canonically: the compile cache key
};

struct Config {
  std::string oci_version;
  Process process;
  std::string root_path;  // absolute (bundle-relative paths are resolved by the decoder)
  bool root_readonly = false;
  std::string hostname, domainname;
  std::vector<MountEntry> mounts;
  std::vector<Namespace> namespaces;
  std::vector<IdMapping> uid_mappings, gid_mappings;
  std::vector<Device> devices;
  std::vector<DeviceRule> device_rules;
  std::string cgroups_path;
  CgroupResources resources;
  std::optional<Seccomp> seccomp;
  std::vector<std::string> masked_paths, readonly_paths;
  std::map<std::string, std::string> sysctl;
  unsigned long rootfs_propagation = 0;  // 0: MS_SLAVE|MS_REC like runc
  Hooks hooks;
  std::map<std::string, std::string> annotations;

  const Namespace* find_namespace(NamespaceKind kind) const;
  bool has_new_namespace(NamespaceKind kind) const {
    const Namespace* ns = find_namespace(kind);
    return ns && ns->path.empty();
  }
};

// Decodes config.json text. `bundle` resolves a relative root.path; `source` names the file in
// errors ("config.json"). Errors carry runc's exit code 1 through the caller.
Result<Config> parse_config(std::string_view text, const std::string& bundle,
                            std::string_view source = "config.json");
Result<Config> decode_config(const nlohmann::json& doc, const std::string& bundle, std::string_view source);
// A process.json of `exec --process`.
Result<Process> parse_process(std::string_view text, std::string_view source = "process.json");
// The linux.seccomp object alone (the default profile is kept as JSON too).
Result<Seccomp> decode_seccomp(const nlohmann::json& j, std::string_view source, const std::string& path);

// A linux.resources object alone, as `update -r FILE` reads it.
Result<CgroupResources> parse_resources(std::string_view text, std::string_view source);

// Table lookups shared with the runtime and the `features` verb.
std::optional<int> capability_number(std::string_view name);  // "CAP_SYS_ADMIN" -> 21
const std::vector<std::string>& capability_names();           // index = number
std::optional<int> rlimit_number(std::string_view name);
std::string_view namespace_type_name(NamespaceKind kind);  // "network"
std::string_view namespace_proc_name(NamespaceKind kind);  // "net" (/proc/PID/ns/net)
const std::vector<std::string>& supported_mount_options();

}  // namespace spectrum::container
