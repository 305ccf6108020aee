// One RESP2 connection to Redis on the reactor: commands out, replies in, over any
// io::ByteStream (TCP in programs, an in-memory stream in tests). Sending and receiving may run
// in two coroutines at once (a pipelining writer and a reader); one of each at a time.
#pragma once

#include <cstdint>
#include <deque>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "io/byte_stream.h"
#include "io/reactor.h"
#include "io/result.h"
#include "io/task.h"
#include "redis/resp.h"

namespace redis {

class Connection {
 public:
  explicit Connection(std::unique_ptr<io::ByteStream> stream, ReplyParserLimits limits = {});
  ~Connection();
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  // TCP to host:port (a name is resolved off the reactor thread), Nagle off: commands are
  // small and latency is the point. `timeout` bounds each connect attempt.
  static io::Task<io::Result<std::unique_ptr<Connection>>> connect(io::Reactor& reactor,
                                                                   std::string host,
                                                                   std::uint16_t port,
                                                                   io::Duration timeout);

  // Writes `commands` (one or more, encoded with append_command) wholly, or fails.
  io::Task<io::Result<void>> send(std::string_view commands);
  // The next reply: an error reply is a Reply of type error, not a failure. Fails with
  // Errc::connection_closed at the end of the stream, the parser's error on bytes that are not
  // RESP2, or the stream's error.
  io::Task<io::Result<Reply>> receive();
  // Drops the connection now (pending operations then fail).
  void close();

  io::ByteStream& stream() { return *stream_; }

 private:
  std::unique_ptr<io::ByteStream> stream_;
  ReplyParser parser_;
  std::vector<Reply> parsed_;   // replies parsed from the last read, handed out from next_
  std::size_t next_ = 0;
  std::vector<std::uint8_t> buffer_;
};

}  // namespace redis
