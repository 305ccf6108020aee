// TlsEngine without I/O: a client and a server engine pumped into each other in memory.
#include <catch2/catch.hpp>

#include <openssl/aead.h>
#include <openssl/ssl.h>

#include <string>

#include "tests/tls/test_certs.h"
#include "tls/tls_engine.h"
#include "tls/tls_error.h"

using tls::TlsEngine;
using tls::TlsErrc;
using tls::TLSOptions;
using tls::testing::test_certificates;

namespace {

std::shared_ptr<TLSOptions> server_options() {
  const auto& certs = test_certificates();
  return TLSOptions::server(tls::CryptoKey::load_from_string(certs.server.key),
                            tls::X509Certificate::load_from_string(certs.server.cert));
}

std::shared_ptr<TLSOptions> client_options() {
  return TLSOptions::client(tls::X509Certificate::load_from_string(test_certificates().ca.cert));
}

void move_bytes(TlsEngine& from, TlsEngine& to) {
  std::vector<std::uint8_t> bytes;
  from.take_output(bytes);
  to.receive(bytes);
}

// Runs both handshakes to their end.
void pump_handshake(TlsEngine& client, TlsEngine& server) {
  for (int i = 0; i < 10; ++i) {
    auto c = client.handshake();
    move_bytes(client, server);
    auto s = server.handshake();
    move_bytes(server, client);
    if (c != TlsEngine::Progress::want_read && s != TlsEngine::Progress::want_read) break;
  }
}

std::span<const std::uint8_t> bytes(const std::string& s) {
  return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}

std::string read_text(TlsEngine& engine) {
  std::string out(256, '\0');
  auto r = engine.read({reinterpret_cast<std::uint8_t*>(out.data()), out.size()});
  if (r.state != TlsEngine::ReadState::data) return "<no data>";
  out.resize(r.bytes);
  return out;
}

}  // namespace

TEST_CASE("two engines complete a TLS 1.3 handshake in memory with ALPN http/1.1") {
  auto client = TlsEngine::client(client_options(), "localhost");
  auto server = TlsEngine::server(server_options());
  pump_handshake(*client, *server);
  CHECK(client->state() == tls::TlsState::connected);
  CHECK(server->state() == tls::TlsState::connected);
  CHECK(client->protocol_version() == "TLSv1.3");
  CHECK(client->alpn_protocol() == "http/1.1");
  CHECK(server->alpn_protocol() == "http/1.1");
}

TEST_CASE("TLS 1.3 uses AES-128-GCM where BoringSSL has AES hardware, else ChaCha20-Poly1305") {
  // The cipher is most of wss's cost (docs/perf.md, TLS): AES-GCM seals about twice as fast
  // as ChaCha20-Poly1305 with AES instructions, several times slower without them.
  auto client = TlsEngine::client(client_options(), "localhost");
  auto server = TlsEngine::server(server_options());
  pump_handshake(*client, *server);
  const char* expected =
      EVP_has_aes_hardware() ? "TLS_AES_128_GCM_SHA256" : "TLS_CHACHA20_POLY1305_SHA256";
  CHECK(client->cipher_name() == expected);
  CHECK(server->cipher_name() == expected);
}

TEST_CASE("a TLS 1.2 server picks its own cipher order, AES-GCM first on AES hardware") {
  const char* expected = EVP_has_aes_hardware()
                             ? "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256"
                             : "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256";
  // Two clients with opposite preferences get the same cipher.
  for (const char* client_order :
       {"ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-ECDSA-AES128-GCM-SHA256",
        "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-ECDSA-CHACHA20-POLY1305"}) {
    CAPTURE(client_order);
    auto options = client_options();
    SSL_CTX_set_max_proto_version(options->context(), TLS1_2_VERSION);
    REQUIRE(SSL_CTX_set_strict_cipher_list(options->context(), client_order));
    auto client = TlsEngine::client(options, "localhost");
    auto server = TlsEngine::server(server_options());
    pump_handshake(*client, *server);
    REQUIRE(server->protocol_version() == "TLSv1.2");
    CHECK(server->cipher_name() == expected);
  }
}

