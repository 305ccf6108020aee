// wsp-cat's exit status, from how the WebSocket connection ended (documented in README.md):
//   0   closed with 1000 (normal) or 1005 (a close frame without a code)
//   1   could not connect, listen or open the WebSocket (the reason is on stderr)
//   2   bad command line
//   3   dropped without a closing handshake (1006)
//   4   closed with an application code (3000-4999)
//   10 + (code - 1000) for the other codes the RFC defines, 1001-1015: 11 going away,
//       12 protocol error, 13 unsupported data, 17 invalid payload, 18 policy violation,
//       19 message too big, 20 missing extension, 21 internal error, 25 TLS failure
#pragma once

namespace wsp_cat {

constexpr int kCannotConnect = 1;
constexpr int kUsage = 2;

// `code` as Connection::close_code() gives it: -1 when the connection ended uncleanly.
int exit_status_for_close(int code);

}  // namespace wsp_cat
