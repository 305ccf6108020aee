// MemoryStream: the two connected ends of an in-memory byte stream on one reactor, for tests,
// in the spirit of Boost.Beast's test::stream. Each end is an io::ByteStream: hand one to the
// code under test (a Connection takes it as a unique_ptr) and play the peer with the other.
//
//   auto [server, client] = io::test::MemoryStream::pair(reactor, {.write_step = 7});
//
// Scripted per end: how the bytes waiting for it are cut into reads, how many bytes a write
// step takes, which read or write step fails and with what error, whether writes are held.
// Recorded per end: reads, bytes delivered, pauses (the receive handler returned false),
// resume_receiving() calls, the iovecs of every write as given, every byte written.
//
// Like TCP: bytes arrive in order and a read may join several writes; shutdown() ends one
// direction (the peer reads the bytes sent before it, then an orderly end of stream) and
// later writes fail with EPIPE; close() or destruction ends both (an orderly end for the peer,
// never a reset; the peer's writes then fail with EPIPE). Like the reactor's streams, every
// result and handler call comes from the reactor's ready list, never from inside the call
// that started it; a write completes only once every byte was taken. tcp() is null.
//
// Everything lives in user space: drive it with reactor.poll(), nothing blocks on the kernel.
#pragma once

#include <sys/uio.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <random>
#include <span>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

#include "io/byte_stream.h"
#include "io/event.h"
#include "io/reactor.h"
#include "io/ready_list.h"

namespace io::test {

// How an end cuts the bytes waiting for it into reads (a read: one on_received call, or what
// one read_some returns).
class ReadSplit {
 public:
  static ReadSplit whole() { return ReadSplit(Kind::whole); }  // all that waits, at once
  static ReadSplit at_most(std::size_t n);                       // 1: byte by byte
  // Sizes from 1 to `max`, drawn from `seed`: the same seed gives the same split every run.
  static ReadSplit random(std::uint64_t seed, std::size_t max = 64);
  // These sizes in turn, then whole reads.
  static ReadSplit script(std::vector<std::size_t> sizes);

  // The size of the next read when `available` (> 0) bytes wait: 1..available.
  std::size_t next(std::size_t available);

 private:
  enum class Kind : std::uint8_t { whole, at_most, random, script };
  explicit ReadSplit(Kind kind) : kind_(kind) {}

  Kind kind_;
  std::size_t limit_ = 0;
  std::mt19937_64 random_;  // fully specified by the standard: the same numbers everywhere
  std::vector<std::size_t> script_;
  std::size_t step_ = 0;
};

struct MemoryStreamOptions {
  ReadSplit reads = ReadSplit::whole();
  // Most bytes one write step takes; 0: all. A step runs once per pass of the ready list, so
  // the peer may read the first steps before the write completes.
  std::size_t write_step = 0;
  // The nth read (from 1; 0: none) fails with read_error instead of returning data or the
  // end of stream: the receive handler gets on_receive_end(read_error).
  std::size_t fail_read = 0;
  std::errc read_error = std::errc::connection_reset;
  // The nth write step (from 1; 0: none) fails with write_error, and every later one too (a
  // broken connection stays broken). The steps before it were delivered.
  std::size_t fail_write = 0;
  std::errc write_error = std::errc::broken_pipe;
  // Reads still delivered after the receive handler returned false, of what already waits
  // (the end of stream counts as one): a TCP stream delivers the rest of a batch of reaped
  // completions after a pause. 0: a pause stops delivery at once.
  std::size_t late_reads = 0;
};

struct MemoryStreamStats {
  std::size_t reads = 0;            // returned data, the end of stream or an error
  std::size_t bytes_delivered = 0;  // to the receive handler or read_some
  std::size_t pauses = 0;           // times the receive handler returned false
  std::size_t resumes = 0;          // resume_receiving() calls
  std::size_t writes = 0;           // start_write() and write_all() calls
  std::size_t write_steps = 0;      // including a failed one
  std::size_t bytes_written = 0;    // taken by write steps (not write_now)
};

class MemoryStream final : public ByteStream {
 public:
  using Options = MemoryStreamOptions;

  // Two connected ends on `reactor`, the first with `first`'s script, the second with
  // `second`'s.
  static std::pair<std::unique_ptr<MemoryStream>, std::unique_ptr<MemoryStream>> pair(
      Reactor& reactor, Options first = {}, Options second = {});
  ~MemoryStream() override;
  MemoryStream(const MemoryStream&) = delete;
  MemoryStream& operator=(const MemoryStream&) = delete;

