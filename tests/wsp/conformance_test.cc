// The shapes of Autobahn|Testsuite's categories 1-7 (framing, pings and pongs, reserved bits,
// opcodes, fragmentation, UTF-8, close handling), end to end: a table of raw client frames
// written over real TCP (127.0.0.1) to both echo servers, //examples:echo_server (coroutine
// face) and //examples:echo_server_poll (the WebSocketPeer façade), and the exact outcome
// Autobahn calls OK, with strict ordering: every message, pong and close frame the server sends
// is compared in order, up to the server's end of the TCP connection.
//
// Autobahn itself is not used: it installs from PyPI only, which this build cannot reach (Debian
// has the Autobahn library, not its test suite). Case numbers follow Autobahn's where a case
// has one. A case either ends with the client's own close 1000 (so that "nothing was sent
// back" is checked by the next frame being the close), or is failed by the server.
#include <catch2/catch.hpp>

#include <chrono>
#include <cstdint>
#include <sstream>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "tests/interop/child_process.h"
#include "tests/wsp/raw_peer.h"

using namespace std::chrono_literals;
using interop::ChildProcess;
using raw_peer::Clock;
using raw_peer::Socket;

namespace {

// ---- Frames ------------------------------------------------------------------------------

constexpr int kText = 0x1, kBinary = 0x2, kContinuation = 0x0, kClose = 0x8, kPing = 0x9, kPong = 0xA;
constexpr int kFin = 0x80;

// One masked client frame with the whole first byte given (FIN, RSV bits, opcode): RFC 6455
// §5.2. raw_peer::frame's first byte is replaced, as it cannot set RSV bits.
std::string frame(int first_byte, const std::string& payload) {
  std::string f = raw_peer::frame(first_byte & 0x0F, (first_byte & kFin) != 0, payload);
  f[0] = static_cast<char>(first_byte);
  return f;
}
std::string text(const std::string& payload) { return frame(kFin | kText, payload); }
std::string binary(const std::string& payload) { return frame(kFin | kBinary, payload); }
std::string ping(const std::string& payload = "") { return frame(kFin | kPing, payload); }
std::string pong(const std::string& payload = "") { return frame(kFin | kPong, payload); }
std::string close_payload(int code, const std::string& reason = "") {
  return std::string{static_cast<char>(code >> 8), static_cast<char>(code & 0xFF)} + reason;
}
std::string close_frame(int code, const std::string& reason = "") {
  return frame(kFin | kClose, close_payload(code, reason));
}

std::string bytes(std::initializer_list<int> list) {
  std::string s;
  for (int b : list) s.push_back(static_cast<char>(b));
  return s;
}
std::string from_hex(const std::string& hex) {
  std::string s;
  for (std::size_t i = 0; i + 1 < hex.size(); i += 2) s.push_back(static_cast<char>(std::stoi(hex.substr(i, 2), nullptr, 16)));
  return s;
}

// A text message cut into one-byte fragments (the first a text frame, the rest continuations);
// without `fin`, the message is left open after the last byte.
std::string one_byte_fragments(const std::string& payload, bool fin = true) {
  std::string wire;
  for (std::size_t i = 0; i < payload.size(); ++i) {
    const bool last = i + 1 == payload.size();
    wire += frame((last && fin ? kFin : 0) | (i == 0 ? kText : kContinuation), payload.substr(i, 1));
  }
  return wire;
}

// ---- What the server sends back ----------------------------------------------------------

// One thing the server sent, printed so that a whole exchange compares as one string.
std::string echo_of(int opcode, const std::string& payload) {
  std::ostringstream out;
  out << (opcode == kText ? "text" : opcode == kBinary ? "binary" : opcode == kPong ? "pong" : "opcode " + std::to_string(opcode));
  if (payload.size() <= 32) {
    out << " \"";
    for (unsigned char c : payload) {
      if (c >= 0x20 && c < 0x7F && c != '"' && c != '\\') out << c;
      else out << "\\x" << "0123456789abcdef"[c >> 4] << "0123456789abcdef"[c & 15];
    }
    out << "\"";
  } else {
    std::uint32_t h = 2166136261u;  // FNV-1a: long payloads compare by length and hash
    for (unsigned char c : payload) h = (h ^ c) * 16777619u;
    out << " " << payload.size() << " bytes #" << std::hex << h;
  }
  return out.str();
}
std::string close_of(int code) { return code < 0 ? "close (no code)" : "close " + std::to_string(code); }

struct Step {
  std::string wire;
  std::size_t chop = 0;  // write it in pieces of this many bytes (0: one write)
  std::chrono::milliseconds pause{0};  // after each piece
};

struct Case {
  std::string id;     // Autobahn's case number, or a name
  std::string what;
  std::vector<Step> steps;
  std::vector<std::string> expected;  // echo_of / close_of lines, in order
  bool client_closes = false;  // the client ends with close 1000 (and expects it echoed last)
};

// A case the server must fail with `code` after echoing `before`.
Case fails(std::string id, std::string what, std::vector<Step> steps, int code, std::vector<std::string> before = {}) {
  before.push_back(close_of(code));
  return Case{std::move(id), std::move(what), std::move(steps), std::move(before), false};
}
// A case the server must answer with `replies`, then echo the client's close 1000.
Case answers(std::string id, std::string what, std::vector<Step> steps, std::vector<std::string> replies) {
  replies.push_back(close_of(1000));
  return Case{std::move(id), std::move(what), std::move(steps), std::move(replies), true};
}

struct EchoServer {
  std::string program;
  ChildProcess process;
  int port = 0;
  explicit EchoServer(const std::string& name)
      : program(name), process({interop::runfile("wsp/examples/" + name), "--port", "0"}) {
    const std::string line = process.read_line(15s).value_or("(none)");
    const std::string prefix = "listening on 127.0.0.1:";
    REQUIRE(line.rfind(prefix, 0) == 0);
    port = std::stoi(line.substr(prefix.size()));
  }
};

// Runs one case on a fresh connection: what the server sent, in order, then "end" once it
// closed the TCP connection, or "(nothing more within 5 s)".
std::vector<std::string> run(const EchoServer& server, const Case& c) {
  const auto deadline = Clock::now() + 5s;
  Socket s = Socket::connect_to("127.0.0.1", server.port);
  if (!s.valid() || !s.handshake(deadline)) return {"(no handshake)"};
  std::vector<Step> steps = c.steps;
  if (c.client_closes) steps.push_back({close_frame(1000)});
  for (const Step& step : steps) {
    const std::size_t piece = step.chop ? step.chop : step.wire.size();
    for (std::size_t at = 0; at < step.wire.size(); at += piece) {
      // A write may fail once the server has failed the connection and closed: what it sent
      // is still read below.
      if (!s.write_all(step.wire.substr(at, piece))) break;
      if (step.pause.count()) std::this_thread::sleep_for(step.pause);
    }
  }
  std::vector<std::string> got;
  std::string message;
  int message_opcode = -1;
  for (;;) {
    auto f = s.read_frame(deadline);
    if (!f) {
      got.push_back(s.wait_closed(Clock::now()) ? "end" : "(nothing more within 5 s)");
      return got;
    }
    if (f->opcode == kClose) {
      got.push_back(close_of(f->close_code()));
      got.push_back(s.wait_closed(deadline) ? "end" : "(open 5 s after the close)");
      return got;
    }
    // Messages compare whole, however the server framed them.
    if (f->opcode == kText || f->opcode == kBinary || f->opcode == kContinuation) {
      if (f->opcode != kContinuation) message_opcode = f->opcode;
      message += f->payload;
      if (f->fin) {
        got.push_back(echo_of(message_opcode, message));
        message.clear();
      }
      continue;
    }
    got.push_back(echo_of(f->opcode, f->payload));
  }
}

void check_cases(const std::vector<Case>& cases) {
  for (const char* program : {"echo_server", "echo_server_poll"}) {
    EchoServer server(program);
    for (const Case& c : cases) {
      INFO(program << ": case " << c.id << ": " << c.what);
      std::vector<std::string> expected = c.expected;
      expected.push_back("end");
      CHECK(run(server, c) == expected);
    }
  }
}

// ---- UTF-8 reference (Unicode Table 3-7), to know where a prefix stops being valid -------

// The index of the byte at which `s` can no longer become well-formed UTF-8, or npos; sets
// `complete` to whether `s` ends on a code point boundary.
std::size_t first_bad_byte(const std::string& s, bool& complete) {
  std::size_t need = 0;
  unsigned char lo = 0x80, hi = 0xBF;
  for (std::size_t i = 0; i < s.size(); ++i) {
    const unsigned char b = static_cast<unsigned char>(s[i]);
    if (need == 0) {
      lo = 0x80, hi = 0xBF;
      if (b <= 0x7F) continue;
      if (b >= 0xC2 && b <= 0xDF) need = 1;
      else if (b == 0xE0) need = 2, lo = 0xA0;
      else if ((b >= 0xE1 && b <= 0xEC) || b == 0xEE || b == 0xEF) need = 2;
      else if (b == 0xED) need = 2, hi = 0x9F;
      else if (b == 0xF0) need = 3, lo = 0x90;
      else if (b >= 0xF1 && b <= 0xF3) need = 3;
      else if (b == 0xF4) need = 3, hi = 0x8F;
      else return i;
      continue;
    }
    if (b < lo || b > hi) return i;
    lo = 0x80, hi = 0xBF;
    --need;
  }
  complete = need == 0;
  return std::string::npos;
}

}  // namespace

