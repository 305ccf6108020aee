#include "wsp/protocol/close_code.h"

namespace wsp {

bool is_valid_received_close_code(int code) {
  if (code >= 3000 && code <= 4999) return true;
  if (code < 1000 || code > 1014) return false;
  return code != 1004 && code != 1005 && code != 1006;
}

bool is_sendable_close_code(int code) { return is_valid_received_close_code(code); }

}  // namespace wsp
