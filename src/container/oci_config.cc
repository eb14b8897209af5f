#include "container/oci_config.h"

#include <sched.h>
#include <seccomp.h>
#include <sys/mount.h>
#include <sys/resource.h>

#include <algorithm>
#include <array>
#include <initializer_list>

#include "container/try.h"

namespace spectrum::container {
namespace {

using nlohmann::json;

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

struct SeccompActionRow {
  const char* name;
  std::uint32_t action;
  bool takes_errno;
};
const SeccompActionRow kSeccompActions[] = {
    {"SCMP_ACT_KILL", SCMP_ACT_KILL, false},
    {"SCMP_ACT_KILL_THREAD", SCMP_ACT_KILL_THREAD, false},
    {"SCMP_ACT_KILL_PROCESS", SCMP_ACT_KILL_PROCESS, false},
    {"SCMP_ACT_TRAP", SCMP_ACT_TRAP, false},
    {"SCMP_ACT_ERRNO", SCMP_ACT_ERRNO(0), true},
    {"SCMP_ACT_TRACE", SCMP_ACT_TRACE(0), true},
    {"SCMP_ACT_ALLOW", SCMP_ACT_ALLOW, false},
    {"SCMP_ACT_LOG", SCMP_ACT_LOG, false},
};
struct SeccompArchRow {
  const char* name;
  std::uint32_t arch;
};
const SeccompArchRow kSeccompArches[] = {
    {"SCMP_ARCH_X86", SCMP_ARCH_X86},         {"SCMP_ARCH_X86_64", SCMP_ARCH_X86_64},
    {"SCMP_ARCH_X32", SCMP_ARCH_X32},         {"SCMP_ARCH_ARM", SCMP_ARCH_ARM},
    {"SCMP_ARCH_AARCH64", SCMP_ARCH_AARCH64}, {"SCMP_ARCH_RISCV64", SCMP_ARCH_RISCV64},
    {"SCMP_ARCH_PPC64LE", SCMP_ARCH_PPC64LE}, {"SCMP_ARCH_S390X", SCMP_ARCH_S390X},
};
struct SeccompOpRow {
  const char* name;
  int op;
};
constexpr SeccompOpRow kSeccompOps[] = {
    {"SCMP_CMP_NE", SCMP_CMP_NE},
    {"SCMP_CMP_LT", SCMP_CMP_LT},
    {"SCMP_CMP_LE", SCMP_CMP_LE},
    {"SCMP_CMP_EQ", SCMP_CMP_EQ},
    {"SCMP_CMP_GE", SCMP_CMP_GE},
    {"SCMP_CMP_GT", SCMP_CMP_GT},
    {"SCMP_CMP_MASKED_EQ", SCMP_CMP_MASKED_EQ},
};
constexpr std::string_view kSeccompFlags[] = {"SECCOMP_FILTER_FLAG_TSYNC", "SECCOMP_FILTER_FLAG_LOG",
                                              "SECCOMP_FILTER_FLAG_SPEC_ALLOW"};

// ---- the decoder: walks the document keeping the field path for errors ------------------------

class Decoder {
 public:
  explicit Decoder(std::string_view source) : source_(source) {}

  std::unexpected<Error> error(const std::string& path, const std::string& problem) const {
    return fail(std::string(source_) + ": " + path + ": " + problem);
  }

  // Every key of `j` must be in `known`; `unsupported` keys are known to the spec but not done here.
  Result<void> check_object(const json& j, const std::string& path,
                            std::initializer_list<std::string_view> known,
                            std::initializer_list<std::string_view> unsupported = {}) const {
    if (!j.is_object())
      return error(path.empty() ? "(document)" : path,
                   "expected an object, found " + std::string(j.type_name()));
    for (auto it = j.begin(); it != j.end(); ++it) {
      std::string_view key = it.key();
      bool is_known = false;
      for (std::string_view k : known) is_known |= k == key;
      if (is_known) continue;
      std::string field = join(path, it.key());
      for (std::string_view k : unsupported)
        if (k == key) {
          if (it->is_null() || (it->is_string() && it->get<std::string>().empty())) goto next;
          return error(field, "not supported by spectrum");
        }
      return error(field, "unknown field");
    next:;
    }
    return {};
  }