  // ByteStream, pull style.
  Task<Result<std::size_t>> read_some(std::span<std::uint8_t> buffer) override;
  Task<Result<void>> write_all(std::span<const iovec> buffers) override;
  Task<Result<void>> shutdown() override;
  void close() override;
  Reactor& reactor() override { return reactor_; }
  TcpStream* tcp() override { return nullptr; }
  // ByteStream, push style.
  void start_receiving(StreamHandler& handler) override;
  void resume_receiving() override;
  void start_write(std::span<const iovec> buffers, StreamHandler& handler) override;
  void stop_io() override;

  // --- for the test
  // The script; may be changed at any time (it applies from the next read or step).
  Options& options() { return options_; }
  const MemoryStreamStats& stats() const { return stats_; }
  // Every byte this end sent to the peer, in order (write steps and write_now).
  const std::string& written() const { return written_; }
  // The iovecs of each write as handed to start_write or write_all: their base pointers tell
  // which buffer each part was written from.
  const std::vector<std::vector<iovec>>& write_calls() const { return write_calls_; }
  // Bytes sent to this end and not read yet.
  std::size_t unread() const { return inbound_.size() - inbound_at_; }
  // Sends `bytes` to the peer at once, as if a write had taken them (no step, no failure);
  // the peer reads them from the ready list as usual.
  void write_now(std::string_view bytes);
  // The next read of this end fails with `error` at once, whatever waits (a reset).
  void fail_next_read(std::errc error);
  // While held, write steps take nothing (a peer that does not read); release lets them go.
  void hold_writes() { writes_held_ = true; }
  void release_writes();
  // shutdown() without a coroutine: the peer reads an end of stream after what was sent.
  void shutdown_now();

  bool shut_down() const { return shut_down_; }
  bool closed() const { return closed_; }
  // stop_io() was called (and no start_receiving or start_write since).
  bool io_stopped() const { return io_stopped_; }
  // The peer shut down or closed: after the unread bytes, this end reads an end of stream.
  bool peer_ended() const { return peer_ended_; }
  // This end reported the end of its stream (end of stream or error) to a reader.
  bool receive_ended() const { return receive_ended_; }
  bool paused() const { return paused_; }

 private:
  MemoryStream(Reactor& reactor, Options options);

  // What one read returns: data, an orderly end (empty data, no error) or an error.
  struct Read {
    std::string data;
    std::error_code error;
  };
  // The next read of at most `limit` bytes, or nothing while nothing is there to read.
  std::optional<Read> next_read(std::size_t limit);
  // One write step over `iov` from `next`: takes up to write_step bytes and sends them.
  std::error_code write_step(std::vector<iovec>& iov, std::size_t& next);
  void send_to_peer(std::string_view bytes);
  void arrived();  // bytes, an end or an error wait for this end
  void deliver();    // the receive handler's turn (ready list)
  void run_write();  // a push write's step (ready list)
  void drop_handlers();

  Reactor& reactor_;
  Options options_;
  MemoryStream* peer_ = nullptr;  // null once the peer is destroyed
  MemoryStreamStats stats_;

  std::string inbound_;
  std::size_t inbound_at_ = 0;
  std::optional<std::errc> reset_;  // fail_next_read
  bool peer_ended_ = false;
  bool receive_ended_ = false;
  bool end_again_ = false;       // a new handler is owed the end an earlier one was given
  std::error_code end_error_;    // that end
  bool shut_down_ = false;
  bool closed_ = false;
  bool io_stopped_ = false;
  bool writes_held_ = false;
  std::optional<std::error_code> write_failed_;

  StreamHandler* receiver_ = nullptr;
  bool paused_ = false;
  std::size_t late_left_ = 0;  // late reads still to deliver while paused
  CallbackNode<MemoryStream, &MemoryStream::deliver> deliver_node_{this};
  Event arrived_;  // for read_some

  StreamHandler* write_handler_ = nullptr;
  std::vector<iovec> write_iov_;
  std::size_t write_next_ = 0;
  CallbackNode<MemoryStream, &MemoryStream::run_write> write_node_{this};
  Event writes_released_;  // for write_all

  std::string written_;
  std::vector<std::vector<iovec>> write_calls_;
};

// Runs non-blocking turns of `reactor` while anything is ready or in flight; false if that
// did not stop within `max_turns` (a loop that keeps readying itself). Sleeps on a manual
// clock are not work: advance the clock, then settle.
bool settle(Reactor& reactor, std::size_t max_turns = 100000);

}  // namespace io::test
