#include "wsp/protocol/extension_header.h"

#include "wsp/protocol/http_header_block.h"

namespace wsp {
namespace {

bool is_ows(char c) { return c == ' ' || c == '\t'; }

void skip_ows(std::string_view s, std::size_t& i) {
  while (i < s.size() && is_ows(s[i])) ++i;
}

// A token at `i` (may be empty when none starts there).
std::string_view read_token(std::string_view s, std::size_t& i) {
  const std::size_t start = i;
  while (i < s.size() && s[i] != ',' && s[i] != ';' && s[i] != '=' && s[i] != '"' && !is_ows(s[i]))
    ++i;
  const std::string_view t = s.substr(start, i - start);
  return is_token(t) ? t : std::string_view();
}

// A quoted-string at `i` (which holds '"'), unescaped; false when it does not end.
bool read_quoted(std::string_view s, std::size_t& i, std::string& out) {
  ++i;
  while (i < s.size()) {
    const char c = s[i++];
    if (c == '"') return true;
    if (c == '\\') {
      if (i == s.size()) return false;
      out.push_back(s[i++]);
    } else {
      out.push_back(c);
    }
  }
  return false;
}

// Skips to just after the next top-level ',' (outside quotes), or to the end.
void skip_element(std::string_view s, std::size_t& i) {
  bool quoted = false;
  while (i < s.size()) {
    const char c = s[i++];
    if (quoted && c == '\\') {
      if (i < s.size()) ++i;
    } else if (c == '"') {
      quoted = !quoted;
    } else if (c == ',' && !quoted) {
      return;
    }
  }
}

// extension = extension-token *( ";" extension-param ), then OWS and ',' or the end.
bool read_extension(std::string_view s, std::size_t& i, Extension& out) {
  out.name = std::string(read_token(s, i));
  if (out.name.empty()) return false;
  for (;;) {
    skip_ows(s, i);
    if (i == s.size()) return true;
    if (s[i] == ',') {
      ++i;
      return true;
    }
    if (s[i] != ';') return false;
    ++i;
    skip_ows(s, i);
    ExtensionParam param;
    param.name = std::string(read_token(s, i));
    if (param.name.empty()) return false;
    skip_ows(s, i);
    if (i < s.size() && s[i] == '=') {
      ++i;
      skip_ows(s, i);
      if (i < s.size() && s[i] == '"') {
        std::string value;
        // §9.1: a quoted value must be a token once unquoted.
        if (!read_quoted(s, i, value) || !is_token(value)) return false;
        param.value = std::move(value);
      } else {
        const std::string_view value = read_token(s, i);
        if (value.empty()) return false;
        param.value = std::string(value);
      }
    }
    out.params.push_back(std::move(param));
  }
}

}  // namespace

std::vector<Extension> parse_extensions(std::string_view value, std::size_t* malformed) {
  std::vector<Extension> out;
  std::size_t bad = 0;
  std::size_t i = 0;
  while (i < value.size()) {
    skip_ows(value, i);
    if (i == value.size()) break;
    if (value[i] == ',') {  // an empty element
      ++i;
      continue;
    }
    const std::size_t start = i;
    Extension extension;
    if (read_extension(value, i, extension)) {
      out.push_back(std::move(extension));
    } else {
      ++bad;
      i = start;
      skip_element(value, i);
    }
  }
  if (malformed) *malformed = bad;
  return out;
}

std::string to_string(const Extension& extension) {
  std::string out = extension.name;
  for (const ExtensionParam& p : extension.params) {
    out += "; ";
    out += p.name;
    if (p.value) {
      out += '=';
      out += *p.value;
    }
  }
  return out;
}

}  // namespace wsp