  static std::string join(const std::string& path, std::string_view key) {
    return path.empty() ? std::string(key) : path + "." + std::string(key);
  }
  static std::string index(const std::string& path, std::size_t i) {
    return path + "[" + std::to_string(i) + "]";
  }

  Result<std::string> string(const json& j, const std::string& path) const {
    if (!j.is_string()) return error(path, "expected a string, found " + std::string(j.type_name()));
    std::string text = j.get<std::string>();
    // The kernel takes C strings: a NUL would cut the value short without a word.
    if (text.find('\0') != std::string::npos) return error(path, "contains a NUL byte");
    return text;
  }
  Result<bool> boolean(const json& j, const std::string& path) const {
    if (!j.is_boolean()) return error(path, "expected true or false, found " + std::string(j.type_name()));
    return j.get<bool>();
  }
  Result<std::int64_t> integer(const json& j, const std::string& path) const {
    if (!j.is_number_integer())
      return error(path, "expected an integer, found " + std::string(j.type_name()));
    return j.get<std::int64_t>();
  }
  Result<std::uint64_t> unsigned_integer(const json& j, const std::string& path,
                                         std::uint64_t max = UINT64_MAX) const {
    if (!j.is_number_unsigned() && !(j.is_number_integer() && j.get<std::int64_t>() >= 0))
      return error(path, "expected a non-negative integer, found " +
                             (j.is_number() ? j.dump() : std::string(j.type_name())));
    std::uint64_t v = j.get<std::uint64_t>();
    if (v > max)
      return error(path,
                   "value " + std::to_string(v) + " is out of range (at most " + std::to_string(max) + ")");
    return v;
  }
  Result<std::vector<std::string>> strings(const json& j, const std::string& path) const {
    if (!j.is_array())
      return error(path, "expected an array of strings, found " + std::string(j.type_name()));
    std::vector<std::string> out;
    out.reserve(j.size());
    for (std::size_t i = 0; i < j.size(); ++i) out.push_back(SPECTRUM_TRY(string(j[i], index(path, i))));
    return out;
  }

  // Calls `f(value, path)` for j[key] when present (and not null).
  template <class F>
  Result<void> optional_field(const json& j, const std::string& path, const char* key, F&& f) const {
    auto it = j.find(key);
    if (it == j.end() || it->is_null()) return {};
    return f(*it, join(path, key));
  }

  Result<Process> process(const json& j, const std::string& path, bool require_args) const;
  Result<User> user(const json& j, const std::string& path) const;
  Result<CapabilitySets> capabilities(const json& j, const std::string& path) const;
  Result<MountEntry> mount(const json& j, const std::string& path) const;
  Result<Namespace> namespace_entry(const json& j, const std::string& path) const;
  Result<std::vector<IdMapping>> id_mappings(const json& j, const std::string& path) const;
  Result<Device> device(const json& j, const std::string& path) const;
  Result<void> resources(const json& j, const std::string& path, Config& config) const;
  Result<void> check_sysctl(const Config& c, const std::string& key, const std::string& field) const;
  Result<std::vector<Hook>> hooks(const json& j, const std::string& path) const;
  Result<Seccomp> seccomp(const json& j, const std::string& path) const;
  Result<void> linux_section(const json& j, const std::string& path, Config& config) const;

