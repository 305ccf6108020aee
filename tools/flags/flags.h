// A small command-line parser for the examples and tools: --name VALUE or --name=VALUE,
// positional arguments, and values checked as they are read (integers are digits only and in
// range, no atoi). A bad command line prints one line naming the flag and what it expects,
// then the usage, and exits with status 2; --help prints the usage and exits 0.
//
//   Flags flags("echo_server", "WebSocket echo server");
//   int port = 9001;
//   flags.add("--port", &port, 0, 65535, "port to listen on (0: any)");
//   flags.parse(argc, argv);
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace flags {

class Flags {
 public:
  Flags(std::string program, std::string summary);

  // A flag that takes a value.
  void add(std::string name, std::string* out, std::string help);
  void add(std::string name, int* out, int min, int max, std::string help);
  void add(std::string name, long* out, long min, long max, std::string help);
  void add(std::string name, unsigned* out, unsigned min, unsigned max, std::string help);
  void add(std::string name, std::size_t* out, std::size_t min, std::size_t max, std::string help);
  void add(std::string name, double* out, double min, double max, std::string help);
  // A yes/no flag: "--name" alone sets it; "--name=1|0|true|false|yes|no" or "--name 1|0" too.
  void add(std::string name, bool* out, std::string help);
  // A flag that may be given several times (each value appended).
  void add(std::string name, std::vector<std::string>* out, std::string help);
  // A flag whose value `parse` checks: it returns an empty string when the value is good,
  // else what the flag expects ("a URL starting with ws:// or wss://").
  void add(std::string name, std::string value_name,
           std::function<std::string(std::string_view)> parse, std::string help);
  // The next positional argument (in the order added).
  void positional(std::string name, std::string* out, std::string help, bool required);
  // The same, checked by `parse` as for a flag ("SECONDS: 'x' is not a number from ...").
  void positional(std::string name, std::function<std::string(std::string_view)> parse,
                  std::string help, bool required);
  // Every remaining positional argument (added last): at least one when `required`.
  void positionals(std::string name, std::vector<std::string>* out, std::string help,
                   bool required);

  // Parses argv, exiting with status 2 (or 0 for --help) as described above.
  void parse(int argc, char** argv);
  // The same without exiting: the error line, empty when parsing succeeded ("help" for --help).
  std::string try_parse(int argc, char** argv);
  // For what single values cannot show (two flags that go together, a file that does not
  // load): prints "program: message" on stderr and exits with status 2.
  [[noreturn]] void fail(const std::string& message) const;

  std::string usage() const;

 private:
  struct Flag {
    std::string name, value_name, help;
    bool is_switch = false;
    bool repeatable = false;
    bool seen = false;
    std::function<std::string(std::string_view)> set;
  };
  struct Positional {
    std::string name, help;
    std::function<std::string(std::string_view)> set;
    bool required;
    std::vector<std::string>* rest = nullptr;  // takes every remaining argument
  };
  Flag* find(std::string_view name);
  void add_flag(Flag flag);

  std::string program_, summary_;
  std::vector<Flag> flags_;
  std::vector<Positional> positionals_;
};

// Checks one integer: digits only (a leading '-' only when `min` < 0), no overflow, within
// [min, max]. Returns an empty string when good, else what was expected.
std::string parse_integer(std::string_view text, long long min, long long max, long long& out);
std::string parse_unsigned(std::string_view text, unsigned long long min, unsigned long long max,
                           unsigned long long& out);
std::string parse_number(std::string_view text, double min, double max, double& out);

}  // namespace flags
