// Publish/subscribe in process, across reactors.
//
//   wsp::PubSub pubsub(pool.reactors());                 // every reactor connections live on
//   pubsub.subscribe(ws->connection(), "rooms/lobby");    // on the connection's reactor
//   pubsub.publish("rooms/lobby", "hello", true);         // from any thread
//
// Every subscriber of the topic on every reactor gets each message, the publisher's own
// connection included when it subscribed. On each reactor a message is encoded once into one
// frame that every local subscriber's write shares by reference (no copy per subscriber).
// Another reactor gets the message through its ring (io::Reactor::post, batched per turn), not
// through a lock. Messages from one publishing thread arrive at each subscriber in the order
// they were published. A subscriber whose outbound queue is full does not slow the others: it
// is handled by SlowSubscriberPolicy. Subscriptions end by themselves when the connection ends.
//
// Several processes share topics through a PubSubBridge (e.g. over Redis): it sees every local
// publish to forward it, and hands messages from elsewhere to deliver_from_elsewhere(), which
// delivers them here without forwarding them again.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "io/reactor.h"
#include "wsp/engine/connection.h"

namespace wsp {

// What happens to a subscriber whose outbound queue cannot take a message
// (ConnectionLimits::outbound_buffer_size or max_queued_packets reached).
enum class SlowSubscriberPolicy : std::uint8_t {
  drop_message,  // it misses this message (counted in PubSubStats::dropped); stays subscribed
  close_1008,    // closed with 1008 (policy violation), RFC 6455 §7.4.1
  close_1013,    // closed with 1013 (try again later), IANA registry
};

struct PubSubOptions {
  SlowSubscriberPolicy slow_subscriber = SlowSubscriberPolicy::drop_message;
};

// Sums over every reactor (read from any thread; each counter is exact once publishing stopped
// and every reactor has run its posted deliveries).
struct PubSubStats {
  std::uint64_t published = 0;            // publish() calls accepted
  std::uint64_t from_elsewhere = 0;       // deliver_from_elsewhere() calls accepted
  std::uint64_t delivered = 0;            // messages queued on a subscriber's connection
  std::uint64_t dropped = 0;              // not queued: slow subscriber under drop_message
  std::uint64_t closed_slow = 0;          // subscribers closed by close_1008 / close_1013
  std::uint64_t frames_encoded = 0;       // one per message per reactor with subscribers
};

// Connects a PubSub to other processes. Its calls come on the thread that caused them and
// must not call back into PubSub::publish (deliver_from_elsewhere is fine).
class PubSubBridge {
 public:
  virtual ~PubSubBridge() = default;
  // Every publish() of this process, once, on the publishing thread, before local delivery.
  // Never called for deliver_from_elsewhere(). Thread-safe when several threads publish.
  virtual void on_local_publish(std::string_view topic, std::string_view data, bool text) = 0;
  // The topic got its first subscriber in this process / lost its last one (to subscribe to
  // it elsewhere only while someone here listens). Called on the reactor thread where the
  // subscription changed, in order; never two at once.
  virtual void on_topic_active(std::string_view topic) {}
  virtual void on_topic_idle(std::string_view topic) {}
};

class PubSub {
 public:
  // `reactors`: every reactor whose connections may subscribe. Each must outlive this object
  // and run while messages are published to it (a delivery posted to a reactor runs on its
  // next turn).
  explicit PubSub(std::vector<io::Reactor*> reactors, PubSubOptions options = {});
  ~PubSub();
  PubSub(const PubSub&) = delete;
  PubSub& operator=(const PubSub&) = delete;

  // On the connection's reactor thread. False when the connection is not open or lives on a
  // reactor this PubSub was not given. Subscribing twice to a topic is one subscription.
  bool subscribe(Connection& connection, std::string_view topic);
  // False when it was not subscribed.
  bool unsubscribe(Connection& connection, std::string_view topic);
  void unsubscribe_all(Connection& connection);
  // Subscribers of `topic` on the calling thread's reactor (for tests and join notices).
  std::size_t local_subscribers(std::string_view topic) const;

  // From any thread. False (nothing sent) for text that is not UTF-8.
  bool publish(std::string_view topic, std::string_view data, bool text);
  // For a bridge: a message published elsewhere, delivered to the subscribers of every
  // reactor here like publish() does, without calling the bridge. From any thread.
  bool deliver_from_elsewhere(std::string_view topic, std::string_view data, bool text);

  // Set before messages flow (not synchronized with publish()); null for none.
  void set_bridge(PubSubBridge* bridge) { bridge_ = bridge; }

  PubSubStats stats() const;
  const PubSubOptions& options() const { return options_; }

  class ReactorTopics;  // the subscriptions of one reactor (pubsub.cc)

 private:
  bool deliver(std::string_view topic, std::string_view data, bool text);
  ReactorTopics* topics_of(const io::Reactor& reactor) const;
  ReactorTopics* topics_of_this_thread() const;
  void topic_activity(std::string_view topic, int change);

  PubSubOptions options_;
  PubSubBridge* bridge_ = nullptr;
  std::vector<io::Reactor*> reactors_;
  std::vector<std::unique_ptr<ReactorTopics>> topics_;  // one per reactor, same order
  std::atomic<std::uint64_t> published_{0}, from_elsewhere_{0};
  struct ActiveTopics;  // topic -> reactors with subscribers, for the bridge's activity calls
  std::unique_ptr<ActiveTopics> active_;
};

}  // namespace wsp
