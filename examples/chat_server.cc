// Broadcast chat server with rooms: a client joins the room named by its URL
// path (ws://127.0.0.1:9002/rooms/NAME; every path is a room, "/" too) and every text message
// it sends goes to every member of that room, the sender included. Members are subscribers of
// a wsp::PubSub topic (the path), so with --threads N the room spans every reactor thread: a
// message is encoded once per thread and shared by all members there. A member whose outbound
// queue is full is closed with 1013 (--slow-subscriber) instead of holding the room back.
// Each member is a wsp::MessageHandler the reactor calls with its messages: an idle member
// holds no coroutine frame.
// A refused handshake is logged on stderr with its reason (at most 10 lines a second).
//
// With --redis HOST:PORT the rooms span every chat server sharing that Redis: each message
// goes to the local members at once and through Redis to the other servers' members
// (wsp::RedisPubSubBridge, docs/redis.md); the Redis links log their changes on stderr. While
// Redis is away local delivery goes on, and the newest --redis-outbox messages wait for it.
//
//   bazel run //examples:chat_server -- [--port 9002] [--threads N] [--accept one-acceptor]
//       [--notices 0]
//       [--slow-subscriber drop|close-1008|close-1013] [--outbound-buffer-size 65535]
//       [--deflate off|shared|dedicated]
//       [--redis HOST:PORT] [--redis-channel wsp-chat] [--redis-outbox 1024]
#include <algorithm>
#include <charconv>
#include <chrono>
#include <climits>
#include <cstdio>
#include <map>
#include <mutex>
#include <optional>
#include <string>

#include "examples/echo_options.h"
#include "examples/refusal_log.h"
#include "io/operation.h"
#include "io/reactor.h"
#include "io/tcp_server_pool.h"
#include "io/tcp_stream.h"
#include "tools/flags/flags.h"
#include "wsp/pubsub/pubsub.h"
#include "wsp/redis/redis_pubsub_bridge.h"
#include "wsp/message_handler.h"
#include "wsp/shard_connections.h"
#include "wsp/websocket.h"

using namespace std::chrono_literals;

namespace {

// The command line: a new option is a field and one line in parse_chat_options().
struct ChatOptions {
  int port = 9002;
  unsigned threads = 1;
  io::TcpServerPool::Accept accept = io::TcpServerPool::Accept::reuseport;
  bool notices = true;  // "* someone joined (N here)" when members come and go
  long outbound_buffer_size = 65535;  // per member: past it, the slow-subscriber policy
  wsp::PubSubOptions pubsub{.slow_subscriber = wsp::SlowSubscriberPolicy::close_1013};
  wsp::DeflateOptions deflate;
  std::optional<redis::BridgeOptions> redis;  // --redis: rooms shared with other servers
};

// What every thread shares: the rooms (topics of one PubSub) and their sizes.
struct Chat {
  explicit Chat(const ChatOptions& o) : options(o) {}
  const ChatOptions& options;
  std::once_flag pubsub_made;
  std::unique_ptr<wsp::PubSub> pubsub;
  std::unique_ptr<wsp::RedisPubSubBridge> bridge;  // with --redis; runs on the first thread
  std::mutex sizes_mutex;  // taken when a member joins or leaves, never per message
  std::map<std::string, int, std::less<>> room_sizes;

