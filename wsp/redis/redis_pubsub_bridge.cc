#include "wsp/redis/redis_pubsub_bridge.h"

namespace wsp {

RedisPubSubBridge::RedisPubSubBridge(PubSub& pubsub, io::Reactor& reactor,
                                     redis::BridgeOptions options, redis::Bridge::Log log)
    : pubsub_(pubsub),
      reactor_(reactor),
      bridge_(reactor, std::move(options),
              [this](std::string_view topic, std::string_view data, bool text) {
                pubsub_.deliver_from_elsewhere(topic, data, text);
              },
              std::move(log)) {
  pubsub_.set_bridge(this);
}

RedisPubSubBridge::~RedisPubSubBridge() { pubsub_.set_bridge(nullptr); }

void RedisPubSubBridge::start() { bridge_.start(); }

void RedisPubSubBridge::stop() {
  {
    std::lock_guard lock(mutex_);
    stopped_ = true;
    pending_.clear();
  }
  bridge_.stop();
}

void RedisPubSubBridge::on_local_publish(std::string_view topic, std::string_view data, bool text) {
  bool first;
  {
    std::lock_guard lock(mutex_);
    if (stopped_) return;
    first = pending_.empty();
    pending_.push_back({std::string(topic), std::string(data), text});
  }
  // One post per batch: publishes made before the reactor takes the batch ride along.
  if (first) reactor_.post([this] { publish_pending(); });
}

void RedisPubSubBridge::publish_pending() {
  {
    std::lock_guard lock(mutex_);
    handing_.swap(pending_);
  }
  for (const Publish& p : handing_) bridge_.publish(p.topic, p.data, p.text);
  handing_.clear();
}

}  // namespace wsp
