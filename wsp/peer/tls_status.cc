#include "wsp/peer/tls_status.h"

#include "tls/tls_error.h"

namespace wsp {

TlsStatus tls_status(const tls::TlsStream& stream) {
  switch (stream.state()) {
    case tls::TlsState::handshaking: return TlsStatusValues::STATUS_HANDSHAKING;
    case tls::TlsState::connected: return TlsStatusValues::STATUS_CONNECTED;
    case tls::TlsState::closed: return TlsStatusValues::STATUS_DISCONNECTED;
    case tls::TlsState::failed: break;
  }
  return stream.error_code() == tls::TlsErrc::hostname_mismatch
             ? TlsStatusValues::STATUS_ERROR_HOSTNAME_MISMATCH
             : TlsStatusValues::STATUS_ERROR;
}

const char* to_string(TlsStatus status) {
  switch (status) {
    case TlsStatusValues::STATUS_DISCONNECTED: return "STATUS_DISCONNECTED";
    case TlsStatusValues::STATUS_HANDSHAKING: return "STATUS_HANDSHAKING";
    case TlsStatusValues::STATUS_CONNECTED: return "STATUS_CONNECTED";
    case TlsStatusValues::STATUS_ERROR: return "STATUS_ERROR";
    case TlsStatusValues::STATUS_ERROR_HOSTNAME_MISMATCH: return "STATUS_ERROR_HOSTNAME_MISMATCH";
  }
  return "STATUS_UNKNOWN";
}

}  // namespace wsp
