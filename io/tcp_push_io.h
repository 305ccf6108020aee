// Push-style I/O for a TcpStream (see ByteStream::start_receiving, start_write).
#pragma once

#include <sys/socket.h>
#include <sys/uio.h>

#include <cstdint>
#include <memory>
#include <span>
#include <utility>
#include <vector>

#include "io/buffer_ring.h"
#include "io/byte_stream.h"
#include "io/destruction_watch.h"
#include "io/file_descriptor.h"
#include "io/frame_pool.h"
#include "io/log.h"
#include "io/reactor.h"
#include "io/slab.h"

namespace io {

// How many of `pieces` one sendmsg takes: pieces until they hold at least `enough` bytes (at
// least one piece). A piece is never split here; the kernel may still take fewer bytes.
inline std::size_t pieces_for_one_send(std::span<const iovec> pieces, std::size_t enough) {
  std::size_t count = 0, bytes = 0;
  while (count < pieces.size() && (count == 0 || bytes < enough)) bytes += pieces[count++].iov_len;
  return count;
}

// A TcpStream's socket, with its push-style I/O: receives with one multishot recv whose
// buffers the kernel takes from the reactor's ring, and sends with sendmsg. Completions only
// record and schedule; the handlers run from the ready list, where they may even destroy this
// object. The stream holds it by pointer, so moving a stream leaves it in place.
//
// The receive is the completion's first request and the send its second: one base, with no
// pointer back.
struct TcpPushFlags {
  bool due_delivery : 1 = false;
  bool due_write_end : 1 = false;
  bool paused : 1 = false;
  bool cancel_requested : 1 = false;  // our own cancel of the multishot (pause) is in flight
  bool ended : 1 = false;
  // The stream's end was reaped, to be delivered after the chunks before it: a flag, not a
  // chunk, so a close frame and the FIN reaped in one turn need no list of later chunks.
  bool end_due : 1 = false;
  bool stopping : 1 = false;  // a send that completes now is not continued
  bool registered_file : 1 = false;  // the socket is in the reactor's table (register_file)
  // In 16 bits each (errno values are small).
  std::int16_t write_result = 0;  // how the last write ended: 0 or -errno
  std::int16_t end_errno = 0;     // how the stream ended (0: orderly)
};
// The flags are a base placed right after the completion (the primary base: a vtable pointer
// and two flags), so they fill its padding (thousands of idle connections).
struct TcpPushIo final : Completion, TcpPushFlags, ReadyBase<TcpPushIo>, slab::Allocated {
  static constexpr Request kReceive = Request::first;
  static constexpr Request kSend = Request::second;

  // Where received bytes are: at an offset in a ring buffer, or in own_buffer. An offset, not a
  // pointer: the chunk held inline takes 12 bytes, beside the 4-byte socket.
  struct Chunk {
    std::uint32_t offset;  // in the ring's buffer
    int result;            // bytes, 0 at EOF, -errno
    std::uint16_t buffer;  // ring buffer id when from_ring
    bool from_ring;
    bool held = false;  // first_chunk holds one
  };
  // Chunks reaped and not delivered yet, taken out at once to be delivered.
  struct Batch {
    Chunk first{};
    std::vector<Chunk> later;
    template <typename F>
    void for_each(F&& f) const {
      if (first.held) f(first);
      for (const Chunk& c : later) f(c);
    }
  };

