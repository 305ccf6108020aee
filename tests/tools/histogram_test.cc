// wsp-load's log-linear histogram: at most 1% above the recorded value from 1 us to 1 hour.
#include <catch2/catch.hpp>

#include <cstdint>

#include "tools/load/histogram.h"

using wsp_load::Histogram;

TEST_CASE("a single value reads back at most 1% above itself, never below, from 1 us to 1 h") {
  constexpr std::int64_t kHour = 3'600'000'000'000;
  for (std::int64_t v = 1'000; v <= kHour; v = v + v / 7 + 1) {
    Histogram h;
    h.record(v);
    h.record(v + 1);  // so the percentile does not just return the exact max
    const std::int64_t read = h.percentile(0.5);
    CAPTURE(v, read);
    CHECK(read >= v);
    CHECK(static_cast<double>(read) <= static_cast<double>(v) * 1.01);
  }
}

TEST_CASE("every bucket is at most 1/128 of its lower edge wide above 256 ns") {
  for (std::size_t i = Histogram::index_of(256); i + 1 < Histogram::kBuckets; ++i) {
    const std::int64_t low = Histogram::lower_edge(i), high = Histogram::upper_edge(i);
    CAPTURE(i, low, high);
    REQUIRE(Histogram::index_of(low) == i);
    REQUIRE(Histogram::index_of(high) == i);
    REQUIRE(static_cast<double>(high - low + 1) <= static_cast<double>(low) / 128);
  }
}

TEST_CASE("percentiles of 1..10000 us are the values at those ranks, within 1%") {
  Histogram h;
  for (std::int64_t us = 1; us <= 10'000; ++us) h.record(us * 1'000);
  CHECK(h.count() == 10'000);
  CHECK(h.min() == 1'000);
  CHECK(h.max() == 10'000'000);
  CHECK(h.mean() == Approx(5'000'500.0));
  for (auto [fraction, expected] : {std::pair{0.5, 5'000'000.0}, {0.9, 9'000'000.0},
                                    {0.99, 9'900'000.0}, {0.999, 9'990'000.0}}) {
    CAPTURE(fraction);
    const auto read = static_cast<double>(h.percentile(fraction));
    CHECK(read >= expected);
    CHECK(read <= expected * 1.01);
  }
  CHECK(h.percentile(1.0) == 10'000'000);
}

TEST_CASE("merged histograms hold the counts, extremes and sum of both") {
  Histogram a, b;
  for (int i = 0; i < 99; ++i) a.record(1'000);
  b.record(2'000'000'000);
  a.merge(b);
  CHECK(a.count() == 100);
  CHECK(a.min() == 1'000);
  CHECK(a.max() == 2'000'000'000);
  CHECK(a.percentile(0.99) >= 1'000);
  CHECK(a.percentile(0.99) <= 1'010);
  CHECK(a.percentile(0.999) == 2'000'000'000);  // the bucket's edge, clipped to the max
  a.clear();
  CHECK(a.count() == 0);
  CHECK(a.percentile(0.99) == 0);
}

TEST_CASE("values past 73 minutes land in the last bucket and max stays exact") {
  Histogram h;
  const std::int64_t ten_hours = 36'000'000'000'000;
  h.record(ten_hours);
  CHECK(Histogram::index_of(ten_hours) == Histogram::kBuckets - 1);
  CHECK(h.max() == ten_hours);
  CHECK(h.percentile(0.5) == ten_hours);
}
