#include "wsp/pubsub/pubsub.h"

#include <map>
#include <mutex>
#include <unordered_map>

#include "wsp/engine/shared_frame.h"
#include "wsp/protocol/utf8.h"

namespace wsp {

namespace {

struct StringHash {
  using is_transparent = void;
  std::size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
};

}  // namespace

// The subscriptions of one reactor, touched only on its thread (the counters excepted).
class PubSub::ReactorTopics final : public ConnectionObserver {
 public:
  ReactorTopics(PubSub& owner, io::Reactor& reactor) : owner_(owner), reactor_(reactor) {}
  ~ReactorTopics() {
    for (auto& [connection, subscriber] : subscribers_) connection->set_observer(nullptr);
  }

  io::Reactor& reactor() const { return reactor_; }

  bool subscribe(Connection& connection, std::string_view name) {
    if (connection.state() != Connection::State::open) return false;
    if (connection.observer() != this && connection.observer() != nullptr) return false;
    auto [at, is_new] = subscribers_.try_emplace(&connection);
    if (is_new) {
      at->second = std::make_unique<Subscriber>();
      at->second->connection = &connection;
      connection.set_observer(this);
    }
    Subscriber& subscriber = *at->second;
    auto found = topics_.find(name);
    if (found == topics_.end()) {
      found = topics_.emplace(std::string(name), std::make_unique<Topic>()).first;
      found->second->name = found->first;
    }
    Topic& topic = *found->second;
    for (const Membership& m : subscriber.memberships) {
      if (m.topic == &topic) return true;  // already
    }
    subscriber.memberships.push_back({&topic, topic.members.size()});
    topic.members.push_back(&subscriber);
    if (topic.members.size() == 1) owner_.topic_activity(topic.name, +1);
    return true;
  }

  bool unsubscribe(Connection& connection, std::string_view name) {
    auto at = subscribers_.find(&connection);
    if (at == subscribers_.end()) return false;
    Subscriber& subscriber = *at->second;
    for (std::size_t i = 0; i < subscriber.memberships.size(); ++i) {
      if (subscriber.memberships[i].topic->name != name) continue;
      leave(subscriber, i);
      if (subscriber.memberships.empty()) forget(connection);
      return true;
    }
    return false;
  }

  void unsubscribe_all(Connection& connection) {
    auto at = subscribers_.find(&connection);
    if (at == subscribers_.end()) return;
    if (delivering_) {
      // Removing now would move members under the loop that walks them.
      at->second->gone = true;
      leaving_.push_back(&connection);
      return;
    }
    Subscriber& subscriber = *at->second;
    while (!subscriber.memberships.empty()) leave(subscriber, subscriber.memberships.size() - 1);
    forget(connection);
  }

  void connection_ended(Connection& connection) override { unsubscribe_all(connection); }

  std::size_t count(std::string_view name) const {
    auto found = topics_.find(name);
    return found == topics_.end() ? 0 : found->second->members.size();
  }

  // One frame for this reactor, written by every subscriber from the same bytes.
  void deliver(std::string_view name, std::string_view data, bool text) {
    auto found = topics_.find(name);
    if (found == topics_.end()) return;
    Topic& topic = *found->second;
    const SharedFrameRef frame = SharedFrame::encode(text, data);
    std::uint64_t delivered = 0, dropped = 0, closed = 0;
    const SlowSubscriberPolicy policy = owner_.options_.slow_subscriber;
    delivering_ = true;
    // Members that join meanwhile (none can: delivery runs no application code) are not
    // walked; those that leave are only marked.
    const std::size_t n = topic.members.size();
    for (std::size_t i = 0; i < n; ++i) {
      Subscriber* s = topic.members[i];
      if (s->gone) continue;
      switch (s->connection->send_shared(frame)) {
        case SendResult::ok:
          ++delivered;
          break;
        case SendResult::buffer_full:
        case SendResult::too_many_queued:
          if (policy == SlowSubscriberPolicy::drop_message) {
            ++dropped;
          } else {
            ++closed;
            s->connection->close(policy == SlowSubscriberPolicy::close_1008 ? 1008 : 1013,
                                 "subscriber too slow");
            unsubscribe_all(*s->connection);
          }
          break;
        case SendResult::not_open:
        case SendResult::invalid_utf8:  // checked once by publish()
          break;
      }
    }
    delivering_ = false;
    std::vector<Connection*> leaving;
    leaving.swap(leaving_);
    for (Connection* c : leaving) unsubscribe_all(*c);
    frames_encoded.fetch_add(1, std::memory_order_relaxed);
    this->delivered.fetch_add(delivered, std::memory_order_relaxed);
    this->dropped.fetch_add(dropped, std::memory_order_relaxed);
    closed_slow.fetch_add(closed, std::memory_order_relaxed);
  }