TEST_CASE("conformance 1: text and binary messages of every length class are echoed whole and in order") {
  std::vector<Case> cases;
  int n = 1;
  for (std::size_t length : {0, 125, 126, 127, 128, 65535, 65536}) {
    const std::string t(length, '*'), b(length, '\xfe');
    cases.push_back(answers("1.1." + std::to_string(n), "text of " + std::to_string(length) + " bytes",
                            {{text(t)}}, {echo_of(kText, t)}));
    cases.push_back(answers("1.2." + std::to_string(n), "binary of " + std::to_string(length) + " bytes",
                            {{binary(b)}}, {echo_of(kBinary, b)}));
    ++n;
  }
  const std::string big(65536, '*');
  cases.push_back(answers("1.1.8", "text of 65536 bytes written in chops of 997", {{text(big), 997}},
                          {echo_of(kText, big)}));
  cases.push_back(answers("1.x", "text, binary and text back to back, in one write",
                          {{text("a") + binary("\x01\x02") + text("c")}},
                          {echo_of(kText, "a"), echo_of(kBinary, "\x01\x02"), echo_of(kText, "c")}));
  check_cases(cases);
}

TEST_CASE("conformance 2: pings are answered with their payload, up to 125 bytes; unsolicited pongs get nothing") {
  const std::string p125(125, '\xfe');
  std::string ten_pings;
  std::vector<std::string> ten_pongs;
  for (int i = 0; i < 10; ++i) {
    ten_pings += ping("payload-" + std::to_string(i));
    ten_pongs.push_back(echo_of(kPong, "payload-" + std::to_string(i)));
  }
  check_cases({
      answers("2.1", "ping without payload", {{ping()}}, {echo_of(kPong, "")}),
      answers("2.2", "ping with a small text payload", {{ping("Hello, world!")}}, {echo_of(kPong, "Hello, world!")}),
      answers("2.3", "ping with a small binary payload", {{ping(bytes({0, 0xff, 0xfe, 0xfd, 0xfc}))}},
              {echo_of(kPong, bytes({0, 0xff, 0xfe, 0xfd, 0xfc}))}),
      answers("2.4", "ping with a 125-byte payload", {{ping(p125)}}, {echo_of(kPong, p125)}),
      fails("2.5", "ping with a 126-byte payload", {{ping(std::string(126, '\xfe'))}}, 1002),
      answers("2.6", "ping with a 125-byte payload written one byte at a time", {{ping(p125), 1}},
              {echo_of(kPong, p125)}),
      answers("2.7", "unsolicited pong without payload", {{pong()}}, {}),
      answers("2.8", "unsolicited pong with payload", {{pong("unsolicited pong payload")}}, {}),
      answers("2.9", "unsolicited pong, then a ping", {{pong("unsolicited pong payload") + ping("ping payload")}},
              {echo_of(kPong, "ping payload")}),
      answers("2.10", "10 pings in one write", {{ten_pings}}, ten_pongs),
      answers("2.11", "10 pings written one byte at a time", {{ten_pings, 1}}, ten_pongs),
  });
}

