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
            "config.json: linux.sysctl.vm.swappiness: not namespaced: refused (it would change the host)");
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
