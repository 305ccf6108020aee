#include "tools/load/worker.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <limits>
#include <thread>
#include <utility>

#include "io/operation.h"
#include "io/tcp_stream.h"
#include "tls/tls_stream.h"
#include "wsp/engine/opening.h"
#include "wsp/protocol/close_code.h"

namespace wsp_load {
namespace {

// Handshakes in progress per thread at most (like the referee's --max-pending).
constexpr int kMaxPendingOpenings = 256;

io::Duration seconds(double s) {
  return std::chrono::nanoseconds(static_cast<std::int64_t>(s * 1e9));
}

bool is_protocol_failure(int code) {
  return code == 1002 || code == 1003 || code == 1007 || code == 1009 || code == 1010;
}

}  // namespace

void Worker::InFlightQueue::grow() {
  const std::size_t count = tail_ - head_;
  std::vector<InFlight> bigger(std::max<std::size_t>(8, 2 * items_.size()));
  for (std::size_t i = 0; i < count; ++i) bigger[i] = items_[(head_ + i) & mask_];
  items_.swap(bigger);
  mask_ = items_.size() - 1;
  head_ = 0;
  tail_ = count;
}

Worker::Worker(const LoadOptions& options, const std::vector<Target>& targets,
               RunPhases& phases, int index, std::vector<int> connection_ids,
               std::shared_ptr<const MessagePool> pool)
    : options_(options),
      targets_(targets),
      phases_(phases),
      index_(index),
      connection_ids_(std::move(connection_ids)),
      paced_by_every_subscriber_(options.fanout_paced_by_every_subscriber()),
      sender_wake_up_(phases, index),
      random_(static_cast<std::uint64_t>(index) + 1),
      payload_(std::max<std::size_t>(options.sizes.max(), Payload::kFanoutTag), std::move(pool)),
      fixed_size_(options.sizes.is_fixed()),
      size_(options.sizes.min()) {}

Worker::~Worker() = default;

void Worker::run() {
  io::Reactor::Options reactor_options;
  reactor_options.batch_completions = static_cast<unsigned>(options_.batch);
  reactor_options.batch_wait = std::chrono::microseconds(options_.batch_wait_us);
  reactor_ = std::make_unique<io::Reactor>(reactor_options);
  interval_ = std::make_unique<Histogram>();
  if (paced_by_every_subscriber_ && index_ == 0) {
    phases_.recheck_fanout_pace = [this] { pace_fanout(); };
    phases_.sender_reactor.store(reactor_.get(), std::memory_order_release);
  }
  reactor_->spawn(lifecycle());
  reactor_->run();
  if (options_.print_stats) {
    const io::ReactorStats& s = reactor_->stats();
    std::fprintf(stderr,
                 "wsp-load thread %d: %llu turns, %llu io_uring_enter, %llu SQEs, %llu CQEs "
                 "(%.1f per enter), %llu messages sent (%.1f per turn), %llu receive buffer "
                 "shortages\n",
                 index_, (unsigned long long)s.loop_turns, (unsigned long long)s.enter_calls,
                 (unsigned long long)s.sqes_submitted, (unsigned long long)s.cqes_reaped,
                 s.enter_calls ? double(s.cqes_reaped) / double(s.enter_calls) : 0.0,
                 (unsigned long long)result_.sent,
                 s.loop_turns ? double(result_.sent) / double(s.loop_turns) : 0.0,
                 (unsigned long long)s.receive_buffer_shortages);
  }
  for (const auto& c : connections_) {
    const wsp::PerMessageDeflate* deflate = c->stream->deflate();
    if (!deflate) continue;
    ++result_.deflate_connections;
    result_.deflate += deflate->stats();
  }
  // Whatever still runs goes before the connections it uses, and they before their reactor.
  for (io::Reactor::TaskId id : openings_) reactor_->cancel(id);
  open_.clear();
  connections_.clear();
  if (paced_by_every_subscriber_ && index_ == 0) {
    while (phases_.reactors_gone.load(std::memory_order_acquire) < options_.threads - 1)
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  reactor_.reset();
  if (paced_by_every_subscriber_ && index_ != 0)
    phases_.reactors_gone.fetch_add(1, std::memory_order_release);
}

std::vector<SecondSample> Worker::take_samples() {
  std::lock_guard<std::mutex> lock(mailbox_mutex_);
  return std::exchange(mailbox_, {});
}

Worker::Window Worker::window() const {
  return {phases_.window_start.load(std::memory_order_relaxed),
          phases_.window_end.load(std::memory_order_relaxed)};
}

io::Task<void> Worker::sleep_until(std::int64_t when_ns) {
  const std::int64_t wait = when_ns - now_ns();
  if (wait > 0) co_await io::sleep_for(*reactor_, std::chrono::nanoseconds(wait));
}

void Worker::error(ErrorKind kind, const std::string& what, std::uint64_t count) {
  const int k = static_cast<int>(kind);
  result_.errors[k] += count;
  if (result_.first_error[k].empty()) result_.first_error[k] = what;
}

// --- the run ------------------------------------------------------------------------------

io::Task<void> Worker::lifecycle() {
  using namespace std::chrono_literals;
  reactor_->spawn(open_connections());
  const io::Reactor::TaskId ticking = reactor_->spawn(ticker());

  // The load starts when every connection of every thread has been attempted.
  while (phases_.load_start.load(std::memory_order_acquire) == kNever)
    co_await io::sleep_for(*reactor_, 2ms);
  const bool fanout = options_.scenario == Scenario::fanout;
  if (fanout) {
    // A client sees its 101 before the server has subscribed it to the room: the first
    // broadcast waits until every open member has heard from the server (a chat server tells
    // a member it joined), while members keep hearing: 100 ms without one more ends the wait
    // (a server that says nothing of its own).
    int heard = -1;
    std::int64_t heard_more_at = now_ns();
    for (;;) {
      const int now_heard = phases_.heard_from_server.load(std::memory_order_acquire);
      if (now_heard >= phases_.opened.load(std::memory_order_acquire)) break;
      if (now_heard != heard) {
        heard = now_heard;
        heard_more_at = now_ns();
      } else if (now_ns() - heard_more_at >= 100'000'000) {
        break;
      }
      co_await io::sleep_for(*reactor_, 1ms);
    }
    for (auto& c : connections_) {
      if (!c->sender || c->ended) continue;
      if (options_.open_loop()) {
        reactor_->spawn(pacer({c.get()}));
      } else if (paced_by_every_subscriber_) {
        fanout_sender_ = c.get();
        pace_moved_at_ = now_ns();
        pace_fanout();
        reactor_->spawn(fanout_pace_timer());
      } else {
        const std::int64_t now = now_ns();
        for (int k = 0; k < options_.pipeline; ++k) send_fanout(*c, now);
      }
    }
  } else if (options_.open_loop()) {
    reactor_->spawn(pacer({}));
  }

  for (;;) {  // until the window ends (main may end it early on SIGINT)
    const std::int64_t end = phases_.window_end.load(std::memory_order_relaxed);
    const std::int64_t now = now_ns();
    if (now >= end) break;
    co_await sleep_until(std::min(end, now + 100'000'000));
  }

  // Connection 0, the fanout sender, is thread 0's: past the window it sends no more, so the
  // count the receivers drain to is final.
  if (index_ == 0) phases_.fanout_done.store(true, std::memory_order_release);
  const std::int64_t drain_deadline = phases_.window_end.load(std::memory_order_relaxed) +
                                      static_cast<std::int64_t>(options_.drain_timeout_s * 1e9);
  while (!drained() && now_ns() < drain_deadline) co_await io::sleep_for(*reactor_, 1ms);
  // From here on nothing is sent, a late reply is ignored and a close is not an error.
  finishing_ = true;
  count_lost();

  // Close every connection (1000), wait a bounded time for the servers' answers, drop the rest.
  for (LoadConnection* c : open_) c->stream->close(wsp::close_code::normal);
  const std::int64_t close_deadline = now_ns() + 2'500'000'000;
  while (!open_.empty() && now_ns() < close_deadline) co_await io::sleep_for(*reactor_, 2ms);
  std::vector<LoadConnection*> stragglers = open_;
  for (LoadConnection* c : stragglers) c->stream->abort();
  for (int i = 0; i < 1000 && !open_.empty(); ++i) co_await io::sleep_for(*reactor_, 1ms);

  reactor_->cancel(ticking);
  const std::int64_t since_start = now_ns() - phases_.start_ns;
  publish(static_cast<int>(since_start / 1'000'000'000),
          static_cast<double>(since_start % 1'000'000'000) / 1e9);
  reactor_->stop();
}

io::Task<void> Worker::open_connections() {
  using namespace std::chrono_literals;
  const double share = static_cast<double>(connection_ids_.size()) / options_.connections;
  const double rate = options_.connect_rate * share;  // this thread's connections per second
  for (std::size_t k = 0; k < connection_ids_.size(); ++k) {
    if (finishing_) co_return;
    if (rate > 0) co_await sleep_until(phases_.start_ns + static_cast<std::int64_t>(k / rate * 1e9));
    while (pending_openings_ >= kMaxPendingOpenings) co_await io::sleep_for(*reactor_, 1ms);
    ++pending_openings_;
    openings_.push_back(reactor_->spawn(open_one(connection_ids_[k])));
  }
}

io::Task<void> Worker::open_one(int id) {
  const Target& target = targets_[static_cast<std::size_t>(id) % targets_.size()];
  // Called once per attempt, whatever its outcome; the last attempt of the run starts the load.
  auto attempted = [this] {
    --pending_openings_;
    if (phases_.attempts_done.fetch_add(1, std::memory_order_acq_rel) + 1 == options_.connections) {
      const std::int64_t now = now_ns();
      // With no connection at all there is nothing to measure: the window is empty.
      const bool none = phases_.opened.load(std::memory_order_acquire) == 0;
      const auto window_start = now + (none ? 0 : static_cast<std::int64_t>(options_.warmup_s * 1e9));
      phases_.window_start.store(window_start, std::memory_order_relaxed);
      phases_.window_end.store(
          window_start + (none ? 0 : static_cast<std::int64_t>(options_.duration_s * 1e9)),
          std::memory_order_relaxed);
      phases_.load_start.store(now, std::memory_order_release);
    }
  };

  const std::int64_t started = now_ns();
  auto tcp = co_await io::TcpStream::connect(*reactor_, target.address,
                                             seconds(options_.connect_timeout_s));
  if (!tcp) {
    error(ErrorKind::connect, "cannot connect to " + target.address.to_string() + ": " +
                                  tcp.error().message());
    attempted();
    co_return;
  }
  const std::int64_t connected = now_ns();
  result_.connect.record(connected - started);

  std::string reason;
  std::unique_ptr<io::ByteStream> stream;
  if (target.tls) {
    auto secured = co_await tls::TlsStream::connect(std::move(*tcp), target.parsed.host,
                                                    target.tls,
                                                    seconds(options_.connect_timeout_s), &reason);
    if (!secured) {
      error(ErrorKind::handshake, "TLS handshake with " + target.address.to_string() + " failed: " +
                                      (reason.empty() ? secured.error().message() : reason));
      attempted();
      co_return;
    }
    stream = std::move(*secured);
  } else {
    stream = std::make_unique<io::TcpStream>(std::move(*tcp));
  }
  // The HTTP upgrade over the stream (wsp's opening handshake, which offers permessage-deflate
  // as --deflate says); afterwards the connection is wsp-load's own LoadStream, which checks
  // replies in place.
  auto opening = wsp::Opening::client_over(
      std::move(stream), target.parsed,
      wsp::ClientOpeningOptions{
          .protocols = options_.protocols,
          .extra_headers = options_.headers,
          .tls_options = nullptr,
          .timeout = std::chrono::milliseconds(
              static_cast<std::int64_t>(options_.connect_timeout_s * 1000)),
          .deflate = options_.deflate,
      });
  if (!opening->done()) co_await opening->finished().wait();
  wsp::OpenedStream& opened = opening->result();
  if (!opened.ok) {
    error(ErrorKind::handshake, target.url + ": " + opened.error);
    attempted();
    co_return;
  }
  result_.handshake.record(now_ns() - connected);

  LoadConnection& c = *connections_.emplace_back(std::make_unique<LoadConnection>());
  c.id = id;
  LoadStream::Events& events = *this;  // a private base: converted here, not in make_unique
  c.stream = std::make_unique<LoadStream>(std::move(opened.stream), events, &c,
                                          opened.deflate ? &*opened.deflate : nullptr);
  c.sender = options_.scenario == Scenario::fanout && id == 0;
  // A member from before the first broadcast expects every message from seq 0 on.
  c.fanout_synced = phases_.load_start.load(std::memory_order_acquire) == kNever;
  c.open_slot = open_.size();
  open_.push_back(&c);
  if (paced_by_every_subscriber_ && c.fanout_synced) {
    // Told before this attempt counts: the sender starts only after the last one.
    subscriber_counted(c.fanout_next);
    publish_slowest();
  }
  ++result_.opened;
  phases_.opened.fetch_add(1, std::memory_order_release);
  attempted();

  if (options_.scenario == Scenario::echo && !options_.open_loop()) {
    // Closed loop: this connection starts at once with --pipeline messages in flight.
    const std::int64_t now = now_ns();
    if (now < window().end)
      for (int k = 0; k < options_.pipeline; ++k) send_echo(c, now);
  }
  c.stream->start(opened.leftover);
}

io::Task<void> Worker::pacer(std::vector<LoadConnection*> only) {
  // Echo: this thread's share of --rate, spread over its open connections in turn. Fanout:
  // all of --rate from the sender. Threads start a fraction of an interval apart.
  const double share = only.empty()
                           ? static_cast<double>(connection_ids_.size()) / options_.connections
                           : 1.0;
  const double interval = 1e9 / (options_.rate * share);
  const std::int64_t first = phases_.load_start.load(std::memory_order_acquire) +
                             static_cast<std::int64_t>(interval * index_ / options_.threads);
  std::uint64_t m = 0;
  std::size_t turn = 0;
  for (;;) {
    const std::int64_t now = now_ns();
    const std::int64_t end = phases_.window_end.load(std::memory_order_relaxed);
    std::int64_t due;
    // Everything due is sent now, late or not: its latency counts from `due`.
    while ((due = first + static_cast<std::int64_t>(static_cast<double>(m) * interval)) <= now) {
      if (due >= end || finishing_) co_return;
      if (!only.empty()) {
        if (!only[0]->ended) send_fanout(*only[0], due);
      } else if (!open_.empty()) {
        send_echo(*open_[turn++ % open_.size()], due);
      }
      ++m;
    }
    if (due >= end) co_return;
    co_await sleep_until(due);
  }
}

io::Task<void> Worker::fanout_pace_timer() {
  for (;;) {
    const std::int64_t end = phases_.window_end.load(std::memory_order_relaxed);
    co_await sleep_until(std::min(end, pace_moved_at_ + kFanoutPaceTimeoutNs));
    if (finishing_ || fanout_sender_->ended ||
        now_ns() >= phases_.window_end.load(std::memory_order_relaxed))
      co_return;
    pace_fanout();  // moves pace_moved_at_ on: it sends, or finds the slowest moved or caught up
  }
}

io::Task<void> Worker::ticker() {
  for (int second = 0;; ++second) {
    co_await sleep_until(phases_.start_ns + (second + 1) * std::int64_t{1'000'000'000});
    publish(second);
  }
}

void Worker::publish(int second, double length_s) {
  SecondSample s;
  s.second = second;
  s.length_s = length_s;
  s.sent = result_.sent - published_sent_;
  s.received = result_.received - published_received_;
  for (int k = 0; k < kErrorKinds; ++k) s.errors[k] = result_.errors[k] - published_errors_[k];
  s.open = open_.size();
  s.latency = std::exchange(interval_, std::make_unique<Histogram>());
  published_sent_ = result_.sent;
  published_received_ = result_.received;
  published_errors_ = result_.errors;
  std::lock_guard<std::mutex> lock(mailbox_mutex_);
  mailbox_.push_back(std::move(s));
}

// --- messages -----------------------------------------------------------------------------

bool Worker::send_echo(LoadConnection& c, std::int64_t intended) {
  const std::size_t size = fixed_size_ ? size_ : options_.sizes.draw(random_);
  if (!c.stream->send(options_.text, payload_.echo_message(c.next_seq, size))) return false;
  c.in_flight.push({intended, static_cast<std::uint32_t>(size)});
  ++c.next_seq;
  ++in_flight_;
  ++result_.sent;
  return true;
}

bool Worker::send_fanout(LoadConnection& c, std::int64_t intended) {
  const std::size_t size = fixed_size_ ? size_ : options_.sizes.draw(random_);
  if (!c.stream->send(options_.text, payload_.fanout_message(c.next_seq, intended, size)))
    return false;
  ++c.next_seq;
  ++result_.sent;
  phases_.fanout_sent.store(c.next_seq, std::memory_order_relaxed);
  return true;
}

void Worker::subscriber_counted(std::uint64_t next) {
  if (next < slowest_next_) {
    slowest_next_ = next;
    at_slowest_ = 1;
  } else if (next == slowest_next_) {
    ++at_slowest_;
  }
}

void Worker::subscriber_left(std::uint64_t next) {
  if (next == slowest_next_ && --at_slowest_ == 0) recount_slowest();
}

void Worker::recount_slowest() {
  slowest_next_ = kNoSubscriberWaiting;
  at_slowest_ = 0;
  for (const LoadConnection* c : open_)
    if (c->fanout_synced) subscriber_counted(c->fanout_next);
}

void Worker::publish_slowest() {
  if (slowest_next_ == published_slowest_) return;
  published_slowest_ = slowest_next_;
  RunPhases::ThreadSlowest& mine = phases_.slowest[static_cast<std::size_t>(index_)];
  mine.next.store(slowest_next_, std::memory_order_release);
  if (index_ == 0) {
    pace_fanout();
    return;
  }
  // Before the load starts and after the sender stops there is nothing to wake it for.
  if (phases_.load_start.load(std::memory_order_relaxed) == kNever ||
      phases_.fanout_done.load(std::memory_order_relaxed))
    return;
  // A wake-up on its way reads this value too: its run() clears the flag before looking.
  if (mine.wake_posted.exchange(true, std::memory_order_acq_rel)) return;
  io::Reactor* sender = phases_.sender_reactor.load(std::memory_order_acquire);
  if (!sender) {  // thread 0 not running yet: it looks when it starts sending
    mine.wake_posted.store(false, std::memory_order_relaxed);
    return;
  }
  sender->post(&sender_wake_up_);
}

void Worker::SenderWakeUp::run() {
  phases_.slowest[static_cast<std::size_t>(from_)].wake_posted.exchange(false,
                                                                        std::memory_order_acq_rel);
  phases_.recheck_fanout_pace();
}

void Worker::pace_fanout() {
  LoadConnection* sender = fanout_sender_;
  if (!sender || sender->ended || finishing_) return;
  const std::int64_t now = now_ns();
  if (now >= phases_.window_end.load(std::memory_order_relaxed)) return;
  std::uint64_t slowest = sender->next_seq;  // none waiting: as if all had everything sent
  for (int t = 0; t < options_.threads; ++t)
    slowest = std::min(slowest, phases_.slowest[static_cast<std::size_t>(t)].next.load(
                                    std::memory_order_acquire));
  // The timeout counts while publishes are in flight and the slowest stands still.
  if (slowest != pace_slowest_seen_ || slowest == sender->next_seq) {
    pace_slowest_seen_ = slowest;
    pace_moved_at_ = now;
  }
  if (fanout_pace_timed_out(sender->next_seq, slowest, now, pace_moved_at_)) {
    ++result_.pace_timeouts;
    pace_moved_at_ = now;
    send_fanout(*sender, now);
    return;
  }
  while (may_send_fanout(sender->next_seq, slowest, options_.pipeline))
    if (!send_fanout(*sender, now)) break;
}

void Worker::message_begin(LoadConnection& c, bool text) {
  LoadConnection::Reading& r = c.reading;
  r.text = text;
  r.offset = 0;
  r.first_difference = ~std::size_t{0};
  if (options_.scenario == Scenario::echo) {
    r.unasked = c.in_flight.empty();
    if (!r.unasked) {
      r.expected = c.in_flight.front();
      if (const MessagePool* pool = payload_.pool()) r.entry = pool->entry(c.next_reply);
      else Payload::echo_tag(c.next_reply, r.tag);
    }
  }
}

// Compares `size` received bytes at message offset `at` with `expected` (the same offset in
// what was sent), noting the first difference.
void Worker::compare(LoadConnection::Reading& r, std::size_t at, const char* expected,
                     const std::uint8_t* data, std::size_t size) {
  if (r.first_difference != ~std::size_t{0} || std::memcmp(data, expected, size) == 0) return;
  std::size_t i = 0;
  while (data[i] == static_cast<std::uint8_t>(expected[i])) ++i;
  r.first_difference = at + i;
}

void Worker::message_data(LoadConnection& c, const std::uint8_t* data, std::size_t size) {
  LoadConnection::Reading& r = c.reading;
  const std::size_t at = r.offset;
  r.offset += size;
  if (options_.scenario == Scenario::echo) {
    if (r.unasked) return;
    // Bytes past what was sent only change the length, which the end checks.
    const std::size_t expected_size = r.expected.size;
    if (at >= expected_size) return;
    if (at + size > expected_size) size = expected_size - at;
    if (const MessagePool* pool = payload_.pool()) {
      // The start of the pool entry, then the end of the pool's tail.
      const std::size_t body = pool->body_size(expected_size);
      std::size_t done = 0;
      if (at < body) {
        done = std::min(size, body - at);
        compare(r, at, r.entry + at, data, done);
      }
      if (done < size) {
        const std::string_view tail = pool->tail();
        const char* tail_at = tail.data() + tail.size() - (expected_size - body) + (at + done - body);
        compare(r, at + done, tail_at, data + done, size - done);
      }
      return;
    }
    const std::size_t tag = std::min(Payload::kEchoTag, expected_size);
    std::size_t done = 0;
    if (at < tag) {
      done = std::min(size, tag - at);
      compare(r, at, r.tag + at, data, done);
    }
    if (done < size) compare(r, at + done, payload_.pattern() + at + done, data + done, size - done);
    return;
  }
  // Fanout: the tag is kept to be read at the end; the rest must be the pattern.
  std::size_t done = 0;
  if (at < Payload::kFanoutTag) {
    done = std::min(size, Payload::kFanoutTag - at);
    std::memcpy(r.tag + at, data, done);
  }
  if (done < size) {
    if (r.offset > payload_.max_size()) {  // longer than anything sent
      r.first_difference = std::min(r.first_difference, payload_.max_size());
      return;
    }
    compare(r, at + done, payload_.pattern() + at + done, data + done, size - done);
  }
}

void Worker::message_end(LoadConnection& c) {
  if (finishing_) return;  // late replies after the drain: already counted as lost
  if (options_.scenario == Scenario::echo) echo_end(c);
  else fanout_end(c);
}

void Worker::echo_end(LoadConnection& c) {
  LoadConnection::Reading& r = c.reading;
  if (r.unasked) {
    error(ErrorKind::mismatch, "connection " + std::to_string(c.id) +
                                   ": a message that answers nothing sent (" +
                                   std::to_string(r.offset) + " bytes)");
    return;
  }
  c.in_flight.pop();
  --in_flight_;
  const std::uint64_t seq = c.next_reply++;
  const InFlight sent = r.expected;
  if (r.text != options_.text || r.offset != sent.size || r.first_difference != ~std::size_t{0}) {
    std::string what;
    if (result_.first_error[static_cast<int>(ErrorKind::mismatch)].empty()) {
      what = "connection " + std::to_string(c.id) + ", message " + std::to_string(seq) +
             ": sent " + std::to_string(sent.size) + (options_.text ? " text" : " binary") +
             " bytes, got " + std::to_string(r.offset) + (r.text ? " text" : " binary") + " bytes";
      if (r.first_difference != ~std::size_t{0})
        what += " differing from byte " + std::to_string(r.first_difference);
    }
    error(ErrorKind::mismatch, what);
  }
  record(sent.intended_ns, r.offset);
  if (!options_.open_loop() && now_ < window_now_.end) send_echo(c, now_);
}

void Worker::fanout_end(LoadConnection& c) {
  LoadConnection::Reading& r = c.reading;
  if (!c.heard) {
    c.heard = true;
    phases_.heard_from_server.fetch_add(1, std::memory_order_release);
  }
  if (r.offset < Payload::kFanoutMagic.size() ||
      std::memcmp(r.tag, Payload::kFanoutMagic.data(), Payload::kFanoutMagic.size()) != 0) {
    ++result_.foreign;  // the server's own messages: "* someone joined" and the like
    return;
  }
  const auto tag =
      r.offset >= Payload::kFanoutTag ? Payload::parse_fanout_tag(r.tag) : std::nullopt;
  if (!tag || r.text != options_.text || r.first_difference != ~std::size_t{0}) {
    error(ErrorKind::mismatch, "connection " + std::to_string(c.id) +
                                   ": a broadcast message that is not as it was sent");
    return;
  }
  const bool was_synced = c.fanout_synced;
  const std::uint64_t was_next = c.fanout_next;
  if (!c.fanout_synced) {
    c.fanout_synced = true;
    c.fanout_next = tag->seq;
  }
  if (tag->seq < c.fanout_next) {
    error(ErrorKind::mismatch, "connection " + std::to_string(c.id) + ": message " +
                                   std::to_string(tag->seq) + " again or out of order");
    return;
  }
  if (tag->seq > c.fanout_next) {
    error(ErrorKind::lost, "connection " + std::to_string(c.id) + ": messages " +
                               std::to_string(c.fanout_next) + " to " +
                               std::to_string(tag->seq - 1) + " never arrived",
          tag->seq - c.fanout_next);
  }
  c.fanout_next = tag->seq + 1;
  if (paced_by_every_subscriber_ && !c.ended) {  // thread 0 hears of it after the chunk
    if (was_synced) subscriber_left(was_next);  // a recount sees where it is now
    else subscriber_counted(c.fanout_next);
  }
  record(tag->intended_ns, r.offset);
  if (c.sender && options_.fanout_pace == FanoutPace::sender && !options_.open_loop() &&
      now_ < window_now_.end)
    send_fanout(c, now_);
}

void Worker::received(LoadStream& s, const std::uint8_t* data, std::size_t size) {
  // Every message in a chunk arrived together: one clock reading serves them all.
  now_ = now_ns();
  window_now_ = window();
  struct Replies {
    Worker& worker;
    LoadConnection& c;
    void message_begin(bool text) { worker.message_begin(c, text); }
    void message_data(const std::uint8_t* d, std::size_t n) { worker.message_data(c, d, n); }
    void message_end() { worker.message_end(c); }
  } replies{*this, *static_cast<LoadConnection*>(s.owner())};
  s.feed(data, size, replies);
  if (paced_by_every_subscriber_ && !finishing_) publish_slowest();
}

void Worker::ended(LoadStream& s) {
  LoadConnection& c = *static_cast<LoadConnection*>(s.owner());
  c.ended = true;
  LoadConnection* last = open_.back();
  open_[c.open_slot] = last;
  last->open_slot = c.open_slot;
  open_.pop_back();
  if (finishing_) return;
  if (paced_by_every_subscriber_ && c.fanout_synced) {
    subscriber_left(c.fanout_next);
    publish_slowest();
  }
  const int code = s.close_code();
  std::string what = "connection " + std::to_string(c.id) + " ended during the run";
  if (s.protocol_failure()) {
    what += ": the server sent " + std::string(s.protocol_failure());
  } else if (code == -1) {
    what += ": dropped without a close frame";
  } else {
    what += " (close code " + std::to_string(code) +
            (s.close_reason().empty() ? "" : ": " + s.close_reason()) + ")";
  }
  error(s.protocol_failure() || is_protocol_failure(code) ? ErrorKind::protocol : ErrorKind::closed,
        what);
}

bool Worker::drained() const {
  if (options_.scenario == Scenario::echo) return in_flight_ == 0;
  if (!phases_.fanout_done.load(std::memory_order_acquire)) return false;
  const std::uint64_t sent = phases_.fanout_sent.load(std::memory_order_relaxed);
  for (const LoadConnection* c : open_)
    if (c->fanout_synced && c->fanout_next < sent) return false;
  return true;
}

void Worker::count_lost() {
  std::uint64_t lost = 0;
  if (options_.scenario == Scenario::echo) {
    for (auto& c : connections_) {
      lost += c->in_flight.size();
      while (!c->in_flight.empty()) c->in_flight.pop();
    }
    in_flight_ = 0;
  } else {
    const std::uint64_t sent = phases_.fanout_sent.load(std::memory_order_relaxed);
    for (auto& c : connections_) {
      if (c->fanout_synced && c->fanout_next < sent) lost += sent - c->fanout_next;
      c->fanout_next = std::max(c->fanout_next, sent);
    }
  }
  if (lost > 0)
    error(ErrorKind::lost, std::to_string(lost) + " messages unanswered " +
                               std::to_string(options_.drain_timeout_s) + " s after the window",
          lost);
}

}  // namespace wsp_load
