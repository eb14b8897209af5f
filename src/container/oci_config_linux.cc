// The parts of an OCI config that limit or watch the workload: linux.resources, linux.seccomp,
// linux.sysctl's checks, and the hooks (oci_decoder.h).
#include <seccomp.h>

#include <algorithm>
#include <array>

#include "container/oci_config.h"
#include "container/oci_decoder.h"
#include "container/try.h"

namespace spectrum::container::oci {
namespace {

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

}  // namespace

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

}  // namespace spectrum::container::oci
