// Histogram: durations from 1 ns to about 73 minutes in log-linear buckets (HdrHistogram's
// idea): exact below 256 ns, then every power of two split into 128 equal buckets, so a value
// read back is never more than 1/128 (0.78%) above the value recorded, from 1 µs to 1 hour and
// beyond. 4,608 buckets of 8 bytes (36 KiB); record() is a count-leading-zeros, a shift and an
// increment. One per thread; merge() adds them up.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace wsp_load {

class Histogram {
 public:
  static constexpr int kSubBucketBits = 7;                       // 128 buckets per doubling
  static constexpr std::int64_t kLinearLimit = 256;              // exact below this (ns)
  static constexpr int kTopExponent = 41;                        // last doubling: 2^41..2^42 ns
  static constexpr std::size_t kBuckets =
      kLinearLimit + (kTopExponent - 7) * (std::size_t{1} << kSubBucketBits);

  Histogram();

  // Records a duration in nanoseconds; negative values count as 0, values past 2^42 ns (73
  // minutes) land in the last bucket (max() stays exact).
  void record(std::int64_t ns) {
    if (ns < 0) ns = 0;
    ++counts_[index_of(ns)];
    ++count_;
    sum_ += static_cast<double>(ns);
    if (ns < min_) min_ = ns;
    if (ns > max_) max_ = ns;
  }
  void merge(const Histogram& other);
  void clear();

  std::uint64_t count() const { return count_; }
  std::int64_t min() const { return count_ ? min_ : 0; }
  std::int64_t max() const { return max_; }
  double mean() const { return count_ ? sum_ / static_cast<double>(count_) : 0.0; }
  // The smallest recorded value v such that at least `fraction` of the values are <= v, read
  // back as its bucket's upper edge (clipped to max()): at most 0.78% above the true value,
  // never below it. 0 when empty.
  std::int64_t percentile(double fraction) const;

  // Bucket `i` holds [lower_edge(i), upper_edge(i)] (both in ns).
  static std::size_t index_of(std::int64_t ns) {
    if (ns < kLinearLimit) return static_cast<std::size_t>(ns);
    int exponent = 63 - __builtin_clzll(static_cast<std::uint64_t>(ns));
    if (exponent > kTopExponent) return kBuckets - 1;
    const std::int64_t sub = (ns >> (exponent - kSubBucketBits)) - (1 << kSubBucketBits);
    return static_cast<std::size_t>(kLinearLimit + (exponent - 8) * (1 << kSubBucketBits) + sub);
  }
  static std::int64_t lower_edge(std::size_t i);
  static std::int64_t upper_edge(std::size_t i);
  std::uint64_t bucket_count(std::size_t i) const { return counts_[i]; }

 private:
  std::vector<std::uint64_t> counts_;
  std::uint64_t count_ = 0;
  double sum_ = 0;
  std::int64_t min_;
  std::int64_t max_ = 0;
};

}  // namespace wsp_load
