// TlsStream's push I/O (start_receiving, start_write, stop_io) between a client and a server
// TlsStream over 127.0.0.1: what a consumer such as a WebSocket connection sees. The other side
// uses the pull API, or reads the raw TCP stream where the test counts records.
#include <catch2/catch.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "io/reactor.h"
#include "io/socket_address.h"
#include "io/tcp_listener.h"
#include "io/tcp_stream.h"
#include "tests/stream_testing.h"
#include "tests/tls/test_certs.h"
#include "tls/tls_error.h"
#include "tls/tls_stream.h"

using namespace std::chrono_literals;
using io::Reactor;
using io::Result;
using io::Task;
using io::TcpListener;
using io::TcpStream;
using tls::TlsErrc;
using tls::TLSOptions;
using tls::TlsStream;
using tls::testing::test_certificates;
using testing_support::read_exactly;
using testing_support::run_until;

namespace {

constexpr std::size_t kRecord = 16 * 1024;
// TLS 1.3 with AES-GCM: 5-byte header, then the plaintext, its content type and a 16-byte tag.
constexpr std::size_t kRecordOverhead = 5 + 1 + 16;

std::shared_ptr<TLSOptions> server_options() {
  const auto& certs = test_certificates();
  return TLSOptions::server(tls::CryptoKey::load_from_string(certs.server.key),
                            tls::X509Certificate::load_from_string(certs.server.cert));
}

std::shared_ptr<TLSOptions> client_options() {
  return TLSOptions::client(tls::X509Certificate::load_from_string(test_certificates().ca.cert));
}

std::string pattern(std::size_t size) {
  std::string s(size, '\0');
  for (std::size_t i = 0; i < size; ++i) s[i] = static_cast<char>(i * 131 + i / 7);
  return s;
}

Task<Result<void>> write_text(io::ByteStream& stream, const std::string& text) {
  iovec v{const_cast<char*>(text.data()), text.size()};
  co_return co_await stream.write_all({&v, 1});
}

// The record lengths (header field) of a run of TLS records.
std::vector<std::size_t> record_lengths(const std::string& wire) {
  std::vector<std::size_t> lengths;
  std::size_t at = 0;
  while (at + 5 <= wire.size()) {
    std::size_t length = (std::uint8_t(wire[at + 3]) << 8) | std::uint8_t(wire[at + 4]);
    lengths.push_back(length);
    at += 5 + length;
  }
  return lengths;
}

// A connected client and server after their handshakes (pull API), nothing else sent yet.
struct Pair {
  Reactor reactor;
  std::unique_ptr<TlsStream> client;
  std::unique_ptr<TlsStream> server;

  Pair() {
    auto listener = TcpListener::bind(reactor, "127.0.0.1", 0);
    REQUIRE(listener);
    auto accept = [](TcpListener* from, std::unique_ptr<TlsStream>* out) -> Task<void> {
      auto tcp = co_await from->accept();
      if (!tcp) co_return;
      auto stream = co_await TlsStream::accept(std::move(*tcp), server_options(), 5s);
      if (stream) *out = std::move(*stream);
    };
    auto id = reactor.spawn(accept(&*listener, &server));
    auto tcp = reactor.sync_wait(
        TcpStream::connect(reactor, *io::SocketAddress::parse("127.0.0.1", listener->local_port())));
    REQUIRE(tcp);
    auto stream = reactor.sync_wait(TlsStream::connect(std::move(*tcp), "localhost", client_options(), 5s));
    REQUIRE(stream);
    client = std::move(*stream);
    bool accepted = run_until(reactor, [&] { return server != nullptr; });
    reactor.cancel(id);
    REQUIRE(accepted);
  }

