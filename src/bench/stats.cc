#include "bench/stats.h"

#include <algorithm>
#include <vector>

namespace spectrum::bench {

std::optional<Summary> summarize(std::span<const double> values) {
  if (values.empty()) return std::nullopt;
  std::vector<double> sorted(values.begin(), values.end());
  std::sort(sorted.begin(), sorted.end());
  Summary s;
  s.count = static_cast<int>(sorted.size());
  s.min = sorted.front();
  s.max = sorted.back();
  const std::size_t mid = sorted.size() / 2;
  s.median = sorted.size() % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
  s.spread = s.median > 0 ? (s.max - s.min) / s.median : 0;
  return s;
}

std::optional<double> ratio(double value, double baseline) {
  if (!(baseline > 0)) return std::nullopt;
  return value / baseline;
}

}  // namespace spectrum::bench
