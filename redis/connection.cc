#include "redis/connection.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include "io/tcp_stream.h"
#include "redis/redis_error.h"

namespace redis {

namespace {
// One read takes what a busy subscriber has waiting without many system calls.
constexpr std::size_t kReadBufferSize = 64 * 1024;
}  // namespace

Connection::Connection(std::unique_ptr<io::ByteStream> stream, ReplyParserLimits limits)
    : stream_(std::move(stream)), parser_(limits), buffer_(kReadBufferSize) {}

Connection::~Connection() = default;

io::Task<io::Result<std::unique_ptr<Connection>>> Connection::connect(io::Reactor& reactor,
                                                                      std::string host,
                                                                      std::uint16_t port,
                                                                      io::Duration timeout) {
  auto tcp = co_await io::TcpStream::connect(reactor, std::move(host), port, timeout);
  if (!tcp) co_return tcp.error();
  (void)tcp->set_no_delay(true);  // best effort: a slower link is still a link
  co_return std::make_unique<Connection>(std::make_unique<io::TcpStream>(std::move(*tcp)));
}

io::Task<io::Result<void>> Connection::send(std::string_view commands) {
  iovec part{const_cast<char*>(commands.data()), commands.size()};
  co_return co_await stream_->write_all({&part, 1});
}

io::Task<io::Result<Reply>> Connection::receive() {
  while (next_ == parsed_.size()) {
    parsed_.clear();
    next_ = 0;
    if (parser_.error()) co_return parser_.error();
    auto n = co_await stream_->read_some(buffer_);
    if (!n) co_return n.error();
    if (*n == 0) co_return Errc::connection_closed;
    // Replies completed before a protocol error are still handed out; the error comes next.
    (void)parser_.feed(std::span<const std::uint8_t>(buffer_.data(), *n), parsed_);
  }
  co_return std::move(parsed_[next_++]);
}

void Connection::close() { stream_->close(); }

}  // namespace redis
