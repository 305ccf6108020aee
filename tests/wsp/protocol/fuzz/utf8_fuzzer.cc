// libFuzzer target: the SIMD/incremental UTF-8 validator must agree with the bytewise one.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "wsp/protocol/utf8.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const std::size_t chunk = 1 + data[0];
  const std::string_view text(reinterpret_cast<const char*>(data + 1), size - 1);
  const bool expected = wsp::is_valid_utf8_bytewise(text);
  if (wsp::is_valid_utf8(text) != expected) std::abort();
  wsp::Utf8Validator v;
  bool ok = true;
  for (std::size_t off = 0; off < text.size() && ok; off += chunk)
    ok = v.feed(data + 1 + off, std::min(chunk, text.size() - off));
  if ((ok && v.complete()) != expected) std::abort();
  return 0;
}