  // Runs a pull write on `stream` to its end.
  void write(TlsStream& stream, const std::string& text) {
    auto w = reactor.sync_wait(write_text(stream, text));
    REQUIRE(w);
  }
};

struct Receiver final : testing_support::ReceiveOnly {
  std::string data;
  std::vector<std::size_t> chunks;
  bool pause = false;   // return false from every call
  bool paused = false;  // it did, and the test has not resumed since
  int calls_while_paused = 0;
  int ends = 0;
  std::error_code end_error;
  std::function<void()> hook;  // runs inside on_received

  bool on_received(std::span<const std::uint8_t> bytes) override {
    if (paused) ++calls_while_paused;
    data.append(reinterpret_cast<const char*>(bytes.data()), bytes.size());
    chunks.push_back(bytes.size());
    if (hook) hook();
    if (pause) paused = true;
    return !pause;
  }
  void on_receive_end(std::error_code error) override {
    ++ends;
    end_error = error;
  }
};

struct Writer final : testing_support::WriteOnly {
  int calls = 0;
  std::error_code error;
  std::function<void()> hook;  // runs inside on_written

  void on_written(std::error_code e) override {
    ++calls;
    error = e;
    if (hook) hook();
  }
};

// Fills the client's engine with ciphertext the push receiver has not seen: the server sends
// `payload` and the client's pull read takes its first byte (and everything that arrived).
void preload(Pair& p, const std::string& payload) {
  p.write(*p.server, payload);
  auto first = p.reactor.sync_wait(read_exactly(*p.client, 1));
  REQUIRE(first == payload.substr(0, 1));
}

}  // namespace

TEST_CASE("a push write of a header and a 1 MiB body goes out as 64 full 16 KiB records") {
  Pair p;
  const std::string payload = pattern(1 << 20);
  iovec parts[2] = {{const_cast<char*>(payload.data()), 10},
                    {const_cast<char*>(payload.data()) + 10, payload.size() - 10}};
  Writer writer;
  p.client->start_write(parts, writer);
  const std::size_t wire_size = 64 * (kRecord + kRecordOverhead);
  std::string wire = p.reactor.sync_wait(read_exactly(*p.server->tcp(), wire_size));
  REQUIRE(wire.size() == wire_size);
  CHECK(record_lengths(wire) == std::vector<std::size_t>(64, kRecord + 1 + 16));
  REQUIRE(run_until(p.reactor, [&] { return writer.calls > 0; }));
  CHECK(writer.calls == 1);
  CHECK_FALSE(writer.error);
}

// 100 WebSocket frames of a turn, as a connection writes them: a 2-byte header and 64 bytes of
// payload each, 200 pieces in one write.
std::vector<iovec> small_frames(const std::string& bytes) {
  std::vector<iovec> pieces;
  for (std::size_t at = 0; at < bytes.size(); at += 66) {
    pieces.push_back({const_cast<char*>(bytes.data()) + at, 2});
    pieces.push_back({const_cast<char*>(bytes.data()) + at + 2, 64});
  }
  return pieces;
}

TEST_CASE("a push write of 100 small frames goes out as one record") {
  Pair p;
  const std::string frames = pattern(100 * 66);
  std::vector<iovec> pieces = small_frames(frames);
  Writer writer;
  p.client->start_write(pieces, writer);
  const std::size_t wire_size = frames.size() + kRecordOverhead;
  std::string wire = p.reactor.sync_wait(read_exactly(*p.server->tcp(), wire_size));
  CHECK(record_lengths(wire) == std::vector<std::size_t>{frames.size() + 1 + 16});
  REQUIRE(run_until(p.reactor, [&] { return writer.calls > 0; }));
  CHECK(writer.calls == 1);
  CHECK_FALSE(writer.error);
}

TEST_CASE("small frames gathered into records arrive intact and in order") {
  Pair p;
  const std::string frames = pattern(1000 * 66);  // more than four records' worth
  std::vector<iovec> pieces = small_frames(frames);
  Writer writer;
  p.client->start_write(pieces, writer);
  CHECK(p.reactor.sync_wait(read_exactly(*p.server, frames.size())) == frames);
  REQUIRE(run_until(p.reactor, [&] { return writer.calls > 0; }));
  CHECK_FALSE(writer.error);
}