TEST_CASE("conformance 3: a frame with a reserved bit set fails with 1002 after the echoes before it") {
  check_cases({
      fails("3.1", "text with RSV1", {{frame(kFin | 0x40 | kText, "Hello, world!")}}, 1002),
      fails("3.2", "text, text with RSV2, ping", {{text("Hello, world!") + frame(kFin | 0x20 | kText, "Hello, world!") + ping()}},
            1002, {echo_of(kText, "Hello, world!")}),
      fails("3.3", "text, text with RSV1+2, ping, one frame a write",
            {{text("Hello, world!")}, {frame(kFin | 0x60 | kText, "Hello, world!")}, {ping()}}, 1002,
            {echo_of(kText, "Hello, world!")}),
      fails("3.4", "text, text with RSV3, ping, one byte a write",
            {{text("Hello, world!") + frame(kFin | 0x10 | kText, "Hello, world!") + ping(), 1}}, 1002,
            {echo_of(kText, "Hello, world!")}),
      fails("3.5", "binary with RSV1+3", {{frame(kFin | 0x50 | kBinary, bytes({0, 0xff, 0xfe}))}}, 1002),
      fails("3.6", "ping with RSV2+3", {{frame(kFin | 0x30 | kPing, "Hello, world!")}}, 1002),
      fails("3.7", "close with all three RSV bits", {{frame(kFin | 0x70 | kClose, close_payload(1000))}}, 1002),
  });
}

