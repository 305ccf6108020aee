// ServerFrameReader, sans-IO: frames in, payload pieces and control frames out, split anywhere.
#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "tools/load/server_frame_reader.h"
#include "wsp/protocol/frame.h"

using wsp_load::ServerFrameReader;

namespace {

// Records what the reader reports, pieces joined per message.
struct Recorder {
  std::vector<std::string> events;
  std::string current;
  void message_begin(bool text, bool compressed) {
    current = std::string(compressed ? "compressed " : "") + (text ? "text:" : "binary:");
  }
  void message_data(const std::uint8_t* data, std::size_t size) {
    current.append(reinterpret_cast<const char*>(data), size);
  }
  void message_end() { events.push_back(current); }
  void control(wsp::Opcode opcode, const std::uint8_t* data, std::size_t size) {
    events.push_back("control" + std::to_string(static_cast<int>(opcode)) + ":" +
                     std::string(reinterpret_cast<const char*>(data), size));
  }
};

std::string frame(wsp::Opcode opcode, bool fin, const std::string& payload, bool rsv1 = false) {
  std::uint8_t header[wsp::kMaxFrameHeader];
  const std::size_t n = wsp::encode_frame_header(header, opcode, fin, payload.size(), nullptr, rsv1);
  return std::string(reinterpret_cast<const char*>(header), n) + payload;
}

std::vector<std::string> read_in_two(const std::string& wire, std::size_t split, bool* ok = nullptr) {
  ServerFrameReader reader;
  Recorder recorder;
  const auto* bytes = reinterpret_cast<const std::uint8_t*>(wire.data());
  bool good = reader.feed(bytes, split, recorder) && reader.feed(bytes + split, wire.size() - split, recorder);
  if (ok) *ok = good;
  return recorder.events;
}

}  // namespace

TEST_CASE("every byte split of a multi-frame stream yields the same messages and control frames") {
  const std::string big(70'000, 'x');  // a 64-bit length
  const std::string wire = frame(wsp::Opcode::text, true, "hello") +
                           frame(wsp::Opcode::binary, false, "frag") +
                           frame(wsp::Opcode::ping, true, "p") +  // between fragments (§5.4)
                           frame(wsp::Opcode::continuation, false, std::string(300, 'y')) +
                           frame(wsp::Opcode::continuation, true, "") +
                           frame(wsp::Opcode::text, true, "") + frame(wsp::Opcode::binary, true, big) +
                           frame(wsp::Opcode::close, true, std::string("\x03\xe8", 2) + "bye");
  const std::vector<std::string> expected = {
      "text:hello", "control9:p", "binary:frag" + std::string(300, 'y'), "text:",
      "binary:" + big, "control8:" + std::string("\x03\xe8", 2) + "bye"};
  for (std::size_t split = 0; split <= wire.size(); split += (split < 400 ? 1 : 997)) {
    CAPTURE(split);
    bool ok = false;
    REQUIRE(read_in_two(wire, split, &ok) == expected);
    REQUIRE(ok);
  }
}

TEST_CASE("a byte at a time reads the same as all at once") {
  const std::string wire = frame(wsp::Opcode::binary, true, std::string(200, 'z')) +
                           frame(wsp::Opcode::text, true, "ok");
  ServerFrameReader reader;
  Recorder recorder;
  for (char c : wire) REQUIRE(reader.feed(reinterpret_cast<const std::uint8_t*>(&c), 1, recorder));
  CHECK(recorder.events == std::vector<std::string>{"binary:" + std::string(200, 'z'), "text:ok"});
}

TEST_CASE("what a server must not send fails the reader with a reason (RFC 6455 §5)") {
  auto fails = [](std::string wire) {
    ServerFrameReader reader;
    Recorder recorder;
    const bool ok = reader.feed(reinterpret_cast<const std::uint8_t*>(wire.data()), wire.size(), recorder);
    return !ok && reader.failed() && reader.failure() != nullptr;
  };
  std::string masked = frame(wsp::Opcode::text, true, "abcd");
  masked[1] = static_cast<char>(masked[1] | 0x80);
  CHECK(fails(masked));                                                    // §5.1
  std::string rsv = frame(wsp::Opcode::text, true, "a");
  rsv[0] = static_cast<char>(rsv[0] | 0x40);
  CHECK(fails(rsv));                                                       // §5.2
  CHECK(fails(std::string("\x83\x00", 2)));                                // reserved opcode 3
  CHECK(fails(frame(wsp::Opcode::continuation, true, "x")));               // nothing to continue
  CHECK(fails(frame(wsp::Opcode::text, false, "a") + frame(wsp::Opcode::text, true, "b")));
  CHECK(fails(frame(wsp::Opcode::ping, false, "x")));                      // §5.5
  CHECK(fails(frame(wsp::Opcode::ping, true, std::string(126, 'x'))));
  CHECK_FALSE(fails(frame(wsp::Opcode::ping, true, std::string(125, 'x'))));
}

TEST_CASE("with permessage-deflate, RSV1 marks a compressed message on its first frame only (RFC 7692 §6.1)") {
  auto read = [](const std::string& wire, bool& ok) {
    ServerFrameReader reader;
    reader.accept_compressed();
    Recorder recorder;
    ok = reader.feed(reinterpret_cast<const std::uint8_t*>(wire.data()), wire.size(), recorder);
    return recorder.events;
  };
  bool ok = false;
  CHECK(read(frame(wsp::Opcode::text, false, "ab", true) + frame(wsp::Opcode::continuation, true, "c") +
                 frame(wsp::Opcode::binary, true, "plain"),
             ok) == std::vector<std::string>{"compressed text:abc", "binary:plain"});
  CHECK(ok);
  read(frame(wsp::Opcode::binary, false, "a", true) + frame(wsp::Opcode::continuation, true, "b", true), ok);
  CHECK_FALSE(ok);  // RSV1 on a continuation frame
  read(frame(wsp::Opcode::ping, true, "p", true), ok);
  CHECK_FALSE(ok);  // RSV1 on a control frame
  std::string rsv2 = frame(wsp::Opcode::text, true, "a");
  rsv2[0] = static_cast<char>(rsv2[0] | 0x20);
  read(rsv2, ok);
  CHECK_FALSE(ok);  // RSV2 stays reserved
}

TEST_CASE("a handler that stops the reader at a message's end stops it before the next frame") {
  struct Stopper : Recorder {
    ServerFrameReader* reader = nullptr;
    void message_end() {
      Recorder::message_end();
      reader->stop("does not inflate");
    }
  };
  const std::string wire = frame(wsp::Opcode::text, true, "one") + frame(wsp::Opcode::text, true, "two");
  ServerFrameReader reader;
  Stopper stopper;
  stopper.reader = &reader;
  CHECK_FALSE(reader.feed(reinterpret_cast<const std::uint8_t*>(wire.data()), wire.size(), stopper));
  CHECK(stopper.events == std::vector<std::string>{"text:one"});
  CHECK(std::string(reader.failure()) == "does not inflate");
}
