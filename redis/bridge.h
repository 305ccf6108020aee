// Bridge: topic messages between servers that share one Redis, through one pub/sub channel.
//
// A server publishes each message once, locally (its own members, whatever Redis does) and
// through the bridge; every other server's bridge hands it to `deliver`, which delivers it to
// that server's members and must not publish it again. A server drops its own messages coming
// back by their origin id (bridge_message.h).
//
// Two connections, because a RESP2 connection that has subscribed accepts no PUBLISH: a
// subscriber and a publisher, each reconnected on its own with capped exponential backoff and
// equal jitter (backoff.h: a wait in [ceiling/2, ceiling], the ceiling retry_first doubled per
// failed attempt up to retry_max); the subscriber subscribes again on every connection.
//
// While the publisher is away, publishes wait in a bounded outbox (docs/redis.md):
//  - at most outbox_messages messages and outbox_bytes payload bytes; a publish that would go
//    over drops the oldest messages not yet written to Redis, counted in stats().dropped (the
//    same holds while a write is in progress: Redis is not keeping up; a burst published while
//    the writer is idle is all taken by its next write);
//  - the kept messages go out in publish order once the publisher is back, after the other
//    servers have subscribed again (PUBSUB NUMSUB reaches the number of subscribers the last
//    PUBLISH reached, or resubscribe_wait passes);
//  - a message written to Redis whose reply did not come back before the connection broke is
//    sent again (Redis may have published it: a duplicate is possible only then).
// Redis pub/sub stores nothing: a message that reaches Redis while a server's subscriber is
// away is lost for that server's members.
//
// Everything runs on one reactor; call publish() on its thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <string>
#include <string_view>

#include "io/event.h"
#include "io/reactor.h"
#include "io/task.h"
#include "redis/backoff.h"
#include "redis/connection.h"

namespace redis {

struct BridgeOptions {
  std::string host = "127.0.0.1";
  std::uint16_t port = 6379;
  std::string channel = "wsp";  // every server of one deployment uses the same
  std::uint64_t origin = 0;     // this server's id; 0: a random one
  io::Duration connect_timeout = std::chrono::seconds(2);
  io::Duration retry_first = std::chrono::milliseconds(100);
  io::Duration retry_max = std::chrono::seconds(2);
  std::uint64_t retry_seed = 0;  // the jitter's random source (backoff.h); 0: a random seed
  std::size_t outbox_messages = 1024;
  std::size_t outbox_bytes = 1024 * 1024;
  io::Duration resubscribe_wait = std::chrono::seconds(4);  // twice retry_max: every server retried
};

struct BridgeStats {
  std::uint64_t published = 0;        // PUBLISH commands Redis acknowledged
  std::uint64_t rejected = 0;         // PUBLISH commands Redis answered with an error
  std::uint64_t delivered = 0;        // messages of other servers handed to deliver
  std::uint64_t own_ignored = 0;      // this server's messages coming back
  std::uint64_t foreign_ignored = 0;  // payloads on the channel not in the bridge's format
  std::uint64_t dropped = 0;          // outbox full: oldest unwritten messages dropped
  std::uint64_t resent = 0;           // written, unacknowledged when the link broke, sent again
  std::uint64_t subscriber_connects = 0;
  std::uint64_t publisher_connects = 0;
};

class Bridge {
 public:
  using Deliver = std::function<void(std::string_view topic, std::string_view message, bool text)>;
  using Log = std::function<void(const std::string& line)>;

  // `log` gets one line per change of a link (connected, lost, kept messages sent).
  Bridge(io::Reactor& reactor, BridgeOptions options, Deliver deliver, Log log = {});
  ~Bridge();  // stop() unless stopped: then the reactor must still be alive
  Bridge(const Bridge&) = delete;
  Bridge& operator=(const Bridge&) = delete;

  // Starts both links (tasks on the reactor); they keep trying until stop().
  void start();
  // Ends both links (their tasks are cancelled, their connections closed); what the outbox
  // holds stays there. Once stopped, the bridge needs its reactor no more (it may then be
  // destroyed after the reactor).
  void stop();
  // Never blocks and never fails: the message is written to Redis when the publisher is up,
  // kept in the outbox (or dropped, counted) while it is not.
  void publish(std::string_view topic, std::string_view message, bool text = true);

  bool subscribed() const { return subscribed_; }
  bool publisher_connected() const { return publisher_connected_; }
  std::size_t outbox_size() const { return outbox_.size(); }
  std::size_t outbox_bytes() const { return outbox_bytes_; }
  const BridgeStats& stats() const { return stats_; }
  std::uint64_t origin() const { return options_.origin; }
  const BridgeOptions& options() const { return options_; }

 private:
  io::Task<void> run_subscriber();
  io::Task<void> run_publisher();
  // Writes unwritten outbox messages while the publisher's connection lasts (pipelined: the
  // replies are read by run_publisher).
  io::Task<void> write_outbox(Connection& connection);
  // Until as many subscribers as the last PUBLISH reached are back, or resubscribe_wait.
  io::Task<io::Result<void>> wait_for_subscribers(Connection& connection);
  // The retry state of one link.
  struct Retry {
    const char* link;  // "subscriber", "publisher"
    Backoff backoff;
    bool outage_told = false;  // one line per outage, not one per attempt
    void connected() {
      backoff.reset();
      outage_told = false;
    }
  };
  // A new connection; or, when connecting fails, tells it (with what happens `meanwhile`),
  // waits out the backoff and returns null.
  io::Task<std::unique_ptr<Connection>> connect(Retry& retry, const std::string& meanwhile);
  // Tells that `connection` broke, closes it and waits out the backoff.
  io::Task<void> lost(Retry& retry, Connection& connection, std::error_code error);
  io::Task<void> back_off(Backoff& backoff);
  Backoff make_backoff(std::uint64_t link);
  void drop_oldest_unwritten();
  void say(const std::string& line) {
    if (log_) log_(line);
  }
  std::string where() const;

  io::Reactor& reactor_;
  BridgeOptions options_;
  Deliver deliver_;
  Log log_;
  BridgeStats stats_;

  bool subscribed_ = false;
  bool publisher_connected_ = false;
  // Payloads in publish order; the first `written_` are written and await their replies.
  std::deque<std::string> outbox_;
  std::size_t outbox_bytes_ = 0;
  std::size_t written_ = 0;
  io::Event outbox_ready_;           // set when there is something to write
  bool writer_idle_ = false;         // the writer waits for outbox_ready_
  std::int64_t last_receivers_ = 0;  // subscribers the last acknowledged PUBLISH reached
  std::string batch_;                // the PUBLISH commands being written

  io::Reactor::TaskId subscriber_task_ = 0;
  io::Reactor::TaskId publisher_task_ = 0;
  io::Reactor::TaskId writer_task_ = 0;
};

}  // namespace redis
