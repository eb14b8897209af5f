// --k8s: the manifests parsed back with yaml-cpp and checked field by field.
#include "advise/k8s.h"

#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include <set>

namespace spectrum::advise {
namespace {

struct Fixture {
  System system;
  std::vector<TierFacts> facts;
  std::vector<Placement> placements;
};

Fixture shop() {
  Fixture f;
  auto system = parse_system(R"(components:
  - name: db
    trust: trusted
    needs: [devices]
  - name: api
    trust: internal
    needs: [network-listen]
    instances: 6
    image: example.org/api:2
  - name: edge
    trust: untrusted
    portable: true
    budget: {memory: 64M}
  - name: jobs
    trust: untrusted
    needs: [arbitrary-syscalls]
    instances: 2
)",
                             "shop.yaml");
  EXPECT_TRUE(system) << system.error().message();
  f.system = *system;
  f.facts = default_facts();
  for (TierFacts& t : f.facts) t.available = true;
  // The vm's peak as a bench would have measured it.
  for (TierFacts& t : f.facts)
    if (t.tier == "vm") {
      t.peak_memory_bytes = 100.0 * (1 << 20);
      t.measured = true;
    }
  f.placements = place_all(f.system, f.facts);
  return f;
}

const Manifest* file(const std::vector<Manifest>& manifests, const std::string& name) {
  for (const Manifest& m : manifests)
    if (m.file == name) return &m;
  return nullptr;
}

TEST(Kubernetes, OneRuntimeClassPerHandlerUsedWithDocumentedHandlers) {
  Fixture f = shop();
  auto manifests = kubernetes_manifests(f.system, f.placements, f.facts);
  const Manifest* classes = file(manifests, "runtimeclasses.yaml");
  ASSERT_NE(classes, nullptr);
  std::set<std::string> handlers;
  for (const YAML::Node& doc : YAML::LoadAll(classes->yaml)) {
    EXPECT_EQ(doc["apiVersion"].as<std::string>(), "node.k8s.io/v1");
    EXPECT_EQ(doc["kind"].as<std::string>(), "RuntimeClass");
    EXPECT_EQ(doc["metadata"]["name"].as<std::string>(), doc["handler"].as<std::string>());
    handlers.insert(doc["handler"].as<std::string>());
  }
  // native and container share the OCI runtime's handler; wasm and vm have their own.
  EXPECT_EQ(handlers, (std::set<std::string>{"spectrum", "spectrum-wasm", "spectrum-vm"}));
}

TEST(Kubernetes, ADeploymentPerComponentWithRuntimeClassReplicasAndMemory) {
  Fixture f = shop();
  auto manifests = kubernetes_manifests(f.system, f.placements, f.facts);
  ASSERT_EQ(manifests.size(), 1 + f.system.components.size());
  for (std::size_t i = 0; i < f.placements.size(); ++i) {
    const Component& c = f.system.components[i];
    const Manifest* m = file(manifests, c.name + ".yaml");
    ASSERT_NE(m, nullptr) << c.name;
    YAML::Node d = YAML::Load(m->yaml);
    EXPECT_EQ(d["apiVersion"].as<std::string>(), "apps/v1");
    EXPECT_EQ(d["kind"].as<std::string>(), "Deployment");
    EXPECT_EQ(d["metadata"]["name"].as<std::string>(), c.name);
    EXPECT_EQ(d["metadata"]["labels"]["spectrum.dev/tier"].as<std::string>(), f.placements[i].tier);
    EXPECT_EQ(d["spec"]["replicas"].as<int>(), c.instances);
    EXPECT_EQ(d["spec"]["selector"]["matchLabels"]["app"].as<std::string>(), c.name);
    EXPECT_EQ(d["spec"]["template"]["metadata"]["labels"]["app"].as<std::string>(), c.name);
    YAML::Node pod = d["spec"]["template"]["spec"];
    EXPECT_EQ(pod["runtimeClassName"].as<std::string>(), std::string(handler_for(f.placements[i].tier)));
    YAML::Node container = pod["containers"][0];
    EXPECT_EQ(container["name"].as<std::string>(), c.name);
    const TierFacts* t = find(f.facts, f.placements[i].tier);
    const std::string expected = std::to_string(memory_limit_bytes(c, *t) >> 20) + "Mi";
    EXPECT_EQ(container["resources"]["limits"]["memory"].as<std::string>(), expected);
    // Annotations are strings for Kubernetes: quoted in the YAML, so the tag is "!".
    YAML::Node peak = d["metadata"]["annotations"]["spectrum.dev/peak-memory-bytes"];
    EXPECT_EQ(peak.Tag(), "!");
    EXPECT_EQ(peak.as<std::string>(), std::to_string(static_cast<std::uint64_t>(t->peak_memory_bytes)));
  }
  YAML::Node api = YAML::Load(file(manifests, "api.yaml")->yaml);
  EXPECT_EQ(api["spec"]["template"]["spec"]["containers"][0]["image"].as<std::string>(), "example.org/api:2");
}

TEST(Kubernetes, MemoryLimitComesFromTheMeasuredPeak) {
  Fixture f = shop();
  auto manifests = kubernetes_manifests(f.system, f.placements, f.facts);
  YAML::Node jobs = YAML::Load(file(manifests, "jobs.yaml")->yaml);
  ASSERT_EQ(jobs["metadata"]["labels"]["spectrum.dev/tier"].as<std::string>(), "vm");
  // 100 MiB measured, half again as headroom.
  EXPECT_EQ(
      jobs["spec"]["template"]["spec"]["containers"][0]["resources"]["limits"]["memory"].as<std::string>(),
      "150Mi");
  EXPECT_EQ(jobs["metadata"]["annotations"]["spectrum.dev/figures"].as<std::string>(), "measured");
}

TEST(Kubernetes, NativeKeepsTheHostsNamespacesAndSaysSo) {
  Fixture f = shop();
  auto manifests = kubernetes_manifests(f.system, f.placements, f.facts);
  YAML::Node db = YAML::Load(file(manifests, "db.yaml")->yaml);
  ASSERT_EQ(db["metadata"]["labels"]["spectrum.dev/tier"].as<std::string>(), "native");
  EXPECT_TRUE(db["spec"]["template"]["spec"]["hostNetwork"].as<bool>());
  EXPECT_TRUE(db["spec"]["template"]["spec"]["hostPID"].as<bool>());
  // ... and a component on any other tier does not.
  YAML::Node api = YAML::Load(file(manifests, "api.yaml")->yaml);
  EXPECT_FALSE(api["spec"]["template"]["spec"]["hostNetwork"]);
}

TEST(Kubernetes, AComponentWithNoTierGetsNoDeployment) {
  Fixture f = shop();
  f.placements[0].tier.clear();
  auto manifests = kubernetes_manifests(f.system, f.placements, f.facts);
  EXPECT_EQ(file(manifests, "db.yaml"), nullptr);
}

}  // namespace
}  // namespace spectrum::advise
