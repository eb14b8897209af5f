// The config.json decoder: every rejection names the field path; accepted fields land in the model.
#include <gtest/gtest.h>
#include <sys/mount.h>
#include <sys/resource.h>

#include "container/default_config.h"
#include "container/oci_config.h"
#include "container/seccomp_filter.h"

namespace spectrum::container {
namespace {

nlohmann::json base() {
  DefaultSpecOptions options;
  options.args = {"/bin/true"};
  options.terminal = false;
  return default_spec(options);
}

std::string error_of(const nlohmann::json& doc) {
  auto config = decode_config(doc, "/bundle", "config.json");
  return config ? std::string("(accepted)") : config.error().message();
}

TEST(ContainerConfig, DefaultSpecDecodes) {
  auto config = decode_config(base(), "/bundle", "config.json");
  ASSERT_TRUE(config) << config.error().message();
  EXPECT_EQ(config->root_path, "/bundle/rootfs");
  EXPECT_EQ(config->process.args, std::vector<std::string>{"/bin/true"});
  EXPECT_TRUE(config->has_new_namespace(NamespaceKind::network));
  EXPECT_TRUE(config->process.no_new_privileges);
  ASSERT_TRUE(config->process.capabilities);
  EXPECT_EQ(config->process.capabilities->bounding, 0xa80425fbull);  // Docker's default set
  ASSERT_EQ(config->process.rlimits.size(), 1u);
  EXPECT_EQ(config->process.rlimits[0].resource, RLIMIT_NOFILE);
  EXPECT_EQ(config->mounts[0].flags, static_cast<unsigned long>(MS_NOSUID | MS_NOEXEC | MS_NODEV));
  EXPECT_EQ(config->device_rules.size(), 1u);
  EXPECT_EQ(config->device_rules[0].to_v1_rule(), "a *:* rwm");
}

TEST(ContainerConfig, MalformedJsonNamesTheByte) {
  auto config = parse_config("{\"ociVersion\": ]", "/b");
  ASSERT_FALSE(config);
  EXPECT_NE(config.error().message().find("config.json: malformed JSON at byte 16"), std::string::npos)
      << config.error().message();
}

TEST(ContainerConfig, UnknownNamespaceType) {
  auto doc = base();
  doc["linux"]["namespaces"].push_back({{"type", "foo"}});
  EXPECT_EQ(error_of(doc), "config.json: linux.namespaces[5].type: unknown namespace type 'foo'");
}

TEST(ContainerConfig, DuplicateNamespace) {
  auto doc = base();
  doc["linux"]["namespaces"].push_back({{"type", "pid"}});
  EXPECT_EQ(error_of(doc), "config.json: linux.namespaces[5].type: namespace 'pid' given twice");
}

TEST(ContainerConfig, BadMountOption) {
  auto doc = base();
  doc["mounts"][2]["options"].push_back("nosuchopt");
  EXPECT_EQ(error_of(doc), "config.json: mounts[2].options[6]: unknown mount option 'nosuchopt'");
}

TEST(ContainerConfig, MountPropagationAndBind) {
  auto doc = base();
  doc["mounts"].push_back({{"destination", "/data"},
                           {"type", "bind"},
                           {"source", "/srv"},
                           {"options", {"rbind", "ro", "rslave"}}});
  auto config = decode_config(doc, "/b", "config.json");
  ASSERT_TRUE(config) << config.error().message();
  const MountEntry& m = config->mounts.back();
  EXPECT_TRUE(m.bind);
  EXPECT_EQ(m.flags, static_cast<unsigned long>(MS_BIND | MS_REC | MS_RDONLY));
  EXPECT_EQ(m.propagation, static_cast<unsigned long>(MS_SLAVE | MS_REC));
}

TEST(ContainerConfig, UnknownAndUnsupportedFieldsAreNamed) {
  auto doc = base();
  doc["process"]["colour"] = "blue";
  EXPECT_EQ(error_of(doc), "config.json: process.colour: unknown field");
  doc = base();
  doc["process"]["apparmorProfile"] = "docker-default";
  EXPECT_EQ(error_of(doc), "config.json: process.apparmorProfile: not supported by spectrum");
  doc = base();
  doc["process"]["apparmorProfile"] = "";  // empty means none: accepted
  EXPECT_EQ(error_of(doc), "(accepted)");
  doc = base();
  doc["linux"]["resources"]["blockIO"] = {{"weight", 10}};
  EXPECT_EQ(error_of(doc), "config.json: linux.resources.blockIO: not supported by spectrum");
}

TEST(ContainerConfig, WrongTypesNameTheField) {
  auto doc = base();
  doc["process"]["user"]["uid"] = "root";
  EXPECT_EQ(error_of(doc), "config.json: process.user.uid: expected a non-negative integer, found string");
  doc = base();
  doc["process"]["args"] = nlohmann::json::array();
  EXPECT_EQ(error_of(doc), "config.json: process.args: empty (the program to run)");
  doc = base();
  doc.erase("ociVersion");
  EXPECT_EQ(error_of(doc), "config.json: ociVersion: missing");
}

TEST(ContainerConfig, CapabilitiesAndRlimits) {
  auto doc = base();
  doc["process"]["capabilities"]["bounding"].push_back("CAP_FLY");
  EXPECT_EQ(error_of(doc), "config.json: process.capabilities.bounding[14]: unknown capability 'CAP_FLY'");
  doc = base();
  doc["process"]["rlimits"][0]["type"] = "RLIMIT_FOO";
  EXPECT_EQ(error_of(doc), "config.json: process.rlimits[0].type: unknown rlimit 'RLIMIT_FOO'");
  doc = base();
  doc["process"]["rlimits"][0]["soft"] = 2048;
  EXPECT_EQ(error_of(doc),
            "config.json: process.rlimits[0]: RLIMIT_NOFILE: soft limit 2048 is above the hard limit 1024");
}

TEST(ContainerConfig, ResourcesOnBothCgroupVersions) {
  auto doc = base();
  doc["linux"]["resources"]["memory"] = {{"limit", 1 << 26}};
  doc["linux"]["resources"]["cpu"] = {{"shares", 512}, {"quota", 50000}, {"cpus", "0"}};
  doc["linux"]["resources"]["pids"] = {{"limit", 64}};
  auto config = decode_config(doc, "/b", "config.json");
  ASSERT_TRUE(config) << config.error().message();
  EXPECT_EQ(config->resources.memory_limit, 1u << 26);
  EXPECT_EQ(config->resources.cpu_shares, 512u);
  EXPECT_EQ(config->resources.cpu_quota_us, 50000u);
  EXPECT_EQ(config->resources.cpu_period_us, 100000u);
  EXPECT_EQ(config->resources.cpuset_cpus, "0");
  EXPECT_EQ(config->resources.pids_limit, 64);
}

// `update -r`: a linux.resources object alone, errors naming the field and the source.
TEST(ContainerConfig, ResourcesForUpdate) {
  auto resources = parse_resources(
      R"({"memory": {"limit": 134217728, "swap": -1}, "cpu": {"quota": 25000}, "pids": {"limit": 9}})",
      "r.json");
  ASSERT_TRUE(resources) << resources.error().message();
  EXPECT_EQ(resources->memory_limit, 134217728u);
  EXPECT_EQ(resources->memory_swap_limit, -1);
  EXPECT_EQ(resources->cpu_quota_us, 25000u);
  EXPECT_EQ(resources->cpu_period_us, 100000u);
  EXPECT_EQ(resources->pids_limit, 9);
  EXPECT_FALSE(resources->cpu_shares);
  auto bad = parse_resources(R"({"pids": {"limit": "many"}})", "r.json");
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().message(), "r.json: pids.limit: expected an integer, found string");
  bad = parse_resources(R"({"devices": [{"allow": true}]})", "r.json");
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().message(), "r.json: devices: cannot be changed by update");
  bad = parse_resources("{", "resources (stdin)");
  ASSERT_FALSE(bad);
  EXPECT_TRUE(bad.error().message().starts_with("resources (stdin): malformed JSON at byte 2: "))
      << bad.error().message();
}

