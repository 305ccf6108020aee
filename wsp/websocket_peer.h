// The documented WebSocketPeer API (poll() façade): WebSocketPeer, TCPServer, StreamPeerTCP,
// StreamPeerTLS, TLSOptions and the Error values. See docs/websocketpeer.md.
#pragma once

#include "tls/tls_options.h"            // IWYU pragma: export
#include "wsp/peer/error.h"             // IWYU pragma: export
#include "wsp/peer/stream_peer_tcp.h"   // IWYU pragma: export
#include "wsp/peer/stream_peer_tls.h"   // IWYU pragma: export
#include "wsp/peer/tcp_server.h"        // IWYU pragma: export
#include "wsp/peer/websocket_peer.h"    // IWYU pragma: export
