#include "wsp/protocol/url.h"

#include <algorithm>
#include <cctype>

namespace wsp {

bool parse_websocket_url(std::string_view url, WebSocketUrl& out) {
  out = WebSocketUrl{};
  if (url.empty()) return false;
  std::string_view rest = url;
  if (auto sep = rest.find("://"); sep != std::string_view::npos) {
    std::string scheme(rest.substr(0, sep));
    std::transform(scheme.begin(), scheme.end(), scheme.begin(),
                   [](unsigned char c) { return std::tolower(c); });
    if (scheme == "wss") {
      out.tls = true;
    } else if (scheme != "ws") {
      return false;
    }
    rest.remove_prefix(sep + 3);
  }
  out.port = out.tls ? 443 : 80;
  if (auto hash = rest.find('#'); hash != std::string_view::npos) rest = rest.substr(0, hash);
  std::string_view authority = rest.substr(0, rest.find_first_of("/?"));
  std::string_view target = rest.substr(authority.size());
  if (auto at = authority.rfind('@'); at != std::string_view::npos) authority.remove_prefix(at + 1);

  std::string_view port_text;
  if (!authority.empty() && authority.front() == '[') {
    auto close = authority.find(']');
    if (close == std::string_view::npos) return false;
    out.host = std::string(authority.substr(1, close - 1));
    std::string_view after = authority.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') return false;
      port_text = after.substr(1);
      if (port_text.empty()) return false;
    }
  } else {
    auto colon = authority.rfind(':');
    if (colon != std::string_view::npos) {
      port_text = authority.substr(colon + 1);
      authority = authority.substr(0, colon);
      if (port_text.empty()) return false;
    }
    out.host = std::string(authority);
  }
  if (out.host.empty()) return false;
  for (char c : out.host) {
    // No whitespace or control bytes: the host goes into the Host header verbatim.
    if (static_cast<unsigned char>(c) <= 0x20 || c == 0x7f) return false;
  }
  std::transform(out.host.begin(), out.host.end(), out.host.begin(),
                 [](unsigned char c) { return std::tolower(c); });
  if (!port_text.empty()) {
    if (port_text.size() > 5) return false;
    int port = 0;
    for (char c : port_text) {
      if (c < '0' || c > '9') return false;
      port = port * 10 + (c - '0');
    }
    if (port < 1 || port > 65535) return false;
    out.port = port;
  }
  out.path_and_query = target.empty() ? "/" : std::string(target);
  if (out.path_and_query.front() == '?') out.path_and_query.insert(0, "/");
  for (char c : out.path_and_query) {
    if (static_cast<unsigned char>(c) <= 0x20 || c == 0x7f) return false;  // request-line safety
  }
  return true;
}

}  // namespace wsp
