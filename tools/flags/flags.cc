#include "tools/flags/flags.h"

#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <limits>

namespace flags {
namespace {

std::string range_text(const std::string& what, const std::string& min, const std::string& max) {
  return what + " from " + min + " to " + max;
}

// 0.1 and 3600 rather than std::to_string's 0.100000 and 3600.000000.
std::string shortest(double value) {
  char text[32];
  std::snprintf(text, sizeof text, "%g", value);
  return text;
}

}  // namespace

std::string parse_unsigned(std::string_view text, unsigned long long min,
                           unsigned long long max, unsigned long long& out) {
  const std::string expected =
      range_text("a whole number", std::to_string(min), std::to_string(max));
  if (text.empty() || text.find_first_not_of("0123456789") != std::string_view::npos)
    return expected;
  unsigned long long value = 0;
  auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (error != std::errc() || end != text.data() + text.size() || value < min || value > max)
    return expected;
  out = value;
  return {};
}

std::string parse_integer(std::string_view text, long long min, long long max, long long& out) {
  const std::string expected =
      range_text("a whole number", std::to_string(min), std::to_string(max));
  const bool negative = !text.empty() && text.front() == '-';
  std::string_view digits = negative ? text.substr(1) : text;
  if (digits.empty() || digits.find_first_not_of("0123456789") != std::string_view::npos ||
      (negative && min >= 0))
    return expected;
  long long value = 0;
  auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (error != std::errc() || end != text.data() + text.size() || value < min || value > max)
    return expected;
  out = value;
  return {};
}

std::string parse_number(std::string_view text, double min, double max, double& out) {
  char buffer[64];
  const std::string expected = range_text("a number", shortest(min), shortest(max));
  if (text.empty() || text.size() >= sizeof buffer ||
      text.find_first_not_of("0123456789.-+eE") != std::string_view::npos)
    return expected;
  text.copy(buffer, text.size());
  buffer[text.size()] = '\0';
  char* end = nullptr;
  const double value = std::strtod(buffer, &end);
  if (end != buffer + text.size() || !std::isfinite(value) || value < min || value > max)
    return expected;
  out = value;
  return {};
}

Flags::Flags(std::string program, std::string summary)
    : program_(std::move(program)), summary_(std::move(summary)) {}

void Flags::add_flag(Flag flag) { flags_.push_back(std::move(flag)); }

void Flags::add(std::string name, std::string* out, std::string help) {
  add_flag({std::move(name), "TEXT", std::move(help), false, false, false,
            [out](std::string_view v) {
              out->assign(v);
              return std::string();
            }});
}

void Flags::add(std::string name, std::vector<std::string>* out, std::string help) {
  add_flag({std::move(name), "TEXT", std::move(help), false, true, false,
            [out](std::string_view v) {
              out->emplace_back(v);
              return std::string();
            }});
}

template <typename T>
static std::function<std::string(std::string_view)> signed_setter(T* out, T min, T max) {
  return [out, min, max](std::string_view v) {
    long long value = 0;
    std::string why = parse_integer(v, min, max, value);
    if (why.empty()) *out = static_cast<T>(value);
    return why;
  };
}

template <typename T>
static std::function<std::string(std::string_view)> unsigned_setter(T* out, T min, T max) {
  return [out, min, max](std::string_view v) {
    unsigned long long value = 0;
    std::string why = parse_unsigned(v, min, max, value);
    if (why.empty()) *out = static_cast<T>(value);
    return why;
  };
}

void Flags::add(std::string name, int* out, int min, int max, std::string help) {
  add_flag({std::move(name), "N", std::move(help), false, false, false, signed_setter(out, min, max)});
}

void Flags::add(std::string name, long* out, long min, long max, std::string help) {
  add_flag({std::move(name), "N", std::move(help), false, false, false, signed_setter(out, min, max)});
}

void Flags::add(std::string name, unsigned* out, unsigned min, unsigned max, std::string help) {
  add_flag({std::move(name), "N", std::move(help), false, false, false, unsigned_setter(out, min, max)});
}

void Flags::add(std::string name, std::size_t* out, std::size_t min, std::size_t max,
                std::string help) {
  add_flag({std::move(name), "N", std::move(help), false, false, false, unsigned_setter(out, min, max)});
}

void Flags::add(std::string name, double* out, double min, double max, std::string help) {
  add_flag({std::move(name), "X", std::move(help), false, false, false,
            [out, min, max](std::string_view v) {
              double value = 0;
              std::string why = parse_number(v, min, max, value);
              if (why.empty()) *out = value;
              return why;
            }});
}

void Flags::add(std::string name, bool* out, std::string help) {
  add_flag({std::move(name), "", std::move(help), true, false, false, [out](std::string_view v) {
              if (v == "1" || v == "true" || v == "yes") *out = true;
              else if (v == "0" || v == "false" || v == "no") *out = false;
              else return std::string("1, 0, true, false, yes or no");
              return std::string();
            }});
}

void Flags::add(std::string name, std::string value_name,
                std::function<std::string(std::string_view)> parse, std::string help) {
  add_flag({std::move(name), std::move(value_name), std::move(help), false, false, false,
            std::move(parse)});
}

void Flags::positional(std::string name, std::string* out, std::string help, bool required) {
  positional(std::move(name),
             [out](std::string_view v) {
               out->assign(v);
               return std::string();
             },
             std::move(help), required);
}

void Flags::positional(std::string name, std::function<std::string(std::string_view)> parse,
                       std::string help, bool required) {
  positionals_.push_back({std::move(name), std::move(help), std::move(parse), required});
}

void Flags::positionals(std::string name, std::vector<std::string>* out, std::string help,
                        bool required) {
  positionals_.push_back({std::move(name), std::move(help), nullptr, required, out});
}

Flags::Flag* Flags::find(std::string_view name) {
  for (Flag& f : flags_)
    if (f.name == name) return &f;
  return nullptr;
}

std::string Flags::usage() const {
  std::string out = "usage: " + program_ + " [options]";
  for (const Positional& p : positionals_) {
    const std::string name = p.rest ? p.name + "..." : p.name;
    out += p.required ? " " + name : " [" + name + "]";
  }
  out += "\n" + summary_ + "\n";
  for (const Positional& p : positionals_) out += "  " + p.name + "  " + p.help + "\n";
  for (const Flag& f : flags_) {
    out += "  " + f.name + (f.value_name.empty() ? "" : " " + f.value_name) + "  " + f.help + "\n";
  }
  out += "  --help  this text\n";
  return out;
}

std::string Flags::try_parse(int argc, char** argv) {
  std::size_t next_positional = 0;
  bool only_positionals = false;
  for (int i = 1; i < argc; ++i) {
    std::string_view arg = argv[i];
    if (!only_positionals && arg == "--") {
      only_positionals = true;
      continue;
    }
    if (!only_positionals && (arg == "--help" || arg == "-h")) return "help";
    if (only_positionals || arg.size() < 2 || arg[0] != '-' || arg == "-") {
      if (next_positional >= positionals_.size())
        return "unexpected argument '" + std::string(arg) + "'";
      Positional& p = positionals_[next_positional];
      if (p.rest) {
        p.rest->emplace_back(arg);  // stays the current one
        continue;
      }
      ++next_positional;
      std::string why = p.set(arg);
      if (!why.empty()) return p.name + ": '" + std::string(arg) + "' is not " + why;
      continue;
    }
    const std::size_t eq = arg.find('=');
    std::string_view name = arg.substr(0, eq);
    Flag* flag = find(name);
    if (!flag) return "unknown option " + std::string(name);
    if (flag->seen && !flag->repeatable) return std::string(name) + ": given twice";
    flag->seen = true;
    std::string_view value;
    if (eq != std::string_view::npos) {
      value = arg.substr(eq + 1);
    } else if (flag->is_switch) {
      // "--name 0" as well as "--name": the next argument is its value when it is one, or
      // when no positional argument could take it ("--print-stats maybe" is a bad value).
      static constexpr std::string_view kValues[] = {"1", "0", "true", "false", "yes", "no"};
      value = "1";
      if (i + 1 < argc) {
        const std::string_view next = argv[i + 1];
        bool known = false;
        for (std::string_view v : kValues) known |= next == v;
        const bool stray = next_positional >= positionals_.size() && !next.empty() &&
                           next.front() != '-';
        if (known || stray) value = argv[++i];
      }
    } else if (i + 1 < argc) {
      value = argv[++i];
    } else {
      return std::string(name) + ": missing value (" + flag->value_name + ")";
    }
    std::string why = flag->set(value);
    if (!why.empty()) return std::string(name) + ": '" + std::string(value) + "' is not " + why;
  }
  for (std::size_t k = next_positional; k < positionals_.size(); ++k) {
    const Positional& p = positionals_[k];
    if (p.required && !(p.rest && !p.rest->empty())) return "missing " + p.name;
  }
  return {};
}

void Flags::parse(int argc, char** argv) {
  std::string error = try_parse(argc, argv);
  if (error.empty()) return;
  if (error == "help") {
    std::fputs(usage().c_str(), stdout);
    std::exit(0);
  }
  std::fprintf(stderr, "%s: %s\n%s", program_.c_str(), error.c_str(), usage().c_str());
  std::exit(2);
}

void Flags::fail(const std::string& message) const {
  std::fprintf(stderr, "%s: %s\n", program_.c_str(), message.c_str());
  std::exit(2);
}

}  // namespace flags