  // A write in progress, made by start_write and ended with it. The caller's list is copied (it
  // need not outlive the call): a one-piece list inline. A scatter-gather send's msghdr is the
  // reactor's (Reactor::message_header): the kernel copies it when the send is submitted.
  struct Sending {
    StreamHandler* handler = nullptr;
    iovec one{};
    std::size_t next = 0;  // the first piece not fully sent
    std::size_t done = 0;  // bytes sent
  };
  // The rarer needs: a write of two pieces or more (its list, used instead of `one`), chunks
  // beyond the first reaped in one turn (usually one a turn is), and a receive buffer of its
  // own where there is no buffer ring.
  struct Extra : frame_pool::Pooled {
    std::vector<iovec> many;
    std::vector<Chunk> later_chunks;
    std::unique_ptr<std::uint8_t[]> own_buffer;
    bool idle() const { return many.empty() && later_chunks.empty() && !own_buffer; }
  };
  // What a connection holds only while it needs it, behind one pointer (thousands of idle
  // connections): a write in progress in 64 bytes (a burst of writes holds one per
  // connection), the rarer needs behind another.
  struct Busy : frame_pool::Pooled {
    Sending sending;  // a write is in progress while its handler is set
    std::unique_ptr<Extra> extra;
  };
  static_assert(sizeof(Busy) <= 64);

  TcpPushIo(Reactor& r, FileDescriptor s) : reactor(r), socket(std::move(s)) {}
  ~TcpPushIo() { stop(); }  // the socket is closed after: no I/O on it is in flight

  // Ends the push-style I/O (the socket stays open): operations in flight are cancelled and
  // waited for, undelivered bytes dropped. A call out of this object under way when a handler
  // stops it (or destroys it) returns without touching it.
  void stop() {
    DestructionWatch::destroying(this);
    // A cancelled send that wrote part of its bytes reports them; sending the rest would wait
    // for a peer that may never read, inside the cancel's wait.
    stopping = true;
    if (in_flight(kReceive)) reactor.cancel_and_wait(this, kReceive);
    if (in_flight(kSend)) reactor.cancel_and_wait(this, kSend);
    take_chunks().for_each([this](const Chunk& c) {
      if (c.from_ring) ring()->release(c.buffer);
    });
    work_node()->unlink();
    if (registered_file) reactor.unregister_file(socket.get());  // nothing in flight now
    handler = nullptr;
    busy.reset();
    due_delivery = due_write_end = paused = cancel_requested = ended = end_due = stopping =
        registered_file = false;
  }

  void on_complete(int result, std::uint32_t flags) override { received(result, flags); }
  void on_second_complete(int result, std::uint32_t) override { sent(result); }

  void arm() {
    if (in_flight(kReceive) || ended || paused) return;
    cancel_requested = false;
    io_uring_sqe* sqe = reactor.get_sqe();
    if (ring()) {
      io_uring_prep_recv_multishot(sqe, socket.get(), nullptr, 0, 0);
      sqe->flags |= IOSQE_BUFFER_SELECT | file_flag();
      sqe->buf_group = BufferRing::kGroup;
    } else {
      std::unique_ptr<std::uint8_t[]>& own = make_extra().own_buffer;
      if (!own) own = std::make_unique<std::uint8_t[]>(kOwnBufferSize);
      io_uring_prep_recv(sqe, socket.get(), own.get(), kOwnBufferSize, 0);
      sqe->flags |= file_flag();
    }
    reactor.submit_tracked(sqe, this, kReceive);
  }

  void received(int result, std::uint32_t flags) {
    if (result == -ENOBUFS) {
      // The ring ran dry; the receive is re-armed once delivery has returned buffers.
      ++reactor.stats().receive_buffer_shortages;
      ring()->ran_dry();
      // A burst walks through the ring (and may grow it): its pages go back once it is over.
      reactor.trim_heap_when_quiet();
    } else if (result == -ECANCELED && cancel_requested) {
      // Stopped on purpose (back-pressure); re-armed on resume.
      cancel_requested = false;
    } else if (flags & IORING_CQE_F_BUFFER) {
      auto id = static_cast<std::uint16_t>(flags >> IORING_CQE_BUFFER_SHIFT);
      // Taken now, in completion order: with incremental consumption that order says where
      // in the buffer the bytes are.
      BufferRing* buffers = ring();
      auto bytes = buffers->take(id, result > 0 ? static_cast<std::size_t>(result) : 0, flags);
      const auto offset = static_cast<std::uint32_t>(bytes.data() - buffers->buffer(id));
      push_chunk({offset, result, id, true});
    } else if (result > 0) {
      push_chunk({0, result, 0, false});
    } else {
      // The last completion of the receive: nothing is reaped after it.
      end_due = true;
      end_errno = static_cast<std::int16_t>(-result);
    }
    due_delivery = true;
    reactor.schedule(work_node());
  }