TEST(ContainerConfig, UserNamespaceNeedsMappings) {
  auto doc = base();
  doc["linux"]["namespaces"].push_back({{"type", "user"}});
  EXPECT_EQ(error_of(doc),
            "config.json: linux.uidMappings: a new user namespace needs uidMappings and gidMappings");
  doc["linux"]["uidMappings"] = {{{"containerID", 0}, {"hostID", 100000}, {"size", 0}}};
  EXPECT_EQ(error_of(doc), "config.json: linux.uidMappings[0].size: must not be 0");
}

TEST(ContainerConfig, HostSysctlRefused) {
  auto doc = base();
  doc["linux"]["sysctl"] = {{"vm.swappiness", "10"}};
  EXPECT_EQ(error_of(doc),
            "config.json: linux.sysctl.vm.swappiness: sysctl \"vm.swappiness\" is not in a separate kernel "
            "namespace");
}

// Issue 17, point 3: kernel.* keys that no namespace holds changed the host (core_pattern is host
// code execution); only the ipc, uts and net namespaces' keys pass, each with its namespace.
TEST(ContainerConfig, OnlyNamespacedSysctlsPass) {
  for (const char* key : {"kernel.core_pattern", "kernel.core_uses_pid", "kernel.randomize_va_space",
                          "kernel.sysrq", "fs.file-max", "kernel.sem_whatever"}) {
    auto doc = base();
    doc["linux"]["sysctl"] = {{key, "1"}};
    EXPECT_EQ(error_of(doc), std::string("config.json: linux.sysctl.") + key + ": sysctl \"" + key +
                                 "\" is not in a separate kernel namespace")
        << key;
  }
  for (const char* key : {"kernel.shmmax", "kernel.msgmnb", "kernel.sem", "fs.mqueue.msg_max",
                          "kernel.domainname", "net.ipv4.ip_forward"}) {
    auto doc = base();
    doc["linux"]["sysctl"] = {{key, "1"}};
    EXPECT_EQ(error_of(doc), "(accepted)") << key;
  }
  auto doc = base();
  doc["linux"]["sysctl"] = {{"kernel.hostname", "x"}};
  EXPECT_EQ(error_of(doc),
            "config.json: linux.sysctl.kernel.hostname: sysctl \"kernel.hostname\" is not allowed as it "
            "conflicts with the OCI \"hostname\" field");
  doc = base();
  doc["linux"]["sysctl"] = {{"kernel.shmmax", "1"}};
  auto& ns = doc["linux"]["namespaces"];
  for (auto it = ns.begin(); it != ns.end();)
    it = (*it)["type"] == "ipc" || (*it)["type"] == "network" ? ns.erase(it) : it + 1;
  EXPECT_EQ(
      error_of(doc),
      "config.json: linux.sysctl.kernel.shmmax: sysctl \"kernel.shmmax\" is not allowed in the hosts ipc "
      "namespace");
  doc["linux"]["sysctl"] = {{"net.ipv4.ip_forward", "1"}};
  EXPECT_EQ(
      error_of(doc),
      "config.json: linux.sysctl.net.ipv4.ip_forward: sysctl \"net.ipv4.ip_forward\" is not allowed in the "
      "hosts network namespace");
}

