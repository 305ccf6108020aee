#include "wsp/protocol/base64.h"

#include <openssl/base64.h>

namespace wsp {

std::string base64_encode(const std::uint8_t* data, std::size_t len) {
  std::size_t out_len = 0;
  if (!EVP_EncodedLength(&out_len, len)) return {};
  std::string out(out_len, '\0');  // includes the NUL EVP_EncodeBlock writes
  const std::size_t written =
      EVP_EncodeBlock(reinterpret_cast<std::uint8_t*>(out.data()), data, len);
  out.resize(written);
  return out;
}

std::size_t base64_encode_to(const std::uint8_t* data, std::size_t len, char* out) {
  return EVP_EncodeBlock(reinterpret_cast<std::uint8_t*>(out), data, len);
}

bool base64_decodes_to_size(std::string_view text, std::size_t size) {
  std::uint8_t out[48 + 2];
  // Padded base64 of `size` bytes has exactly this length; that bounds the decoded length.
  if (size > 48 || text.size() != 4 * ((size + 2) / 3)) return false;
  std::size_t out_len = 0;
  return EVP_DecodeBase64(out, &out_len, sizeof out, reinterpret_cast<const std::uint8_t*>(text.data()),
                          text.size()) &&
         out_len == size;
}

std::optional<std::string> base64_decode(std::string_view text) {
  std::size_t max_len = 0;
  if (!EVP_DecodedLength(&max_len, text.size())) return std::nullopt;
  std::string out(max_len, '\0');
  std::size_t out_len = 0;
  if (!EVP_DecodeBase64(reinterpret_cast<std::uint8_t*>(out.data()), &out_len, max_len,
                        reinterpret_cast<const std::uint8_t*>(text.data()), text.size()))
    return std::nullopt;
  out.resize(out_len);
  return out;
}

}  // namespace wsp
