// One log line per refused WebSocket handshake, but at most `per_second` lines a second, so a
// flood of bad requests cannot fill a disk. What is held back is counted and told in one line
// once its second is over: "... and 37 more refused".
//
//   RefusalLog log([](const std::string& line) { std::fprintf(stderr, "%s\n", line.c_str()); });
//   log.refused("127.0.0.1:40000: handshake refused with 400 Bad Request: ...");
//   if (auto when = log.flush_due()) ...call log.flush() at *when (or just every loop pass)
#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <optional>
#include <string>
#include <utility>

class RefusalLog {
 public:
  using Clock = std::chrono::steady_clock;
  using Sink = std::function<void(const std::string& line)>;

  explicit RefusalLog(Sink sink, std::size_t per_second = 10)
      : sink_(std::move(sink)), per_second_(per_second) {}

  // Logs `line`, or counts it when this second's lines are used up.
  void refused(const std::string& line, Clock::time_point now = Clock::now()) {
    flush(now);
    if (now >= window_end_) {
      window_end_ = now + std::chrono::seconds(1);
      logged_ = 0;
    }
    if (logged_ < per_second_) {
      ++logged_;
      sink_(line);
    } else {
      ++held_back_;
    }
  }

  // When the held-back count is due to be told; nullopt when nothing is held back.
  std::optional<Clock::time_point> flush_due() const {
    if (held_back_ == 0) return std::nullopt;
    return window_end_;
  }

  // Tells the held-back count once its second is over.
  void flush(Clock::time_point now = Clock::now()) {
    if (held_back_ == 0 || now < window_end_) return;
    sink_("... and " + std::to_string(held_back_) + " more refused");
    held_back_ = 0;
  }

  // At exit: tells the held-back count whatever the time.
  void finish() { flush(Clock::time_point::max()); }

 private:
  Sink sink_;
  std::size_t per_second_;
  Clock::time_point window_end_{};  // the end of the second the last lines belong to
  std::size_t logged_ = 0;          // lines written in that second
  std::size_t held_back_ = 0;       // refusals not written in that second
};
