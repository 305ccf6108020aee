#include "redis/bridge.h"

#include <random>

#include "io/operation.h"
#include "redis/bridge_message.h"
#include "redis/redis_error.h"

namespace redis {

namespace {

std::uint64_t random_origin() {
  std::random_device device;
  std::uint64_t origin = 0;
  while (origin == 0) origin = (std::uint64_t{device()} << 32) | device();
  return origin;
}

std::string milliseconds(io::Duration d) {
  return std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(d).count()) + " ms";
}

// The pub/sub push `kind` ("subscribe", "message") on `channel`: [kind, channel, third].
bool is_push(const Reply& reply, std::string_view kind, std::string_view channel) {
  return reply.type == Reply::Type::array && reply.elements.size() == 3 &&
         reply.elements[0].is(kind) && reply.elements[1].is(channel);
}

// The PUBLISH batch a write takes at most: large enough to need few system calls, small enough
// not to hold the reply reader back.
constexpr std::size_t kBatchBytes = 256 * 1024;

}  // namespace

Bridge::Bridge(io::Reactor& reactor, BridgeOptions options, Deliver deliver, Log log)
    : reactor_(reactor),
      options_(std::move(options)),
      deliver_(std::move(deliver)),
      log_(std::move(log)),
      outbox_ready_(reactor) {
  if (options_.origin == 0) options_.origin = random_origin();
}

Bridge::~Bridge() { stop(); }

void Bridge::stop() {
  // The writer uses the publisher's connection: it goes first.
  for (io::Reactor::TaskId* id : {&writer_task_, &publisher_task_, &subscriber_task_}) {
    if (*id) reactor_.cancel(*id);
    *id = 0;
  }
  subscribed_ = publisher_connected_ = writer_idle_ = false;
  written_ = 0;  // unacknowledged messages stay, to be written again
}

void Bridge::start() {
  if (subscriber_task_) return;
  subscriber_task_ = reactor_.spawn(run_subscriber());
  publisher_task_ = reactor_.spawn(run_publisher());
}

std::string Bridge::where() const {
  return options_.host + ":" + std::to_string(options_.port);
}

void Bridge::publish(std::string_view topic, std::string_view message, bool text) {
  std::string payload;
  append_bridge_message(payload, {options_.origin, topic, message, text});
  outbox_bytes_ += payload.size();
  outbox_.push_back(std::move(payload));
  // An idle writer takes everything at its next turn, however many came in this one: the
  // limits are for what waits on Redis (away, or not keeping up with the writes).
  const bool writer_takes_it = publisher_connected_ && writer_idle_;
  while (!writer_takes_it && outbox_.size() > written_ + 1 &&
         (outbox_.size() > options_.outbox_messages || outbox_bytes_ > options_.outbox_bytes)) {
    drop_oldest_unwritten();
  }
  // Over the limits with only the new message unwritten: the written ones await their replies
  // and leave soon, and a message larger than the whole outbox still goes out alone.
  outbox_ready_.set();
}

void Bridge::drop_oldest_unwritten() {
  auto oldest = outbox_.begin() + static_cast<std::ptrdiff_t>(written_);
  outbox_bytes_ -= oldest->size();
  outbox_.erase(oldest);
  ++stats_.dropped;
}

io::Task<void> Bridge::back_off(Backoff& backoff) {
  co_await io::sleep_for(reactor_, backoff.next());
}

Backoff Bridge::make_backoff(std::uint64_t link) {
  // Each link draws its own waits: the two do not retry in step either.
  const std::uint64_t seed = options_.retry_seed ? options_.retry_seed + link : random_origin();
  return Backoff(options_.retry_first, options_.retry_max, seed);
}

io::Task<std::unique_ptr<Connection>> Bridge::connect(Retry& retry, const std::string& meanwhile) {
  auto connection = co_await Connection::connect(reactor_, options_.host, options_.port,
                                                 options_.connect_timeout);
  if (connection) co_return std::move(*connection);
  if (!retry.outage_told) {
    say(std::string("redis: ") + retry.link + " cannot connect to " + where() + " (" +
        connection.error().message() + "); " + meanwhile);
    retry.outage_told = true;
  }
  co_await back_off(retry.backoff);
  co_return nullptr;
}

io::Task<void> Bridge::lost(Retry& retry, Connection& connection, std::error_code error) {
  say(std::string("redis: ") + retry.link + " lost " + where() + " (" + error.message() + "); retrying");
  retry.outage_told = true;
  connection.close();
  co_await back_off(retry.backoff);
}

