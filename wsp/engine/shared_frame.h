// SharedFrame: one data message encoded once as an unmasked server frame (header and payload
// together), written by many connections of one reactor from the same bytes. Reference-counted
// without atomics: a frame never leaves the thread that encoded it (publish/subscribe encodes
// one per message per reactor).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>

namespace wsp {

class SharedFrame;

// An owning reference; copying it adds a reference.
class SharedFrameRef {
 public:
  SharedFrameRef() = default;
  SharedFrameRef(const SharedFrameRef& o) : frame_(o.frame_) { add(); }
  SharedFrameRef(SharedFrameRef&& o) noexcept : frame_(std::exchange(o.frame_, nullptr)) {}
  SharedFrameRef& operator=(SharedFrameRef o) noexcept {
    std::swap(frame_, o.frame_);
    return *this;
  }
  ~SharedFrameRef() { reset(); }
  void reset();

  const SharedFrame* get() const { return frame_; }
  const SharedFrame* operator->() const { return frame_; }
  explicit operator bool() const { return frame_ != nullptr; }

 private:
  friend class SharedFrame;
  explicit SharedFrameRef(SharedFrame* frame) : frame_(frame) {}
  void add();
  SharedFrame* frame_ = nullptr;
};

class SharedFrame {
 public:
  // RFC 6455 §5.2: FIN set, no RSV bits, unmasked (a server's frames, §5.1).
  static SharedFrameRef encode(bool text, std::string_view payload);

  std::string_view bytes() const { return bytes_; }  // the whole frame
  std::string_view payload() const { return std::string_view(bytes_).substr(header_size_); }
  bool text() const { return text_; }
  std::size_t references() const { return references_; }

 private:
  friend class SharedFrameRef;
  SharedFrame() = default;
  std::string bytes_;
  std::uint32_t references_ = 1;
  std::uint8_t header_size_ = 0;
  bool text_ = false;
};

inline void SharedFrameRef::add() {
  if (frame_) ++frame_->references_;
}

inline void SharedFrameRef::reset() {
  if (frame_ && --frame_->references_ == 0) delete frame_;
  frame_ = nullptr;
}

}  // namespace wsp
