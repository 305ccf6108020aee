#include "io/testing/memory_stream.h"

#include <algorithm>
#include <cstring>
#include <limits>

#include "io/destruction_watch.h"
#include "io/operation.h"

namespace io::test {
namespace {

std::error_code code_of(std::errc e) { return errno_code(static_cast<int>(e)); }

constexpr std::size_t kAll = std::numeric_limits<std::size_t>::max();

}  // namespace

// --- ReadSplit ---------------------------------------------------------------------------

ReadSplit ReadSplit::at_most(std::size_t n) {
  ReadSplit split(Kind::at_most);
  split.limit_ = std::max<std::size_t>(n, 1);
  return split;
}

ReadSplit ReadSplit::random(std::uint64_t seed, std::size_t max) {
  ReadSplit split(Kind::random);
  split.limit_ = std::max<std::size_t>(max, 1);
  split.random_.seed(seed);
  return split;
}

ReadSplit ReadSplit::script(std::vector<std::size_t> sizes) {
  ReadSplit split(Kind::script);
  split.script_ = std::move(sizes);
  return split;
}

std::size_t ReadSplit::next(std::size_t available) {
  std::size_t n = available;
  switch (kind_) {
    case Kind::whole:
      break;
    case Kind::at_most:
      n = limit_;
      break;
    case Kind::random:
      n = 1 + static_cast<std::size_t>(random_() % limit_);
      break;
    case Kind::script:
      if (step_ < script_.size()) n = std::max<std::size_t>(script_[step_++], 1);
      break;
  }
  return std::min(n, available);
}

// --- the pair ----------------------------------------------------------------------------

MemoryStream::MemoryStream(Reactor& reactor, Options options)
    : reactor_(reactor), options_(std::move(options)), arrived_(reactor), writes_released_(reactor) {}

std::pair<std::unique_ptr<MemoryStream>, std::unique_ptr<MemoryStream>> MemoryStream::pair(
    Reactor& reactor, Options first, Options second) {
  std::unique_ptr<MemoryStream> a(new MemoryStream(reactor, std::move(first)));
  std::unique_ptr<MemoryStream> b(new MemoryStream(reactor, std::move(second)));
  a->peer_ = b.get();
  b->peer_ = a.get();
  return {std::move(a), std::move(b)};
}

MemoryStream::~MemoryStream() {
  DestructionWatch::destroying(this);
  close();
  if (peer_) peer_->peer_ = nullptr;
}

// --- receiving ---------------------------------------------------------------------------

void MemoryStream::send_to_peer(std::string_view bytes) {
  written_.append(bytes);
  if (!peer_ || bytes.empty()) return;
  peer_->inbound_.append(bytes);
  peer_->arrived();
}

void MemoryStream::write_now(std::string_view bytes) { send_to_peer(bytes); }

void MemoryStream::fail_next_read(std::errc error) {
  reset_ = error;
  arrived();
}

void MemoryStream::arrived() {
  if (receiver_ && !paused_ && !receive_ended_) reactor_.schedule(&deliver_node_);
  arrived_.set();
}

std::optional<MemoryStream::Read> MemoryStream::next_read(std::size_t limit) {
  if (closed_) return Read{{}, code_of(std::errc::bad_file_descriptor)};
  if (receive_ended_) return Read{};  // like a socket: the end again
  const std::size_t available = unread();
  if (!reset_ && available == 0 && !peer_ended_) return std::nullopt;
  ++stats_.reads;
  if (reset_ || stats_.reads == options_.fail_read) {
    receive_ended_ = true;
    return Read{{}, code_of(reset_ ? *std::exchange(reset_, std::nullopt) : options_.read_error)};
  }
  if (available == 0) {
    receive_ended_ = true;
    return Read{};
  }
  const std::size_t n = std::min(options_.reads.next(available), limit);
  Read read{inbound_.substr(inbound_at_, n), {}};
  inbound_at_ += n;
  if (inbound_at_ == inbound_.size()) {
    inbound_.clear();
    inbound_at_ = 0;
  }
  stats_.bytes_delivered += n;
  return read;
}

void MemoryStream::start_receiving(StreamHandler& handler) {
  receiver_ = &handler;
  paused_ = false;
  io_stopped_ = false;
  end_again_ = receive_ended_;
  reactor_.schedule(&deliver_node_);
}

void MemoryStream::resume_receiving() {
  ++stats_.resumes;
  if (!paused_) return;
  paused_ = false;
  late_left_ = 0;
  if (receiver_ && !receive_ended_) reactor_.schedule(&deliver_node_);
}

void MemoryStream::deliver() {
  // The handler may destroy this end (its owner closes it): then nothing of `this` is touched
  // afterwards. Each read's bytes are the handler's own copy.
  DestructionWatch watch(this);
  if (end_again_ && receiver_) {
    end_again_ = false;
    receiver_->on_receive_end(end_error_);
    if (watch.destroyed()) return;
  }
  while (receiver_ && (!paused_ || late_left_ > 0) && !receive_ended_) {
    std::optional<Read> read = next_read(kAll);
    if (!read) break;
    if (paused_) --late_left_;
    if (read->error || read->data.empty()) {
      end_error_ = read->error;
      receiver_->on_receive_end(read->error);
      if (watch.destroyed()) return;
      break;
    }
    const bool more = receiver_->on_received(
        {reinterpret_cast<const std::uint8_t*>(read->data.data()), read->data.size()});
    if (watch.destroyed()) return;
    if (!more && receiver_) {
      ++stats_.pauses;
      if (!paused_) late_left_ = options_.late_reads;
      paused_ = true;
    }
  }
  late_left_ = 0;  // only what waited when the handler paused comes late
}

Task<Result<std::size_t>> MemoryStream::read_some(std::span<std::uint8_t> buffer) {
  co_await yield(reactor_);  // the result comes from the ready list, as from the kernel
  if (buffer.empty()) co_return std::size_t{0};
  for (;;) {
    std::optional<Read> read = next_read(buffer.size());
    if (read) {
      if (read->error) co_return read->error;
      std::memcpy(buffer.data(), read->data.data(), read->data.size());
      co_return read->data.size();
    }
    arrived_.reset();
    co_await arrived_.wait();
  }
}

// --- writing -----------------------------------------------------------------------------

std::error_code MemoryStream::write_step(std::vector<iovec>& iov, std::size_t& next) {
  ++stats_.write_steps;
  if (stats_.write_steps == options_.fail_write) write_failed_ = code_of(options_.write_error);
  if (write_failed_) return *write_failed_;
  if (closed_) return code_of(std::errc::bad_file_descriptor);
  if (shut_down_ || !peer_ || peer_->closed_) return code_of(std::errc::broken_pipe);
  std::size_t budget = options_.write_step > 0 ? options_.write_step : kAll;
  std::string taken;
  while (next < iov.size() && budget > 0) {
    const std::size_t n = std::min(budget, iov[next].iov_len);
    taken.append(static_cast<const char*>(iov[next].iov_base), n);
    iov[next].iov_base = static_cast<char*>(iov[next].iov_base) + n;
    iov[next].iov_len -= n;
    budget -= n;
    if (iov[next].iov_len == 0) ++next;
  }
  while (next < iov.size() && iov[next].iov_len == 0) ++next;  // empty parts count as taken
  stats_.bytes_written += taken.size();
  send_to_peer(taken);
  return {};
}

void MemoryStream::start_write(std::span<const iovec> buffers, StreamHandler& handler) {
  ++stats_.writes;
  write_calls_.emplace_back(buffers.begin(), buffers.end());
  write_handler_ = &handler;
  write_iov_.assign(buffers.begin(), buffers.end());
  write_next_ = 0;
  io_stopped_ = false;
  reactor_.schedule(&write_node_);  // never completes inside this call
}

void MemoryStream::run_write() {
  if (!write_handler_ || writes_held_) return;  // release_writes() schedules it again
  std::error_code error = write_step(write_iov_, write_next_);
  if (!error && write_next_ < write_iov_.size()) {
    reactor_.schedule(&write_node_);  // the next step on the next pass of the ready list
    return;
  }
  StreamHandler* handler = std::exchange(write_handler_, nullptr);
  handler->on_written(error);  // may destroy this end: nothing of it is touched after
}

void MemoryStream::release_writes() {
  writes_held_ = false;
  if (write_handler_) reactor_.schedule(&write_node_);
  writes_released_.set();
}

Task<Result<void>> MemoryStream::write_all(std::span<const iovec> buffers) {
  ++stats_.writes;
  write_calls_.emplace_back(buffers.begin(), buffers.end());
  std::vector<iovec> iov(buffers.begin(), buffers.end());
  std::size_t next = 0;
  do {
    co_await yield(reactor_);  // one step per pass of the ready list, as push writes go
    while (writes_held_) {
      writes_released_.reset();
      co_await writes_released_.wait();
    }
    if (std::error_code error = write_step(iov, next)) co_return error;
  } while (next < iov.size());
  co_return Result<void>{};
}

// --- ending ------------------------------------------------------------------------------

void MemoryStream::shutdown_now() {
  if (shut_down_ || closed_) return;
  shut_down_ = true;
  if (peer_) {
    peer_->peer_ended_ = true;
    peer_->arrived();
  }
}

Task<Result<void>> MemoryStream::shutdown() {
  co_await yield(reactor_);
  if (closed_) co_return code_of(std::errc::bad_file_descriptor);
  shutdown_now();
  co_return Result<void>{};
}

void MemoryStream::drop_handlers() {
  receiver_ = nullptr;
  write_handler_ = nullptr;
  paused_ = false;
  deliver_node_.unlink();
  write_node_.unlink();
}

void MemoryStream::stop_io() {
  drop_handlers();
  io_stopped_ = true;
}

void MemoryStream::close() {
  if (closed_) return;
  shutdown_now();  // the peer reads an orderly end (a FIN, never a reset)
  drop_handlers();
  closed_ = true;
  inbound_.clear();
  inbound_at_ = 0;
  arrived_.set();  // a waiting read_some returns EBADF
  writes_released_.set();
}

bool settle(Reactor& reactor, std::size_t max_turns) {
  for (std::size_t turn = 0; turn < max_turns; ++turn) {
    if (!reactor.has_work()) return true;
    reactor.poll();
  }
  return !reactor.has_work();
}

}  // namespace io::test
