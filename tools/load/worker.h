// Worker: one thread of wsp-load with its own reactor and its share of the connections. It
// opens them (at the connect rate), runs the scenario on them (closed loop: a reply brings the
// next message; open loop: a pacer sends on schedule), checks every reply, records latencies,
// hands a sample to the main thread every second, then drains, closes and stops.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "io/reactor.h"
#include "io/task.h"
#include "tools/load/histogram.h"
#include "tools/load/load_options.h"
#include "tools/load/load_stream.h"
#include "tools/load/message_sizes.h"
#include "tools/load/payload.h"
#include "tools/load/run_state.h"

namespace wsp_load {

// What a worker leaves behind once run() has returned.
struct WorkerResult {
  Histogram latency;    // replies to messages meant to be sent inside the window
  Histogram connect;    // TCP connect
  Histogram handshake;  // TLS + HTTP upgrade
  std::uint64_t sent = 0;              // every message sent
  std::uint64_t received = 0;          // every reply or receipt
  std::uint64_t received_window = 0;   // received inside the window
  std::uint64_t bytes_window = 0;      // their payload bytes
  std::uint64_t foreign = 0;           // fanout: messages not from wsp-load (join notices ...)
  std::uint64_t pace_timeouts = 0;     // fanout sender: sent anyway, the slowest silent for 1 s
  std::uint64_t opened = 0;
  std::uint64_t deflate_connections = 0;  // where permessage-deflate was negotiated
  wsp::DeflateStats deflate;              // their compression counters, summed
  ErrorCounts errors{};
  std::array<std::string, kErrorKinds> first_error;  // the first of each kind, readable
};

class Worker final : private LoadStream::Events {
 public:
  // `pool`: --payload random|chat's messages, made once for every thread (null: the pattern).
  Worker(const LoadOptions& options, const std::vector<Target>& targets, RunPhases& phases,
         int index, std::vector<int> connection_ids, std::shared_ptr<const MessagePool> pool);
  ~Worker();
  Worker(const Worker&) = delete;
  Worker& operator=(const Worker&) = delete;

  void run();  // the thread's body
  // The seconds published since the last call (main thread).
  std::vector<SecondSample> take_samples();
  const WorkerResult& result() const { return result_; }

 private:
  struct InFlight {
    std::int64_t intended_ns;
    std::uint32_t size;
  };
  // Messages awaiting their echo, oldest first (echoes come back in order on a connection).
  class InFlightQueue {
   public:
    bool empty() const { return head_ == tail_; }
    std::size_t size() const { return tail_ - head_; }
    const InFlight& front() const { return items_[head_ & mask_]; }
    void pop() { ++head_; }
    void push(InFlight item) {
      if (tail_ - head_ == items_.size()) grow();
      items_[tail_++ & mask_] = item;
    }

   private:
    void grow();
    std::vector<InFlight> items_;
    std::size_t mask_ = 0, head_ = 0, tail_ = 0;
  };
  struct LoadConnection {
    int id = 0;
    std::unique_ptr<LoadStream> stream;
    InFlightQueue in_flight;
    std::uint64_t next_seq = 0;        // of the next message sent
    std::uint64_t next_reply = 0;      // echo: seq of the reply expected next
    std::uint64_t fanout_next = 0;     // fanout: seq expected next
    bool fanout_synced = false;        // joined after the first broadcast: syncs on the first
    bool sender = false;               // fanout: the one connection that sends
    bool heard = false;                // fanout: a message from the server came
    bool ended = false;
    std::size_t open_slot = 0;         // index in open_
    // The reply being read, checked piece by piece as it arrives.
    struct Reading {
      bool text = false;
      bool unasked = false;            // echo: nothing was in flight
      std::size_t offset = 0;          // bytes so far
      std::size_t first_difference = ~std::size_t{0};
      InFlight expected{};             // echo
      char tag[Payload::kFanoutTag];   // echo: the expected tag; fanout: the tag received
      const char* entry = nullptr;     // echo from a pool (--payload random|chat): what was sent
    } reading;
  };
  struct Window {
    std::int64_t start, end;
  };
  Window window() const;

  io::Task<void> lifecycle();
  io::Task<void> open_connections();
  io::Task<void> open_one(int id);
  io::Task<void> pacer(std::vector<LoadConnection*> only);
  io::Task<void> fanout_pace_timer();
  io::Task<void> ticker();
  io::Task<void> sleep_until(std::int64_t when_ns);