  std::atomic<std::uint64_t> delivered{0}, dropped{0}, closed_slow{0}, frames_encoded{0};

 private:
  struct Topic;
  struct Membership {
    Topic* topic;
    std::size_t index;  // in topic->members
  };
  struct Subscriber {
    Connection* connection = nullptr;
    std::vector<Membership> memberships;  // usually one
    bool gone = false;                    // ended during a delivery; removed after it
  };
  struct Topic {
    std::string_view name;  // the map's key
    std::vector<Subscriber*> members;
  };

  // Removes membership `i` of `subscriber`: the topic's last member takes its place.
  void leave(Subscriber& subscriber, std::size_t i) {
    Membership m = subscriber.memberships[i];
    subscriber.memberships[i] = subscriber.memberships.back();
    subscriber.memberships.pop_back();
    Topic& topic = *m.topic;
    Subscriber* moved = topic.members.back();
    topic.members[m.index] = moved;
    topic.members.pop_back();
    if (moved != &subscriber) {
      for (Membership& mm : moved->memberships) {
        if (mm.topic == &topic) mm.index = m.index;
      }
    }
    if (topic.members.empty()) {
      const std::string name(topic.name);
      topics_.erase(topics_.find(topic.name));
      owner_.topic_activity(name, -1);
    }
  }

  void forget(Connection& connection) {
    connection.set_observer(nullptr);
    subscribers_.erase(&connection);
  }