// Point 9: checks as strict as runc's.
TEST(ContainerConfig, ResourceAndHostnameChecks) {
  auto doc = base();
  doc["linux"]["resources"]["pids"] = {{"limit", -2}};
  EXPECT_EQ(error_of(doc),
            "config.json: linux.resources.pids.limit: must be positive, or 0 or -1 for no limit, found -2");
  doc = base();
  doc["linux"]["resources"]["cpu"] = {{"quota", -7}, {"period", 0}};
  EXPECT_EQ(error_of(doc),
            "config.json: linux.resources.cpu.quota: must be positive, or -1 for no limit, found -7");
  doc = base();
  doc["linux"]["resources"]["cpu"] = {{"quota", 50000}, {"period", 0}};
  EXPECT_EQ(error_of(doc),
            "config.json: linux.resources.cpu.period: must be positive when a quota is set, found 0");
  doc = base();
  doc["linux"]["resources"]["cpu"] = {{"quota", -1}};
  EXPECT_EQ(error_of(doc), "(accepted)");
  doc = base();
  doc["hostname"] = std::string("good\0evil", 9);
  EXPECT_EQ(error_of(doc), "config.json: hostname: contains a NUL byte");
}

TEST(ContainerConfig, RelativeBindSourceIsInTheBundle) {
  auto doc = base();
  doc["mounts"].push_back(
      {{"destination", "/data"}, {"type", "bind"}, {"source", "data"}, {"options", {"rbind"}}});
  auto config = decode_config(doc, "/bundle", "config.json");
  ASSERT_TRUE(config) << config.error().message();
  EXPECT_EQ(config->mounts.back().source, "/bundle/data");
}