io::Task<void> Bridge::run_subscriber() {
  Retry retry{"subscriber", make_backoff(1)};
  const std::string meanwhile = "retrying, at most every " + milliseconds(options_.retry_max);
  std::string subscribe;
  append_command(subscribe, {"SUBSCRIBE", options_.channel});
  for (;;) {
    std::unique_ptr<Connection> connection = co_await connect(retry, meanwhile);
    if (!connection) continue;
    ++stats_.subscriber_connects;
    Connection& c = *connection;
    // gcc 12 miscompiles some co_await inside an if condition (the frame resumes at a bad
    // index): results are awaited into variables first.
    io::Result<void> sent = co_await c.send(subscribe);
    std::error_code error = sent.error();
    while (!error) {
      auto reply = co_await c.receive();
      if (!reply) {
        error = reply.error();
      } else if (is_push(*reply, "message", options_.channel) &&
                 reply->elements[2].type == Reply::Type::bulk_string) {
        auto message = decode_bridge_message(reply->elements[2].text);
        if (!message) ++stats_.foreign_ignored;
        else if (message->origin == options_.origin) ++stats_.own_ignored;
        else {
          ++stats_.delivered;
          deliver_(message->topic, message->message, message->text);
        }
      } else if (is_push(*reply, "subscribe", options_.channel)) {
        subscribed_ = true;
        retry.connected();
        say("redis: subscribed to " + options_.channel + " at " + where());
      } else {
        error = reply->type == Reply::Type::error ? Errc::server_error : Errc::unexpected_reply;
      }
    }
    subscribed_ = false;
    co_await lost(retry, c, error);
  }
}

io::Task<io::Result<void>> Bridge::wait_for_subscribers(Connection& connection) {
  if (last_receivers_ <= 0) co_return io::Result<void>();
  const auto deadline = std::chrono::steady_clock::now() + options_.resubscribe_wait;
  std::string numsub;
  append_command(numsub, {"PUBSUB", "NUMSUB", options_.channel});
  for (;;) {
    io::Result<void> sent = co_await connection.send(numsub);
    if (!sent) co_return sent.error();
    auto reply = co_await connection.receive();
    if (!reply) co_return reply.error();
    if (reply->type != Reply::Type::array || reply->elements.size() != 2 ||
        reply->elements[1].type != Reply::Type::integer)
      co_return Errc::unexpected_reply;
    if (reply->elements[1].integer >= last_receivers_) co_return io::Result<void>();
    if (std::chrono::steady_clock::now() >= deadline) {
      say("redis: " + std::to_string(reply->elements[1].integer) + " of " +
          std::to_string(last_receivers_) + " subscribers back after " +
          milliseconds(options_.resubscribe_wait) + "; publishing anyway");
      co_return io::Result<void>();
    }
    co_await io::sleep_for(reactor_, std::chrono::milliseconds(20));
  }
}

io::Task<void> Bridge::write_outbox(Connection& connection) {
  for (;;) {
    while (written_ == outbox_.size()) {
      outbox_ready_.reset();
      writer_idle_ = true;
      co_await outbox_ready_.wait();
      writer_idle_ = false;
    }
    batch_.clear();
    while (written_ < outbox_.size() && batch_.size() < kBatchBytes)
      append_command(batch_, {"PUBLISH", options_.channel, outbox_[written_++]});
    io::Result<void> sent = co_await connection.send(batch_);  // not in the if: see run_subscriber
    // A failed write breaks the connection: the reply reader sees it and starts over.
    if (!sent) co_return;
  }
}

io::Task<void> Bridge::run_publisher() {
  Retry retry{"publisher", make_backoff(2)};
  const std::string meanwhile = "keeping at most " + std::to_string(options_.outbox_messages) + " messages";
  for (;;) {
    std::unique_ptr<Connection> connection = co_await connect(retry, meanwhile);
    if (!connection) continue;
    ++stats_.publisher_connects;
    Connection& c = *connection;
    std::error_code error = (co_await wait_for_subscribers(c)).error();
    if (!error) {
      publisher_connected_ = true;
      retry.connected();
      say("redis: publisher connected to " + where() + "; " + std::to_string(outbox_.size()) +
          " kept messages to send, " + std::to_string(stats_.dropped) + " dropped so far");
      writer_task_ = reactor_.spawn(write_outbox(c));
    }
    while (!error) {
      auto reply = co_await c.receive();
      if (!reply) {
        error = reply.error();
      } else if (written_ == 0) {
        error = Errc::unexpected_reply;
      } else {
        if (reply->type == Reply::Type::integer) {
          ++stats_.published;
          last_receivers_ = reply->integer;
        } else if (reply->type == Reply::Type::error) {
          ++stats_.rejected;  // sending it again would be refused again
        } else {
          error = Errc::unexpected_reply;
          break;
        }
        outbox_bytes_ -= outbox_.front().size();
        outbox_.pop_front();
        --written_;
      }
    }
    if (writer_task_) reactor_.cancel(writer_task_);
    writer_task_ = 0;
    writer_idle_ = false;
    stats_.resent += written_;
    written_ = 0;  // unacknowledged: written again on the next connection
    publisher_connected_ = false;
    co_await lost(retry, c, error);
  }
}

}  // namespace redis
