// io::DestructionWatch: a caller learns that the object it called out of was destroyed by the
// callee, with nested calls and other objects' watches unaffected.
#include <catch2/catch.hpp>

#include <functional>
#include <memory>

#include "io/destruction_watch.h"

namespace {

struct Caller {
  ~Caller() { io::DestructionWatch::destroying(this); }
  // Calls `out` and says whether this object survived it.
  bool call_out(const std::function<void()>& out) {
    io::DestructionWatch watch(this);
    out();
    return !watch.destroyed();
  }
};

}  // namespace

TEST_CASE("a watch sees its object destroyed during the call, and only its own object") {
  auto a = std::make_unique<Caller>();
  auto b = std::make_unique<Caller>();
  CHECK(a->call_out([] {}));
  bool b_survived = false;
  CHECK_FALSE(a->call_out([&] {
    b_survived = b->call_out([&] { a.reset(); });  // a goes while b's call runs inside a's
  }));
  CHECK(b_survived);
  CHECK(b->call_out([] {}));
}

TEST_CASE("nested watches on one object are all told, and an ended watch is not touched") {
  auto a = std::make_unique<Caller>();
  bool inner_survived = true;
  Caller* raw = a.get();
  CHECK_FALSE(raw->call_out([&] { inner_survived = raw->call_out([&] { a.reset(); }); }));
  CHECK_FALSE(inner_survived);
  // The watches are gone from the chain: destroying another object touches nothing.
  auto c = std::make_unique<Caller>();
  c.reset();
  auto d = std::make_unique<Caller>();
  CHECK(d->call_out([] {}));
}