  // A registered socket's table index is its own number: only this flag tells them apart.
  std::uint8_t file_flag() const { return registered_file ? IOSQE_FIXED_FILE : 0; }

  // The one ready-list entry for both kinds of work: this object itself (a base, no pointer).
  ReadyLink* work_node() { return this; }
  void run_ready() {
    if (due_write_end) {
      due_write_end = false;
      DestructionWatch watch(this);
      written();  // the handler may destroy this object
      if (watch.destroyed()) return;
    }
    if (due_delivery) {
      due_delivery = false;
      deliver();
    }
  }

  void deliver() {
    // The handler may destroy this object (it closes the stream): then nothing of `this` is
    // touched afterwards.
    DestructionWatch watch(this);
    BufferRing* buffers = ring();
    const Batch batch = take_chunks();
    batch.for_each([&](const Chunk& c) {
      if (watch.destroyed() || ended) {
        if (c.from_ring) buffers->release(c.buffer);
        return;
      }
      if (c.result > 0) {
        const std::uint8_t* data =
            c.from_ring ? buffers->buffer(c.buffer) + c.offset : busy->extra->own_buffer.get();
        bool more = handler->on_received({data, static_cast<std::size_t>(c.result)});
        if (c.from_ring) buffers->release(c.buffer);
        if (!watch.destroyed() && !more) pause();
      } else {
        if (c.from_ring) buffers->release(c.buffer);
        end_errno = static_cast<std::int16_t>(-c.result);
        end();
      }
    });
    if (watch.destroyed()) return;
    if (end_due) {
      end_due = false;
      if (!ended) end();
      if (watch.destroyed()) return;
    }
    arm();
  }

  void end() {
    ended = true;
    handler->on_receive_end(end_errno == 0 ? std::error_code{} : errno_code(end_errno));
  }

  // A handler takes over (or the first one starts): receiving resumes for it. An end already
  // delivered to an earlier handler (one that stopped at a protocol boundary, such as a
  // server opening at the request's head) is delivered to this one too.
  void start(StreamHandler& h) {
    reactor.buffer_ring();  // made on the reactor's first push receive
    if (!registered_file) registered_file = reactor.register_file(socket.get());
    handler = &h;
    if (ended) {
      ended = false;
      end_due = true;
    }
    resume();
  }

  void pause() {
    if (paused) return;
    paused = true;
    if (in_flight(kReceive) && ring() && !cancel_requested) {
      cancel_requested = true;
      io_uring_sqe* sqe = reactor.get_sqe();
      io_uring_prep_cancel(sqe, Reactor::user_data(this, kReceive), 0);
      io_uring_sqe_set_data(sqe, nullptr);
    }
  }

  void resume() {
    paused = false;
    if (first_chunk.held || end_due) {
      due_delivery = true;
      reactor.schedule(work_node());
    } else {
      arm();
    }
  }

