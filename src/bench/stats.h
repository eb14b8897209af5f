// Summaries of repeated measurements: median, min, max and spread, and the ratio to a baseline.
#pragma once

#include <optional>
#include <span>

namespace spectrum::bench {

struct Summary {
  double median = 0, min = 0, max = 0;
  // (max - min) / median: how far apart the runs were, relative to the typical one. 0 with one run.
  double spread = 0;
  int count = 0;
};

// Empty input gives an empty optional: a tier with no successful run has no summary.
std::optional<Summary> summarize(std::span<const double> values);

// value / baseline, or empty when the baseline is not positive (nothing to compare with).
std::optional<double> ratio(double value, double baseline);

}  // namespace spectrum::bench
