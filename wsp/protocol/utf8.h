// UTF-8 validation for text messages and close reasons (RFC 6455 §5.6, §8.1; RFC 3629).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace wsp {

// Incremental validator: a text message may arrive in fragments split anywhere, even inside a
// code point. feed() returns false as soon as the bytes seen so far cannot start any valid
// UTF-8 text (RFC 6455 §8.1 lets an endpoint fail a text message on the first invalid byte);
// once failed it stays failed until reset().
// Rejects overlong forms, surrogates (U+D800..U+DFFF) and code points above U+10FFFF.
class Utf8Validator {
 public:
  bool feed(const std::uint8_t* data, std::size_t len);
  // True when everything fed so far is valid and ends on a code point boundary.
  bool complete() const { return !failed_ && need_ == 0; }
  bool failed() const { return failed_; }
  void reset() {
    need_ = 0;
    lo_ = 0x80;
    hi_ = 0xBF;
    failed_ = false;
  }

 private:
  bool feed_scalar(const std::uint8_t* data, std::size_t len);

  std::uint8_t need_ = 0;   // continuation bytes still expected
  std::uint8_t lo_ = 0x80;  // allowed range of the next continuation byte
  std::uint8_t hi_ = 0xBF;
  bool failed_ = false;
};

bool is_valid_utf8(std::string_view text);

// The byte-at-a-time reference: tests compare against it, the benchmark measures it.
bool is_valid_utf8_bytewise(std::string_view text);

}  // namespace wsp