TEST_CASE("plaintext written on one engine is read on the other") {
  auto client = TlsEngine::client(client_options(), "localhost");
  auto server = TlsEngine::server(server_options());
  pump_handshake(*client, *server);
  REQUIRE(client->write(bytes("ping")));
  move_bytes(*client, *server);
  CHECK(read_text(*server) == "ping");
  REQUIRE(server->write(bytes("pong")));
  move_bytes(*server, *client);
  CHECK(read_text(*client) == "pong");
}

TEST_CASE("a large write is sealed into full 16 KiB records") {
  auto client = TlsEngine::client(client_options(), "localhost");
  auto server = TlsEngine::server(server_options());
  pump_handshake(*client, *server);
  std::vector<std::uint8_t> data(64 * 1024 + 100, 'x');
  REQUIRE(client->write(data));
  // TLS 1.3 records: 5-byte header, plaintext, 1 content-type byte, 16-byte AES-GCM or
  // ChaCha20-Poly1305 tag.
  const auto& out = client->output();
  std::vector<std::size_t> lengths;
  for (std::size_t i = 0; i + 5 <= out.size();) {
    std::size_t len = (std::size_t(out[i + 3]) << 8) | out[i + 4];
    lengths.push_back(len);
    i += 5 + len;
  }
  CHECK(lengths == std::vector<std::size_t>{16384 + 17, 16384 + 17, 16384 + 17, 16384 + 17,
                                            100 + 17});
}

TEST_CASE("lent ciphertext is read in place and what a reader left is kept") {
  auto client = TlsEngine::client(client_options(), "localhost");
  auto server = TlsEngine::server(server_options());
  pump_handshake(*client, *server);
  std::string payload(3 * 16384, '\0');
  for (std::size_t i = 0; i < payload.size(); ++i) payload[i] = static_cast<char>(i * 7);
  REQUIRE(server->write(bytes(payload)));
  std::vector<std::uint8_t> wire;
  server->take_output(wire);  // three records (after the session tickets)
  std::string got(payload.size(), '\0');
  auto* out = reinterpret_cast<std::uint8_t*>(got.data());
  client->lend_input(wire);
  CHECK(client->buffered_input() == wire.size());
  auto first = client->read({out, 16384});
  REQUIRE(first.state == TlsEngine::ReadState::data);
  REQUIRE(first.bytes == 16384);
  client->end_lent_input();
  // The two records not read yet were copied in; the lent bytes may go.
  CHECK(client->buffered_input() == 2 * (16384 + 5 + 1 + 16));
  std::fill(wire.begin(), wire.end(), 0);
  auto second = client->read({out + 16384, 16384});
  auto third = client->read({out + 2 * 16384, 16384});
  CHECK(second.bytes == 16384);
  CHECK(third.bytes == 16384);
  CHECK(got == payload);
  CHECK(client->buffered_input() == 0);
}

TEST_CASE("a reader answers a KeyUpdate request before writing anything") {
  auto client = TlsEngine::client(client_options(), "localhost");
  auto server = TlsEngine::server(server_options());
  pump_handshake(*client, *server);
  REQUIRE(server->request_key_update());
  REQUIRE(server->write(bytes("k")));
  move_bytes(*server, *client);
  CHECK(read_text(*client) == "k");
  std::uint8_t buf[64];
  CHECK(client->read(buf).state == TlsEngine::ReadState::want_read);
  // RFC 8446 §4.6.3: the answer, one record (a 5-byte KeyUpdate, content type, tag).
  REQUIRE(client->output_size() == 5 + 5 + 1 + 16);
  move_bytes(*client, *server);
  CHECK(server->read(buf).state == TlsEngine::ReadState::want_read);
  // Both directions use their new keys.
  REQUIRE(client->write(bytes("new keys")));
  move_bytes(*client, *server);
  CHECK(read_text(*server) == "new keys");
  REQUIRE(server->write(bytes("here too")));
  move_bytes(*server, *client);
  CHECK(read_text(*client) == "here too");
}

