#include "container/oci_config.h"

#include <sched.h>
#include <seccomp.h>
#include <sys/mount.h>
#include <sys/resource.h>

#include <algorithm>
#include <array>
#include <initializer_list>

#include "container/oci_decoder.h"
#include "container/try.h"

namespace spectrum::container {
namespace oci {
namespace {

// ---- tables ---------------------------------------------------------------------------------

// Index = capability number (linux/capability.h), up to CAP_CHECKPOINT_RESTORE (40).
const std::vector<std::string> kCapabilityNames = {"CAP_CHOWN",
                                                   "CAP_DAC_OVERRIDE",
                                                   "CAP_DAC_READ_SEARCH",
                                                   "CAP_FOWNER",
                                                   "CAP_FSETID",
                                                   "CAP_KILL",
                                                   "CAP_SETGID",
                                                   "CAP_SETUID",
                                                   "CAP_SETPCAP",
                                                   "CAP_LINUX_IMMUTABLE",
                                                   "CAP_NET_BIND_SERVICE",
                                                   "CAP_NET_BROADCAST",
                                                   "CAP_NET_ADMIN",
                                                   "CAP_NET_RAW",
                                                   "CAP_IPC_LOCK",
                                                   "CAP_IPC_OWNER",
                                                   "CAP_SYS_MODULE",
                                                   "CAP_SYS_RAWIO",
                                                   "CAP_SYS_CHROOT",
                                                   "CAP_SYS_PTRACE",
                                                   "CAP_SYS_PACCT",
                                                   "CAP_SYS_ADMIN",
                                                   "CAP_SYS_BOOT",
                                                   "CAP_SYS_NICE",
                                                   "CAP_SYS_RESOURCE",
                                                   "CAP_SYS_TIME",
                                                   "CAP_SYS_TTY_CONFIG",
                                                   "CAP_MKNOD",
                                                   "CAP_LEASE",
                                                   "CAP_AUDIT_WRITE",
                                                   "CAP_AUDIT_CONTROL",
                                                   "CAP_SETFCAP",
                                                   "CAP_MAC_OVERRIDE",
                                                   "CAP_MAC_ADMIN",
                                                   "CAP_SYSLOG",
                                                   "CAP_WAKE_ALARM",
                                                   "CAP_BLOCK_SUSPEND",
                                                   "CAP_AUDIT_READ",
                                                   "CAP_PERFMON",
                                                   "CAP_BPF",
                                                   "CAP_CHECKPOINT_RESTORE"};

struct RlimitRow {
  const char* name;
  int resource;
};
constexpr RlimitRow kRlimits[] = {
    {"RLIMIT_CPU", RLIMIT_CPU},           {"RLIMIT_FSIZE", RLIMIT_FSIZE},
    {"RLIMIT_DATA", RLIMIT_DATA},         {"RLIMIT_STACK", RLIMIT_STACK},
    {"RLIMIT_CORE", RLIMIT_CORE},         {"RLIMIT_RSS", RLIMIT_RSS},
    {"RLIMIT_NPROC", RLIMIT_NPROC},       {"RLIMIT_NOFILE", RLIMIT_NOFILE},
    {"RLIMIT_MEMLOCK", RLIMIT_MEMLOCK},   {"RLIMIT_AS", RLIMIT_AS},
    {"RLIMIT_LOCKS", RLIMIT_LOCKS},       {"RLIMIT_SIGPENDING", RLIMIT_SIGPENDING},
    {"RLIMIT_MSGQUEUE", RLIMIT_MSGQUEUE}, {"RLIMIT_NICE", RLIMIT_NICE},
    {"RLIMIT_RTPRIO", RLIMIT_RTPRIO},     {"RLIMIT_RTTIME", RLIMIT_RTTIME},
};

struct NamespaceRow {
  NamespaceKind kind;
  const char* type;  // config.json spelling
  const char* proc;  // /proc/PID/ns spelling
  int clone_flag;
};
constexpr NamespaceRow kNamespaces[] = {
    {NamespaceKind::pid, "pid", "pid", CLONE_NEWPID},
    {NamespaceKind::network, "network", "net", CLONE_NEWNET},
    {NamespaceKind::ipc, "ipc", "ipc", CLONE_NEWIPC},
    {NamespaceKind::uts, "uts", "uts", CLONE_NEWUTS},
    {NamespaceKind::mount, "mount", "mnt", CLONE_NEWNS},
    {NamespaceKind::user, "user", "user", CLONE_NEWUSER},
    {NamespaceKind::cgroup, "cgroup", "cgroup", CLONE_NEWCGROUP},
};

// Mount options: what each sets or clears. Propagation options go to a separate mount call.
struct MountOptionRow {
  const char* name;
  unsigned long set;
  unsigned long clear;
  unsigned long propagation;
};
constexpr MountOptionRow kMountOptions[] = {
    {"defaults", 0, 0, 0},
    {"ro", MS_RDONLY, 0, 0},
    {"rw", 0, MS_RDONLY, 0},
    {"nosuid", MS_NOSUID, 0, 0},
    {"suid", 0, MS_NOSUID, 0},
    {"nodev", MS_NODEV, 0, 0},
    {"dev", 0, MS_NODEV, 0},
    {"noexec", MS_NOEXEC, 0, 0},
    {"exec", 0, MS_NOEXEC, 0},
    {"sync", MS_SYNCHRONOUS, 0, 0},
    {"async", 0, MS_SYNCHRONOUS, 0},
    {"dirsync", MS_DIRSYNC, 0, 0},
    {"remount", MS_REMOUNT, 0, 0},
    {"mand", MS_MANDLOCK, 0, 0},
    {"nomand", 0, MS_MANDLOCK, 0},
    {"atime", 0, MS_NOATIME, 0},
    {"noatime", MS_NOATIME, 0, 0},
    {"diratime", 0, MS_NODIRATIME, 0},
    {"nodiratime", MS_NODIRATIME, 0, 0},
    {"relatime", MS_RELATIME, 0, 0},
    {"norelatime", 0, MS_RELATIME, 0},
    {"strictatime", MS_STRICTATIME, 0, 0},
    {"nostrictatime", 0, MS_STRICTATIME, 0},
    {"bind", MS_BIND, 0, 0},
    {"rbind", MS_BIND | MS_REC, 0, 0},
    {"private", 0, 0, MS_PRIVATE},
    {"rprivate", 0, 0, MS_PRIVATE | MS_REC},
    {"shared", 0, 0, MS_SHARED},
    {"rshared", 0, 0, MS_SHARED | MS_REC},
    {"slave", 0, 0, MS_SLAVE},
    {"rslave", 0, 0, MS_SLAVE | MS_REC},
    {"unbindable", 0, 0, MS_UNBINDABLE},
    {"runbindable", 0, 0, MS_UNBINDABLE | MS_REC},
};
// runc's recursive options: the same flags, applied to every mount of a bind's tree.
struct RecursiveMountOptionRow {
  const char* name;
  unsigned long set;
  unsigned long clear;
};
constexpr RecursiveMountOptionRow kRecursiveMountOptions[] = {
    {"rro", MS_RDONLY, 0},
    {"rrw", 0, MS_RDONLY},
    {"rnosuid", MS_NOSUID, 0},
    {"rsuid", 0, MS_NOSUID},
    {"rnodev", MS_NODEV, 0},
    {"rdev", 0, MS_NODEV},
    {"rnoexec", MS_NOEXEC, 0},
    {"rexec", 0, MS_NOEXEC},
    {"rnoatime", MS_NOATIME, 0},
    {"rrelatime", MS_RELATIME, 0},
    {"rstrictatime", MS_STRICTATIME, 0},
    {"rnodiratime", MS_NODIRATIME, 0},
};
// Options that filesystems take as data; passed through verbatim.
constexpr std::string_view kDataOptionPrefixes[] = {
    "mode=", "size=", "uid=", "gid=", "nr_inodes=", "newinstance", "ptmxmode=", "nr_blocks="};

}  // namespace

Result<User> Decoder::user(const json& j, const std::string& path) const {
  SPECTRUM_TRY(check_object(j, path, {"uid", "gid", "umask", "additionalGids"}, {"username"}));
  User u;
  if (!j.contains("uid")) return error(join(path, "uid"), "missing");
  if (!j.contains("gid")) return error(join(path, "gid"), "missing");
  u.uid = static_cast<std::uint32_t>(SPECTRUM_TRY(unsigned_integer(j["uid"], join(path, "uid"), UINT32_MAX)));
  u.gid = static_cast<std::uint32_t>(SPECTRUM_TRY(unsigned_integer(j["gid"], join(path, "gid"), UINT32_MAX)));
  SPECTRUM_TRY(optional_field(j, path, "umask", [&](const json& v, const std::string& p) -> Result<void> {
    u.umask = static_cast<std::uint32_t>(SPECTRUM_TRY(unsigned_integer(v, p, 0777)));
    return {};
  }));
  SPECTRUM_TRY(
      optional_field(j, path, "additionalGids", [&](const json& v, const std::string& p) -> Result<void> {
        if (!v.is_array()) return error(p, "expected an array of integers");
        for (std::size_t i = 0; i < v.size(); ++i)
          u.additional_gids.push_back(
              static_cast<std::uint32_t>(SPECTRUM_TRY(unsigned_integer(v[i], index(p, i), UINT32_MAX))));
        return {};
      }));
  return u;
}

Result<CapabilitySets> Decoder::capabilities(const json& j, const std::string& path) const {
  SPECTRUM_TRY(check_object(j, path, {"bounding", "effective", "inheritable", "permitted", "ambient"}));
  CapabilitySets sets;
  auto decode_set = [&](const char* key, std::uint64_t& mask) -> Result<void> {
    return optional_field(j, path, key, [&](const json& v, const std::string& p) -> Result<void> {
      auto names = SPECTRUM_TRY(strings(v, p));
      for (std::size_t i = 0; i < names.size(); ++i) {
        auto number = capability_number(names[i]);
        if (!number) return error(index(p, i), "unknown capability '" + names[i] + "'");
        mask |= std::uint64_t{1} << *number;
      }
      return {};
    });
  };
  SPECTRUM_TRY(decode_set("bounding", sets.bounding));
  SPECTRUM_TRY(decode_set("effective", sets.effective));
  SPECTRUM_TRY(decode_set("inheritable", sets.inheritable));
  SPECTRUM_TRY(decode_set("permitted", sets.permitted));
  SPECTRUM_TRY(decode_set("ambient", sets.ambient));
  return sets;
}

Result<Process> Decoder::process(const json& j, const std::string& path, bool require_args) const {
  SPECTRUM_TRY(check_object(
      j, path,
      {"terminal", "consoleSize", "args", "env", "cwd", "user", "capabilities", "rlimits", "noNewPrivileges",
       "oomScoreAdj"},
      {"apparmorProfile", "selinuxLabel", "commandLine", "ioPriority", "scheduler", "execCPUAffinity"}));
  Process p;
  SPECTRUM_TRY(optional_field(j, path, "terminal", [&](const json& v, const std::string& f) -> Result<void> {
    p.terminal = SPECTRUM_TRY(boolean(v, f));
    return {};
  }));
  SPECTRUM_TRY(
      optional_field(j, path, "consoleSize", [&](const json& v, const std::string& f) -> Result<void> {
        return check_object(v, f, {"height", "width"});
      }));
  if (!j.contains("args") || j["args"].is_null()) {
    if (require_args) return error(join(path, "args"), "missing (the program to run)");
  } else {
    p.args = SPECTRUM_TRY(strings(j["args"], join(path, "args")));
    if (p.args.empty() && require_args) return error(join(path, "args"), "empty (the program to run)");
  }
  SPECTRUM_TRY(optional_field(j, path, "env", [&](const json& v, const std::string& f) -> Result<void> {
    p.env = SPECTRUM_TRY(strings(v, f));
    for (std::size_t i = 0; i < p.env.size(); ++i)
      if (p.env[i].find('=') == std::string::npos)
        return error(index(f, i), "expected KEY=VALUE, found '" + p.env[i] + "'");
    return {};
  }));
  SPECTRUM_TRY(optional_field(j, path, "cwd", [&](const json& v, const std::string& f) -> Result<void> {
    p.cwd = SPECTRUM_TRY(string(v, f));
    if (!p.cwd.starts_with('/')) return error(f, "must be an absolute path, found '" + p.cwd + "'");
    return {};
  }));
  if (!j.contains("user")) {
    if (require_args) return error(join(path, "user"), "missing");
  } else {
    p.user = SPECTRUM_TRY(user(j["user"], join(path, "user")));
  }
  SPECTRUM_TRY(
      optional_field(j, path, "capabilities", [&](const json& v, const std::string& f) -> Result<void> {
        p.capabilities = SPECTRUM_TRY(capabilities(v, f));
        return {};
      }));
  SPECTRUM_TRY(optional_field(j, path, "rlimits", [&](const json& v, const std::string& f) -> Result<void> {
    if (!v.is_array()) return error(f, "expected an array");
    for (std::size_t i = 0; i < v.size(); ++i) {
      std::string item = index(f, i);
      SPECTRUM_TRY(check_object(v[i], item, {"type", "soft", "hard"}));
      if (!v[i].contains("type")) return error(join(item, "type"), "missing");
      Rlimit r;
      r.name = SPECTRUM_TRY(string(v[i]["type"], join(item, "type")));
      auto number = rlimit_number(r.name);
      if (!number) return error(join(item, "type"), "unknown rlimit '" + r.name + "'");
      r.resource = *number;
      if (!v[i].contains("soft")) return error(join(item, "soft"), "missing");
      if (!v[i].contains("hard")) return error(join(item, "hard"), "missing");
      r.soft = SPECTRUM_TRY(unsigned_integer(v[i]["soft"], join(item, "soft")));
      r.hard = SPECTRUM_TRY(unsigned_integer(v[i]["hard"], join(item, "hard")));
      if (r.soft > r.hard)
        return error(item, r.name + ": soft limit " + std::to_string(r.soft) + " is above the hard limit " +
                               std::to_string(r.hard));
      for (const Rlimit& seen : p.rlimits)
        if (seen.resource == r.resource)
          return error(join(item, "type"), "duplicate rlimit '" + r.name + "'");
      p.rlimits.push_back(std::move(r));
    }
    return {};
  }));
  SPECTRUM_TRY(
      optional_field(j, path, "noNewPrivileges", [&](const json& v, const std::string& f) -> Result<void> {
        p.no_new_privileges = SPECTRUM_TRY(boolean(v, f));
        return {};
      }));
  SPECTRUM_TRY(
      optional_field(j, path, "oomScoreAdj", [&](const json& v, const std::string& f) -> Result<void> {
        std::int64_t adj = SPECTRUM_TRY(integer(v, f));
        if (adj < -1000 || adj > 1000)
          return error(f, "must be between -1000 and 1000, found " + std::to_string(adj));
        p.oom_score_adj = static_cast<int>(adj);
        return {};
      }));
  return p;
}

Result<MountEntry> Decoder::mount(const json& j, const std::string& path) const {
  SPECTRUM_TRY(
      check_object(j, path, {"destination", "type", "source", "options"}, {"uidMappings", "gidMappings"}));
  MountEntry m;
  if (!j.contains("destination")) return error(join(path, "destination"), "missing");
  m.destination = SPECTRUM_TRY(string(j["destination"], join(path, "destination")));
  if (!m.destination.starts_with('/'))
    return error(join(path, "destination"), "must be an absolute path, found '" + m.destination + "'");
  SPECTRUM_TRY(optional_field(j, path, "type", [&](const json& v, const std::string& f) -> Result<void> {
    m.type = SPECTRUM_TRY(string(v, f));
    return {};
  }));
  SPECTRUM_TRY(optional_field(j, path, "source", [&](const json& v, const std::string& f) -> Result<void> {
    m.source = SPECTRUM_TRY(string(v, f));
    return {};
  }));
  SPECTRUM_TRY(optional_field(j, path, "options", [&](const json& v, const std::string& f) -> Result<void> {
    auto options = SPECTRUM_TRY(strings(v, f));
    for (std::size_t i = 0; i < options.size(); ++i) {
      const std::string& option = options[i];
      bool matched = false;
      for (const MountOptionRow& row : kMountOptions)
        if (option == row.name) {
          m.flags = (m.flags & ~row.clear) | row.set;
          m.clear_flags |= row.clear;
          if (row.propagation) m.propagation = row.propagation;
          matched = true;
          break;
        }
      if (!matched)
        for (const RecursiveMountOptionRow& row : kRecursiveMountOptions)
          if (option == row.name) {
            m.recursive_flags = (m.recursive_flags & ~row.clear) | row.set;
            m.recursive_clear = (m.recursive_clear & ~row.set) | row.clear;
            matched = true;
            break;
          }
      if (!matched)
        for (std::string_view prefix : kDataOptionPrefixes)
          if (option.starts_with(prefix)) {
            if (!m.data.empty()) m.data += ',';
            m.data += option;
            matched = true;
            break;
          }
      if (!matched) return error(index(f, i), "unknown mount option '" + option + "'");
    }
    return {};
  }));
  m.bind = (m.flags & MS_BIND) || m.type == "bind";
  if (m.bind) m.flags |= MS_BIND;
  static constexpr std::string_view kTypes[] = {"proc",   "sysfs",   "tmpfs", "devpts", "mqueue",
                                                "cgroup", "cgroup2", "bind",  "none",   ""};
  bool type_known = false;
  for (std::string_view t : kTypes) type_known |= t == m.type;
  if (!type_known && !m.bind) return error(join(path, "type"), "unsupported mount type '" + m.type + "'");
  if (m.bind && m.source.empty()) return error(join(path, "source"), "a bind mount needs a source");
  if (!m.bind && (m.recursive_flags || m.recursive_clear))
    return error(join(path, "options"), "recursive options (rro, ...) apply to bind mounts only");
  return m;
}

Result<Namespace> Decoder::namespace_entry(const json& j, const std::string& path) const {
  SPECTRUM_TRY(check_object(j, path, {"type", "path"}));
  if (!j.contains("type")) return error(join(path, "type"), "missing");
  std::string type = SPECTRUM_TRY(string(j["type"], join(path, "type")));
  for (const NamespaceRow& row : kNamespaces)
    if (type == row.type) {
      Namespace ns{row.kind, row.clone_flag, {}};
      SPECTRUM_TRY(optional_field(j, path, "path", [&](const json& v, const std::string& f) -> Result<void> {
        ns.path = SPECTRUM_TRY(string(v, f));
        if (!ns.path.empty() && !ns.path.starts_with('/'))
          return error(f, "must be an absolute path, found '" + ns.path + "'");
        return {};
      }));
      return ns;
    }
  return error(join(path, "type"), "unknown namespace type '" + type + "'");
}

Result<std::vector<IdMapping>> Decoder::id_mappings(const json& j, const std::string& path) const {
  if (!j.is_array()) return error(path, "expected an array");
  std::vector<IdMapping> out;
  for (std::size_t i = 0; i < j.size(); ++i) {
    std::string item = index(path, i);
    SPECTRUM_TRY(check_object(j[i], item, {"containerID", "hostID", "size"}));
    IdMapping m;
    for (auto [key, field] : {std::pair{"containerID", &m.container_id}, std::pair{"hostID", &m.host_id},
                              std::pair{"size", &m.size}}) {
      if (!j[i].contains(key)) return error(join(item, key), "missing");
      *field =
          static_cast<std::uint32_t>(SPECTRUM_TRY(unsigned_integer(j[i][key], join(item, key), UINT32_MAX)));
    }
    if (m.size == 0) return error(join(item, "size"), "must not be 0");
    out.push_back(m);
  }
  return out;
}

Result<Device> Decoder::device(const json& j, const std::string& path) const {
  SPECTRUM_TRY(check_object(j, path, {"type", "path", "major", "minor", "fileMode", "uid", "gid"}));
  Device d;
  if (!j.contains("path")) return error(join(path, "path"), "missing");
  d.path = SPECTRUM_TRY(string(j["path"], join(path, "path")));
  if (!d.path.starts_with("/dev/"))
    return error(join(path, "path"), "must be under /dev, found '" + d.path + "'");
  if (!j.contains("type")) return error(join(path, "type"), "missing");
  std::string type = SPECTRUM_TRY(string(j["type"], join(path, "type")));
  if (type != "c" && type != "b" && type != "u" && type != "p")
    return error(join(path, "type"), "unknown device type '" + type + "'");
  d.type = type == "u" ? 'c' : type[0];
  if (d.type != 'p') {
    if (!j.contains("major")) return error(join(path, "major"), "missing");
    if (!j.contains("minor")) return error(join(path, "minor"), "missing");
    d.major = SPECTRUM_TRY(integer(j["major"], join(path, "major")));
    d.minor = SPECTRUM_TRY(integer(j["minor"], join(path, "minor")));
  }
  SPECTRUM_TRY(optional_field(j, path, "fileMode", [&](const json& v, const std::string& f) -> Result<void> {
    d.file_mode = static_cast<std::uint32_t>(SPECTRUM_TRY(unsigned_integer(v, f, 07777)));
    return {};
  }));
  SPECTRUM_TRY(optional_field(j, path, "uid", [&](const json& v, const std::string& f) -> Result<void> {
    d.uid = static_cast<std::uint32_t>(SPECTRUM_TRY(unsigned_integer(v, f, UINT32_MAX)));
    return {};
  }));
  SPECTRUM_TRY(optional_field(j, path, "gid", [&](const json& v, const std::string& f) -> Result<void> {
    d.gid = static_cast<std::uint32_t>(SPECTRUM_TRY(unsigned_integer(v, f, UINT32_MAX)));
    return {};
  }));
  return d;
}

Result<void> Decoder::linux_section(const json& j, const std::string& path, Config& c) const {
  SPECTRUM_TRY(
      check_object(j, path,
                   {"namespaces", "uidMappings", "gidMappings", "devices", "cgroupsPath", "resources",
                    "seccomp", "maskedPaths", "readonlyPaths", "sysctl", "rootfsPropagation", "mountLabel"},
                   {"timeOffsets", "intelRdt", "personality", "memoryPolicy"}));
  SPECTRUM_TRY(
      optional_field(j, path, "namespaces", [&](const json& v, const std::string& f) -> Result<void> {
        if (!v.is_array()) return error(f, "expected an array");
        for (std::size_t i = 0; i < v.size(); ++i) {
          Namespace ns = SPECTRUM_TRY(namespace_entry(v[i], index(f, i)));
          if (c.find_namespace(ns.kind))
            return error(join(index(f, i), "type"),
                         "namespace '" + std::string(namespace_type_name(ns.kind)) + "' given twice");
          c.namespaces.push_back(std::move(ns));
        }
        return {};
      }));
  SPECTRUM_TRY(
      optional_field(j, path, "uidMappings", [&](const json& v, const std::string& f) -> Result<void> {
        c.uid_mappings = SPECTRUM_TRY(id_mappings(v, f));
        return {};
      }));
  SPECTRUM_TRY(
      optional_field(j, path, "gidMappings", [&](const json& v, const std::string& f) -> Result<void> {
        c.gid_mappings = SPECTRUM_TRY(id_mappings(v, f));
        return {};
      }));
  SPECTRUM_TRY(optional_field(j, path, "devices", [&](const json& v, const std::string& f) -> Result<void> {
    if (!v.is_array()) return error(f, "expected an array");
    for (std::size_t i = 0; i < v.size(); ++i) c.devices.push_back(SPECTRUM_TRY(device(v[i], index(f, i))));
    return {};
  }));
  SPECTRUM_TRY(
      optional_field(j, path, "cgroupsPath", [&](const json& v, const std::string& f) -> Result<void> {
        c.cgroups_path = SPECTRUM_TRY(string(v, f));
        if (c.cgroups_path.find("..") != std::string::npos) return error(f, "must not contain '..'");
        if (c.cgroups_path.find(':') != std::string::npos)
          return error(
              f, "systemd slice syntax '" + c.cgroups_path + "' is not supported by spectrum (no systemd)");
        return {};
      }));
  SPECTRUM_TRY(optional_field(j, path, "resources", [&](const json& v, const std::string& f) -> Result<void> {
    return resources(v, f, c);
  }));
  SPECTRUM_TRY(optional_field(j, path, "seccomp", [&](const json& v, const std::string& f) -> Result<void> {
    c.seccomp = SPECTRUM_TRY(seccomp(v, f));
    return {};
  }));
  for (auto [key, out] :
       {std::pair{"maskedPaths", &c.masked_paths}, std::pair{"readonlyPaths", &c.readonly_paths}}) {
    SPECTRUM_TRY(optional_field(j, path, key, [&](const json& v, const std::string& f) -> Result<void> {
      *out = SPECTRUM_TRY(strings(v, f));
      for (std::size_t i = 0; i < out->size(); ++i)
        if (!(*out)[i].starts_with('/'))
          return error(index(f, i), "must be an absolute path, found '" + (*out)[i] + "'");
      return {};
    }));
  }
  SPECTRUM_TRY(optional_field(j, path, "sysctl", [&](const json& v, const std::string& f) -> Result<void> {
    if (!v.is_object()) return error(f, "expected an object");
    for (auto it = v.begin(); it != v.end(); ++it) {
      std::string key = it.key();
      if (key.find("..") != std::string::npos || key.find('/') != std::string::npos)
        return error(join(f, key), "invalid sysctl name");
      c.sysctl[key] = SPECTRUM_TRY(string(*it, join(f, key)));
    }
    return {};
  }));
  SPECTRUM_TRY(
      optional_field(j, path, "rootfsPropagation", [&](const json& v, const std::string& f) -> Result<void> {
        std::string p = SPECTRUM_TRY(string(v, f));
        for (const MountOptionRow& row : kMountOptions)
          if (row.propagation && p == row.name) {
            c.rootfs_propagation = row.propagation;
            return {};
          }
        return error(f, "unknown propagation '" + p + "'");
      }));
  SPECTRUM_TRY(
      optional_field(j, path, "mountLabel", [&](const json& v, const std::string& f) -> Result<void> {
        if (!SPECTRUM_TRY(string(v, f)).empty()) return error(f, "not supported by spectrum (no SELinux)");
        return {};
      }));
  // Cross-field checks.
  const Namespace* user_ns = c.find_namespace(NamespaceKind::user);
  if (user_ns && user_ns->path.empty() && (c.uid_mappings.empty() || c.gid_mappings.empty()))
    return error(join(path, "uidMappings"), "a new user namespace needs uidMappings and gidMappings");
  if ((!user_ns || !user_ns->path.empty()) && (!c.uid_mappings.empty() || !c.gid_mappings.empty()))
    return error(join(path, "uidMappings"), "mappings need a new user namespace in linux.namespaces");
  for (const auto& [key, value] : c.sysctl)
    SPECTRUM_TRY(check_sysctl(c, key, join(join(path, "sysctl"), key)));
  return {};
}

}  // namespace oci

using namespace oci;

std::optional<int> capability_number(std::string_view name) {
  for (std::size_t i = 0; i < kCapabilityNames.size(); ++i)
    if (kCapabilityNames[i] == name) return static_cast<int>(i);
  return std::nullopt;
}
const std::vector<std::string>& capability_names() { return kCapabilityNames; }
std::optional<int> rlimit_number(std::string_view name) {
  for (const RlimitRow& row : kRlimits)
    if (name == row.name) return row.resource;
  return std::nullopt;
}
std::string_view namespace_type_name(NamespaceKind kind) {
  for (const NamespaceRow& row : kNamespaces)
    if (row.kind == kind) return row.type;
  return "?";
}
std::string_view namespace_proc_name(NamespaceKind kind) {
  for (const NamespaceRow& row : kNamespaces)
    if (row.kind == kind) return row.proc;
  return "?";
}
const std::vector<std::string>& supported_mount_options() {
  static const std::vector<std::string> names = [] {
    std::vector<std::string> out;
    for (const MountOptionRow& row : kMountOptions) out.emplace_back(row.name);
    for (const RecursiveMountOptionRow& row : kRecursiveMountOptions) out.emplace_back(row.name);
    return out;
  }();
  return names;
}

std::string DeviceRule::to_v1_rule() const {
  std::string rule = type;
  if (type == "a") return "a *:* " + access;
  rule += ' ';
  rule += major ? std::to_string(*major) : "*";
  rule += ':';
  rule += minor ? std::to_string(*minor) : "*";
  rule += ' ';
  rule += access;
  return rule;
}

const Namespace* Config::find_namespace(NamespaceKind kind) const {
  for (const Namespace& ns : namespaces)
    if (ns.kind == kind) return &ns;
  return nullptr;
}

Result<Config> decode_config(const nlohmann::json& doc, const std::string& bundle, std::string_view source) {
  Decoder d(source);
  SPECTRUM_TRY(d.check_object(
      doc, "",
      {"ociVersion", "process", "root", "hostname", "domainname", "mounts", "linux", "hooks", "annotations"},
      {"solaris", "windows", "vm", "zos"}));
  Config c;
  if (!doc.contains("ociVersion")) return d.error("ociVersion", "missing");
  c.oci_version = SPECTRUM_TRY(d.string(doc["ociVersion"], "ociVersion"));
  if (!c.oci_version.starts_with("1."))
    return d.error("ociVersion", "unsupported version '" + c.oci_version + "' (spectrum speaks 1.x)");
  if (!doc.contains("process")) return d.error("process", "missing");
  c.process = SPECTRUM_TRY(d.process(doc["process"], "process", true));
  if (!doc.contains("root")) return d.error("root", "missing");
  SPECTRUM_TRY(d.check_object(doc["root"], "root", {"path", "readonly"}));
  if (!doc["root"].contains("path")) return d.error("root.path", "missing");
  c.root_path = SPECTRUM_TRY(d.string(doc["root"]["path"], "root.path"));
  if (c.root_path.empty()) return d.error("root.path", "empty");
  if (!c.root_path.starts_with('/')) c.root_path = bundle + "/" + c.root_path;
  SPECTRUM_TRY(d.optional_field(doc["root"], "root", "readonly",
                                [&](const nlohmann::json& v, const std::string& f) -> Result<void> {
                                  c.root_readonly = SPECTRUM_TRY(d.boolean(v, f));
                                  return {};
                                }));
  for (auto [key, out] : {std::pair{"hostname", &c.hostname}, std::pair{"domainname", &c.domainname}})
    SPECTRUM_TRY(
        d.optional_field(doc, "", key, [&](const nlohmann::json& v, const std::string& f) -> Result<void> {
          *out = SPECTRUM_TRY(d.string(v, f));
          if (out->size() > 64) return d.error(f, "longer than 64 bytes");
          return {};
        }));
  SPECTRUM_TRY(
      d.optional_field(doc, "", "mounts", [&](const nlohmann::json& v, const std::string& f) -> Result<void> {
        if (!v.is_array()) return d.error(f, "expected an array");
        for (std::size_t i = 0; i < v.size(); ++i) {
          MountEntry m = SPECTRUM_TRY(d.mount(v[i], Decoder::index(f, i)));
          // A relative bind source names a path in the bundle, as with runc (not the caller's cwd).
          if (m.bind && !m.source.starts_with('/')) m.source = bundle + "/" + m.source;
          c.mounts.push_back(std::move(m));
        }
        return {};
      }));
  SPECTRUM_TRY(
      d.optional_field(doc, "", "linux", [&](const nlohmann::json& v, const std::string& f) -> Result<void> {
        return d.linux_section(v, f, c);
      }));
  if (!c.hostname.empty() && !c.has_new_namespace(NamespaceKind::uts))
    return d.error("hostname", "setting the hostname needs a new uts namespace");
  SPECTRUM_TRY(
      d.optional_field(doc, "", "hooks", [&](const nlohmann::json& v, const std::string& f) -> Result<void> {
        SPECTRUM_TRY(d.check_object(
            v, f,
            {"prestart", "createRuntime", "createContainer", "startContainer", "poststart", "poststop"}));
        for (auto [key, out] :
             {std::pair{"prestart", &c.hooks.prestart}, std::pair{"createRuntime", &c.hooks.create_runtime},
              std::pair{"createContainer", &c.hooks.create_container},
              std::pair{"startContainer", &c.hooks.start_container},
              std::pair{"poststart", &c.hooks.poststart}, std::pair{"poststop", &c.hooks.poststop}})
          SPECTRUM_TRY(d.optional_field(v, f, key,
                                        [&](const nlohmann::json& h, const std::string& hf) -> Result<void> {
                                          *out = SPECTRUM_TRY(d.hooks(h, hf));
                                          return {};
                                        }));
        return {};
      }));
  SPECTRUM_TRY(d.optional_field(
      doc, "", "annotations", [&](const nlohmann::json& v, const std::string& f) -> Result<void> {
        if (!v.is_object()) return d.error(f, "expected an object");
        for (auto it = v.begin(); it != v.end(); ++it)
          c.annotations[it.key()] = SPECTRUM_TRY(d.string(*it, Decoder::join(f, it.key())));
        return {};
      }));
  return c;
}

namespace {
// A JSON document, or one line naming the source and the byte offset of the syntax error.
Result<nlohmann::json> parse_json(std::string_view text, std::string_view source) {
  nlohmann::json doc = nlohmann::json::parse(text, nullptr, false);
  if (!doc.is_discarded()) return doc;
  // Parse again with exceptions only to learn the byte offset of the syntax error.
  try {
    nlohmann::json ignored = nlohmann::json::parse(text);
    (void)ignored;
  } catch (const nlohmann::json::parse_error& e) {
    return fail(std::string(source) + ": malformed JSON at byte " + std::to_string(e.byte) + ": " +
                std::string(e.what()).substr(std::string(e.what()).rfind(':') + 2));
  } catch (const nlohmann::json::exception& e) {
    // Not a syntax error: a number out of range ("1E999999"), which the non-throwing parse throws too.
    std::string what = e.what();
    return fail(std::string(source) + ": malformed JSON: " + what.substr(what.find("] ") + 2));
  }
  return fail(std::string(source) + ": malformed JSON");
}
}  // namespace

Result<Config> parse_config(std::string_view text, const std::string& bundle, std::string_view source) {
  nlohmann::json doc = SPECTRUM_TRY(parse_json(text, source));
  return decode_config(doc, bundle, source);
}

Result<Process> parse_process(std::string_view text, std::string_view source) {
  nlohmann::json doc = SPECTRUM_TRY(parse_json(text, source));
  Decoder d(source);
  return d.process(doc, "", true);
}

Result<Seccomp> decode_seccomp(const nlohmann::json& j, std::string_view source, const std::string& path) {
  return Decoder(source).seccomp(j, path);
}

Result<CgroupResources> parse_resources(std::string_view text, std::string_view source) {
  nlohmann::json doc = SPECTRUM_TRY(parse_json(text, source));
  Config config;
  SPECTRUM_TRY(Decoder(source).resources(doc, "", config));
  if (!config.device_rules.empty())
    return fail(std::string(source) + ": devices: cannot be changed by update");
  return config.resources;
}

}  // namespace spectrum::container