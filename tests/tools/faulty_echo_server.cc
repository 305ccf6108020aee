// An echo server that misbehaves on purpose, for the wsp-load and wsp-cat tests:
//   --corrupt-every N   flips one byte of every Nth message it echoes (a corrupting server)
//   --stall-after-ms T --stall-ms S
//                       T ms after the first message arrives, stops the whole server for S ms
//                       (the thread sleeps: nothing is read or written), once
//   --close-after N --close-code C
//                       closes each connection with code C after echoing N messages
// Prints "listening on 127.0.0.1:PORT" (with --port 0, the port the OS gave) and runs until
// killed.
#include <chrono>
#include <cstdio>
#include <thread>

#include "io/reactor.h"
#include "io/tcp_listener.h"
#include "io/tcp_stream.h"
#include "tests/tools/roomy_accept.h"
#include "tools/flags/flags.h"
#include "wsp/websocket.h"

namespace {

struct Faults {
  long corrupt_every = 0;
  long stall_after_ms = -1;
  long stall_ms = 0;
  long close_after = 0;
  int close_code = 1000;
  // Shared by every connection: the stall happens once, for the whole server.
  std::chrono::steady_clock::time_point first_message{};
  bool stalled = false;
  long echoed = 0;
};

io::Task<void> echo(Faults& faults, io::TcpStream tcp) {
  auto ws = co_await tool_test::roomy_accept(std::move(tcp));
  if (!ws) co_return;
  long mine = 0;
  for (;;) {
    wsp::Received m = co_await (*ws)->receive();
    if (m.closed) co_return;
    const auto now = std::chrono::steady_clock::now();
    if (faults.first_message == std::chrono::steady_clock::time_point{}) faults.first_message = now;
    if (faults.stall_after_ms >= 0 && !faults.stalled &&
        now - faults.first_message >= std::chrono::milliseconds(faults.stall_after_ms)) {
      faults.stalled = true;
      // The deliberate stall: this thread (the whole server) does nothing meanwhile.
      std::this_thread::sleep_for(std::chrono::milliseconds(faults.stall_ms));
    }
    ++faults.echoed;
    if (faults.corrupt_every > 0 && faults.echoed % faults.corrupt_every == 0 && !m.data.empty())
      m.data[m.data.size() / 2] ^= 0x01;  // stays ASCII: text echoes remain valid UTF-8
    if (!co_await (*ws)->send(std::move(m.data), m.text)) co_return;
    if (faults.close_after > 0 && ++mine == faults.close_after) {
      co_await (*ws)->close(faults.close_code, "faulty_echo_server closes");
      co_return;
    }
  }
}

io::Task<void> accept_loop(io::Reactor& reactor, io::TcpListener& listener, Faults& faults) {
  for (;;) {
    auto tcp = co_await listener.accept();
    if (!tcp) co_return;
    reactor.spawn(echo(faults, std::move(*tcp)));
  }
}

}  // namespace

int main(int argc, char** argv) {
  Faults faults;
  int port = 0;
  flags::Flags f("faulty_echo_server", "an echo server that misbehaves on purpose");
  f.add("--port", &port, 0, 65535, "port (0: any)");
  f.add("--corrupt-every", &faults.corrupt_every, 0L, 1L << 30, "flip a byte of every Nth echo");
  f.add("--stall-after-ms", &faults.stall_after_ms, -1L, 1L << 30, "stall this long after the first message");
  f.add("--stall-ms", &faults.stall_ms, 0L, 1L << 30, "for this long");
  f.add("--close-after", &faults.close_after, 0L, 1L << 30, "close each connection after N echoes");
  f.add("--close-code", &faults.close_code, 1000, 4999, "with this code");
  f.parse(argc, argv);
  io::Reactor reactor;
  auto listener = io::TcpListener::bind(reactor, "127.0.0.1", static_cast<std::uint16_t>(port));
  if (!listener) return 1;
  std::printf("listening on 127.0.0.1:%d\n", listener->local_port());
  std::fflush(stdout);
  reactor.spawn(accept_loop(reactor, *listener, faults));
  reactor.run();
  return 0;
}