TEST_CASE("a reader with nothing to answer writes nothing") {
  auto client = TlsEngine::client(client_options(), "localhost");
  auto server = TlsEngine::server(server_options());
  pump_handshake(*client, *server);
  REQUIRE(server->write(bytes("plain")));
  move_bytes(*server, *client);
  CHECK(read_text(*client) == "plain");
  std::uint8_t buf[64];
  CHECK(client->read(buf).state == TlsEngine::ReadState::want_read);
  CHECK_FALSE(client->has_output());
}

TEST_CASE("records after close_notify are ignored") {
  auto client = TlsEngine::client(client_options(), "localhost");
  auto server = TlsEngine::server(server_options());
  pump_handshake(*client, *server);
  // A record the client already took, replayed after close_notify, then garbage: nothing after
  // close_notify is even looked at (RFC 8446 §6.1).
  REQUIRE(server->write(bytes("early")));
  std::vector<std::uint8_t> early;
  server->take_output(early);
  client->receive(early);
  CHECK(read_text(*client) == "early");
  server->close_notify();
  move_bytes(*server, *client);
  client->receive(early);
  client->receive(bytes("and some garbage"));
  std::uint8_t buf[64];
  CHECK(client->read(buf).state == TlsEngine::ReadState::closed);
  CHECK(client->read(buf).state == TlsEngine::ReadState::closed);
  CHECK(client->close_notify_received());
  CHECK(client->state() == tls::TlsState::connected);
  CHECK_FALSE(client->error_code());
}

TEST_CASE("writing after our close_notify is refused") {
  auto client = TlsEngine::client(client_options(), "localhost");
  auto server = TlsEngine::server(server_options());
  pump_handshake(*client, *server);
  client->close_notify();
  CHECK(client->close_notify_sent());
  CHECK_FALSE(client->write(bytes("more")));
}

TEST_CASE("an EOF without close_notify is a truncated stream, not a clean end") {
  auto client = TlsEngine::client(client_options(), "localhost");
  auto server = TlsEngine::server(server_options());
  pump_handshake(*client, *server);
  server->receive_eof();
  std::uint8_t buf[64];
  CHECK(server->read(buf).state == TlsEngine::ReadState::failed);
  CHECK(server->error_code() == TlsErrc::truncated);
  CHECK(server->error() ==
        "TLS stream truncated: the peer closed the connection without close_notify");
}

TEST_CASE("garbage instead of a ClientHello fails the server handshake with a reason") {
  auto server = TlsEngine::server(server_options());
  server->receive(bytes("GET / HTTP/1.1\r\nHost: x\r\n\r\n"));
  CHECK(server->handshake() == TlsEngine::Progress::failed);
  CHECK(server->state() == tls::TlsState::failed);
  CHECK(server->error_code() == TlsErrc::not_tls);
  CHECK(server->error() == "TLS handshake failed: the client sent plain HTTP, not TLS");
}

TEST_CASE("a plain HTTP answer to a ClientHello fails the client handshake as not TLS") {
  auto client = TlsEngine::client(client_options(), "localhost");
  CHECK(client->handshake() == TlsEngine::Progress::want_read);
  client->receive(bytes("HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n"));
  CHECK(client->handshake() == TlsEngine::Progress::failed);
  CHECK(client->error_code() == TlsErrc::not_tls);
  CHECK(client->error() == "TLS handshake failed: the server answered in plain HTTP, not TLS");
  auto other = TlsEngine::client(client_options(), "localhost");
  CHECK(other->handshake() == TlsEngine::Progress::want_read);
  other->receive(bytes("SSH-2.0-OpenSSH_9.2\r\n"));
  CHECK(other->handshake() == TlsEngine::Progress::failed);
  CHECK(other->error_code() == TlsErrc::not_tls);
  CHECK(other->error() == "TLS handshake failed: the server did not answer in TLS");
}

