// Every rule of the table: a (component, tier) pair that fires it and one that does not. A rule
// added to rules.cc without a case here fails EveryRuleHasACase.
#include "advise/rules.h"

#include <gtest/gtest.h>

#include <fstream>
#include <functional>
#include <iterator>
#include <set>

namespace spectrum::advise {
namespace {

TierFacts tier(std::string_view name) {
  for (const TierFacts& f : default_facts())
    if (f.tier == name) return f;
  ADD_FAILURE() << "no tier " << name;
  return {};
}

Component component(std::function<void(Component&)> edit = {}) {
  Component c;
  c.name = "c";
  if (edit) edit(c);
  return c;
}

struct Case {
  std::string_view rule;
  Component fires_component;
  TierFacts fires_tier;
  Component spares_component;
  TierFacts spares_tier;
};

std::vector<Case> cases() {
  auto with = [](std::string_view name, std::function<void(TierFacts&)> edit) {
    TierFacts t = tier(name);
    edit(t);
    return t;
  };
  auto untrusted = component([](Component& c) { c.trust = Trust::untrusted; });
  auto internal = component([](Component& c) { c.trust = Trust::internal; });
  auto trusted = component([](Component& c) { c.trust = Trust::trusted; });
  auto needs = [](std::function<void(Needs&)> edit) {
    return component([&](Component& c) { edit(c.needs); });
  };
  return {
      {"tier-unavailable", internal, with("vm", [](TierFacts& t) { t.available = false; }), internal,
       tier("vm")},
      {"tier-failed", internal, with("vm", [](TierFacts& t) { t.failed = true; }), internal, tier("vm")},
      {"untrusted-needs-a-boundary", untrusted, tier("native"), untrusted, tier("container")},
      {"untrusted-shared-kernel", untrusted, tier("container"), untrusted, tier("wasm")},
      {"untrusted-isolation", untrusted, tier("wasm"), internal, tier("wasm")},
      {"untrusted-hardware-boundary", untrusted, tier("vm"), untrusted, tier("sandbox")},
      {"internal-no-boundary", internal, tier("native"), internal, tier("container")},
      {"trusted-no-isolation-needed", trusted, tier("native"), trusted, tier("container")},
      {"needs-arbitrary-syscalls", needs([](Needs& n) { n.arbitrary_syscalls = true; }), tier("wasm"),
       needs([](Needs& n) { n.arbitrary_syscalls = true; }), tier("vm")},
      {"needs-devices", needs([](Needs& n) { n.devices = true; }), tier("wasm"),
       needs([](Needs& n) { n.devices = true; }), tier("native")},
      {"needs-devices-passed-in", needs([](Needs& n) { n.devices = true; }), tier("container"), internal,
       tier("container")},
      {"needs-gpu", needs([](Needs& n) { n.gpu = true; }), tier("vm"), needs([](Needs& n) { n.gpu = true; }),
       tier("native")},
      {"needs-kernel-features", needs([](Needs& n) { n.kernel_features = true; }), tier("sandbox"),
       needs([](Needs& n) { n.kernel_features = true; }), tier("native")},
      {"needs-kernel-features-namespaced", needs([](Needs& n) { n.kernel_features = true; }),
       tier("container"), needs([](Needs& n) { n.kernel_features = true; }), tier("native")},
      {"needs-network-listen", needs([](Needs& n) { n.network_listen = true; }), tier("wasm"),
       needs([](Needs& n) { n.network_listen = true; }), tier("container")},
      {"needs-network-listen-host-net", needs([](Needs& n) { n.network_listen = true; }), tier("sandbox"),
       needs([](Needs& n) { n.network_listen = true; }), tier("container")},
      {"needs-posix-fs", needs([](Needs& n) { n.posix_fs = true; }), tier("wasm"),
       needs([](Needs& n) { n.posix_fs = true; }), tier("vm")},
      {"hosts-without-virtualization", component([](Component& c) { c.virtualization = false; }), tier("vm"),
       component([](Component& c) { c.virtualization = false; }), tier("sandbox")},
      {"startup-budget", component([](Component& c) { c.startup_budget_seconds = 0.010; }),
       with("container", [](TierFacts& t) { t.startup_seconds = 0.050; }),
       component([](Component& c) { c.startup_budget_seconds = 0.010; }),
       with("wasm", [](TierFacts& t) { t.startup_seconds = 0.002; })},
      {"overhead-budget", component([](Component& c) { c.overhead_budget = 0.05; }),
       with("wasm", [](TierFacts& t) { t.overhead = 1.0; }),
       component([](Component& c) { c.overhead_budget = 0.05; }),
       with("container", [](TierFacts& t) { t.overhead = 0.01; })},
      {"memory-budget", component([](Component& c) { c.memory_budget_bytes = 16 << 20; }),
       with("vm", [](TierFacts& t) { t.peak_memory_bytes = 40 << 20; }),
       component([](Component& c) { c.memory_budget_bytes = 16 << 20; }),
       with("wasm", [](TierFacts& t) { t.peak_memory_bytes = 3 << 20; })},
      {"slowdown", internal, with("wasm", [](TierFacts& t) { t.overhead = 2.0; }), internal,
       with("container", [](TierFacts& t) { t.overhead = 0.1; })},
      {"portable-one-binary", component([](Component& c) { c.portable = true; }), tier("wasm"), internal,
       tier("wasm")},
      {"portable-per-arch-build", component([](Component& c) { c.portable = true; }), tier("container"),
       component([](Component& c) { c.portable = true; }), tier("wasm")},
      {"scaled-service-orchestrated", component([](Component& c) { c.instances = 6; }), tier("container"),
       component([](Component& c) { c.instances = 1; }), tier("container")},
      {"scaled-service-memory", component([](Component& c) { c.instances = 50; }),
       with("vm", [](TierFacts& t) { t.peak_memory_bytes = 64 << 20; }),
       component([](Component& c) { c.instances = 50; }),
       with("wasm", [](TierFacts& t) { t.peak_memory_bytes = 3 << 20; })},
  };
}

TEST(Rules, EachRuleFiresOnItsCase) {
  for (const Case& c : cases()) {
    const Rule* rule = find_rule(c.rule);
    ASSERT_NE(rule, nullptr) << c.rule;
    EXPECT_TRUE(rule->fires(c.fires_component, c.fires_tier)) << c.rule << " should fire";
    EXPECT_FALSE(rule->reason(c.fires_component, c.fires_tier).empty()) << c.rule;
  }
}

TEST(Rules, EachRuleIsSilentOnItsCounterCase) {
  for (const Case& c : cases()) {
    const Rule* rule = find_rule(c.rule);
    ASSERT_NE(rule, nullptr) << c.rule;
    EXPECT_FALSE(rule->fires(c.spares_component, c.spares_tier)) << c.rule << " should not fire";
  }
}

TEST(Rules, EveryRuleHasACase) {
  std::set<std::string_view> tested;
  for (const Case& c : cases()) tested.insert(c.rule);
  for (const Rule& rule : rules()) EXPECT_TRUE(tested.contains(rule.id)) << rule.id << " has no test case";
  EXPECT_EQ(tested.size(), rules().size());
}

TEST(Rules, IdsAreUniqueAndSaySomething) {
  std::set<std::string_view> ids;
  for (const Rule& rule : rules()) {
    EXPECT_TRUE(ids.insert(rule.id).second) << rule.id;
    EXPECT_FALSE(rule.says.empty()) << rule.id;
  }
}

TEST(Rules, DocsChoosingNamesEveryRule) {
  std::ifstream file(SPECTRUM_SOURCE_DIR "/docs/choosing.md");
  ASSERT_TRUE(file) << "docs/choosing.md";
  std::string doc((std::istreambuf_iterator<char>(file)), std::istreambuf_iterator<char>());
  for (const Rule& rule : rules())
    EXPECT_NE(doc.find("`" + std::string(rule.id) + "`"), std::string::npos)
        << rule.id << " is not documented";
}

TEST(Rules, MultipliedPointsFollowTheFigures) {
  const Rule* isolation = find_rule("untrusted-isolation");
  Component c = component([](Component& x) { x.trust = Trust::untrusted; });
  TierFacts t = tier("container");
  t.boundaries_held = 4;
  EXPECT_EQ(isolation->points_for(c, t), 4);
  const Rule* slowdown = find_rule("slowdown");
  t.overhead = 0.6;
  EXPECT_EQ(slowdown->points_for(c, t), -2);
  t.overhead = 9;
  EXPECT_EQ(slowdown->points_for(c, t), -4);  // capped
}

}  // namespace
}  // namespace spectrum::advise
