#include "tools/load/message_sizes.h"

#include <algorithm>

#include "tools/flags/flags.h"

namespace wsp_load {
namespace {

constexpr std::size_t kMaxSize = std::size_t{1} << 30;  // 1 GiB: more is surely a typo

// "4096", "4K", "1M".
bool parse_size(std::string_view text, std::size_t& out) {
  unsigned long long multiplier = 1;
  if (!text.empty() && (text.back() == 'K' || text.back() == 'k')) multiplier = 1024;
  if (!text.empty() && (text.back() == 'M' || text.back() == 'm')) multiplier = 1024 * 1024;
  if (multiplier != 1) text.remove_suffix(1);
  unsigned long long value = 0;
  if (!flags::parse_unsigned(text, 0, kMaxSize / multiplier, value).empty()) return false;
  out = static_cast<std::size_t>(value * multiplier);
  return true;
}

}  // namespace

MessageSizes::MessageSizes(std::vector<Part> parts) : parts_(std::move(parts)) {
  min_ = parts_.front().low;
  for (const Part& p : parts_) {
    total_weight_ += p.weight;
    min_ = std::min(min_, p.low);
    max_ = std::max(max_, p.high);
  }
}

std::string MessageSizes::parse(std::string_view text, MessageSizes& out) {
  const std::string expected =
      "a size in bytes (64), a range (64-1024) or a weighted list (64:9,4096:1)";
  std::vector<Part> parts;
  const bool weighted = text.find(':') != std::string_view::npos;
  while (true) {
    const std::size_t comma = text.find(',');
    std::string_view item = text.substr(0, comma);
    std::uint64_t weight = 1;
    if (const std::size_t colon = item.find(':'); colon != std::string_view::npos) {
      unsigned long long w = 0;
      if (!flags::parse_unsigned(item.substr(colon + 1), 1, 1000000, w).empty()) return expected;
      weight = w;
      item = item.substr(0, colon);
    } else if (weighted) {
      return expected;  // every part of a weighted list has its weight
    }
    Part part{0, 0, weight};
    if (const std::size_t dash = item.find('-'); dash != std::string_view::npos) {
      if (!parse_size(item.substr(0, dash), part.low) ||
          !parse_size(item.substr(dash + 1), part.high) || part.low > part.high)
        return expected;
    } else {
      if (!parse_size(item, part.low)) return expected;
      part.high = part.low;
    }
    parts.push_back(part);
    if (comma == std::string_view::npos) break;
    if (!weighted) return expected;  // a list without weights is ambiguous
    text.remove_prefix(comma + 1);
  }
  out = MessageSizes(std::move(parts));
  return {};
}

std::string MessageSizes::describe() const {
  std::string out;
  for (const Part& p : parts_) {
    if (!out.empty()) out += ',';
    out += std::to_string(p.low);
    if (p.high != p.low) out += "-" + std::to_string(p.high);
    if (parts_.size() > 1) out += ":" + std::to_string(p.weight);
  }
  return out;
}

}  // namespace wsp_load
