// The system file: what it accepts, and one clear line naming file, line and field for what not.
#include "advise/system.h"

#include <gtest/gtest.h>

namespace spectrum::advise {
namespace {

TEST(SystemFile, ReadsEveryField) {
  auto system = parse_system(R"(system: shop
components:
  - name: api
    program: /bin/api
    rootfs: /srv/root
    wasm: api.wasm
    image: example.org/api:1
    trust: multi-tenant
    budget: {startup: 50ms, overhead: 1.5x, memory: 64M}
    needs: [arbitrary-syscalls, devices, kernel-features, network-listen, posix-fs, gpu]
    portable: yes
    instances: 3
bench: {program: /bin/x, args: ["1", "2"]}
)",
                             "s.yaml");
  ASSERT_TRUE(system) << system.error().message();
  EXPECT_EQ(system->name, "shop");
  const Component& c = system->components.at(0);
  EXPECT_EQ(c.name, "api");
  EXPECT_EQ(c.trust, Trust::untrusted);
  EXPECT_DOUBLE_EQ(*c.startup_budget_seconds, 0.05);
  EXPECT_DOUBLE_EQ(*c.overhead_budget, 0.5);
  EXPECT_EQ(*c.memory_budget_bytes, 64u << 20);
  EXPECT_TRUE(c.needs.arbitrary_syscalls && c.needs.devices && c.needs.kernel_features &&
              c.needs.network_listen && c.needs.posix_fs && c.needs.gpu);
  EXPECT_TRUE(c.portable);
  EXPECT_EQ(c.instances, 3);
  EXPECT_EQ(c.image, "example.org/api:1");
  ASSERT_TRUE(system->bench);
  EXPECT_EQ(system->bench->args.size(), 2u);
}

TEST(SystemFile, OverheadInPercent) {
  auto system = parse_system("components:\n  - name: a\n    budget: {overhead: 20%}\n", "s.yaml");
  ASSERT_TRUE(system);
  EXPECT_DOUBLE_EQ(*system->components[0].overhead_budget, 0.2);
}

void expect_error(const std::string& yaml, const std::string& fragment) {
  auto system = parse_system(yaml, "s.yaml");
  ASSERT_FALSE(system) << "accepted: " << yaml;
  EXPECT_NE(system.error().message().find(fragment), std::string::npos) << system.error().message();
  EXPECT_EQ(system.error().message().find('\n'), std::string::npos) << "one line";
  EXPECT_EQ(system.error().exit_status(), 125);
}

TEST(SystemFile, BadInputNamesFileLineAndField) {
  expect_error("components:\n  - name: a\n    trust: trustd\n", "s.yaml:3: trust: 'trustd' is not trusted");
  expect_error("components:\n  - name: a\n    needs: [wings]\n", "s.yaml:3: needs: 'wings'");
  expect_error("components:\n  - name: a\n    budget: {startup: soon}\n", "components[0].budget.startup");
  expect_error("components:\n  - name: a\n    budget: {memory: lots}\n", "components[0].budget.memory");
  expect_error("components:\n  - name: a\n    budget: {overhead: -3%}\n", "budget.overhead");
  expect_error("components:\n  - name: a\n    colour: red\n", "components[0].colour: unknown field");
  expect_error("components:\n  - name: a\n  - name: a\n", "defined twice");
  expect_error("components:\n  - name: Bad_Name\n", "lower-case");
  expect_error("components:\n  - trust: trusted\n", "no name");
  expect_error("components: []\n", "non-empty");
  expect_error("components:\n  - name: a\n    instances: 0\n", "instances");
  expect_error("components:\n  - name: a\n    portable: maybe\n", "not true or false");
  expect_error("components: [name: a\n", "s.yaml:");  // a YAML syntax error
  expect_error("- just\n- a list\n", "expected a mapping");
  expect_error("", "expected a mapping");
}

TEST(SystemFile, UntrustedInputNeverCrashes) {
  // Deep nesting, odd scalars and binary noise: an error each, never an exception or a crash.
  std::string deep(5000, '[');
  for (const std::string& text : {deep, std::string("components: {a: [}"), std::string("\x01\x02\xff: \x7f"),
                                  std::string("components:\n  - name: a\n    needs: {x: 1}\n"),
                                  std::string("components:\n  - name: a\n    budget: [1]\n"),
                                  std::string("components:\n  - {? [a]: b}\n")}) {
    auto system = parse_system(text, "s.yaml");
    EXPECT_FALSE(system);
  }
}

TEST(SystemFile, MissingFileIsAnError) {
  auto system = load_system("/nonexistent/system.yaml");
  ASSERT_FALSE(system);
  EXPECT_NE(system.error().message().find("/nonexistent/system.yaml"), std::string::npos);
}

TEST(SystemFile, TheShippedSampleLoads) {
  auto system = load_system(SPECTRUM_SOURCE_DIR "/examples/system.yaml");
  ASSERT_TRUE(system) << system.error().message();
  EXPECT_EQ(system->components.size(), 5u);
  EXPECT_FALSE(system->components.back().virtualization);
  EXPECT_TRUE(system->components.front().virtualization);
}

}  // namespace
}  // namespace spectrum::advise