TEST_CASE("conformance 4: a frame with a reserved opcode fails with 1002 after the echoes before it") {
  std::vector<Case> cases;
  // 4.1: the reserved non-control opcodes; 4.2: the reserved control ones.
  for (const auto& [group, opcodes] : {std::pair{"4.1.", std::vector{3, 4, 5, 6, 7}},
                                       std::pair{"4.2.", std::vector{11, 12, 13, 14, 15}}}) {
    int n = 1;
    for (int opcode : opcodes) {
      const std::string id = group + std::to_string(n++);
      cases.push_back(fails(id, "opcode " + std::to_string(opcode), {{frame(kFin | opcode, "")}}, 1002));
      cases.push_back(fails(id + "b", "text, opcode " + std::to_string(opcode) + " with payload, ping",
                            {{text("Hello, world!") + frame(kFin | opcode, "reserved") + ping()}}, 1002,
                            {echo_of(kText, "Hello, world!")}));
    }
  }
  check_cases(cases);
}

TEST_CASE("conformance 5: fragments make one message, control frames may come between them, and broken fragmentation fails with 1002") {
  const std::string two = frame(kText, "fragment1") + frame(kFin | kContinuation, "fragment2");
  const std::string with_ping =
      frame(kText, "fragment1") + ping("pongme 2!") + frame(kFin | kContinuation, "fragment2");
  const std::string orphan_fin = frame(kFin | kContinuation, "non-continuation payload");
  const std::string orphan = frame(kContinuation, "non-continuation payload");
  const std::string five = frame(kText, "fragment1") + frame(kContinuation, "fragment2") + ping("pongme 1!") +
                           frame(kContinuation, "fragment3") + frame(kContinuation, "fragment4") + ping("pongme 2!") +
                           frame(kFin | kContinuation, "fragment5");
  check_cases({
      fails("5.1", "ping in two fragments", {{frame(kPing, "fragment1") + frame(kFin | kContinuation, "fragment2")}}, 1002),
      fails("5.2", "pong in two fragments", {{frame(kPong, "fragment1") + frame(kFin | kContinuation, "fragment2")}}, 1002),
      answers("5.3", "text in two fragments", {{two}}, {echo_of(kText, "fragment1fragment2")}),
      answers("5.4", "text in two fragments, one frame a write", {{frame(kText, "fragment1")}, {frame(kFin | kContinuation, "fragment2")}},
              {echo_of(kText, "fragment1fragment2")}),
      answers("5.5", "text in two fragments, one byte a write", {{two, 1}}, {echo_of(kText, "fragment1fragment2")}),
      answers("5.6", "text in two fragments, a ping between", {{with_ping}},
              {echo_of(kPong, "pongme 2!"), echo_of(kText, "fragment1fragment2")}),
      answers("5.7", "text in two fragments, a ping between, one frame a write",
              {{frame(kText, "fragment1")}, {ping("pongme 2!")}, {frame(kFin | kContinuation, "fragment2")}},
              {echo_of(kPong, "pongme 2!"), echo_of(kText, "fragment1fragment2")}),
      answers("5.8", "text in two fragments, a ping between, one byte a write", {{with_ping, 1}},
              {echo_of(kPong, "pongme 2!"), echo_of(kText, "fragment1fragment2")}),
      fails("5.9", "a final continuation with nothing to continue, then a text", {{orphan_fin + two}}, 1002),
      fails("5.10", "the same, one frame a write", {{orphan_fin}, {two}}, 1002),
      fails("5.11", "the same, one byte a write", {{orphan_fin + two, 1}}, 1002),
      fails("5.12", "a non-final continuation with nothing to continue, then a text", {{orphan + two}}, 1002),
      fails("5.13", "the same, one frame a write", {{orphan}, {two}}, 1002),
      fails("5.14", "the same, one byte a write", {{orphan + two, 1}}, 1002),
      fails("5.15", "text in two fragments, then a continuation and a text fragment with no message open",
            {{two + frame(kContinuation, "fragment3") + frame(kFin | kText, "fragment4")}}, 1002,
            {echo_of(kText, "fragment1fragment2")}),
      fails("5.16", "a continuation with nothing to continue, twice before a fragmented text", {{orphan + two + orphan + two}}, 1002),
      fails("5.17", "the same with final continuations", {{orphan_fin + two + orphan_fin + two}}, 1002),
      fails("5.18", "text in two fragments both with the text opcode", {{frame(kText, "fragment1") + frame(kFin | kText, "fragment2")}}, 1002),
      answers("5.19", "text in five fragments, two pings between, a pause between each",
              {{frame(kText, "fragment1")}, {frame(kContinuation, "fragment2")}, {ping("pongme 1!"), 0, 20ms},
               {frame(kContinuation, "fragment3")}, {frame(kContinuation, "fragment4")}, {ping("pongme 2!"), 0, 20ms},
               {frame(kFin | kContinuation, "fragment5")}},
              {echo_of(kPong, "pongme 1!"), echo_of(kPong, "pongme 2!"), echo_of(kText, "fragment1fragment2fragment3fragment4fragment5")}),
      answers("5.20", "the same, one byte a write", {{five, 1}},
              {echo_of(kPong, "pongme 1!"), echo_of(kPong, "pongme 2!"), echo_of(kText, "fragment1fragment2fragment3fragment4fragment5")}),
      fails("5.x", "a text frame while a binary message is open", {{frame(kBinary, "a") + frame(kFin | kText, "b")}}, 1002),
      fails("5.x", "a close split into fragments", {{frame(kClose, close_payload(1000)) + frame(kFin | kContinuation, "")}}, 1002),
  });
}