TEST_CASE("a 1 MiB push write arrives intact at a pull reader") {
  Pair p;
  const std::string payload = pattern(1 << 20);
  iovec parts[3] = {{const_cast<char*>(payload.data()), 10},
                    {const_cast<char*>(payload.data()) + 10, 100},
                    {const_cast<char*>(payload.data()) + 110, payload.size() - 110}};
  Writer writer;
  p.client->start_write(parts, writer);
  CHECK(p.reactor.sync_wait(read_exactly(*p.server, payload.size())) == payload);
  REQUIRE(run_until(p.reactor, [&] { return writer.calls > 0; }));
  CHECK(writer.calls == 1);
  CHECK_FALSE(writer.error);
}

TEST_CASE("a write's end is told from the ready list, never from inside start_write") {
  Pair p;
  const std::string text = "hello";
  iovec v{const_cast<char*>(text.data()), text.size()};
  Writer writer;
  p.client->start_write({&v, 1}, writer);
  CHECK(writer.calls == 0);
  CHECK(p.reactor.sync_wait(read_exactly(*p.server, 5)) == "hello");
  REQUIRE(run_until(p.reactor, [&] { return writer.calls > 0; }));
  CHECK_FALSE(writer.error);
}

TEST_CASE("an empty push write ends from the ready list without an error") {
  Pair p;
  iovec empty{nullptr, 0};
  Writer writer;
  p.client->start_write({&empty, 1}, writer);
  CHECK(writer.calls == 0);
  REQUIRE(run_until(p.reactor, [&] { return writer.calls > 0; }));
  CHECK(writer.calls == 1);
  CHECK_FALSE(writer.error);
}

TEST_CASE("a 1 MiB message pushed to a receiver arrives intact, one record per call") {
  Pair p;
  const std::string payload = pattern(1 << 20);
  Receiver receiver;
  p.client->start_receiving(receiver);
  p.write(*p.server, payload);
  REQUIRE(run_until(p.reactor, [&] { return receiver.data.size() >= payload.size(); }));
  CHECK(receiver.data == payload);
  CHECK(receiver.chunks == std::vector<std::size_t>(64, kRecord));
  CHECK(receiver.ends == 0);
}

TEST_CASE("bytes a pull read left in the engine are delivered first when push receiving starts") {
  Pair p;
  const std::string payload = pattern(3 * kRecord);
  preload(p, payload);
  Receiver receiver;
  p.client->start_receiving(receiver);
  REQUIRE(run_until(p.reactor, [&] { return receiver.data.size() >= payload.size() - 1; }));
  CHECK(receiver.data == payload.substr(1));
  CHECK(receiver.chunks == std::vector<std::size_t>{kRecord - 1, kRecord, kRecord});
}

TEST_CASE("a paused receiver gets nothing until resume_receiving, then the rest in order") {
  Pair p;
  const std::string payload = pattern(3 * kRecord);
  preload(p, payload);
  REQUIRE(p.client->engine().buffered_input() > 0);  // whole records wait inside TLS
  Receiver receiver;
  receiver.pause = true;
  p.client->start_receiving(receiver);
  REQUIRE(run_until(p.reactor, [&] { return receiver.chunks.size() == 1; }));
  // More arrives meanwhile; it waits too.
  p.write(*p.server, "tail");
  CHECK(receiver.chunks.size() == 1);
  for (std::size_t expected = 2; expected <= 4; ++expected) {
    receiver.paused = false;
    p.client->resume_receiving();
    REQUIRE(run_until(p.reactor, [&] { return receiver.chunks.size() == expected; }));
  }
  CHECK(receiver.calls_while_paused == 0);
  CHECK(receiver.data == payload.substr(1) + "tail");
  CHECK(receiver.chunks == std::vector<std::size_t>{kRecord - 1, kRecord, kRecord, 4});
}

