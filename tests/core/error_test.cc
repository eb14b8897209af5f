#include "core/error.h"

#include <gtest/gtest.h>

using namespace spectrum;

namespace {
Result<int> parse_positive(int x) {
  if (x <= 0) return fail("not positive: " + std::to_string(x));
  return x;
}
Result<int> doubled(int x) {
  int value = SPECTRUM_TRY(parse_positive(x));
  return value * 2;
}
Result<void> check(int x) {
  SPECTRUM_TRY(parse_positive(x));
  return {};
}
}  // namespace

TEST(Error, TryPropagatesValueAndError) {
  EXPECT_EQ(doubled(4).value(), 8);
  auto r = doubled(-1);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message(), "not positive: -1");
  EXPECT_TRUE(check(1));
  EXPECT_FALSE(check(0));
}

TEST(Error, WrapAddsContextInFront) {
  Error e = Error::from_errno("open /x", ENOENT).wrap("config.json");
  EXPECT_EQ(e.message(), "config.json: open /x: No such file or directory");
  EXPECT_EQ(e.sys_errno(), ENOENT);
  EXPECT_EQ(e.exit_status(), 125);
}

TEST(Error, ExitCodes) {
  EXPECT_EQ(Error("x", 0, ExitCode::not_found).exit_status(), 127);
  EXPECT_EQ(Error("x").with_exit_code(ExitCode::not_executable).exit_status(), 126);
}
