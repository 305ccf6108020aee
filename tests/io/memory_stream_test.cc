// The in-memory stream pair the engine tests run on: scripted reads, partial writes, injected
// errors, TCP-like ends; every result from the ready list.
#include <catch2/catch.hpp>

#include <functional>
#include <string>
#include <system_error>
#include <vector>

#include "io/reactor.h"
#include "io/testing/memory_stream.h"
#include "tests/stream_testing.h"

using io::Reactor;
using io::Task;
using io::test::MemoryStream;
using io::test::ReadSplit;
using io::test::settle;

namespace {

// Records what a receive handler is told; after the `pause_at`th read it returns false.
struct Receiver final : testing_support::ReceiveOnly {
  std::vector<std::string> reads;
  bool ended = false;
  std::error_code end_error;
  std::size_t pause_at = 0;  // pause after this read (from 1); 0: never
  std::function<void()> on_read;

  bool on_received(std::span<const std::uint8_t> data) override {
    reads.emplace_back(reinterpret_cast<const char*>(data.data()), data.size());
    if (on_read) on_read();
    return reads.size() != pause_at;
  }
  void on_receive_end(std::error_code error) override {
    ended = true;
    end_error = error;
  }
  std::string joined() const {
    std::string all;
    for (const auto& r : reads) all += r;
    return all;
  }
};

struct Writer final : testing_support::WriteOnly {
  int calls = 0;
  std::error_code error;
  void on_written(std::error_code e) override {
    ++calls;
    error = e;
  }
};

iovec part(const std::string& s) { return {const_cast<char*>(s.data()), s.size()}; }

}  // namespace

TEST_CASE("bytes written at one end are read in order at the other, and tcp() is null") {
  Reactor reactor;
  auto [a, b] = MemoryStream::pair(reactor);
  CHECK(a->tcp() == nullptr);
  const std::string first = "hello, ", second = "world";
  std::vector<iovec> parts{part(first), part(second)};
  // The ends as parameters: clang 14 cannot capture structured bindings in a lambda.
  auto exchange = [&](MemoryStream& from, MemoryStream& to) -> Task<std::string> {
    auto written = co_await from.write_all(parts);
    REQUIRE(written);
    std::string got(64, '\0');
    auto n = co_await to.read_some({reinterpret_cast<std::uint8_t*>(got.data()), got.size()});
    REQUIRE(n);
    got.resize(*n);
    co_return got;
  };
  CHECK(reactor.sync_wait(exchange(*a, *b)) == "hello, world");
  CHECK(a->written() == "hello, world");
  CHECK(b->stats().bytes_delivered == 12);
}

TEST_CASE("a push write completes from the ready list, only once every byte was taken") {
  Reactor reactor;
  auto [a, b] = MemoryStream::pair(reactor, {.write_step = 4});
  Receiver receiver;
  b->start_receiving(receiver);
  const std::string data = "0123456789";
  iovec one = part(data);
  Writer writer;
  a->start_write({&one, 1}, writer);
  CHECK(writer.calls == 0);  // never inside start_write
  CHECK(a->written().empty());
  // Steps of 4, 4 and 2 bytes; the peer may read the first before the write completes.
  while (writer.calls == 0 && a->stats().write_steps < 10) reactor.poll();
  CHECK(writer.calls == 1);
  CHECK_FALSE(writer.error);
  CHECK(a->stats().write_steps == 3);
  CHECK(a->stats().bytes_written == 10);
  REQUIRE(settle(reactor));
  CHECK(receiver.joined() == data);
  REQUIRE(a->write_calls().size() == 1);
  CHECK(a->write_calls()[0][0].iov_base == data.data());
}

TEST_CASE("a write step that takes a few bytes goes across iovec boundaries") {
  Reactor reactor;
  auto [a, b] = MemoryStream::pair(reactor, {.write_step = 3});
  const std::string x = "ab", y = "", z = "cdefg";
  std::vector<iovec> parts{part(x), part(y), part(z)};
  Writer writer;
  a->start_write(parts, writer);
  REQUIRE(settle(reactor));
  CHECK(writer.calls == 1);
  CHECK(a->written() == "abcdefg");
  CHECK(a->stats().write_steps == 3);
}