TEST_CASE("the peer's close_notify ends push receiving cleanly, after the data before it") {
  Pair p;
  Receiver receiver;
  p.client->start_receiving(receiver);
  p.write(*p.server, "bye");
  auto shut = p.reactor.sync_wait(p.server->shutdown());
  REQUIRE(shut);
  REQUIRE(run_until(p.reactor, [&] { return receiver.ends > 0; }));
  CHECK(receiver.data == "bye");
  CHECK(receiver.ends == 1);
  CHECK_FALSE(receiver.end_error);
  CHECK(p.client->engine().close_notify_received());
}

TEST_CASE("a TCP end without close_notify ends push receiving with TlsErrc::truncated") {
  Pair p;
  Receiver receiver;
  p.client->start_receiving(receiver);
  p.write(*p.server, "x");
  auto shut = p.reactor.sync_wait(p.server->tcp()->shutdown());  // FIN under TLS
  REQUIRE(shut);
  REQUIRE(run_until(p.reactor, [&] { return receiver.ends > 0; }));
  CHECK(receiver.data == "x");
  CHECK(receiver.ends == 1);
  CHECK(receiver.end_error == TlsErrc::truncated);
  CHECK(p.client->error() ==
        "TLS stream truncated: the peer closed the connection without close_notify");
}

TEST_CASE("a push write to a peer that is gone fails with the errno code, and so does the next") {
  Pair p;
  // The client does not read, so its engine has not seen the end (it would refuse to write,
  // truncated).
  p.server->close();
  const std::string payload = pattern(4 << 20);
  iovec v{const_cast<char*>(payload.data()), payload.size()};
  Writer writer;
  p.client->start_write({&v, 1}, writer);
  REQUIRE(run_until(p.reactor, [&] { return writer.calls > 0; }));
  CHECK(writer.calls == 1);
  INFO(writer.error.message());
  CHECK((writer.error == std::errc::broken_pipe || writer.error == std::errc::connection_reset));
  const std::error_code first = writer.error;
  p.client->start_write({&v, 1}, writer);
  CHECK(writer.calls == 1);  // told from the ready list
  REQUIRE(run_until(p.reactor, [&] { return writer.calls > 1; }));
  CHECK(writer.calls == 2);
  CHECK(writer.error == first);
}

TEST_CASE("a push write after our close_notify is refused with TlsErrc::closed") {
  Pair p;
  auto shut = p.reactor.sync_wait(p.client->shutdown());
  REQUIRE(shut);
  const std::string text = "late";
  iovec v{const_cast<char*>(text.data()), text.size()};
  Writer writer;
  p.client->start_write({&v, 1}, writer);
  REQUIRE(run_until(p.reactor, [&] { return writer.calls > 0; }));
  CHECK(writer.calls == 1);
  CHECK(writer.error == TlsErrc::closed);
}

TEST_CASE("a side that only receives answers a KeyUpdate request at once") {
  Pair p;
  Receiver receiver;
  p.client->start_receiving(receiver);
  REQUIRE(p.server->request_key_update());
  p.write(*p.server, "k");
  REQUIRE(run_until(p.reactor, [&] { return receiver.data == "k"; }));
  // The client's answer: one KeyUpdate record (RFC 8446 §4.6.3), its only bytes so far.
  std::string wire = p.reactor.sync_wait(read_exactly(*p.server->tcp(), 5 + 22));
  CHECK(wire.size() == 5 + 22);
  CHECK(record_lengths(wire) == std::vector<std::size_t>{22});
}