TEST_CASE("conformance 6: valid UTF-8 is echoed, invalid UTF-8 fails with 1007 as soon as the sequence is complete") {
  const std::string kosme = from_hex("cebae1bdb9cf83cebcceb5");  // κόσμε
  const std::string hello = "Hello-\xc2\xb5@\xc3\x9f\xc3\xb6\xc3\xa4\xc3\xbc\xc3\xa0\xc3\xa1-UTF-8!!";
  std::vector<Case> cases{
      answers("6.1.1", "empty text", {{text("")}}, {echo_of(kText, "")}),
      answers("6.1.2", "text in three empty fragments",
              {{frame(kText, "") + frame(kContinuation, "") + frame(kFin | kContinuation, "")}}, {echo_of(kText, "")}),
      answers("6.1.3", "text in three fragments, the first and last empty",
              {{frame(kText, "") + frame(kContinuation, "middle frame payload") + frame(kFin | kContinuation, "")}},
              {echo_of(kText, "middle frame payload")}),
      answers("6.2.1", "valid UTF-8 in one frame", {{text(hello)}}, {echo_of(kText, hello)}),
      answers("6.2.2", "valid UTF-8 in two fragments cut at a code point",
              {{frame(kText, hello.substr(0, 7)) + frame(kFin | kContinuation, hello.substr(7))}}, {echo_of(kText, hello)}),
      answers("6.2.3", "valid UTF-8 in one-byte fragments", {{one_byte_fragments(hello)}}, {echo_of(kText, hello)}),
      answers("6.2.4", "κόσμε in one-byte fragments", {{one_byte_fragments(kosme)}}, {echo_of(kText, kosme)}),
      fails("6.3.1", "invalid UTF-8 in one frame", {{text(kosme + from_hex("eda080") + "edited")}}, 1007),
      fails("6.3.2", "invalid UTF-8 in one-byte fragments", {{one_byte_fragments(kosme + from_hex("eda080") + "edited")}}, 1007),
      // 6.4: fail fast. The rest of the message is never sent: the 1007 must come from the
      // bytes up to the one that makes the sequence invalid.
      fails("6.4.1", "valid fragment, then a fragment holding U+110000 (f4 90 80 80), no more",
            {{frame(kText, kosme)}, {frame(kContinuation, from_hex("f4908080"))}}, 1007),
      fails("6.4.2", "valid fragment ending in f4, then a fragment of 90 alone, no more",
            {{frame(kText, kosme + from_hex("f4"))}, {frame(kContinuation, from_hex("90"))}}, 1007),
      fails("6.4.3", "one frame, written up to the invalid code point, no more",
            {{frame(kFin | kText, kosme + from_hex("f4908080") + "edited").substr(0, 6 + kosme.size() + 4)}}, 1007),
      fails("6.4.4", "one frame, written up to the byte after f4, no more",
            {{frame(kFin | kText, kosme + from_hex("f4908080") + "edited").substr(0, 6 + kosme.size() + 2)}}, 1007),
  };
  // 6.5-6.23: single sequences, each in one frame and in one-byte fragments. An invalid one in
  // fragments is written only up to its first impossible byte (fail fast); one that is only
  // cut short needs its final fragment.
  struct Sequence {
    const char* id;
    const char* hex;
    bool valid;
  };
  const Sequence sequences[] = {
      {"6.5.1", "cebae1bdb9cf83cebcceb5", true},
      {"6.6.1", "ce", false},
      {"6.6.2", "ceba", true},
      {"6.6.3", "cebae1", false},
      {"6.6.4", "cebae1bd", false},
      {"6.6.5", "cebae1bdb9", true},
      {"6.7.1", "00", true},
      {"6.7.2", "c280", true},
      {"6.7.3", "e0a080", true},
      {"6.7.4", "f0908080", true},
      {"6.8.1", "f888808080", false},
      {"6.8.2", "fc8480808080", false},
      {"6.9.1", "7f", true},
      {"6.9.2", "dfbf", true},
      {"6.9.3", "efbfbf", true},
      {"6.9.4", "f48fbfbf", true},
      {"6.10.1", "f7bfbfbf", false},
      {"6.10.2", "fbbfbfbfbf", false},
      {"6.10.3", "fdbfbfbfbfbf", false},
      {"6.11.1", "ed9fbf", true},
      {"6.11.2", "ee8080", true},
      {"6.11.3", "efbfbd", true},
      {"6.11.4", "f48fbfbf", true},
      {"6.11.5", "f4908080", false},
      {"6.12.1", "80", false},
      {"6.12.2", "bf", false},
      {"6.12.3", "80bf", false},
      {"6.12.4", "80bf80", false},
      {"6.12.8", "808182838485868788898a8b8c8d8e8f", false},
      {"6.13.1", "c020c120c220", false},
      {"6.13.2", "e020e120", false},
      {"6.13.3", "f020f120", false},
      {"6.13.4", "f820f920", false},
      {"6.13.5", "fc20fd20", false},
      {"6.14.1", "c0", false},
      {"6.14.2", "e080", false},
      {"6.14.3", "f08080", false},
      {"6.14.6", "df", false},
      {"6.14.7", "efbf", false},
      {"6.14.8", "f7bfbf", false},
      {"6.15.1", "c0e080f08080f8808080fc80808080dfefbff7bfbffbbfbfbffdbfbfbfbf", false},
      {"6.16.1", "fe", false},
      {"6.16.2", "ff", false},
      {"6.16.3", "fefeffff", false},
      {"6.17.1", "c0af", false},
      {"6.17.2", "e080af", false},
      {"6.17.3", "f08080af", false},
      {"6.18.1", "c1bf", false},
      {"6.18.2", "e09fbf", false},
      {"6.18.3", "f08fbfbf", false},
      {"6.19.1", "c080", false},
      {"6.19.2", "e08080", false},
      {"6.20.1", "eda080", false},
      {"6.20.4", "edafbf", false},
      {"6.20.5", "edb080", false},
      {"6.20.7", "edbfbf", false},
      {"6.21.1", "eda080edb080", false},
      {"6.21.8", "edafbfedbfbf", false},
      {"6.22.1", "efbfbe", true},  // U+FFFE: a noncharacter, still well-formed UTF-8
      {"6.22.2", "efbfbf", true},
      {"6.22.3", "f09fbfbe", true},
      {"6.22.34", "f48fbfbe", true},
      {"6.23.1", "efbfbd", true},
  };
  for (const Sequence& q : sequences) {
    const std::string s = from_hex(q.hex);
    bool complete = false;
    const std::size_t bad = first_bad_byte(s, complete);
    REQUIRE(q.valid == (bad == std::string::npos && complete));  // the table agrees with Table 3-7
    if (q.valid) {
      cases.push_back(answers(q.id, std::string(q.hex) + " in one frame", {{text(s)}}, {echo_of(kText, s)}));
      cases.push_back(answers(std::string(q.id) + "f", std::string(q.hex) + " in one-byte fragments",
                              {{one_byte_fragments(s)}}, {echo_of(kText, s)}));
      continue;
    }
    cases.push_back(fails(q.id, std::string(q.hex) + " in one frame", {{text(s)}}, 1007));
    const std::string sent = bad == std::string::npos ? s : s.substr(0, bad + 1);
    cases.push_back(fails(std::string(q.id) + "f",
                          std::string(q.hex) + (bad == std::string::npos ? " in one-byte fragments"
                                                                         : " in one-byte fragments up to its first impossible byte"),
                          {{one_byte_fragments(sent, bad == std::string::npos)}}, 1007));
  }
  check_cases(cases);
}

