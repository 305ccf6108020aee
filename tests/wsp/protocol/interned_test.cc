// Interned<T>: equal values share one copy, counted; the copy goes with its last reference.
#include <catch2/catch.hpp>

#include <string>
#include <utility>
#include <vector>

#include "tests/wsp/protocol/wire.h"
#include "wsp/protocol/interned.h"
#include "wsp/protocol/protocol.h"

using namespace wsp;
using namespace wsp::test;

namespace {

struct Limits {
  int size = 0;
  bool operator==(const Limits&) const = default;
};

}  // namespace

TEST_CASE("equal values share one copy until the last reference goes") {
  REQUIRE(Interned<Limits>::distinct_values() == 0);
  {
    Interned<Limits> a(Limits{1});
    Interned<Limits> b(Limits{1});
    Interned<Limits> c(Limits{2});
    CHECK(&*a == &*b);
    CHECK(&*a != &*c);
    CHECK(a->size == 1);
    CHECK(c->size == 2);
    CHECK(Interned<Limits>::distinct_values() == 2);
    {
      Interned<Limits> copy = c;
      Interned<Limits> moved = std::move(copy);
      CHECK(&*moved == &*c);
    }
    c = a;  // the last reference to 2 goes
    CHECK(&*c == &*a);
    CHECK(Interned<Limits>::distinct_values() == 1);
    Interned<Limits> d(Limits{2});  // made again
    CHECK(d->size == 2);
    CHECK(Interned<Limits>::distinct_values() == 2);
  }
  CHECK(Interned<Limits>::distinct_values() == 0);
}

TEST_CASE("strings are found by hash: 1,000 distinct ones, each shared by its equals, all freed with their references") {
  REQUIRE(Interned<std::string>::distinct_values() == 0);
  {
    std::vector<Interned<std::string>> urls;
    for (int round = 0; round < 2; ++round) {
      for (int i = 0; i < 1000; ++i) urls.emplace_back("ws://127.0.0.1:9001/room/" + std::to_string(i));
    }
    CHECK(Interned<std::string>::distinct_values() == 1000);
    CHECK(&*urls[7] == &*urls[1007]);
    CHECK(*urls[1007] == "ws://127.0.0.1:9001/room/7");
    urls.erase(urls.begin(), urls.begin() + 1000);  // one reference to each is left
    CHECK(Interned<std::string>::distinct_values() == 1000);
    CHECK(*urls[7] == "ws://127.0.0.1:9001/room/7");
  }
  CHECK(Interned<std::string>::distinct_values() == 0);
}

TEST_CASE("protocols configured alike hold one shared config, deflate configuration included; zlib state stays their own") {
  const std::size_t before = Interned<ProtocolConfig>::distinct_values();
  {
    Protocol a = make(Role::server);
    Protocol b = make(Role::server);
    CHECK(Interned<ProtocolConfig>::distinct_values() == before + 1);
    Protocol c = make(Role::server, 1000);
    CHECK(Interned<ProtocolConfig>::distinct_values() == before + 2);

    ProtocolConfig deflating = config_for(Role::server);
    deflating.deflate = DeflateSlot(DeflateConfig{});
    Protocol d(deflating);
    CHECK(Interned<ProtocolConfig>::distinct_values() == before + 3);
    Protocol e(std::move(deflating));
    CHECK(Interned<ProtocolConfig>::distinct_values() == before + 3);  // d's
    CHECK(d.deflate().negotiated());
    CHECK(d.deflate().made() == nullptr);
    CHECK_FALSE(a.deflate().negotiated());
  }
  CHECK(Interned<ProtocolConfig>::distinct_values() == before);
}
