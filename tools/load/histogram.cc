#include "tools/load/histogram.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace wsp_load {

Histogram::Histogram() : counts_(kBuckets, 0), min_(std::numeric_limits<std::int64_t>::max()) {}

void Histogram::merge(const Histogram& other) {
  for (std::size_t i = 0; i < kBuckets; ++i) counts_[i] += other.counts_[i];
  count_ += other.count_;
  sum_ += other.sum_;
  min_ = std::min(min_, other.min_);
  max_ = std::max(max_, other.max_);
}

void Histogram::clear() {
  std::fill(counts_.begin(), counts_.end(), 0);
  count_ = 0;
  sum_ = 0;
  min_ = std::numeric_limits<std::int64_t>::max();
  max_ = 0;
}

std::int64_t Histogram::lower_edge(std::size_t i) {
  if (i < static_cast<std::size_t>(kLinearLimit)) return static_cast<std::int64_t>(i);
  const std::size_t above = i - kLinearLimit;
  const int exponent = 8 + static_cast<int>(above >> kSubBucketBits);
  const std::int64_t sub = static_cast<std::int64_t>(above & ((1 << kSubBucketBits) - 1));
  return ((std::int64_t{1} << kSubBucketBits) + sub) << (exponent - kSubBucketBits);
}

std::int64_t Histogram::upper_edge(std::size_t i) {
  if (i + 1 >= kBuckets) return std::numeric_limits<std::int64_t>::max();
  return lower_edge(i + 1) - 1;
}

std::int64_t Histogram::percentile(double fraction) const {
  if (count_ == 0) return 0;
  fraction = std::clamp(fraction, 0.0, 1.0);
  auto rank = static_cast<std::uint64_t>(std::ceil(fraction * static_cast<double>(count_)));
  rank = std::clamp<std::uint64_t>(rank, 1, count_);
  std::uint64_t seen = 0;
  for (std::size_t i = 0; i < kBuckets; ++i) {
    seen += counts_[i];
    if (seen >= rank) return std::clamp(upper_edge(i), min(), max_);
  }
  return max_;
}

}  // namespace wsp_load