// Point 7: runc's recursive options.
TEST(ContainerConfig, RecursiveReadOnly) {
  auto doc = base();
  doc["mounts"].push_back({{"destination", "/data"},
                           {"type", "bind"},
                           {"source", "/srv"},
                           {"options", {"rbind", "rro", "rnosuid"}}});
  auto config = decode_config(doc, "/bundle", "config.json");
  ASSERT_TRUE(config) << config.error().message();
  EXPECT_EQ(config->mounts.back().recursive_flags, static_cast<unsigned long>(MS_RDONLY | MS_NOSUID));
  doc["mounts"].back() = {
      {"destination", "/t"}, {"type", "tmpfs"}, {"source", "tmpfs"}, {"options", {"rro"}}};
  EXPECT_EQ(error_of(doc), "config.json: mounts[" + std::to_string(doc["mounts"].size() - 1) +
                               "].options: recursive options (rro, ...) apply to bind mounts only");
}

// Point 8: a profile that refuses execve could only give a container that dies without a word.
TEST(ContainerSeccomp, DenyAllProfileRefused) {
  auto doc = base();
  doc["linux"]["seccomp"] = {{"defaultAction", "SCMP_ACT_ERRNO"}, {"architectures", {"SCMP_ARCH_X86_64"}}};
  EXPECT_EQ(
      error_of(doc),
      "config.json: linux.seccomp.defaultAction: the profile refuses execve, so the container's process "
      "could never start");
  doc["linux"]["seccomp"]["syscalls"] = {{{"names", {"execve", "write"}}, {"action", "SCMP_ACT_ALLOW"}}};
  EXPECT_EQ(error_of(doc), "(accepted)");
  doc["linux"]["seccomp"] = {{"defaultAction", "SCMP_ACT_ALLOW"},
                             {"syscalls", {{{"names", {"execve"}}, {"action", "SCMP_ACT_KILL"}}}}};
  EXPECT_EQ(
      error_of(doc),
      "config.json: linux.seccomp.syscalls: the profile refuses execve, so the container's process could "
      "never start");
}

TEST(ContainerConfig, HooksNeedAbsolutePaths) {
  auto doc = base();
  doc["hooks"] = {{"prestart", {{{"path", "relative/hook"}}}}};
  EXPECT_EQ(error_of(doc),
            "config.json: hooks.prestart[0].path: must be an absolute path, found 'relative/hook'");
}

TEST(ContainerSeccomp, ProfileErrorsNameTheField) {
  auto profile = default_seccomp_profile();
  profile["syscalls"][0]["action"] = "SCMP_ACT_NOPE";
  auto seccomp = decode_seccomp(profile, "config.json", "linux.seccomp");
  ASSERT_FALSE(seccomp);
  EXPECT_EQ(seccomp.error().message(),
            "config.json: linux.seccomp.syscalls[0].action: unknown seccomp action 'SCMP_ACT_NOPE'");
}

TEST(ContainerSeccomp, DefaultProfileCompilesAndCacheGivesTheSameProgram) {
  auto seccomp = decode_seccomp(default_seccomp_profile(), "config.json", "linux.seccomp");
  ASSERT_TRUE(seccomp) << seccomp.error().message();
  auto compiled = compile_seccomp(*seccomp);
  ASSERT_TRUE(compiled) << compiled.error().message();
  EXPECT_GT(compiled->instructions.size(), 100u);
  char dir[] = "/tmp/spectrum-seccomp-test.XXXXXX";
  ASSERT_NE(::mkdtemp(dir), nullptr);
  auto first = cached_seccomp(*seccomp, dir);   // miss: compiles and stores
  auto second = cached_seccomp(*seccomp, dir);  // hit: reads the stored program
  ASSERT_TRUE(first && second);
  ASSERT_EQ(first->instructions.size(), second->instructions.size());
  EXPECT_EQ(0, std::memcmp(first->instructions.data(), second->instructions.data(),
                           first->instructions.size() * sizeof(sock_filter)));
  EXPECT_EQ(0, std::system((std::string("rm -rf ") + dir).c_str()));
}

}  // namespace
}  // namespace spectrum::container
