// The rate-limited log of refused handshakes the echo and chat servers keep, on a fake clock.
#include <catch2/catch.hpp>

#include <chrono>
#include <string>
#include <vector>

#include "examples/refusal_log.h"

using namespace std::chrono_literals;
using Lines = std::vector<std::string>;

TEST_CASE("up to the limit every refusal is a line of its own") {
  Lines out;
  RefusalLog log([&](const std::string& line) { out.push_back(line); }, 3);
  const auto t = RefusalLog::Clock::time_point{} + 100s;
  log.refused("a", t);
  log.refused("b", t + 10ms);
  log.refused("c", t + 20ms);
  CHECK(out == Lines{"a", "b", "c"});
  CHECK_FALSE(log.flush_due());
}

TEST_CASE("past the limit refusals are counted and told in one line when the second is over") {
  Lines out;
  RefusalLog log([&](const std::string& line) { out.push_back(line); }, 2);
  const auto t = RefusalLog::Clock::time_point{} + 100s;
  for (int i = 0; i < 40; ++i) log.refused("refused " + std::to_string(i), t + i * 1ms);
  CHECK(out == Lines{"refused 0", "refused 1"});
  REQUIRE(log.flush_due());
  CHECK(*log.flush_due() == t + 1s);
  log.flush(t + 999ms);  // not yet
  CHECK(out.size() == 2);
  log.flush(t + 1s);
  CHECK(out == Lines{"refused 0", "refused 1", "... and 38 more refused"});
  CHECK_FALSE(log.flush_due());
  log.flush(t + 5s);  // told once
  CHECK(out.size() == 3);
}

TEST_CASE("a refusal in the next second tells the held-back count first, then logs again") {
  Lines out;
  RefusalLog log([&](const std::string& line) { out.push_back(line); }, 1);
  const auto t = RefusalLog::Clock::time_point{} + 100s;
  log.refused("a", t);
  log.refused("b", t + 1ms);
  log.refused("c", t + 2ms);
  log.refused("d", t + 1500ms);
  CHECK(out == Lines{"a", "... and 2 more refused", "d"});
}

TEST_CASE("a flood of 10,000 refusals in ten seconds writes at most 10 lines a second") {
  Lines out;
  RefusalLog log([&](const std::string& line) { out.push_back(line); });
  const auto t = RefusalLog::Clock::time_point{} + 100s;
  for (int i = 0; i < 10000; ++i) log.refused("x", t + i * 1ms);
  log.finish();
  // Ten windows of a second: 10 lines and one count each.
  CHECK(out.size() == 10 * 11);
  CHECK(out.back() == "... and 990 more refused");
}

TEST_CASE("finish tells what is held back at exit") {
  Lines out;
  RefusalLog log([&](const std::string& line) { out.push_back(line); }, 1);
  const auto t = RefusalLog::Clock::now();
  log.refused("a", t);
  log.refused("b", t);
  log.finish();
  CHECK(out == Lines{"a", "... and 1 more refused"});
}
