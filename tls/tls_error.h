// TLS failures as std::error_code values of the "tls" category (io::Result carries them like
// errno codes). The readable reason of a particular failure (which alert, which certificate
// problem) is kept by the stream that failed: TlsEngine::error(), TlsStream::error().
#pragma once

#include <system_error>

namespace tls {

enum class TlsErrc {
  invalid_options = 1,        // missing/unusable TLSOptions (e.g. key does not match certificate)
  handshake_failed,           // protocol failure, alert from the peer, peer closed mid-handshake
  certificate_verify_failed,  // chain untrusted, expired, ...
  hostname_mismatch,          // the certificate is valid but not for this name or address
  handshake_timeout,
  // The transport ended without the peer's close_notify: the data may have been cut short by
  // an attacker or a crash, so it is an unclean close, never a plain EOF (read_some returns 0
  // only after close_notify).
  truncated,
  protocol_error,             // a bad record after the handshake (bad MAC, unexpected message)
  closed,                     // writing after our close_notify
  // The peer's first bytes were not a TLS record: a plain-text server or client (HTTP, say)
  // on the other end.
  not_tls,
};

const std::error_category& tls_category();

inline std::error_code make_error_code(TlsErrc e) { return {static_cast<int>(e), tls_category()}; }

}  // namespace tls

template <>
struct std::is_error_code_enum<tls::TlsErrc> : std::true_type {};
