// The command-line parser of the examples and tools: values checked as they are read.
#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "tools/flags/flags.h"

namespace {

// Runs try_parse over `args` (the program name is added).
std::string parse(flags::Flags& f, std::vector<std::string> args) {
  args.insert(args.begin(), "prog");
  std::vector<char*> argv;
  for (std::string& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);  // as main() gets it
  return f.try_parse(static_cast<int>(argv.size() - 1), argv.data());
}

}  // namespace

TEST_CASE("integer flags take digits only, within their range") {
  int port = 9001;
  flags::Flags f("prog", "test");
  f.add("--port", &port, 0, 65535, "port");
  CHECK(parse(f, {"--port", "abc"}) == "--port: 'abc' is not a whole number from 0 to 65535");
  CHECK(port == 9001);
  flags::Flags g("prog", "test");
  g.add("--port", &port, 0, 65535, "port");
  CHECK(parse(g, {"--port", "65536"}) == "--port: '65536' is not a whole number from 0 to 65535");
  flags::Flags h("prog", "test");
  h.add("--port", &port, 0, 65535, "port");
  CHECK(parse(h, {"--port=-1"}) == "--port: '-1' is not a whole number from 0 to 65535");
  flags::Flags k("prog", "test");
  k.add("--port", &port, 0, 65535, "port");
  CHECK(parse(k, {"--port", "12x"}) == "--port: '12x' is not a whole number from 0 to 65535");
  flags::Flags ok("prog", "test");
  ok.add("--port", &port, 0, 65535, "port");
  CHECK(parse(ok, {"--port=8080"}).empty());
  CHECK(port == 8080);
}

TEST_CASE("an integer that overflows its type is refused, not wrapped") {
  long n = 0;
  flags::Flags f("prog", "test");
  f.add("--n", &n, 0L, 1000L, "n");
  CHECK(parse(f, {"--n", "99999999999999999999999"}) ==
        "--n: '99999999999999999999999' is not a whole number from 0 to 1000");
  CHECK(n == 0);
}

TEST_CASE("unknown flags, missing values, repeated flags and stray arguments are errors") {
  int n = 0;
  std::string url;
  flags::Flags f("prog", "test");
  f.add("--n", &n, 0, 10, "n");
  f.positional("URL", &url, "where", true);
  CHECK(parse(f, {"--bogus"}) == "unknown option --bogus");
  CHECK(parse(f, {"ws://x", "--n"}) == "--n: missing value (N)");
  flags::Flags g("prog", "test");
  g.add("--n", &n, 0, 10, "n");
  g.positional("URL", &url, "where", true);
  CHECK(parse(g, {"--n", "1", "--n", "2", "ws://x"}) == "--n: given twice");
  flags::Flags h("prog", "test");
  h.positional("URL", &url, "where", true);
  CHECK(parse(h, {}) == "missing URL");
  CHECK(parse(h, {"a", "b"}) == "unexpected argument 'b'");
}

TEST_CASE("switches, numbers and repeated flags") {
  bool verbose = false, stats = true;
  double seconds = 1;
  std::vector<std::string> headers;
  flags::Flags f("prog", "test");
  f.add("--verbose", &verbose, "v");
  f.add("--print-stats", &stats, "s");
  f.add("--seconds", &seconds, 0.001, 3600.0, "s");
  f.add("--header", &headers, "h");
  CHECK(parse(f, {"--verbose", "--print-stats", "0", "--seconds", "2.5", "--header", "A: 1",
                  "--header=B: 2"})
            .empty());
  CHECK(verbose);
  CHECK_FALSE(stats);
  CHECK(seconds == 2.5);
  CHECK(headers == std::vector<std::string>{"A: 1", "B: 2"});
  flags::Flags g("prog", "test");
  g.add("--seconds", &seconds, 0.001, 3600.0, "s");
  CHECK(parse(g, {"--seconds", "nan"}) == "--seconds: 'nan' is not a number from 0.001 to 3600");
  flags::Flags h("prog", "test");
  h.add("--print-stats", &stats, "s");
  CHECK(parse(h, {"--print-stats=maybe"}) ==
        "--print-stats: 'maybe' is not 1, 0, true, false, yes or no");
}

TEST_CASE("--help asks for the usage, which lists every flag") {
  int n = 0;
  flags::Flags f("prog", "does things");
  f.add("--n", &n, 0, 10, "how many");
  CHECK(parse(f, {"--help"}) == "help");
  CHECK(f.usage() == "usage: prog [options]\ndoes things\n  --n N  how many\n  --help  this text\n");
}

TEST_CASE("a checked positional argument is refused like a flag value, naming it") {
  double seconds = 2;
  flags::Flags f("prog", "test");
  f.positional("SECONDS",
               [&](std::string_view v) { return flags::parse_number(v, 0.1, 60.0, seconds); },
               "seconds", false);
  CHECK(parse(f, {"abc"}) == "SECONDS: 'abc' is not a number from 0.1 to 60");
  CHECK(seconds == 2);
  flags::Flags g("prog", "test");
  g.positional("SECONDS",
               [&](std::string_view v) { return flags::parse_number(v, 0.1, 60.0, seconds); },
               "seconds", false);
  CHECK(parse(g, {"3.5"}).empty());
  CHECK(seconds == 3.5);
}

TEST_CASE("a switch followed by a word no positional takes reports the word as its bad value") {
  bool stats = false;
  flags::Flags f("prog", "test");
  f.add("--print-stats", &stats, "s");
  CHECK(parse(f, {"--print-stats", "maybe"}) ==
        "--print-stats: 'maybe' is not 1, 0, true, false, yes or no");
  bool verbose = false;
  std::string url;
  flags::Flags g("prog", "test");
  g.add("--verbose", &verbose, "v");
  g.positional("URL", &url, "where", false);
  CHECK(parse(g, {"--verbose", "ws://x"}).empty());
  CHECK(verbose);
  CHECK(url == "ws://x");
}

TEST_CASE("a repeatable positional takes every remaining argument, at least one when required") {
  std::string first;
  std::vector<std::string> rest;
  flags::Flags f("prog", "test");
  f.positional("MODE", &first, "mode", true);
  f.positionals("URL", &rest, "targets", true);
  CHECK(parse(f, {"echo"}) == "missing URL");
  flags::Flags g("prog", "test");
  g.positional("MODE", &first, "mode", true);
  g.positionals("URL", &rest, "targets", true);
  CHECK(parse(g, {"echo", "ws://a", "ws://b", "ws://c"}).empty());
  CHECK(first == "echo");
  CHECK(rest == std::vector<std::string>{"ws://a", "ws://b", "ws://c"});
  CHECK_THAT(g.usage(), Catch::StartsWith("usage: prog [options] MODE URL...\n"));
}

TEST_CASE("a switch whose value is the last argument takes it") {
  bool progress = true;
  flags::Flags f("prog", "test");
  f.add("--progress", &progress, "progress");
  CHECK(parse(f, {"--progress", "0"}).empty());
  CHECK_FALSE(progress);
}