  int resize(const std::string& room, int change) {
    std::lock_guard lock(sizes_mutex);
    int& size = room_sizes[room];
    size += change;
    const int now = size;
    if (now == 0) room_sizes.erase(room);
    return now;
  }
};

wsp::AcceptOptions accept_options(const ChatOptions& o) {
  wsp::AcceptOptions options;
  options.deflate = o.deflate;
  options.limits.outbound_buffer_size = static_cast<std::size_t>(o.outbound_buffer_size);
  return options;
}

// One per reactor thread. Its handshakes run without a task each (wsp::Acceptor); the member
// each opens lives on without a task too.
struct Shard final : io::ServerShard, wsp::Acceptor {
  Shard(Chat& c, io::Reactor& r) : Acceptor(accept_options(c.options)), chat(c), reactor(r) {}
  ~Shard() override;
  void accepted(io::TcpStream tcp) override {
    connections.accepted();
    accept(std::make_unique<io::TcpStream>(std::move(tcp)));
  }
  void on_accepted(std::unique_ptr<wsp::WebSocket> ws) override;
  void on_accept_failed(const wsp::AcceptFailure& failure) override;
  io::Task<void> shut_down() override {
    co_await connections.close_all(reactor);
    if (runs_bridge) chat.bridge->stop();  // after the members' last notices
  }

  Chat& chat;
  io::Reactor& reactor;
  wsp::ShardConnections connections;
  bool runs_bridge = false;
  RefusalLog refusals{[](const std::string& line) { std::fprintf(stderr, "%s\n", line.c_str()); }};
  bool refusals_flush_pending = false;
};

// Tells the refusals held back by the log once their second is over.
io::Task<void> flush_refusals(Shard& shard, RefusalLog::Clock::time_point when) {
  co_await io::sleep_for(shard.reactor, std::max<io::Duration>(when - RefusalLog::Clock::now(), {}));
  shard.refusals_flush_pending = false;
  shard.refusals.flush();
}

// The room of a requested URL (ws://host:port/rooms/NAME?x=y): its path.
std::string room_of(const std::string& url) {
  std::size_t path = url.find('/', url.find("://") + 3);
  if (path == std::string::npos) return "/";
  return url.substr(path, url.find_first_of("?#", path) - path);
}

// An open member, called by the reactor with each message it sends; deletes itself at its
// close. Its subscription ends with its connection.
struct Member final : wsp::ShardConnections::Handler {
  Member(Shard& s, std::unique_ptr<wsp::WebSocket> socket)
      : shard(s), room(room_of(socket->requested_url())) {
    Chat& chat = shard.chat;
    chat.pubsub->subscribe(socket->connection(), room);
    shard.connections.opened(*this, std::move(socket));
    if (chat.options.notices) {
      chat.pubsub->publish(room, "* someone joined (" + std::to_string(chat.resize(room, +1)) + " here)", true);
    }
  }
  bool on_message(wsp::WebSocket& socket, wsp::Received& message) override {
    Chat& chat = shard.chat;
    if (message.closed) {
      if (chat.options.notices) {
        chat.pubsub->publish(room, "* someone left (" + std::to_string(chat.resize(room, -1)) + " here)", true);
      }
      delete this;  // with its WebSocket
      return true;
    }
    if (message.text) chat.pubsub->publish(room, message.data, true);
    socket.recycle(std::move(message.data));
    return true;
  }