TEST_CASE("reads are cut whole, byte by byte, by script or at random from a seed") {
  const std::string data = "abcdefghijklmnopqrstuvwxyz";
  auto reads_with = [&](ReadSplit split) {
    Reactor reactor;
    auto [a, b] = MemoryStream::pair(reactor, {}, {.reads = std::move(split)});
    Receiver receiver;
    b->start_receiving(receiver);
    a->write_now(data);
    REQUIRE(settle(reactor));
    CHECK(receiver.joined() == data);
    CHECK(b->stats().reads == receiver.reads.size());
    std::vector<std::size_t> sizes;
    for (const auto& r : receiver.reads) sizes.push_back(r.size());
    return sizes;
  };
  CHECK(reads_with(ReadSplit::whole()) == std::vector<std::size_t>{26});
  CHECK(reads_with(ReadSplit::at_most(1)) == std::vector<std::size_t>(26, 1));
  CHECK(reads_with(ReadSplit::at_most(10)) == std::vector<std::size_t>{10, 10, 6});
  CHECK(reads_with(ReadSplit::script({3, 1, 5})) == std::vector<std::size_t>{3, 1, 5, 17});
  auto random = reads_with(ReadSplit::random(42, 5));
  CHECK(random == reads_with(ReadSplit::random(42, 5)));
  CHECK(random != reads_with(ReadSplit::random(43, 5)));
  for (std::size_t n : random) CHECK((n >= 1 && n <= 5));
}

TEST_CASE("a receiver that returns false gets nothing more until resume_receiving") {
  Reactor reactor;
  auto [a, b] = MemoryStream::pair(reactor, {}, {.reads = ReadSplit::at_most(2)});
  Receiver receiver;
  receiver.pause_at = 2;
  b->start_receiving(receiver);
  a->write_now("abcdefgh");
  REQUIRE(settle(reactor));
  CHECK(receiver.reads == std::vector<std::string>{"ab", "cd"});
  CHECK(b->paused());
  CHECK(b->stats().pauses == 1);
  CHECK(b->unread() == 4);
  a->shutdown_now();
  REQUIRE(settle(reactor));
  CHECK_FALSE(receiver.ended);  // the end waits behind the unread bytes
  b->resume_receiving();
  REQUIRE(settle(reactor));
  CHECK(receiver.reads == std::vector<std::string>{"ab", "cd", "ef", "gh"});
  CHECK(receiver.ended);
  CHECK_FALSE(receiver.end_error);
  CHECK(b->stats().resumes == 1);
  CHECK(b->stats().bytes_delivered == 8);
}

TEST_CASE("shutdown gives the peer an orderly end after the bytes and fails later writes") {
  Reactor reactor;
  auto [a, b] = MemoryStream::pair(reactor);
  Receiver receiver;
  b->start_receiving(receiver);
  a->write_now("last words");
  auto shut = [](MemoryStream& end) -> Task<io::Result<void>> { co_return co_await end.shutdown(); };
  CHECK(reactor.sync_wait(shut(*a)));
  REQUIRE(settle(reactor));
  CHECK(receiver.joined() == "last words");
  CHECK(receiver.ended);
  CHECK_FALSE(receiver.end_error);
  CHECK(b->peer_ended());

  const std::string more = "more";
  iovec one = part(more);
  Writer writer;
  a->start_write({&one, 1}, writer);
  REQUIRE(settle(reactor));
  CHECK(writer.error == std::errc::broken_pipe);
  // Reads go on in the other direction.
  Receiver back;
  a->start_receiving(back);
  b->write_now("reply");
  REQUIRE(settle(reactor));
  CHECK(back.joined() == "reply");
}

TEST_CASE("closing an end gives the peer an orderly end and fails the peer's writes") {
  Reactor reactor;
  auto [a, b] = MemoryStream::pair(reactor);
  Receiver receiver;
  b->start_receiving(receiver);
  a->close();
  REQUIRE(settle(reactor));
  CHECK(receiver.ended);
  CHECK_FALSE(receiver.end_error);
  const std::string data = "x";
  iovec one = part(data);
  Writer writer;
  b->start_write({&one, 1}, writer);
  REQUIRE(settle(reactor));
  CHECK(writer.error == std::errc::broken_pipe);
}

TEST_CASE("destroying an end gives the peer an orderly end") {
  Reactor reactor;
  auto [a, b] = MemoryStream::pair(reactor);
  Receiver receiver;
  b->start_receiving(receiver);
  a->write_now("bye");
  a.reset();
  REQUIRE(settle(reactor));
  CHECK(receiver.joined() == "bye");
  CHECK(receiver.ended);
  CHECK_FALSE(receiver.end_error);
}

TEST_CASE("the nth read fails with the given error instead of returning data") {
  Reactor reactor;
  auto [a, b] = MemoryStream::pair(reactor, {},
                                   {.reads = ReadSplit::at_most(3), .fail_read = 3,
                                    .read_error = std::errc::connection_aborted});
  Receiver receiver;
  b->start_receiving(receiver);
  a->write_now("abcdefghij");
  REQUIRE(settle(reactor));
  CHECK(receiver.reads == std::vector<std::string>{"abc", "def"});
  CHECK(receiver.ended);
  CHECK(receiver.end_error == std::errc::connection_aborted);
  CHECK(b->receive_ended());
}

TEST_CASE("fail_next_read ends the stream with the error at once, whatever waits") {
  Reactor reactor;
  auto [a, b] = MemoryStream::pair(reactor);
  Receiver receiver;
  b->start_receiving(receiver);
  b->fail_next_read(std::errc::connection_reset);
  REQUIRE(settle(reactor));
  CHECK(receiver.reads.empty());
  CHECK(receiver.end_error == std::errc::connection_reset);
}

