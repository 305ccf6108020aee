// The Sec-WebSocket-Extensions header (RFC 6455 §9.1): a list of extensions, each a token with
// `;`-separated parameters whose values are tokens or quoted strings.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace wsp {

struct ExtensionParam {
  std::string name;
  std::optional<std::string> value;  // unquoted; nullopt when the parameter has no value
  bool operator==(const ExtensionParam&) const = default;
};

// One element of the list: an offer (request) or an accepted extension (response).
struct Extension {
  std::string name;
  std::vector<ExtensionParam> params;
  bool operator==(const Extension&) const = default;
};

// Parses a header value (several header lines joined with ", " are one list). An element
// that breaks the grammar is left out and counted in `malformed` (when given): a server
// declines it and reads the rest; a client fails on any. A quoted value must unquote to a
// token (§9.1). Empty list elements are skipped (RFC 7230 §7).
std::vector<Extension> parse_extensions(std::string_view value, std::size_t* malformed = nullptr);

// "name; a; b=1" (values written as tokens).
std::string to_string(const Extension& extension);

}  // namespace wsp
