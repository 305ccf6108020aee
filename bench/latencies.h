// Latencies of a benchmark run, every one kept (a run has some 10^5), so percentiles are exact;
// the clock they are read from; and the median of a few runs' figures.
#pragma once

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <vector>

namespace bench {

using Latencies = std::vector<std::int64_t>;  // nanoseconds

// steady_clock in nanoseconds, as carried in messages and subtracted on receipt.
inline std::int64_t now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch()).count();
}

// The smallest value with at least `fraction` of them at or below it; 0 when there are none.
inline std::int64_t percentile(Latencies& values, double fraction) {
  if (values.empty()) return 0;
  const auto index = std::min(values.size() - 1,
                              static_cast<std::size_t>(fraction * static_cast<double>(values.size())));
  auto at = values.begin() + static_cast<std::ptrdiff_t>(index);
  std::nth_element(values.begin(), at, values.end());
  return *at;
}

inline double median(std::vector<double> values) {
  std::sort(values.begin(), values.end());
  return values.empty() ? 0 : values[values.size() / 2];
}

}  // namespace bench
