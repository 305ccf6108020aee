#include "io/byte_stream.h"

#include <vector>

#include "io/event.h"
#include "io/reactor.h"

namespace io {

// The default push-style I/O: one reading and one writing coroutine over the stream's
// read_some/write_all (used by TLS streams).
class StreamPump {
 public:
  explicit StreamPump(ByteStream& stream) : stream_(stream), resume_(stream.reactor()) {}
  ~StreamPump() {
    *alive_ = false;
    stop();
  }

  void start_receiving(ReceiveHandler& handler) {
    receiver_ = &handler;
    if (!reader_) reader_ = stream_.reactor().spawn(read_loop());
  }
  void resume_receiving() {
    paused_ = false;
    resume_.set();
  }
  void start_write(std::span<const iovec> buffers, WriteHandler& handler) {
    if (writer_) stream_.reactor().cancel(writer_);
    writer_ = stream_.reactor().spawn(write(std::vector<iovec>(buffers.begin(), buffers.end()), handler));
  }
  void stop() {
    if (reader_) stream_.reactor().cancel(std::exchange(reader_, 0));
    if (writer_) stream_.reactor().cancel(std::exchange(writer_, 0));
  }

 private:
  Task<void> read_loop() {
    std::vector<std::uint8_t> buffer(16 * 1024);
    for (;;) {
      while (paused_) {
        resume_.reset();
        co_await resume_.wait();
      }
      auto n = co_await stream_.read_some(buffer);
      if (!n || *n == 0) {
        reader_ = 0;
        receiver_->on_receive_end(n ? std::error_code{} : n.error());
        co_return;
      }
      // The handler may stop this pump from inside the call: keep nothing of it across.
      auto alive = alive_;
      auto id = std::exchange(reader_, 0);
      bool more = receiver_->on_received({buffer.data(), *n});
      if (!*alive) co_return;
      reader_ = id;
      if (!more) paused_ = true;
    }
  }
  Task<void> write(std::vector<iovec> buffers, WriteHandler& handler) {
    auto written = co_await stream_.write_all(buffers);
    writer_ = 0;
    handler.on_written(written.error());
  }

  ByteStream& stream_;
  ReceiveHandler* receiver_ = nullptr;
  Event resume_;
  bool paused_ = false;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
  Reactor::TaskId reader_ = 0;
  Reactor::TaskId writer_ = 0;
};

ByteStream::ByteStream() = default;
ByteStream::ByteStream(ByteStream&&) noexcept = default;
ByteStream& ByteStream::operator=(ByteStream&&) noexcept = default;
ByteStream::~ByteStream() = default;

void ByteStream::start_receiving(ReceiveHandler& handler) {
  if (!pump_) pump_ = std::make_unique<StreamPump>(*this);
  pump_->start_receiving(handler);
}

void ByteStream::resume_receiving() {
  if (pump_) pump_->resume_receiving();
}

void ByteStream::start_write(std::span<const iovec> buffers, WriteHandler& handler) {
  if (!pump_) pump_ = std::make_unique<StreamPump>(*this);
  pump_->start_write(buffers, handler);
}

void ByteStream::stop_io() { pump_.reset(); }

}  // namespace io
