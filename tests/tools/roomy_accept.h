// The opening handshake for the tools' test servers, with limits no test reaches (64 MiB
// messages, no outbound limit), so what a test sees is the server's intended behaviour, not
// a limit's.
#pragma once

#include <memory>
#include <utility>

#include "io/tcp_stream.h"
#include "wsp/websocket.h"

namespace tool_test {

inline io::Task<io::Result<std::unique_ptr<wsp::WebSocket>>> roomy_accept(io::TcpStream tcp) {
  wsp::AcceptOptions options;
  options.limits.inbound_buffer_size = 64 << 20;
  options.limits.outbound_buffer_size = 0;
  options.limits.max_queued_packets = 1 << 20;
  co_return co_await wsp::accept(std::make_unique<io::TcpStream>(std::move(tcp)), options);
}

}  // namespace tool_test