 private:
  std::string_view source_;
};

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

Result<void> Decoder::resources(const json& j, const std::string& path, Config& config) const {
  SPECTRUM_TRY(check_object(j, path, {"devices", "memory", "cpu", "pids"},
                            {"blockIO", "hugepageLimits", "network", "rdma", "unified"}));
  CgroupResources& r = config.resources;
  SPECTRUM_TRY(optional_field(j, path, "devices", [&](const json& v, const std::string& f) -> Result<void> {
    if (!v.is_array()) return error(f, "expected an array");
    for (std::size_t i = 0; i < v.size(); ++i) {
      std::string item = index(f, i);
      SPECTRUM_TRY(check_object(v[i], item, {"allow", "type", "major", "minor", "access"}));
      DeviceRule rule;
      if (!v[i].contains("allow")) return error(join(item, "allow"), "missing");
      rule.allow = SPECTRUM_TRY(boolean(v[i]["allow"], join(item, "allow")));
      SPECTRUM_TRY(
          optional_field(v[i], item, "type", [&](const json& t, const std::string& tf) -> Result<void> {
            rule.type = SPECTRUM_TRY(string(t, tf));
            if (rule.type != "a" && rule.type != "c" && rule.type != "b")
              return error(tf, "unknown device type '" + rule.type + "'");
            return {};
          }));
      SPECTRUM_TRY(
          optional_field(v[i], item, "major", [&](const json& t, const std::string& tf) -> Result<void> {
            rule.major = SPECTRUM_TRY(integer(t, tf));
            return {};
          }));
      SPECTRUM_TRY(
          optional_field(v[i], item, "minor", [&](const json& t, const std::string& tf) -> Result<void> {
            rule.minor = SPECTRUM_TRY(integer(t, tf));
            return {};
          }));
      SPECTRUM_TRY(
          optional_field(v[i], item, "access", [&](const json& t, const std::string& tf) -> Result<void> {
            rule.access = SPECTRUM_TRY(string(t, tf));
            if (rule.access.empty() || rule.access.find_first_not_of("rwm") != std::string::npos)
              return error(tf, "expected letters of 'rwm', found '" + rule.access + "'");
            return {};
          }));
      config.device_rules.push_back(rule);
    }
    return {};
  }));
  SPECTRUM_TRY(optional_field(j, path, "memory", [&](const json& v, const std::string& f) -> Result<void> {
    SPECTRUM_TRY(check_object(v, f, {"limit", "swap", "reservation", "disableOOMKiller", "swappiness"},
                              {"kernel", "kernelTCP", "useHierarchy", "checkBeforeUpdate"}));
    SPECTRUM_TRY(optional_field(v, f, "limit", [&](const json& x, const std::string& xf) -> Result<void> {
      std::int64_t limit = SPECTRUM_TRY(integer(x, xf));
      if (limit == 0 || limit < -1)
        return error(xf, "must be positive or -1, found " + std::to_string(limit));
      if (limit > 0) r.memory_limit = static_cast<std::uint64_t>(limit);
      return {};
    }));
    SPECTRUM_TRY(optional_field(v, f, "swap", [&](const json& x, const std::string& xf) -> Result<void> {
      r.memory_swap_limit = SPECTRUM_TRY(integer(x, xf));
      return {};
    }));
    // Soft hints without a limit: accepted only at their neutral values.
    SPECTRUM_TRY(
        optional_field(v, f, "reservation", [&](const json& x, const std::string& xf) -> Result<void> {
          if (SPECTRUM_TRY(integer(x, xf)) > 0) return error(xf, "not supported by spectrum");
          return {};
        }));
    SPECTRUM_TRY(
        optional_field(v, f, "disableOOMKiller", [&](const json& x, const std::string& xf) -> Result<void> {
          if (SPECTRUM_TRY(boolean(x, xf))) return error(xf, "not supported by spectrum");
          return {};
        }));
    SPECTRUM_TRY(
        optional_field(v, f, "swappiness", [&](const json& x, const std::string& xf) -> Result<void> {
          (void)SPECTRUM_TRY(unsigned_integer(x, xf));
          return error(xf, "not supported by spectrum");
        }));
    return {};
  }));
  SPECTRUM_TRY(optional_field(j, path, "cpu", [&](const json& v, const std::string& f) -> Result<void> {
    bool period_given_zero = false;
    SPECTRUM_TRY(check_object(v, f, {"shares", "quota", "period", "cpus", "mems"},
                              {"realtimeRuntime", "realtimePeriod", "burst", "idle"}));
    SPECTRUM_TRY(optional_field(v, f, "shares", [&](const json& x, const std::string& xf) -> Result<void> {
      std::uint64_t shares = SPECTRUM_TRY(unsigned_integer(x, xf));
      if (shares != 0) r.cpu_shares = shares;
      return {};
    }));
    SPECTRUM_TRY(optional_field(v, f, "quota", [&](const json& x, const std::string& xf) -> Result<void> {
      std::int64_t quota = SPECTRUM_TRY(integer(x, xf));
      if (quota < -1)
        return error(xf, "must be positive, or -1 for no limit, found " + std::to_string(quota));
      if (quota > 0) r.cpu_quota_us = static_cast<std::uint64_t>(quota);
      return {};
    }));
    SPECTRUM_TRY(optional_field(v, f, "period", [&](const json& x, const std::string& xf) -> Result<void> {
      std::uint64_t period = SPECTRUM_TRY(unsigned_integer(x, xf));
      // The kernel's range for cfs_period_us: 1 ms to 1 s.
      if (period != 0 && (period < 1000 || period > 1000000))
        return error(xf, "must be between 1000 and 1000000 microseconds, found " + std::to_string(period));
      if (period != 0) r.cpu_period_us = period;
      period_given_zero = period == 0;
      return {};
    }));
    SPECTRUM_TRY(optional_field(v, f, "cpus", [&](const json& x, const std::string& xf) -> Result<void> {
      std::string cpus = SPECTRUM_TRY(string(x, xf));
      if (!cpus.empty()) r.cpuset_cpus = cpus;
      return {};
    }));
    SPECTRUM_TRY(optional_field(v, f, "mems", [&](const json& x, const std::string& xf) -> Result<void> {
      std::string mems = SPECTRUM_TRY(string(x, xf));
      if (!mems.empty()) r.cpuset_mems = mems;
      return {};
    }));
    if (r.cpu_quota_us && period_given_zero)
      return error(join(f, "period"), "must be positive when a quota is set, found 0");
    if (r.cpu_quota_us && !r.cpu_period_us) r.cpu_period_us = 100000;
    return {};
  }));
  SPECTRUM_TRY(optional_field(j, path, "pids", [&](const json& v, const std::string& f) -> Result<void> {
    SPECTRUM_TRY(check_object(v, f, {"limit"}));
    if (!v.contains("limit")) return error(join(f, "limit"), "missing");
    r.pids_limit = SPECTRUM_TRY(integer(v["limit"], join(f, "limit")));
    if (*r.pids_limit < -1)
      return error(join(f, "limit"),
                   "must be positive, or 0 or -1 for no limit, found " + std::to_string(*r.pids_limit));
    return {};
  }));
  return {};
}

Result<std::vector<Hook>> Decoder::hooks(const json& j, const std::string& path) const {
  if (!j.is_array()) return error(path, "expected an array");
  std::vector<Hook> out;
  for (std::size_t i = 0; i < j.size(); ++i) {
    std::string item = index(path, i);
    SPECTRUM_TRY(check_object(j[i], item, {"path", "args", "env", "timeout"}));
    Hook h;
    if (!j[i].contains("path")) return error(join(item, "path"), "missing");
    h.path = SPECTRUM_TRY(string(j[i]["path"], join(item, "path")));
    if (!h.path.starts_with('/'))
      return error(join(item, "path"), "must be an absolute path, found '" + h.path + "'");
    SPECTRUM_TRY(optional_field(j[i], item, "args", [&](const json& v, const std::string& f) -> Result<void> {
      h.args = SPECTRUM_TRY(strings(v, f));
      return {};
    }));
    SPECTRUM_TRY(optional_field(j[i], item, "env", [&](const json& v, const std::string& f) -> Result<void> {
      h.env = SPECTRUM_TRY(strings(v, f));
      return {};
    }));
    SPECTRUM_TRY(
        optional_field(j[i], item, "timeout", [&](const json& v, const std::string& f) -> Result<void> {
          std::int64_t t = SPECTRUM_TRY(integer(v, f));
          if (t <= 0) return error(f, "must be positive, found " + std::to_string(t));
          h.timeout_seconds = static_cast<int>(t);
          return {};
        }));
    if (h.args.empty()) h.args.push_back(h.path);
    out.push_back(std::move(h));
  }
  return out;
}

Result<Seccomp> Decoder::seccomp(const json& j, const std::string& path) const {
  SPECTRUM_TRY(check_object(j, path,
                            {"defaultAction", "defaultErrnoRet", "architectures", "flags", "syscalls"},
                            {"listenerPath", "listenerMetadata"}));
  Seccomp s;
  s.canonical_json = j.dump();
  auto action = [&](const json& v, const std::string& f,
                    std::optional<std::uint32_t> errno_ret) -> Result<std::uint32_t> {
    std::string name = SPECTRUM_TRY(string(v, f));
    for (const SeccompActionRow& row : kSeccompActions)
      if (name == row.name) {
        if (row.takes_errno)
          return (row.action & ~0xffffu) | (errno_ret.value_or(1) & 0xffffu);  // EPERM by default
        return row.action;
      }
    if (name == "SCMP_ACT_NOTIFY") return error(f, "action 'SCMP_ACT_NOTIFY' is not supported by spectrum");
    return error(f, "unknown seccomp action '" + name + "'");
  };
  std::optional<std::uint32_t> default_errno;
  SPECTRUM_TRY(
      optional_field(j, path, "defaultErrnoRet", [&](const json& v, const std::string& f) -> Result<void> {
        default_errno = static_cast<std::uint32_t>(SPECTRUM_TRY(unsigned_integer(v, f, 4095)));
        return {};
      }));
  if (!j.contains("defaultAction")) return error(join(path, "defaultAction"), "missing");
  s.default_action = SPECTRUM_TRY(action(j["defaultAction"], join(path, "defaultAction"), default_errno));
  SPECTRUM_TRY(
      optional_field(j, path, "architectures", [&](const json& v, const std::string& f) -> Result<void> {
        auto names = SPECTRUM_TRY(strings(v, f));
        for (std::size_t i = 0; i < names.size(); ++i) {
          bool found = false;
          for (const SeccompArchRow& row : kSeccompArches)
            if (names[i] == row.name) {
              s.architectures.push_back(row.arch);
              found = true;
            }
          if (!found) return error(index(f, i), "unknown architecture '" + names[i] + "'");
        }
        return {};
      }));
  SPECTRUM_TRY(optional_field(j, path, "flags", [&](const json& v, const std::string& f) -> Result<void> {
    s.flags = SPECTRUM_TRY(strings(v, f));
    for (std::size_t i = 0; i < s.flags.size(); ++i) {
      bool found = false;
      for (std::string_view known : kSeccompFlags) found |= known == s.flags[i];
      if (!found) return error(index(f, i), "unsupported seccomp flag '" + s.flags[i] + "'");
    }
    return {};
  }));
  SPECTRUM_TRY(optional_field(j, path, "syscalls", [&](const json& v, const std::string& f) -> Result<void> {
    if (!v.is_array()) return error(f, "expected an array");
    for (std::size_t i = 0; i < v.size(); ++i) {
      std::string item = index(f, i);
      SPECTRUM_TRY(check_object(v[i], item,
                                {"names", "action", "errnoRet", "args", "comment", "includes", "excludes"}));
      SeccompRule rule;
      if (!v[i].contains("names")) return error(join(item, "names"), "missing");
      rule.names = SPECTRUM_TRY(strings(v[i]["names"], join(item, "names")));
      std::optional<std::uint32_t> errno_ret;
      SPECTRUM_TRY(
          optional_field(v[i], item, "errnoRet", [&](const json& x, const std::string& xf) -> Result<void> {
            errno_ret = static_cast<std::uint32_t>(SPECTRUM_TRY(unsigned_integer(x, xf, 4095)));
            return {};
          }));
      if (!v[i].contains("action")) return error(join(item, "action"), "missing");
      rule.action = SPECTRUM_TRY(action(v[i]["action"], join(item, "action"), errno_ret));
      for (const char* unsupported : {"includes", "excludes"})
        if (v[i].contains(unsupported) && !v[i][unsupported].empty())
          return error(join(item, unsupported), "not supported by spectrum (docker profile syntax, not OCI)");
      SPECTRUM_TRY(
          optional_field(v[i], item, "args", [&](const json& args, const std::string& af) -> Result<void> {
            if (!args.is_array()) return error(af, "expected an array");
            for (std::size_t k = 0; k < args.size(); ++k) {
              std::string arg_path = index(af, k);
              SPECTRUM_TRY(check_object(args[k], arg_path, {"index", "value", "valueTwo", "op"}));
              SeccompArg arg;
              if (!args[k].contains("index")) return error(join(arg_path, "index"), "missing");
              arg.index = static_cast<unsigned>(
                  SPECTRUM_TRY(unsigned_integer(args[k]["index"], join(arg_path, "index"), 5)));
              if (!args[k].contains("value")) return error(join(arg_path, "value"), "missing");
              arg.value = SPECTRUM_TRY(unsigned_integer(args[k]["value"], join(arg_path, "value")));
              if (args[k].contains("valueTwo"))
                arg.value_two =
                    SPECTRUM_TRY(unsigned_integer(args[k]["valueTwo"], join(arg_path, "valueTwo")));
              if (!args[k].contains("op")) return error(join(arg_path, "op"), "missing");
              std::string op = SPECTRUM_TRY(string(args[k]["op"], join(arg_path, "op")));
              bool found = false;
              for (const SeccompOpRow& row : kSeccompOps)
                if (op == row.name) {
                  arg.op = row.op;
                  found = true;
                }
              if (!found) return error(join(arg_path, "op"), "unknown comparison '" + op + "'");
              rule.args.push_back(arg);
            }
            return {};
          }));
      s.rules.push_back(std::move(rule));
    }
    return {};
  }));
  // The runtime's last call is execve, under the filter: a profile that refuses it (a deny-all
  // one) would leave a container that dies without a word, since write(2) is refused too.
  bool conditional = false;
  std::optional<std::uint32_t> execve_action;
  for (const SeccompRule& rule : s.rules)
    if (std::find(rule.names.begin(), rule.names.end(), "execve") != rule.names.end()) {
      if (!rule.args.empty()) conditional = true;
      if (rule.args.empty() && !execve_action) execve_action = rule.action;
    }
  std::uint32_t effect = execve_action.value_or(s.default_action);
  bool allowed =
      effect == SCMP_ACT_ALLOW || effect == SCMP_ACT_LOG || (effect & 0xffff0000u) == SCMP_ACT_TRACE(0);
  if (!conditional && !allowed)
    return error(execve_action ? join(path, "syscalls") : join(path, "defaultAction"),
                 "the profile refuses execve, so the container's process could never start");
  return s;
}

// Only keys that live in a namespace the container owns (runc's rules and reasons): the rest
// would change the host (kernel.core_pattern is host code execution).
Result<void> Decoder::check_sysctl(const Config& c, const std::string& key, const std::string& field) const {
  bool ipc = key.starts_with("kernel.msg") || key.starts_with("kernel.shm") || key == "kernel.sem" ||
             key == "kernel.sem_next_id" || key.starts_with("fs.mqueue.");
  if (ipc) {
    if (c.find_namespace(NamespaceKind::ipc)) return {};
    return error(field, "sysctl \"" + key + "\" is not allowed in the hosts ipc namespace");
  }
  if (key.starts_with("net.")) {
    if (c.find_namespace(NamespaceKind::network)) return {};
    return error(field, "sysctl \"" + key + "\" is not allowed in the hosts network namespace");
  }
  if (c.find_namespace(NamespaceKind::uts)) {
    if (key == "kernel.domainname") return {};
    if (key == "kernel.hostname")
      return error(field,
                   "sysctl \"" + key + "\" is not allowed as it conflicts with the OCI \"hostname\" field");
  }
  return error(field, "sysctl \"" + key + "\" is not in a separate kernel namespace");
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

}  // namespace

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