  Shard& shard;
  const std::string room;
};

void Shard::on_accepted(std::unique_ptr<wsp::WebSocket> ws) { new Member(*this, std::move(ws)); }

void Shard::on_accept_failed(const wsp::AcceptFailure& failure) {
  connections.refused();
  if (failure.error != wsp::Errc::handshake_refused) return;
  refusals.refused((failure.peer.empty() ? "?" : failure.peer) + ": " + failure.reason);
  if (auto when = refusals.flush_due(); when && !refusals_flush_pending) {
    refusals_flush_pending = true;
    reactor.spawn(flush_refusals(*this, *when));
  }
}

// Members whose connection did not end within the shutdown's limit.
Shard::~Shard() {
  connections.delete_open_handlers();
  refusals.finish();
}

ChatOptions parse_chat_options(int argc, char** argv) {
  ChatOptions o;
  flags::Flags f("chat_server", "WebSocket chat with rooms: every text message goes to everyone in its room.");
  f.add("--port", &o.port, 0, 65535, "port to listen on, 0 for any free one (default 9002)");
  add_threads_flags(f, o.threads, o.accept);
  f.add("--outbound-buffer-size", &o.outbound_buffer_size, 0L, long{INT_MAX},
        "bytes queued for sending per member before it counts as slow; 0: no limit (default 65535)");
  f.add("--notices", &o.notices, "tell the room when members join and leave, 1 or 0 (default 1)");
  f.add("--slow-subscriber", "drop|close-1008|close-1013",
        [&o](std::string_view v) {
          using P = wsp::SlowSubscriberPolicy;
          if (v == "drop") o.pubsub.slow_subscriber = P::drop_message;
          else if (v == "close-1008") o.pubsub.slow_subscriber = P::close_1008;
          else if (v == "close-1013") o.pubsub.slow_subscriber = P::close_1013;
          else return std::string("drop, close-1008 or close-1013");
          return std::string();
        },
        "a member whose outbound queue is full misses the message, or is closed (default close-1013)");
  add_deflate_flags(f, o.deflate);
  redis::BridgeOptions redis{.channel = "wsp-chat"};
  f.add("--redis", "HOST:PORT",
        [&](std::string_view v) {
          const std::size_t colon = v.rfind(':');
          int port = 0;
          if (colon == std::string_view::npos || colon == 0 ||
              std::from_chars(v.data() + colon + 1, v.data() + v.size(), port).ptr != v.data() + v.size() ||
              port < 1 || port > 65535)
            return std::string("HOST:PORT, e.g. 127.0.0.1:6379");
          std::string_view host = v.substr(0, colon);
          if (host.size() > 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
          redis.host = std::string(host);
          redis.port = static_cast<std::uint16_t>(port);
          o.redis = redis;
          return std::string();
        },
        "share the rooms with every chat server using this Redis (default: none)");
  f.add("--redis-channel", &redis.channel, "the Redis channel the servers share (default wsp-chat)");
  f.add("--redis-outbox", &redis.outbox_messages, std::size_t{1}, std::size_t{1} << 24,
        "messages kept while Redis is away, the oldest dropped first (default 1024)");
  f.parse(argc, argv);
  if (o.redis) {  // the flags after --redis apply too
    o.redis->channel = redis.channel;
    o.redis->outbox_messages = redis.outbox_messages;
  }  // a bad value: one line naming the flag, exit status 2
  if (std::string error; !wsp::valid_deflate_options(o.deflate, error)) f.fail("--deflate-*: " + error);
  return o;
}

}  // namespace

int main(int argc, char** argv) {
  const ChatOptions options = parse_chat_options(argc, argv);
  Chat chat(options);
  io::TcpServerPool::Options pool_options;
  pool_options.port = static_cast<std::uint16_t>(options.port);
  pool_options.threads = options.threads;
  pool_options.accept = options.accept;
  io::TcpServerPool server(pool_options);
  auto served = server.serve(
      [&](std::size_t index, io::Reactor& reactor) {
        std::call_once(chat.pubsub_made, [&] {
          chat.pubsub = std::make_unique<wsp::PubSub>(server.reactors(), options.pubsub);
          // Made before any shard exists, so no message is published before the bridge is in.
          if (options.redis) {
            chat.bridge = std::make_unique<wsp::RedisPubSubBridge>(
                *chat.pubsub, *server.reactors()[0], *options.redis,
                [](const std::string& line) { std::fprintf(stderr, "%s\n", line.c_str()); });
          }
        });
        auto shard = std::make_unique<Shard>(chat, reactor);
        if (index == 0 && chat.bridge) {
          shard->runs_bridge = true;
          chat.bridge->start();
        }
        return shard;
      },
      [](std::uint16_t port) {
        std::printf("listening on 127.0.0.1:%u\n", unsigned(port));
        std::fflush(stdout);
      });
  if (!served) {
    std::fprintf(stderr, "cannot listen on 127.0.0.1:%d: %s\n", options.port, served.error().message().c_str());
    return 1;
  }
  return 0;
}
