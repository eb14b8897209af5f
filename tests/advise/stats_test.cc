#include "bench/stats.h"

#include <gtest/gtest.h>

#include <vector>

namespace spectrum::bench {
namespace {

TEST(Stats, OddCountMedianIsTheMiddleValue) {
  std::vector<double> v = {5, 1, 3};
  auto s = summarize(v);
  ASSERT_TRUE(s);
  EXPECT_EQ(s->median, 3);
  EXPECT_EQ(s->min, 1);
  EXPECT_EQ(s->max, 5);
  EXPECT_EQ(s->count, 3);
  EXPECT_DOUBLE_EQ(s->spread, (5.0 - 1.0) / 3.0);
}

TEST(Stats, EvenCountMedianIsTheMeanOfTheMiddleTwo) {
  std::vector<double> v = {4, 1, 3, 10};
  auto s = summarize(v);
  ASSERT_TRUE(s);
  EXPECT_EQ(s->median, 3.5);
}

TEST(Stats, OneValueHasNoSpread) {
  std::vector<double> v = {2.5};
  auto s = summarize(v);
  ASSERT_TRUE(s);
  EXPECT_EQ(s->median, 2.5);
  EXPECT_EQ(s->spread, 0);
}

TEST(Stats, NoValuesNoSummary) { EXPECT_FALSE(summarize({})); }

TEST(Stats, ZeroMedianGivesZeroSpreadNotInfinity) {
  std::vector<double> v = {0, 0, 0};
  EXPECT_EQ(summarize(v)->spread, 0);
}

TEST(Stats, RatioToItselfIsOne) {
  EXPECT_EQ(*ratio(0.123, 0.123), 1.0);
  EXPECT_DOUBLE_EQ(*ratio(3, 2), 1.5);
}

TEST(Stats, NoRatioAgainstAZeroOrNegativeBaseline) {
  EXPECT_FALSE(ratio(1, 0));
  EXPECT_FALSE(ratio(1, -1));
}

}  // namespace
}  // namespace spectrum::bench
