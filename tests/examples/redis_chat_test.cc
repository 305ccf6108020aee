// Two //examples:chat_server processes sharing a redis-server the test starts on a free port
// (no persistence) and kills with -9 mid-run: every text message reaches every member of the
// room on both servers, in order per sender; while Redis is away each server's own members
// still get everything; after the restart the other server gets what docs/redis.md says: the
// newest --redis-outbox messages of the outage, in order, then everything again. The clients
// are wsp coroutine clients in this process.
#include <catch2/catch.hpp>

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "io/operation.h"
#include "io/reactor.h"
#include "tests/interop/child_process.h"
#include "tests/redis/redis_server.h"
#include "tests/stream_testing.h"
#include "wsp/websocket.h"

using namespace std::chrono_literals;
using interop::ChildProcess;
using testing_support::RedisServer;
using testing_support::run_until;

namespace {

using Lines = std::vector<std::string>;

// A chat_server with --redis; its stdout and stderr (the Redis links' log) read line by line.
class ChatServer {
 public:
  ChatServer(const RedisServer& redis, std::vector<std::string> extra = {}) {
    std::vector<std::string> argv{interop::runfile("wsp/examples/chat_server"), "--port", "0",
                                  "--redis", redis.address()};
    argv.insert(argv.end(), extra.begin(), extra.end());
    process_.emplace(argv, ChildProcess::Options{.merge_stderr = true});
    const std::string prefix = "listening on 127.0.0.1:";
    while (auto line = process_->read_line(10s)) {
      log_.push_back(*line);
      if (line->rfind(prefix, 0) == 0) {
        port_ = static_cast<std::uint16_t>(std::stoi(line->substr(prefix.size())));
        return;
      }
    }
    FAIL("chat_server did not start");
  }
  std::string url(const std::string& path) const {
    return "ws://127.0.0.1:" + std::to_string(port_) + path;
  }
  // The first line containing `text` that no earlier wait consumed: among the lines already
  // read (the Redis links may log before "listening on"), else read until one comes (true),
  // `timeout` or its end (false). `drive` runs between waits (the clients' reactor).
  bool wait_for_line(const std::string& text, std::chrono::milliseconds timeout,
                     const std::function<void()>& drive) {
    while (consumed_ < log_.size()) {
      if (log_[consumed_++].find(text) != std::string::npos) return true;
    }
    const auto deadline = interop::Clock::now() + timeout;
    while (interop::Clock::now() < deadline) {
      auto line = process_->read_line(
          std::chrono::duration_cast<std::chrono::milliseconds>(deadline - interop::Clock::now()), drive);
      if (!line) return false;
      log_.push_back(*line);
      consumed_ = log_.size();
      if (line->find(text) != std::string::npos) return true;
    }
    return false;
  }
  const Lines& log() const { return log_; }

 private:
  std::optional<ChildProcess> process_;
  std::uint16_t port_ = 0;
  Lines log_;
  std::size_t consumed_ = 0;  // log_ lines wait_for_line has looked at
};

// A member of a room: every text message it received, in order.
struct Member {
  std::unique_ptr<wsp::WebSocket> ws;
  Lines got;
  bool closed = false;

  // The messages received that start with `prefix`.
  Lines with(const std::string& prefix) const {
    Lines out;
    for (const std::string& m : got)
      if (m.rfind(prefix, 0) == 0) out.push_back(m);
    return out;
  }
  void say(const std::string& text) { REQUIRE(ws->connection().send(true, text) == wsp::SendResult::ok); }
};

io::Task<void> read_messages(Member& m) {
  for (;;) {
    wsp::Received r = co_await m.ws->receive();
    if (r.closed) break;
    if (r.text) m.got.push_back(std::move(r.data));
  }
  m.closed = true;
}

std::unique_ptr<Member> join(io::Reactor& reactor, const std::string& url) {
  auto ws = reactor.sync_wait(wsp::connect(reactor, url));
  REQUIRE(ws);
  auto m = std::make_unique<Member>();
  m->ws = std::move(*ws);
  reactor.spawn(read_messages(*m));
  return m;
}

// `from` says probe messages until every one of `to` has heard one: the room is joined on both
// servers and the Redis links carry it.
bool probe(io::Reactor& reactor, Member& from, const std::vector<Member*>& to, const std::string& tag) {
  for (int i = 0; i < 500; ++i) {
    from.say("probe " + tag + " " + std::to_string(i));
    const bool heard = run_until(reactor, [&] {
      for (Member* m : to)
        if (m->with("probe " + tag).empty()) return false;
      return true;
    }, 20ms);
    if (heard) return true;
  }
  return false;
}

Lines numbered(const std::string& prefix, int from, int to) {
  Lines out;
  for (int i = from; i <= to; ++i) out.push_back(prefix + std::to_string(i));
  return out;
}

}  // namespace