TEST_CASE("the nth write step fails with the given error after the earlier steps arrived") {
  Reactor reactor;
  auto [a, b] = MemoryStream::pair(reactor, {.write_step = 2, .fail_write = 3,
                                             .write_error = std::errc::connection_reset});
  const std::string data = "abcdefgh";
  iovec one = part(data);
  Writer writer;
  a->start_write({&one, 1}, writer);
  REQUIRE(settle(reactor));
  CHECK(writer.calls == 1);
  CHECK(writer.error == std::errc::connection_reset);
  CHECK(a->written() == "abcd");
  CHECK(b->unread() == 4);
}

TEST_CASE("held writes take nothing until released") {
  Reactor reactor;
  auto [a, b] = MemoryStream::pair(reactor);
  a->hold_writes();
  const std::string data = "held";
  iovec one = part(data);
  Writer writer;
  a->start_write({&one, 1}, writer);
  REQUIRE(settle(reactor));
  CHECK(writer.calls == 0);
  CHECK(b->unread() == 0);
  a->release_writes();
  REQUIRE(settle(reactor));
  CHECK(writer.calls == 1);
  CHECK(b->unread() == 4);
}

TEST_CASE("stop_io drops the pending delivery and write completion") {
  Reactor reactor;
  auto [a, b] = MemoryStream::pair(reactor);
  Receiver receiver;
  a->start_receiving(receiver);
  b->write_now("dropped");
  const std::string data = "x";
  iovec one = part(data);
  Writer writer;
  a->start_write({&one, 1}, writer);
  a->stop_io();
  CHECK(a->io_stopped());
  REQUIRE(settle(reactor));
  CHECK(receiver.reads.empty());
  CHECK(writer.calls == 0);
}

TEST_CASE("a receive handler may destroy its stream while it is being called") {
  Reactor reactor;
  auto ends = MemoryStream::pair(reactor, {}, {.reads = ReadSplit::at_most(1)});
  auto& a = ends.first;
  auto& b = ends.second;
  Receiver receiver;
  receiver.on_read = [&] { b.reset(); };
  b->start_receiving(receiver);
  a->write_now("abc");
  REQUIRE(settle(reactor));  // ASan tells if the stream is touched after
  CHECK(receiver.reads == std::vector<std::string>{"a"});
}

TEST_CASE("late reads still reach a paused receiver, the end of stream among them") {
  Reactor reactor;
  auto [a, b] = MemoryStream::pair(reactor, {}, {.reads = ReadSplit::at_most(2), .late_reads = 2});
  Receiver receiver;
  receiver.pause_at = 1;
  b->start_receiving(receiver);
  a->write_now("abcd");
  a->shutdown_now();
  REQUIRE(settle(reactor));
  // "ab" pauses; "cd" and the end were on their way.
  CHECK(receiver.reads == std::vector<std::string>{"ab", "cd"});
  CHECK(receiver.ended);
  CHECK(b->stats().pauses == 1);
}

TEST_CASE("start_receiving again hands the stream to a new receiver: it gets the rest, and an end the first was given") {
  // With late reads, "cd" and the end reach the first receiver after it paused at "ab";
  // without, they wait for the second.
  const std::size_t late_reads = GENERATE(2, 0);
  INFO("late reads: " << late_reads);
  Reactor reactor;
  auto [a, b] = MemoryStream::pair(reactor, {}, {.reads = ReadSplit::at_most(2), .late_reads = late_reads});
  Receiver first, second;
  first.pause_at = 1;
  b->start_receiving(first);
  a->write_now("abcd");
  a->shutdown_now();
  REQUIRE(settle(reactor));
  if (late_reads > 0) {
    REQUIRE(first.ended);
  } else {
    CHECK(first.reads == std::vector<std::string>{"ab"});
    CHECK_FALSE(first.ended);
  }
  b->start_receiving(second);
  REQUIRE(settle(reactor));
  if (late_reads > 0) {
    CHECK(second.reads.empty());
  } else {
    CHECK(second.reads == std::vector<std::string>{"cd"});
  }
  CHECK(second.ended);
  CHECK_FALSE(second.end_error);
}

TEST_CASE("late reads are only those already waiting when the receiver paused") {
  Reactor reactor;
  auto [a, b] = MemoryStream::pair(reactor, {}, {.late_reads = 5});
  Receiver receiver;
  receiver.pause_at = 1;
  b->start_receiving(receiver);
  a->write_now("first");
  REQUIRE(settle(reactor));
  a->write_now("second");
  REQUIRE(settle(reactor));
  CHECK(receiver.reads == std::vector<std::string>{"first"});
  b->resume_receiving();
  REQUIRE(settle(reactor));
  CHECK(receiver.reads == std::vector<std::string>{"first", "second"});
}
