#include "core/parse.h"

#include <gtest/gtest.h>

using namespace spectrum;
using namespace std::chrono_literals;

TEST(ParseSize, UnitsAreBinaryMultiples) {
  EXPECT_EQ(parse_size("4096").value(), 4096u);
  EXPECT_EQ(parse_size("1k").value(), 1024u);
  EXPECT_EQ(parse_size("256M").value(), 256u * 1024 * 1024);
  EXPECT_EQ(parse_size("1.5G").value(), 1536u * 1024 * 1024);
  EXPECT_EQ(parse_size("2GiB").value(), 2ull * 1024 * 1024 * 1024);
  EXPECT_EQ(parse_size("1T").value(), 1ull << 40);
  EXPECT_EQ(parse_size("7b").value(), 7u);
}

TEST(ParseSize, BadInputNamesTheValue) {
  for (const char* bad : {"", "M", "-1M", "12Q", "1.3", "abc", "1e400", "99999999999T"}) {
    auto r = parse_size(bad);
    ASSERT_FALSE(r) << bad;
    EXPECT_NE(r.error().message().find(std::string("'") + bad + "'"), std::string::npos)
        << r.error().message();
    EXPECT_EQ(r.error().exit_status(), 125);
  }
}

TEST(ParseDuration, Units) {
  EXPECT_EQ(parse_duration("10s").value(), 10s);
  EXPECT_EQ(parse_duration("10").value(), 10s);
  EXPECT_EQ(parse_duration("500ms").value(), 500ms);
  EXPECT_EQ(parse_duration("1.5s").value(), 1500ms);
  EXPECT_EQ(parse_duration("2m").value(), 120s);
  EXPECT_EQ(parse_duration("1h").value(), 3600s);
  EXPECT_EQ(parse_duration("250us").value(), 250us);
  EXPECT_EQ(parse_duration("7ns").value(), 7ns);
}

TEST(ParseDuration, BadInput) {
  for (const char* bad : {"", "s", "-1s", "10 s", "10x", "1e300h"}) EXPECT_FALSE(parse_duration(bad)) << bad;
}

TEST(ParseCpus, Fractions) {
  EXPECT_DOUBLE_EQ(parse_cpus("0.5").value(), 0.5);
  EXPECT_DOUBLE_EQ(parse_cpus("2").value(), 2.0);
  for (const char* bad : {"0", "-1", "x", "1c", ""}) EXPECT_FALSE(parse_cpus(bad)) << bad;
}

TEST(ParseCpuset, ListSyntax) {
  for (const char* good : {"0", "0-3", "0,2", "0-1,3,5-7"}) EXPECT_TRUE(parse_cpuset(good)) << good;
  for (const char* bad : {"", "a", "3-1", "0,", ",0", "0--1", "1-"}) EXPECT_FALSE(parse_cpuset(bad)) << bad;
}