TEST_CASE("two chat servers through Redis: every member on both gets every message, in order per sender; kill -9 of Redis keeps local delivery and loses exactly what the docs say") {
  RedisServer redis;
  ChatServer a(redis, {"--redis-outbox", "5"});
  ChatServer b(redis);
  io::Reactor reactor;
  auto drive = [&] { reactor.run_once(std::chrono::milliseconds(0)); };
  for (ChatServer* s : {&a, &b}) {
    REQUIRE(s->wait_for_line("redis: subscribed", 10s, drive));
  }

  auto a1 = join(reactor, a.url("/rooms/lobby"));
  auto a2 = join(reactor, a.url("/rooms/lobby"));
  auto b1 = join(reactor, b.url("/rooms/lobby"));
  auto b2 = join(reactor, b.url("/rooms/lobby"));
  auto elsewhere = join(reactor, b.url("/rooms/other"));
  const std::vector<Member*> everyone{a1.get(), a2.get(), b1.get(), b2.get()};
  REQUIRE(probe(reactor, *a1, everyone, "a"));
  REQUIRE(probe(reactor, *b1, everyone, "b"));

  // Both senders at once, interleaved.
  for (int i = 1; i <= 50; ++i) {
    a1->say("from a1 " + std::to_string(i));
    b1->say("from b1 " + std::to_string(i));
  }
  const bool all_arrived = run_until(reactor, [&] {
    for (Member* m : everyone)
      if (m->with("from ").size() < 100) return false;
    return true;
  });
  for (Member* m : everyone) UNSCOPED_INFO(m->with("from ").size() << " of 100, closed " << m->closed);
  REQUIRE(all_arrived);
  for (Member* m : everyone) {
    CHECK(m->with("from a1 ") == numbered("from a1 ", 1, 50));
    CHECK(m->with("from b1 ") == numbered("from b1 ", 1, 50));
  }
  CHECK(elsewhere->with("from ").empty());
  CHECK(elsewhere->with("probe ").empty());

  // Redis goes away: local delivery goes on; A keeps the newest 5 of what its members say.
  redis.kill();
  for (ChatServer* s : {&a, &b}) {
    REQUIRE(s->wait_for_line("redis: publisher lost", 10s, drive));
  }
  for (int i = 1; i <= 8; ++i) a1->say("away " + std::to_string(i));
  REQUIRE(run_until(reactor, [&] { return a1->with("away ").size() == 8 && a2->with("away ").size() == 8; }));
  CHECK(a2->with("away ") == numbered("away ", 1, 8));

  redis.start();
  REQUIRE(a.wait_for_line("redis: publisher connected", 20s, drive));
  CHECK(a.log().back().find("5 kept messages to send, 3 dropped so far") != std::string::npos);
  REQUIRE(run_until(reactor, [&] { return b1->with("away ").size() == 5 && b2->with("away ").size() == 5; }, 20s));
  CHECK(b1->with("away ") == numbered("away ", 4, 8));
  CHECK(b2->with("away ") == numbered("away ", 4, 8));

  // And everything flows again, both ways.
  REQUIRE(b.wait_for_line("redis: publisher connected", 20s, drive));
  a1->say("after a1");
  b1->say("after b1");
  REQUIRE(run_until(reactor, [&] {
    for (Member* m : everyone)
      if (m->with("after ").size() < 2) return false;
    return true;
  }));
  for (Member* m : everyone) {
    CHECK(m->with("away ").size() == (m == a1.get() || m == a2.get() ? 8u : 5u));
    CHECK(m->with("after a1") == Lines{"after a1"});
    CHECK(m->with("after b1") == Lines{"after b1"});
  }
  CHECK(elsewhere->with("away ").empty());
}
