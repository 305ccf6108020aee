// The status values of the reference's StreamPeerTLS, and how a TLS stream's state maps onto
// them. StreamPeerTLS takes the values by inheritance (StreamPeerTLS::STATUS_CONNECTED).
#pragma once

#include "tls/tls_stream.h"

namespace wsp {

struct TlsStatusValues {
  enum Status {
    STATUS_DISCONNECTED = 0,
    STATUS_HANDSHAKING = 1,
    STATUS_CONNECTED = 2,
    STATUS_ERROR = 3,
    STATUS_ERROR_HOSTNAME_MISMATCH = 4,
  };
};
using TlsStatus = TlsStatusValues::Status;

// A failure for a certificate of another name is STATUS_ERROR_HOSTNAME_MISMATCH.
TlsStatus tls_status(const tls::TlsStream& stream);
const char* to_string(TlsStatus status);

}  // namespace wsp