  // LoadStream::Events: replies arrive here, a chunk at a time, and are checked piece by piece.
  void received(LoadStream& s, const std::uint8_t* data, std::size_t size) override;
  void ended(LoadStream& s) override;
  void message_begin(LoadConnection& c, bool text);
  void message_data(LoadConnection& c, const std::uint8_t* data, std::size_t size);
  void message_end(LoadConnection& c);
  void echo_end(LoadConnection& c);
  void fanout_end(LoadConnection& c);
  void compare(LoadConnection::Reading& r, std::size_t at, const char* expected,
               const std::uint8_t* data, std::size_t size);

  bool send_echo(LoadConnection& c, std::int64_t intended);
  bool send_fanout(LoadConnection& c, std::int64_t intended);
  // --fanout-pace all. Every thread keeps its slowest subscriber (synced, open) without a scan
  // per receipt: a scan only when the last connection at the lowest seq moves on or ends.
  void subscriber_counted(std::uint64_t next);  // synced (or opened synced) at `next`
  // One that was at `next` ended (it has left open_) or moved on (it holds its new seq).
  void subscriber_left(std::uint64_t next);
  void recount_slowest();
  void publish_slowest();  // for thread 0, when it changed
  void pace_fanout();      // thread 0: sends while every thread's slowest allows
  void record(std::int64_t intended, std::size_t bytes) {
    const std::int64_t now = now_;
    const Window& w = window_now_;
    const std::int64_t latency = now - intended;
    interval_->record(latency);
    if (intended >= w.start && intended < w.end) result_.latency.record(latency);
    if (now >= w.start && now < w.end) {
      ++result_.received_window;
      result_.bytes_window += bytes;
    }
    ++result_.received;
  }
  void error(ErrorKind kind, const std::string& what, std::uint64_t count = 1);
  void publish(int second, double length_s = 1);
  bool drained() const;
  void count_lost();

  const LoadOptions& options_;
  const std::vector<Target>& targets_;
  RunPhases& phases_;
  const int index_;
  const std::vector<int> connection_ids_;

  std::unique_ptr<io::Reactor> reactor_;  // made on the worker's thread
  std::vector<std::unique_ptr<LoadConnection>> connections_;
  std::vector<LoadConnection*> open_;
  std::vector<io::Reactor::TaskId> openings_;  // connection tasks, for cancelling stragglers
  int pending_openings_ = 0;
  bool finishing_ = false;  // closing on purpose: a close is not an error any more
  std::uint64_t in_flight_ = 0;   // echo messages awaiting their reply, all connections

  // --fanout-pace all: this thread's slowest subscriber (the lowest fanout_next of its synced,
  // open connections), how many connections are at it, and what thread 0 was last told.
  const bool paced_by_every_subscriber_;
  std::uint64_t slowest_next_ = kNoSubscriberWaiting;
  std::size_t at_slowest_ = 0;
  std::uint64_t published_slowest_ = kNoSubscriberWaiting;
  // This thread's wake-up of thread 0, posted there when its slowest subscriber changed.
  class SenderWakeUp final : public io::PostedWork {
   public:
    SenderWakeUp(RunPhases& phases, int from) : phases_(phases), from_(from) {}
    void run() override;
    void discard() override {}  // thread 0 has stopped: nothing more to send

   private:
    RunPhases& phases_;
    const int from_;
  } sender_wake_up_;
  // Thread 0: the sender, every thread's slowest when last looked at, and since when it has
  // been that (or nothing was in flight).
  LoadConnection* fanout_sender_ = nullptr;
  std::uint64_t pace_slowest_seen_ = kNoSubscriberWaiting;
  std::int64_t pace_moved_at_ = 0;

  // The clock and window read once per received chunk (every message in it arrived together).
  std::int64_t now_ = 0;
  Window window_now_{kNever, kNever};

  Random random_;
  Payload payload_;
  const bool fixed_size_;
  const std::size_t size_;

  WorkerResult result_;
  std::unique_ptr<Histogram> interval_;  // this second's latencies
  std::uint64_t published_sent_ = 0, published_received_ = 0;
  ErrorCounts published_errors_{};

  std::mutex mailbox_mutex_;
  std::vector<SecondSample> mailbox_;
};

}  // namespace wsp_load