TEST_CASE("conformance 7: the close handshake, close payloads and codes, and what comes after a close") {
  std::vector<Case> cases{
      answers("7.1.1", "text, then close", {{text("Hello World!")}}, {echo_of(kText, "Hello World!")}),
      Case{"7.1.2", "two closes", {{close_frame(1000) + close_frame(1000)}}, {close_of(1000)}},
      Case{"7.1.3", "close, then a ping", {{close_frame(1000) + ping("Hello World!")}}, {close_of(1000)}},
      Case{"7.1.4", "close, then text", {{close_frame(1000) + text("Hello World!")}}, {close_of(1000)}},
      Case{"7.1.5", "a first fragment, close, the last fragment",
           {{frame(kText, "fragment1") + close_frame(1000) + frame(kFin | kContinuation, "fragment2")}}, {close_of(1000)}},
      Case{"7.1.6", "256 KiB of text, close, ping", {{text(std::string(262144, 'B')) + close_frame(1000) + ping("Hello World!")}},
           {echo_of(kText, std::string(262144, 'B')), close_of(1000)}},
      Case{"7.3.1", "close without payload", {{frame(kFin | kClose, "")}}, {close_of(-1)}},
      fails("7.3.2", "close with a 1-byte payload", {{frame(kFin | kClose, "\x03")}}, 1002),
      Case{"7.3.3", "close 1000 without reason", {{close_frame(1000)}}, {close_of(1000)}},
      Case{"7.3.4", "close 1000 with a reason", {{close_frame(1000, "Hello World!")}}, {close_of(1000)}},
      Case{"7.3.5", "close 1000 with a 123-byte reason", {{close_frame(1000, std::string(123, '*'))}}, {close_of(1000)}},
      fails("7.3.6", "close 1000 with a 124-byte reason (a 126-byte payload)", {{close_frame(1000, std::string(124, '*'))}}, 1002),
      fails("7.5.1", "close 1000 with an invalid UTF-8 reason", {{close_frame(1000, from_hex("cebae1bdb9cf83cebcceb5eda080656469746564"))}}, 1007),
      fails("7.x", "text, then a close with a 1-byte payload", {{text("first") + frame(kFin | kClose, "\x03")}}, 1002,
            {echo_of(kText, "first")}),
  };
  int n = 1;
  for (int code : {1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 3000, 3999, 4000, 4999}) {
    cases.push_back(Case{"7.7." + std::to_string(n++), "close " + std::to_string(code) + " is echoed", {{close_frame(code)}}, {close_of(code)}});
  }
  // RFC 6455 §7.4.1 and the IANA registry: 1012-1014 are registered since the RFC, so the
  // engine takes them (Autobahn's older 7.9 cases call them invalid); 1015 never goes on the wire.
  n = 1;
  for (int code : {0, 999, 1004, 1005, 1006, 1015, 1016, 1100, 2000, 2999}) {
    cases.push_back(fails("7.9." + std::to_string(n++), "close " + std::to_string(code) + " is refused", {{close_frame(code)}}, 1002));
  }
  check_cases(cases);
}
