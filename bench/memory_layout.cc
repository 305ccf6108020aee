// What an idle connection's objects cost: sizeof of each per-connection component, and what
// holds it: a slot of io::slab (the size rounded up to 8, no header) for the classes derived
// from io::slab::Allocated, else the chunk glibc's malloc gives it (size + 8-byte header,
// rounded up to 16, at least 32). The
// coroutine frames are not here: their size is only known to the compiler (docs/perf.md,
// "Memory per idle connection", has them, measured by counting frame allocations).
//
//   bazel run --config=opt //bench:memory_layout
#include <cstdio>
#include <type_traits>

#include "io/event.h"
#include "io/slab.h"
#include "io/tcp_push_io.h"
#include "io/tcp_stream.h"
#include "wsp/engine/connection.h"
#include "wsp/engine/inbound_queue.h"
#include "wsp/engine/opening.h"
#include "wsp/engine/outbound_queue.h"
#include "wsp/message_handler.h"
#include "wsp/protocol/protocol.h"
#include "wsp/shard_connections.h"
#include "wsp/websocket.h"
#include "wsp/websocket_peer.h"

namespace {

std::size_t malloc_chunk(std::size_t size) {
  const std::size_t chunk = (size + 8 + 15) / 16 * 16;
  return chunk < 32 ? 32 : chunk;
}

std::size_t slab_slot(std::size_t size) { return (size + 7) / 8 * 8; }

// `where`: null for an object allocated on its own, else what holds it.
void row(const char* name, std::size_t size, const char* where = nullptr) {
  if (!where) {
    std::printf("%-34s %5zu B   malloc chunk %5zu B\n", name, size, malloc_chunk(size));
  } else {
    std::printf("%-34s %5zu B   (in %s)\n", name, size, where);
  }
}

template <typename T>
void row_of(const char* name) {
  if constexpr (std::is_base_of_v<io::slab::Allocated, T>) {
    std::printf("%-34s %5zu B   slab slot    %5zu B\n", name, sizeof(T), slab_slot(sizeof(T)));
  } else {
    row(name, sizeof(T));
  }
}

}  // namespace

int main() {
  row_of<wsp::WebSocket>("wsp::WebSocket");
  row("  wsp::Connection", sizeof(wsp::Connection), "the WebSocket: its base");
  row("    wsp::Protocol", sizeof(wsp::Protocol), "the Connection");
  row("    wsp::ProtocolEvent (a held message)", sizeof(wsp::ProtocolEvent), "the Connection, made only when the inbound queue is full");
  row("    wsp::InboundQueue", sizeof(wsp::InboundQueue), "the Connection's occasional state");
  row("    wsp::OutboundQueue", sizeof(wsp::OutboundQueue), "the Connection");
  row("      its write in progress", wsp::OutboundQueue::kBusySize,
      "the frame pool, 32-byte classes: only while a write is in progress");
  row("    io::Signal (x2)", sizeof(io::Signal),
      "the Connection's occasional state, made for the coroutine face");
  row("  wsp::ConnectionFacts (limits, URL, subprotocol, kept headers)",
      sizeof(wsp::ConnectionFacts),
      "one shared copy per distinct value, carried by the Protocol's interned config");
  row("wsp::WebSocketPeer", sizeof(wsp::WebSocketPeer));
  row("wsp::Opening (a server's handshake under way)", sizeof(wsp::Opening));
  row("  its request state", wsp::Opening::server_request_size());
  row("  its result, made when it ends", sizeof(wsp::OpenedStream));
  row_of<io::TcpStream>("io::TcpStream");
  row_of<io::TcpPushIo>("io::TcpPushIo");
  row("  io::TcpPushIo::Busy", sizeof(io::TcpPushIo::Busy),
      "the frame pool, 32-byte classes: only while a write is in progress");
  row_of<wsp::MessageHandler>("wsp::MessageHandler (base of a handler)");
  row_of<wsp::ShardConnections::Handler>("wsp::ShardConnections::Handler (a server's)");
  row("wsp::ShardConnections::Node", sizeof(wsp::ShardConnections::Node), "a coroutine server's frame");
  row("wsp::WebSocket::ReceiveOp", sizeof(wsp::WebSocket::ReceiveOp), "a coroutine echo loop's frame");
  row("wsp::WebSocket::SendOp", sizeof(wsp::WebSocket::SendOp), "a coroutine echo loop's frame");
  row("wsp::Received", sizeof(wsp::Received), "a coroutine echo loop's frame");
  return 0;
}
