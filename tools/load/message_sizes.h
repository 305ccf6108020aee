// MessageSizes: what --size says, and drawing sizes from it.
//   "64"           every message 64 bytes
//   "64-1024"      uniform from 64 to 1024 bytes, both included
//   "64:9,4096:1"  weighted: 64 bytes nine times in ten, 4096 once (a part may be a range)
// A number may end in K or M (KiB, MiB).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace wsp_load {

// xoshiro-style generator: fast, seeded per thread, so runs are reproducible.
class Random {
 public:
  explicit Random(std::uint64_t seed) : state_(seed * 0x9E3779B97F4A7C15ull + 1) {}
  std::uint64_t next() {  // splitmix64
    std::uint64_t z = (state_ += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  }
  // Uniform in [0, bound).
  std::uint64_t below(std::uint64_t bound) {
    return static_cast<std::uint64_t>((static_cast<unsigned __int128>(next()) * bound) >> 64);
  }

 private:
  std::uint64_t state_;
};

class MessageSizes {
 public:
  struct Part {
    std::size_t low, high;  // inclusive
    std::uint64_t weight;
  };

  // Parses `text`; returns an empty string when good, else what --size expects.
  static std::string parse(std::string_view text, MessageSizes& out);
  static MessageSizes fixed(std::size_t size) { return MessageSizes({{size, size, 1}}); }

  MessageSizes() : MessageSizes({{64, 64, 1}}) {}
  std::size_t max() const { return max_; }
  std::size_t min() const { return min_; }
  bool is_fixed() const { return min_ == max_; }
  std::size_t draw(Random& random) const {
    if (min_ == max_) return min_;
    const Part* part = &parts_.front();
    if (parts_.size() > 1) {
      std::uint64_t pick = random.below(total_weight_);
      for (const Part& p : parts_) {
        if (pick < p.weight) {
          part = &p;
          break;
        }
        pick -= p.weight;
      }
    }
    return part->low + static_cast<std::size_t>(random.below(part->high - part->low + 1));
  }
  const std::vector<Part>& parts() const { return parts_; }
  std::string describe() const;  // as the user would write it

 private:
  explicit MessageSizes(std::vector<Part> parts);
  std::vector<Part> parts_;
  std::uint64_t total_weight_ = 0;
  std::size_t min_ = 0, max_ = 0;
};

}  // namespace wsp_load
