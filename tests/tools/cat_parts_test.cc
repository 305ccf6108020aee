// wsp-cat's parts without I/O: the exit status for each close code, and stdin's lines.
#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "tools/cat/exit_status.h"
#include "tools/cat/line_splitter.h"

using namespace wsp_cat;

TEST_CASE("the exit status says how the connection closed") {
  CHECK(exit_status_for_close(1000) == 0);
  CHECK(exit_status_for_close(1005) == 0);
  CHECK(exit_status_for_close(-1) == 3);
  CHECK(exit_status_for_close(1006) == 3);
  CHECK(exit_status_for_close(1001) == 11);
  CHECK(exit_status_for_close(1002) == 12);
  CHECK(exit_status_for_close(1008) == 18);
  CHECK(exit_status_for_close(1011) == 21);
  CHECK(exit_status_for_close(1015) == 25);
  CHECK(exit_status_for_close(3000) == 4);
  CHECK(exit_status_for_close(4999) == 4);
}

TEST_CASE("every byte split of stdin yields the same lines, \\r\\n or \\n, the last without one") {
  const std::string input = "one\ntwo\r\n\nthree";
  const std::vector<std::string> expected = {"one", "two", "", "three"};
  for (std::size_t split = 0; split <= input.size(); ++split) {
    LineSplitter lines;
    std::vector<std::string> got;
    std::string line;
    lines.feed(std::string_view(input).substr(0, split));
    while (lines.next(line)) got.push_back(line);
    lines.feed(std::string_view(input).substr(split));
    while (lines.next(line, true)) got.push_back(line);
    CAPTURE(split);
    CHECK(got == expected);
  }
}
