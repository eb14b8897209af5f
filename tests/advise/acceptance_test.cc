// The seed's three recommendations and the two it does not make, as placements on the built-in
// figures with every tier available (a host where the sandbox tier exists and KVM works).
#include <gtest/gtest.h>

#include "advise/placement.h"

namespace spectrum::advise {
namespace {

std::vector<TierFacts> all_available() {
  std::vector<TierFacts> facts = default_facts();
  for (TierFacts& f : facts) f.available = true;
  return facts;
}

Result<Component> parse_one(const std::string& yaml) {
  Result<System> system = parse_system("components:\n" + yaml, "case.yaml");
  if (!system) return std::unexpected(system.error());
  return system->components.at(0);
}

std::string placed(const std::string& yaml, const std::vector<TierFacts>& facts) {
  Result<Component> c = parse_one(yaml);
  EXPECT_TRUE(c) << c.error().message();
  return c ? place(*c, facts).tier : "";
}

TEST(Acceptance, HpcOrDatabaseNeedingDirectHardwareGoesNative) {
  EXPECT_EQ(
      placed("  - name: db\n    trust: trusted\n    needs: [devices, posix-fs]\n    budget: {overhead: 5%}\n",
             all_available()),
      "native");
}

TEST(Acceptance, ScalablePortableMicroservicesGoToContainers) {
  EXPECT_EQ(
      placed("  - name: svc\n    trust: internal\n    needs: [network-listen, posix-fs]\n    instances: 20\n",
             all_available()),
      "container");
}

TEST(Acceptance, HighestSecurityAndPortabilityAtTheEdgeGoesWasm) {
  EXPECT_EQ(placed("  - name: edge\n    trust: untrusted\n    portable: true\n    budget: {startup: 10ms, "
                   "memory: 16M}\n",
                   all_available()),
            "wasm");
}

TEST(Acceptance, UntrustedNativeCodeNeedingArbitrarySyscallsGoesVm) {
  EXPECT_EQ(
      placed("  - name: jobs\n    trust: untrusted\n    needs: [arbitrary-syscalls]\n", all_available()),
      "vm");
}

TEST(Acceptance, TheSameWithoutDevKvmGoesToTheSandbox) {
  std::vector<TierFacts> facts = all_available();
  for (TierFacts& f : facts)
    if (f.tier == "vm") {
      f.available = false;
      f.unavailable_reason = "/dev/kvm: No such file or directory";
    }
  const std::string yaml = "  - name: jobs\n    trust: untrusted\n    needs: [arbitrary-syscalls]\n";
  EXPECT_EQ(placed(yaml, facts), "sandbox");
  // ... and the vm is listed with the reason it was ruled out.
  Placement p = place(*parse_one(yaml), facts);
  bool vm_listed = false;
  for (const Candidate& c : p.candidates)
    if (c.tier == "vm") {
      vm_listed = c.ruled_out && !c.findings.empty() &&
                  c.findings.front().reason.find("/dev/kvm") != std::string::npos;
    }
  EXPECT_TRUE(vm_listed);
}

TEST(Acceptance, EveryOtherTierIsListedWithAReason) {
  Placement p =
      place(*parse_one("  - name: edge\n    trust: untrusted\n    portable: true\n"), all_available());
  ASSERT_EQ(p.candidates.size(), default_facts().size());
  EXPECT_EQ(p.candidates.front().tier, p.tier);
  for (const Candidate& c : p.candidates)
    if (c.tier != p.tier) {
      EXPECT_FALSE(c.findings.empty()) << c.tier << " has no reason";
    }
}

TEST(Acceptance, MeasuredFiguresReplaceTheDefaultsAndSaySo) {
  // A bench that measured a slow cold start for wasm rules it out of a tight start-up budget.
  bench::Report report;
  bench::TierReport wasm;
  wasm.tier = "wasm";
  wasm.state = bench::TierReport::State::ok;
  wasm.startup = bench::Metric{{0.5, 0.5, 0.5, 0, 1}, std::nullopt};
  report.tiers.push_back(wasm);
  std::vector<TierFacts> facts = all_available();
  apply_measurements(facts, report);
  const std::string yaml =
      "  - name: edge\n    trust: untrusted\n    portable: true\n    budget: {startup: 10ms}\n";
  Placement p = place(*parse_one(yaml), facts);
  EXPECT_NE(p.tier, "wasm");
  for (const Candidate& c : p.candidates)
    if (c.tier == "wasm") {
      ASSERT_TRUE(c.ruled_out);
      bool says_measured = false;
      for (const Finding& f : c.findings) says_measured |= f.reason.find("(measured)") != std::string::npos;
      EXPECT_TRUE(says_measured);
    }
}

TEST(Acceptance, NoTierFitsIsReportedNotGuessed) {
  std::vector<TierFacts> facts = all_available();
  for (TierFacts& f : facts) f.available = false;
  EXPECT_EQ(placed("  - name: x\n", facts), "");
}

}  // namespace
}  // namespace spectrum::advise
