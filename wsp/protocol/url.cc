#include "wsp/protocol/url.h"

#include <algorithm>
#include <cctype>

namespace wsp {
namespace {

bool has_space_or_control(std::string_view text) {
  return std::any_of(text.begin(), text.end(), [](char c) {
    return static_cast<unsigned char>(c) <= 0x20 || c == 0x7f;
  });
}

}  // namespace

bool parse_websocket_url(std::string_view url, WebSocketUrl& out, std::string* error) {
  out = WebSocketUrl{};
  auto invalid = [error, url](std::string why) {
    if (error) *error = "invalid URL " + std::string(url) + ": " + why;
    return false;
  };
  if (url.empty()) {
    if (error) *error = "empty URL";
    return false;
  }
  std::string_view rest = url;
  if (auto sep = rest.find("://"); sep != std::string_view::npos) {
    std::string scheme(rest.substr(0, sep));
    std::transform(scheme.begin(), scheme.end(), scheme.begin(),
                   [](unsigned char c) { return std::tolower(c); });
    if (scheme == "wss") {
      out.tls = true;
    } else if (scheme != "ws") {
      if (has_space_or_control(scheme)) return invalid("space or control character in the URL");
      return invalid("unsupported scheme \"" + scheme.substr(0, 20) + "\" (use ws:// or wss://)");
    }
    rest.remove_prefix(sep + 3);
  }
  out.port = out.tls ? 443 : 80;
  if (auto hash = rest.find('#'); hash != std::string_view::npos) rest = rest.substr(0, hash);
  std::string_view authority = rest.substr(0, rest.find_first_of("/?"));
  std::string_view target = rest.substr(authority.size());
  if (auto at = authority.rfind('@'); at != std::string_view::npos) authority.remove_prefix(at + 1);

  std::string_view port_text;
  bool has_port = false;
  if (!authority.empty() && authority.front() == '[') {
    auto close = authority.find(']');
    if (close == std::string_view::npos) return invalid("missing ']' after the IPv6 address");
    out.host = std::string(authority.substr(1, close - 1));
    std::string_view after = authority.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') return invalid("unexpected text after the IPv6 address");
      port_text = after.substr(1);
      has_port = true;
    }
  } else {
    auto colon = authority.rfind(':');
    if (colon != std::string_view::npos) {
      port_text = authority.substr(colon + 1);
      authority = authority.substr(0, colon);
      has_port = true;
    }
    out.host = std::string(authority);
  }
  if (out.host.empty()) return invalid("no host in the URL");
  // No whitespace or control bytes: the host goes into the Host header verbatim.
  if (has_space_or_control(out.host)) return invalid("space or control character in the host");
  std::transform(out.host.begin(), out.host.end(), out.host.begin(),
                 [](unsigned char c) { return std::tolower(c); });
  if (has_port) {
    int port = 0;
    bool digits = !port_text.empty() && port_text.size() <= 5;
    for (char c : port_text) {
      if (c < '0' || c > '9') digits = false;
      if (digits) port = port * 10 + (c - '0');
    }
    if (!digits || port < 1 || port > 65535)
      return invalid("port \"" + std::string(port_text.substr(0, 20)) +
                     "\" is not a number from 1 to 65535");
    out.port = port;
  }
  out.path_and_query = target.empty() ? "/" : std::string(target);
  if (out.path_and_query.front() == '?') out.path_and_query.insert(0, "/");
  if (has_space_or_control(out.path_and_query))  // request-line safety
    return invalid("space or control character in the path");
  return true;
}

}  // namespace wsp
