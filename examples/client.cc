// The reference's client example, line for line: connect, poll every tick, print packets,
// report the close. With a second argument it also sends that text once the socket is open and
// closes after the first answer, so it can talk to the echo server. A URL connect_to_url()
// refuses is reported with the reason (exit status 2, as for any bad argument).
//
//   bazel run //examples:client -- ws://127.0.0.1:9001 "hello"
#include <chrono>
#include <cstdio>
#include <string>
#include <thread>

#include "tools/flags/flags.h"
#include "wsp/websocket_peer.h"

using wsp::WebSocketPeer;

int main(int argc, char** argv) {
  std::string url = "ws://127.0.0.1:9001";
  std::string greeting;
  flags::Flags flags("client", "WebSocket client: prints what the server sends.");
  flags.positional("URL", &url, "ws:// or wss:// URL (default ws://127.0.0.1:9001)", false);
  flags.positional("MESSAGE", &greeting, "text to send once open; then close after the answer",
                   false);
  flags.parse(argc, argv);

  WebSocketPeer socket;
  if (socket.connect_to_url(url) != wsp::OK) flags.fail(socket.get_error_reason());
  bool greeted = false;
  for (int tick = 0; tick < 60 * 30; ++tick) {  // 60 ticks a second, 30 seconds at most
    socket.poll();
    WebSocketPeer::State state = socket.get_ready_state();
    if (state == WebSocketPeer::STATE_OPEN) {
      if (!greeting.empty() && !greeted) {
        socket.send_text(greeting);
        greeted = true;
      }
      while (socket.get_available_packet_count()) {
        auto packet = socket.get_packet();
        std::printf("Packet: %.*s\n", static_cast<int>(packet.size()),
                    reinterpret_cast<const char*>(packet.data()));
        if (greeted) socket.close(1000, "done");
      }
    } else if (state == WebSocketPeer::STATE_CLOSING) {
      // Keep polling to achieve proper close.
    } else if (state == WebSocketPeer::STATE_CLOSED) {
      int code = socket.get_close_code();
      std::string reason = socket.get_close_reason();
      std::printf("WebSocket closed with code: %d, reason %s. Clean: %s\n", code, reason.c_str(),
                  code != -1 ? "true" : "false");
      if (code == -1 && !socket.get_error_reason().empty()) {
        std::printf("(%s)\n", socket.get_error_reason().c_str());
      }
      return code != -1 ? 0 : 1;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(16));
  }
  std::printf("gave up after 30 seconds\n");
  return 1;
}
