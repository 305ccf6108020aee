#include "tools/cat/exit_status.h"

namespace wsp_cat {

int exit_status_for_close(int code) {
  if (code == 1000 || code == 1005) return 0;
  if (code == -1 || code == 1006) return 3;
  if (code >= 1001 && code <= 1015) return 10 + (code - 1000);
  return 4;  // 3000-4999, or anything else a peer might send
}

}  // namespace wsp_cat
