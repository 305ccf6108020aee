// Helpers shared by tests that drive byte streams on the reactor.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "io/byte_stream.h"
#include "io/task.h"

namespace testing_support {

// Reads until `size` bytes arrived or the stream ended (or failed); what arrived.
inline io::Task<std::string> read_exactly(io::ByteStream& stream, std::size_t size) {
  std::string out(size, '\0');
  std::size_t got = 0;
  while (got < size) {
    auto n = co_await stream.read_some({reinterpret_cast<std::uint8_t*>(out.data()) + got, size - got});
    if (!n || *n == 0) break;
    got += *n;
  }
  out.resize(got);
  co_return out;
}

}  // namespace testing_support
