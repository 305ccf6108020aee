// ws:// and wss:// URLs as connect_to_url() reads them (see docs/websocketpeer.md).
#pragma once

#include <string>
#include <string_view>

namespace wsp {

struct WebSocketUrl {
  bool tls = false;
  std::string host;            // lower-cased; IPv6 literals without brackets
  int port = 80;
  std::string path_and_query;  // "/" when empty; fragment dropped
};

// False for: empty input, a scheme other than ws/wss, an empty host, a missing ']', a port
// outside 1..65535 or not numeric, spaces or control bytes. A missing scheme means ws://;
// user:pass@ is dropped. `error`, when given, gets what is wrong ("invalid URL http://x/:
// unsupported scheme \"http\" (use ws:// or wss://)").
bool parse_websocket_url(std::string_view url, WebSocketUrl& out, std::string* error = nullptr);

}  // namespace wsp
