// libFuzzer target: the RESP2 reply parser on any bytes. The first byte picks a read size; the
// replies and the error must be the same whether the rest arrives at once or in reads of that
// size, and the bridge's payload decoder must take whatever bulk strings come out.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "redis/bridge_message.h"
#include "redis/resp.h"

namespace {

bool same(const redis::Reply& a, const redis::Reply& b) {
  if (a.type != b.type || a.text != b.text || a.integer != b.integer ||
      a.elements.size() != b.elements.size())
    return false;
  for (std::size_t i = 0; i < a.elements.size(); ++i)
    if (!same(a.elements[i], b.elements[i])) return false;
  return true;
}

void decode_payloads(const redis::Reply& reply) {
  if (reply.type == redis::Reply::Type::bulk_string) {
    if (auto m = redis::decode_bridge_message(reply.text)) {
      std::string again;
      redis::append_bridge_message(again, *m);
      if (again != reply.text) std::abort();  // one payload, one encoding
    }
  }
  for (const redis::Reply& e : reply.elements) decode_payloads(e);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const std::size_t chunk = 1 + data[0];
  const std::string_view bytes(reinterpret_cast<const char*>(data + 1), size - 1);
  // Small limits, so that inputs reach them.
  redis::ReplyParserLimits limits{.max_bulk_length = 1024, .max_array_length = 64, .max_depth = 4,
                                  .max_line_length = 32};
  redis::ReplyParser whole(limits), pieces(limits);
  std::vector<redis::Reply> at_once, in_pieces;
  const std::error_code error = whole.feed(bytes, at_once);
  std::error_code piece_error;
  for (std::size_t at = 0; at < bytes.size(); at += chunk)
    piece_error = pieces.feed(bytes.substr(at, chunk), in_pieces);
  if (error != piece_error || at_once.size() != in_pieces.size()) std::abort();
  for (std::size_t i = 0; i < at_once.size(); ++i) {
    if (!same(at_once[i], in_pieces[i])) std::abort();
    decode_payloads(at_once[i]);
  }
  return 0;
}
