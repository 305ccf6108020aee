#include "tls/openssl_errors.h"

#include <openssl/err.h>

#include <string>

namespace tls::detail {

std::string take_openssl_errors() {
  // The last entry is the outermost, most telling one ("DECRYPTION_FAILED_OR_BAD_RECORD_MAC"
  // rather than the cipher's "BAD_DECRYPT" below it).
  unsigned long last = 0;
  while (unsigned long e = ERR_get_error()) last = e;
  if (last == 0) return {};
  const char* reason = ERR_reason_error_string(last);
  return reason ? reason : "error " + std::to_string(ERR_GET_REASON(last));
}

}  // namespace tls::detail
