// ByteStream: "a byte stream on the reactor". TCP and TLS are two such streams; the WebSocket
// connection works over either without knowing which (like Beast's NextLayer, by interface).
#pragma once

#include <sys/uio.h>

#include <cstddef>
#include <cstdint>
#include <span>

#include "io/result.h"
#include "io/task.h"

namespace io {

class Reactor;
class TcpStream;

class ByteStream {
 public:
  virtual ~ByteStream() = default;

  // Reads at least one byte into `buffer`; 0 means an orderly end of stream.
  virtual Task<Result<std::size_t>> read_some(std::span<std::uint8_t> buffer) = 0;
  // Writes all of `buffers` (scatter-gather) or fails.
  virtual Task<Result<void>> write_all(std::span<const iovec> buffers) = 0;
  // Orderly end of our direction (TCP half-close, TLS close_notify).
  virtual Task<Result<void>> shutdown() = 0;
  // Drops the connection at once.
  virtual void close() = 0;

  virtual Reactor& reactor() = 0;
  // The TCP stream underneath, for addresses and socket options.
  virtual TcpStream* tcp() = 0;
};

}  // namespace io
