// LineSplitter: stdin bytes, read in chunks of any size, into lines (without "\n" or "\r\n").
#pragma once

#include <string>
#include <string_view>

namespace wsp_cat {

class LineSplitter {
 public:
  // Adds bytes; complete lines are then taken with next().
  void feed(std::string_view bytes) { pending_.append(bytes); }
  // The next complete line, if any. At the end of input (`at_end`), the last line may lack
  // its "\n".
  bool next(std::string& line, bool at_end = false) {
    const std::size_t newline = pending_.find('\n', scanned_from_);
    if (newline == std::string::npos) {
      scanned_from_ = pending_.size();
      if (!at_end || pending_.empty()) return false;
      line.swap(pending_);
      pending_.clear();
      scanned_from_ = 0;
      return true;
    }
    std::size_t end = newline;
    if (end > 0 && pending_[end - 1] == '\r') --end;
    line.assign(pending_, 0, end);
    pending_.erase(0, newline + 1);
    scanned_from_ = 0;
    return true;
  }
  std::size_t pending() const { return pending_.size(); }

 private:
  std::string pending_;
  std::size_t scanned_from_ = 0;  // no '\n' before this offset
};

}  // namespace wsp_cat