  void start_write(std::span<const iovec> buffers, StreamHandler& h) {
    Sending& w = make_busy().sending;  // fresh: see written()
    w.handler = &h;
    if (buffers.size() == 1) {
      w.one = buffers[0];
    } else {
      make_extra().many.assign(buffers.begin(), buffers.end());
    }
    submit_send();
  }
  void submit_send() {
    io_uring_sqe* sqe = reactor.get_sqe();
    const std::span<iovec> left = pieces().subspan(busy->sending.next);
    if (left.size() == 1) {
      // One buffer (the common case): a plain send skips importing a msghdr and iovec.
      io_uring_prep_send(sqe, socket.get(), left[0].iov_base, left[0].iov_len,
                         MSG_NOSIGNAL | MSG_WAITALL);
    } else {
      msghdr& message = reactor.message_header(sqe);
      message = msghdr{};
      message.msg_iov = left.data();
      message.msg_iovlen = pieces_for_one_send(left, kEnoughForOneSend);
      io_uring_prep_sendmsg(sqe, socket.get(), &message, MSG_NOSIGNAL | MSG_WAITALL);
    }
    sqe->flags |= file_flag();
    reactor.submit_tracked(sqe, this, kSend);
  }
  void sent(int result) {
    if (stopping) return;  // the write is dropped with this object's state
    if (result <= 0) {
      write_result = static_cast<std::int16_t>(result < 0 ? result : -EPIPE);
      due_write_end = true;
      reactor.schedule(work_node());
      return;
    }
    auto left = static_cast<std::size_t>(result);
    Sending& w = busy->sending;
    w.done += left;
    const std::span<iovec> pieces = this->pieces();
    std::size_t& next = w.next;
    while (next < pieces.size() && left >= pieces[next].iov_len) left -= pieces[next++].iov_len;
    if (next < pieces.size()) {
      pieces[next].iov_base = static_cast<char*>(pieces[next].iov_base) + left;
      pieces[next].iov_len -= left;
      submit_send();  // a short write: send the rest
      w.handler->on_written_some(w.done);
      return;
    }
    write_result = 0;
    due_write_end = true;
    reactor.schedule(work_node());
  }
  void written() {
    StreamHandler* write_handler = busy->sending.handler;
    // First: the handler may start the next write.
    busy->sending = Sending{};
    if (busy->extra) busy->extra->many = {};
    drop_busy_if_idle();
    write_handler->on_written(write_result < 0 ? errno_code(-write_result) : std::error_code{});
  }

  void push_chunk(const Chunk& chunk) {
    if (!first_chunk.held) {
      first_chunk = chunk;
      first_chunk.held = true;
      return;
    }
    make_extra().later_chunks.push_back(chunk);
  }
  // Empties the pending chunks, returning them.
  Batch take_chunks() {
    Batch batch{std::exchange(first_chunk, Chunk{}), {}};
    if (busy) {
      if (busy->extra) {
        batch.later = std::move(busy->extra->later_chunks);
        busy->extra->later_chunks.clear();
      }
      drop_busy_if_idle();  // made again when several chunks come in one turn
    }
    return batch;
  }
  Busy& make_busy() {
    if (!busy) busy = std::make_unique<Busy>();
    return *busy;
  }
  Extra& make_extra() {
    std::unique_ptr<Extra>& extra = make_busy().extra;
    if (!extra) extra = std::make_unique<Extra>();
    return *extra;
  }
  void drop_busy_if_idle() {
    if (busy->extra && busy->extra->idle()) busy->extra.reset();
    if (!busy->sending.handler && !busy->extra) busy.reset();
  }
  // The write's pieces: `one`, or the list of two or more.
  std::span<iovec> pieces() {
    Extra* extra = busy->extra.get();
    return extra && !extra->many.empty() ? std::span<iovec>(extra->many)
                                         : std::span<iovec>(&busy->sending.one, 1);
  }

  Reactor& reactor;
  // The reactor's, read through it rather than held: 8 bytes fewer per connection.
  BufferRing* ring() const { return reactor.buffer_ring_made(); }
  StreamHandler* handler = nullptr;
  FileDescriptor socket;
  Chunk first_chunk{};  // beside the 4-byte socket: no padding
  static constexpr std::size_t kOwnBufferSize = 16 * 1024;
  // A write of several large pieces (given-away messages) goes out up to 1 MiB per sendmsg,
  // the rest as after a short write, so its payloads go back to the pool as they go out. On w3
  // (8 conns x 4 x 64 KiB), one sendmsg per 64 KiB kept the next messages queued in user space
  // for a turn each: 21.2 against 18.1 us per message and 0.47 MiB more peak RSS, with 0.41
  // io_uring poll arms per message against 0.23 (docs/perf.md).
  static constexpr std::size_t kEnoughForOneSend = 1024 * 1024;
  std::unique_ptr<Busy> busy;
};

}  // namespace io