TEST_CASE("a KeyUpdate request during a large push write is answered in order") {
  Pair p;
  Receiver receiver;
  p.client->start_receiving(receiver);
  const std::string payload = pattern(4 << 20);
  iovec v{const_cast<char*>(payload.data()), payload.size()};
  Writer writer;
  p.client->start_write({&v, 1}, writer);
  auto server_side = [&]() -> Task<std::string> {
    std::string head = co_await read_exactly(*p.server, 64 * 1024);
    REQUIRE(p.server->request_key_update());
    auto w = co_await write_text(*p.server, "k");
    REQUIRE(w);
    co_return head + co_await read_exactly(*p.server, payload.size() - head.size());
  };
  // The server decrypts every byte: the answer came between whole records, under the old key.
  CHECK(p.reactor.sync_wait(server_side()) == payload);
  REQUIRE(run_until(p.reactor, [&] { return writer.calls > 0 && receiver.data == "k"; }));
  CHECK_FALSE(writer.error);
  // Both sides use their new keys from here on.
  const std::string after = "after";
  iovec a{const_cast<char*>(after.data()), after.size()};
  p.client->start_write({&a, 1}, writer);
  CHECK(p.reactor.sync_wait(read_exactly(*p.server, after.size())) == after);
}

TEST_CASE("stop_io from inside on_received delivers nothing more") {
  Pair p;
  preload(p, pattern(3 * kRecord));
  Receiver receiver;
  receiver.hook = [&] { p.client->stop_io(); };
  p.client->start_receiving(receiver);
  REQUIRE(run_until(p.reactor, [&] { return !receiver.chunks.empty(); }));
  p.write(*p.server, "more");
  CHECK(receiver.chunks == std::vector<std::size_t>{kRecord - 1});
  CHECK(receiver.ends == 0);
}

TEST_CASE("a receiver may destroy the stream from inside on_received") {
  Pair p;
  preload(p, pattern(3 * kRecord));
  Receiver receiver;
  receiver.hook = [&] { p.client.reset(); };
  TlsStream* client = p.client.get();
  client->start_receiving(receiver);
  REQUIRE(run_until(p.reactor, [&] { return !receiver.chunks.empty(); }));
  CHECK(p.client == nullptr);
  // The server sees the connection gone (no close_notify).
  std::uint8_t byte;
  auto n = p.reactor.sync_wait(p.server->read_some({&byte, 1}));
  CHECK_FALSE(n);
  CHECK(receiver.chunks == std::vector<std::size_t>{kRecord - 1});
}

TEST_CASE("a writer may destroy the stream from inside on_written") {
  Pair p;
  Receiver receiver;
  p.client->start_receiving(receiver);
  const std::string text = "last words";
  iovec v{const_cast<char*>(text.data()), text.size()};
  Writer writer;
  writer.hook = [&] { p.client.reset(); };
  p.client->start_write({&v, 1}, writer);
  REQUIRE(run_until(p.reactor, [&] { return writer.calls > 0; }));
  CHECK(p.client == nullptr);
  CHECK_FALSE(writer.error);
  CHECK(p.reactor.sync_wait(read_exactly(*p.server, text.size())) == text);
}

TEST_CASE("shutdown after push I/O sends close_notify and both sides end cleanly") {
  Pair p;
  Receiver receiver;
  p.client->start_receiving(receiver);
  const std::string text = "hello";
  iovec v{const_cast<char*>(text.data()), text.size()};
  Writer writer;
  p.client->start_write({&v, 1}, writer);
  REQUIRE(run_until(p.reactor, [&] { return writer.calls > 0; }));
  auto shut = p.reactor.sync_wait(p.client->shutdown());
  REQUIRE(shut);
  CHECK(p.reactor.sync_wait(read_exactly(*p.server, 5)) == "hello");
  std::uint8_t byte;
  auto n = p.reactor.sync_wait(p.server->read_some({&byte, 1}));
  REQUIRE(n);
  CHECK(*n == 0);  // our close_notify
  auto answer = p.reactor.sync_wait(p.server->shutdown());
  REQUIRE(answer);
  REQUIRE(run_until(p.reactor, [&] { return receiver.ends > 0; }));
  CHECK_FALSE(receiver.end_error);
  CHECK(receiver.data.empty());
}
