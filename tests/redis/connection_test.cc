// redis::Connection over an in-memory stream: the replies Redis would send, cut anywhere, its
// end and bytes that are not RESP2.
#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "io/reactor.h"
#include "io/testing/memory_stream.h"
#include "redis/connection.h"
#include "redis/redis_error.h"

using io::test::MemoryStream;
using io::test::ReadSplit;
using io::test::settle;

namespace {

// Everything receive() gave until it failed: the replies as text ("+OK", ":3", "$x", "nil",
// arrays as "[size]") and the failure.
struct Received {
  std::vector<std::string> replies;
  std::error_code failure;
  bool done = false;
};

io::Task<void> receive_all(redis::Connection& connection, Received& out) {
  for (;;) {
    io::Result<redis::Reply> reply = co_await connection.receive();
    if (!reply) {
      out.failure = reply.error();
      break;
    }
    switch (reply->type) {
      case redis::Reply::Type::simple_string: out.replies.push_back("+" + reply->text); break;
      case redis::Reply::Type::error: out.replies.push_back("-" + reply->text); break;
      case redis::Reply::Type::integer: out.replies.push_back(":" + std::to_string(reply->integer)); break;
      case redis::Reply::Type::bulk_string: out.replies.push_back("$" + reply->text); break;
      case redis::Reply::Type::nil: out.replies.push_back("nil"); break;
      case redis::Reply::Type::array: out.replies.push_back("[" + std::to_string(reply->elements.size()) + "]"); break;
    }
  }
  out.done = true;
}

}  // namespace

TEST_CASE("replies read byte by byte come out whole and in order, then the end of the stream") {
  io::Reactor reactor;
  auto [near, far] = MemoryStream::pair(reactor, {.reads = ReadSplit::at_most(1)});
  redis::Connection connection(std::move(near));
  far->write_now("*3\r\n$9\r\nsubscribe\r\n$3\r\nwsp\r\n:1\r\n+OK\r\n-ERR no\r\n:42\r\n$-1\r\n");
  far->shutdown_now();
  Received got;
  reactor.spawn(receive_all(connection, got));
  REQUIRE(settle(reactor));
  REQUIRE(got.done);
  CHECK(got.replies == std::vector<std::string>{"[3]", "+OK", "-ERR no", ":42", "nil"});
  CHECK(got.failure == redis::Errc::connection_closed);
}

TEST_CASE("bytes that are not RESP2 fail the receive after the replies before them") {
  io::Reactor reactor;
  auto [near, far] = MemoryStream::pair(reactor);
  redis::Connection connection(std::move(near));
  far->write_now(":1\r\n:2\r\nHTTP/1.1 400\r\n");
  Received got;
  reactor.spawn(receive_all(connection, got));
  REQUIRE(settle(reactor));
  REQUIRE(got.done);
  CHECK(got.replies == std::vector<std::string>{":1", ":2"});
  CHECK(got.failure == redis::Errc::protocol_error);
}

TEST_CASE("a read error of the stream is the receive's failure") {
  io::Reactor reactor;
  auto [near, far] = MemoryStream::pair(reactor, {.fail_read = 2});
  redis::Connection connection(std::move(near));
  far->write_now(":7\r\n");
  Received got;
  reactor.spawn(receive_all(connection, got));
  REQUIRE(settle(reactor));
  far->write_now(":8\r\n");
  REQUIRE(settle(reactor));
  REQUIRE(got.done);
  CHECK(got.replies == std::vector<std::string>{":7"});
  CHECK(got.failure == std::errc::connection_reset);
}

TEST_CASE("send writes the commands' bytes exactly, in partial writes too") {
  io::Reactor reactor;
  auto [near, far] = MemoryStream::pair(reactor, {.write_step = 3});
  MemoryStream& near_end = *near;
  redis::Connection connection(std::move(near));
  std::string commands;
  redis::append_command(commands, {"SUBSCRIBE", "wsp"});
  redis::append_command(commands, {"PUBLISH", "wsp", "hi"});
  bool sent = false;
  reactor.spawn([](redis::Connection& c, const std::string& bytes, bool& ok) -> io::Task<void> {
    io::Result<void> r = co_await c.send(bytes);
    ok = r.ok();
  }(connection, commands, sent));
  REQUIRE(settle(reactor));
  CHECK(sent);
  CHECK(near_end.written() == "*2\r\n$9\r\nSUBSCRIBE\r\n$3\r\nwsp\r\n*3\r\n$7\r\nPUBLISH\r\n$3\r\nwsp\r\n$2\r\nhi\r\n");
  CHECK(near_end.stats().write_steps == (commands.size() + 2) / 3);
}
