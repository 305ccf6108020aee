// The status values of the reference's StreamPeerTLS, shared by TlsEngine, TlsStream and the
// poll()-driven TlsHandshake (and so by the StreamPeerTLS façade in wsp/).
#pragma once

namespace tls {

enum TlsStatus {
  STATUS_DISCONNECTED = 0,
  STATUS_HANDSHAKING = 1,
  STATUS_CONNECTED = 2,
  STATUS_ERROR = 3,
  STATUS_ERROR_HOSTNAME_MISMATCH = 4,
};

const char* to_string(TlsStatus status);

}  // namespace tls
