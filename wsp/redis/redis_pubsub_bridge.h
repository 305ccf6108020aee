// RedisPubSubBridge: a wsp::PubSub shared by every server that uses the same Redis. Each local
// publish is handed to a redis::Bridge on one reactor (redis/bridge.h: the links, the backoff,
// the bounded outbox); each message another server published is delivered here through
// PubSub::deliver_from_elsewhere, which does not forward it again. See docs/redis.md.
//
//   wsp::PubSub pubsub(pool.reactors());
//   wsp::RedisPubSubBridge bridge(pubsub, *pool.reactors()[0], {.host = "10.0.0.5", .port = 6379});
//   bridge.start();   // on that reactor's thread
//
// Publishes made before start() wait in the outbox; so do those made while Redis is away.
#pragma once

#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "io/reactor.h"
#include "redis/bridge.h"
#include "wsp/pubsub/pubsub.h"

namespace wsp {

class RedisPubSubBridge final : public PubSubBridge {
 public:
  // Becomes pubsub's bridge (from any thread, before messages flow). `reactor` runs the Redis
  // links; it must run while messages flow. `log` gets the links' state changes
  // (redis::Bridge::Log), on that reactor's thread.
  RedisPubSubBridge(PubSub& pubsub, io::Reactor& reactor, redis::BridgeOptions options,
                    redis::Bridge::Log log = {});
  // Detaches from pubsub; once no thread publishes any more. Before the reactor goes away, or
  // after stop().
  ~RedisPubSubBridge() override;

  // Starts the links; on the reactor's thread.
  void start();
  // Ends the links (a server shutting down), on the reactor's thread; later publishes are not
  // forwarded, and the bridge no longer needs the reactor.
  void stop();

  // PubSubBridge: from any publishing thread. Publishes made on one thread reach Redis in order.
  void on_local_publish(std::string_view topic, std::string_view data, bool text) override;

  // On the reactor's thread.
  const redis::Bridge& redis_bridge() const { return bridge_; }

 private:
  struct Publish {
    std::string topic;
    std::string data;
    bool text;
  };
  void publish_pending();  // on the reactor: hands what was published to the redis::Bridge

  PubSub& pubsub_;
  io::Reactor& reactor_;
  redis::Bridge bridge_;
  std::mutex mutex_;
  bool stopped_ = false;          // under mutex_
  std::vector<Publish> pending_;  // published, not yet handed over; one post while non-empty
  std::vector<Publish> handing_;  // the batch being handed over (its capacity kept)
};

}  // namespace wsp