  PubSub& owner_;
  io::Reactor& reactor_;
  std::unordered_map<std::string, std::unique_ptr<Topic>, StringHash, std::equal_to<>> topics_;
  std::unordered_map<Connection*, std::unique_ptr<Subscriber>> subscribers_;
  bool delivering_ = false;
  std::vector<Connection*> leaving_;
};

// How many reactors have subscribers of each topic, for the bridge's on_topic_active/idle.
struct PubSub::ActiveTopics {
  std::mutex mutex;
  std::map<std::string, int, std::less<>> reactors_with_subscribers;
};

namespace {

// One message on its way to the other reactors: allocated once per publish, with a node per
// reactor, and freed by the last reactor done with it.
struct Publication {
  struct Delivery final : io::PostedWork {
    Publication* publication = nullptr;
    PubSub::ReactorTopics* topics = nullptr;
    void run() override;
    void discard() override { publication->release(); }
  };
  Publication(std::string_view topic, std::string_view data, bool text, std::size_t reactors)
      : topic(topic), data(data), text(text), pending(static_cast<int>(reactors)), deliveries(reactors) {}
  void release() {
    if (pending.fetch_sub(1, std::memory_order_acq_rel) == 1) delete this;
  }
  const std::string topic;
  const std::string data;
  const bool text;
  std::atomic<int> pending;
  std::vector<Delivery> deliveries;
};

}  // namespace

void Publication::Delivery::run() {
  topics->deliver(publication->topic, publication->data, publication->text);
  publication->release();
}

PubSub::PubSub(std::vector<io::Reactor*> reactors, PubSubOptions options)
    : options_(options), reactors_(std::move(reactors)), active_(std::make_unique<ActiveTopics>()) {
  for (io::Reactor* r : reactors_) topics_.push_back(std::make_unique<ReactorTopics>(*this, *r));
}

PubSub::~PubSub() = default;

PubSub::ReactorTopics* PubSub::topics_of(const io::Reactor& reactor) const {
  for (std::size_t i = 0; i < reactors_.size(); ++i) {
    if (reactors_[i] == &reactor) return topics_[i].get();
  }
  return nullptr;
}

PubSub::ReactorTopics* PubSub::topics_of_this_thread() const {
  const io::Reactor* here = io::Reactor::current_if_any();
  return here ? topics_of(*here) : nullptr;
}

bool PubSub::subscribe(Connection& connection, std::string_view topic) {
  ReactorTopics* topics = topics_of(connection.reactor());
  return topics && topics->subscribe(connection, topic);
}

bool PubSub::unsubscribe(Connection& connection, std::string_view topic) {
  ReactorTopics* topics = topics_of(connection.reactor());
  return topics && topics->unsubscribe(connection, topic);
}

void PubSub::unsubscribe_all(Connection& connection) {
  if (ReactorTopics* topics = topics_of(connection.reactor())) topics->unsubscribe_all(connection);
}

std::size_t PubSub::local_subscribers(std::string_view topic) const {
  ReactorTopics* topics = topics_of_this_thread();
  return topics ? topics->count(topic) : 0;
}

bool PubSub::publish(std::string_view topic, std::string_view data, bool text) {
  if (text && !is_valid_utf8(data)) return false;
  if (bridge_) bridge_->on_local_publish(topic, data, text);
  published_.fetch_add(1, std::memory_order_relaxed);
  return deliver(topic, data, text);
}

bool PubSub::deliver_from_elsewhere(std::string_view topic, std::string_view data, bool text) {
  if (text && !is_valid_utf8(data)) return false;
  from_elsewhere_.fetch_add(1, std::memory_order_relaxed);
  return deliver(topic, data, text);
}

bool PubSub::deliver(std::string_view topic, std::string_view data, bool text) {
  ReactorTopics* here = topics_of_this_thread();
  const std::size_t others = topics_.size() - (here ? 1 : 0);
  if (others > 0) {
    auto* publication = new Publication(topic, data, text, others);
    std::size_t next = 0;
    for (std::size_t i = 0; i < topics_.size(); ++i) {
      if (topics_[i].get() == here) continue;
      Publication::Delivery& d = publication->deliveries[next++];
      d.publication = publication;
      d.topics = topics_[i].get();
      reactors_[i]->post(&d);
    }
  }
  // This reactor's subscribers at once: one encode, no hop.
  if (here) here->deliver(topic, data, text);
  return true;
}

void PubSub::topic_activity(std::string_view topic, int change) {
  std::lock_guard lock(active_->mutex);
  auto& counts = active_->reactors_with_subscribers;
  auto at = counts.find(topic);
  if (at == counts.end()) at = counts.emplace(std::string(topic), 0).first;
  at->second += change;
  if (change > 0 && at->second == 1) {
    if (bridge_) bridge_->on_topic_active(topic);
  } else if (at->second == 0) {
    if (bridge_) bridge_->on_topic_idle(topic);
    counts.erase(at);
  }
}

PubSubStats PubSub::stats() const {
  PubSubStats s;
  s.published = published_.load(std::memory_order_relaxed);
  s.from_elsewhere = from_elsewhere_.load(std::memory_order_relaxed);
  for (const auto& t : topics_) {
    s.delivered += t->delivered.load(std::memory_order_relaxed);
    s.dropped += t->dropped.load(std::memory_order_relaxed);
    s.closed_slow += t->closed_slow.load(std::memory_order_relaxed);
    s.frames_encoded += t->frames_encoded.load(std::memory_order_relaxed);
  }
  return s;
}

}  // namespace wsp
