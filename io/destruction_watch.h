// Whether an object was destroyed during a call out of it: a handler may destroy the stream or
// connection that calls it, and the caller must then touch nothing of `this`. The watches live
// on the caller's stack, chained per thread, and the object's destructor marks those that
// watch it: the object holds no field for it (thousands of connections), and nested calls out
// of one object each keep their own watch.
#pragma once

namespace io {

class DestructionWatch {
 public:
  explicit DestructionWatch(const void* object) noexcept : object_(object), outer_(innermost_) {
    innermost_ = this;
  }
  DestructionWatch(const DestructionWatch&) = delete;
  DestructionWatch& operator=(const DestructionWatch&) = delete;
  ~DestructionWatch() { innermost_ = outer_; }

  bool destroyed() const { return object_ == nullptr; }

  // For a watched object's destructor.
  static void destroying(const void* object) noexcept {
    for (DestructionWatch* w = innermost_; w; w = w->outer_) {
      if (w->object_ == object) w->object_ = nullptr;
    }
  }

 private:
  const void* object_;  // null once destroyed
  DestructionWatch* outer_;
  static inline thread_local DestructionWatch* innermost_ = nullptr;
};

}  // namespace io