TEST_CASE("a bad record after the handshake is a protocol error") {
  auto client = TlsEngine::client(client_options(), "localhost");
  auto server = TlsEngine::server(server_options());
  pump_handshake(*client, *server);
  REQUIRE(client->write(bytes("hello")));
  std::vector<std::uint8_t> record;
  client->take_output(record);
  record.back() ^= 1;  // breaks the AEAD tag
  server->receive(record);
  std::uint8_t buf[64];
  CHECK(server->read(buf).state == TlsEngine::ReadState::failed);
  CHECK(server->error_code() == TlsErrc::protocol_error);
  CHECK(server->error() == "TLS protocol error: DECRYPTION_FAILED_OR_BAD_RECORD_MAC");
}

TEST_CASE("a TLS 1.1 client is refused: TLS 1.2 and 1.3 only") {
  auto server = TlsEngine::server(server_options());
  bssl::UniquePtr<SSL_CTX> ctx(SSL_CTX_new(TLS_method()));
  SSL_CTX_set_min_proto_version(ctx.get(), TLS1_1_VERSION);
  SSL_CTX_set_max_proto_version(ctx.get(), TLS1_1_VERSION);
  bssl::UniquePtr<SSL> ssl(SSL_new(ctx.get()));
  BIO* ours = nullptr;
  BIO* theirs = nullptr;
  REQUIRE(BIO_new_bio_pair(&ours, 0, &theirs, 0));
  SSL_set_bio(ssl.get(), ours, ours);
  SSL_set_connect_state(ssl.get());
  CHECK(SSL_do_handshake(ssl.get()) == -1);
  std::vector<std::uint8_t> hello(BIO_ctrl_pending(theirs));
  BIO_read(theirs, hello.data(), static_cast<int>(hello.size()));
  BIO_free(theirs);
  server->receive(hello);
  CHECK(server->handshake() == TlsEngine::Progress::failed);
  CHECK(server->error() == "TLS handshake failed: UNSUPPORTED_PROTOCOL");
}

TEST_CASE("a second connection with the same client options resumes the session") {
  auto options = client_options();
  auto server_opts = server_options();
  {
    auto client = TlsEngine::client(options, "localhost");
    auto server = TlsEngine::server(server_opts);
    pump_handshake(*client, *server);
    REQUIRE(client->state() == tls::TlsState::connected);
    CHECK_FALSE(client->session_reused());
    // BoringSSL sends its TLS 1.3 NewSessionTickets with the server's first write.
    REQUIRE(server->write(bytes("hi")));
    move_bytes(*server, *client);
    CHECK(read_text(*client) == "hi");
  }
  CHECK(options->find_session("localhost"));
  auto client = TlsEngine::client(options, "localhost");
  auto server = TlsEngine::server(server_opts);
  pump_handshake(*client, *server);
  REQUIRE(client->state() == tls::TlsState::connected);
  CHECK(client->session_reused());
  CHECK(server->session_reused());
}

TEST_CASE("resumption can be turned off") {
  auto options = client_options();
  options->set_session_resumption(false);
  auto server_opts = server_options();
  for (int i = 0; i < 2; ++i) {
    auto client = TlsEngine::client(options, "localhost");
    auto server = TlsEngine::server(server_opts);
    pump_handshake(*client, *server);
    REQUIRE(client->state() == tls::TlsState::connected);
    CHECK_FALSE(client->session_reused());
    REQUIRE(server->write(bytes("hi")));
    move_bytes(*server, *client);
    CHECK(read_text(*client) == "hi");
  }
}

TEST_CASE("server options cannot be used by a client engine") {
  auto client = TlsEngine::client(server_options(), "localhost");
  CHECK(client->state() == tls::TlsState::failed);
  CHECK(client->error_code() == TlsErrc::invalid_options);
  CHECK(client->error() == "server TLS options cannot be used to connect");
}
