// ByteStream: "a byte stream on the reactor". TCP and TLS are two such streams; a protocol
// engine above works over either without knowing which (like Beast's NextLayer, by interface).
#pragma once

#include <sys/uio.h>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <system_error>

#include "io/result.h"
#include "io/task.h"

namespace io {

class Reactor;
class TcpStream;

// What push-style I/O calls (ByteStream::start_receiving, start_write), for engines that react
// to data rather than wait for it. Calls come from the reactor's ready list, never from inside
// completion reaping. One interface for both directions: its implementers are connections,
// thousands at once, and each polymorphic base costs each of them a vtable pointer.
class StreamHandler {
 public:
  // Bytes arrived; the handler consumes them all (copying what it keeps). Returning false
  // pauses receiving (the socket is not read: TCP back-pressure) until resume_receiving().
  virtual bool on_received(std::span<const std::uint8_t> data) = 0;
  // The stream ended: an orderly end of stream (empty error) or a failure.
  virtual void on_receive_end(std::error_code error) = 0;
  // The write start_write() began is over: every byte written (empty error) or a failure.
  virtual void on_written(std::error_code error) = 0;
  // Part of that write went out: its first `bytes` bytes, whose memory may be reused now (a
  // write of large messages frees each as it goes, not all at its end). Called, if at all,
  // before on_written(), from the stream's completion: it must not call the stream.
  virtual void on_written_some(std::size_t bytes) { (void)bytes; }

 protected:
  ~StreamHandler() = default;
};

class ByteStream {
 public:
  virtual ~ByteStream();

  // Reads at least one byte into `buffer`; 0 means an orderly end of stream.
  virtual Task<Result<std::size_t>> read_some(std::span<std::uint8_t> buffer) = 0;
  // Writes all of `buffers` (scatter-gather) or fails.
  virtual Task<Result<void>> write_all(std::span<const iovec> buffers) = 0;
  // Orderly end of our direction (TCP half-close, TLS close_notify).
  virtual Task<Result<void>> shutdown() = 0;
  // The same, done now, where it needs no waiting (TCP's half-close is one call); nullopt where
  // something must be written first (TLS's close_notify): call shutdown() then. A burst of
  // closes then holds no task per connection.
  virtual std::optional<Result<void>> shutdown_at_once() { return std::nullopt; }
  // Drops the connection at once.
  virtual void close() = 0;

  virtual Reactor& reactor() = 0;
  // The TCP stream underneath, for addresses and socket options.
  virtual TcpStream* tcp() = 0;

  // Push-style I/O, completion-driven with no task of its own (TCP: a multishot receive into
  // the reactor's buffer ring and a plain sendmsg; TLS: the same, through its engine). Use it
  // or the pull calls above, not both at once (shutdown() excepted).
  // Starts delivering received data to `handler` until the end of the stream. Called again, it
  // hands the stream to another handler: receiving resumes (after a pause too), and an end that
  // an earlier handler was given is given to this one as well.
  virtual void start_receiving(StreamHandler& handler) = 0;
  virtual void resume_receiving() = 0;
  // Writes all of `buffers` (the memory they point to stays valid until then; the list itself
  // need not), then calls `handler` from the reactor's ready list. One write at a time.
  virtual void start_write(std::span<const iovec> buffers, StreamHandler& handler) = 0;
  // Stops the push-style machinery (pending calls are dropped); before close() or destruction.
  // May be called from inside a handler's call.
  virtual void stop_io() = 0;

 protected:
  ByteStream();
  ByteStream(ByteStream&&) noexcept;
  ByteStream& operator=(ByteStream&&) noexcept;
};

}  // namespace io
