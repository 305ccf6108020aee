#include "tls/tls_error.h"

#include <string>


namespace tls {

namespace {

class TlsCategory final : public std::error_category {
 public:
  const char* name() const noexcept override { return "tls"; }
  std::string message(int value) const override {
    switch (static_cast<TlsErrc>(value)) {
      case TlsErrc::invalid_options: return "invalid TLS options";
      case TlsErrc::handshake_failed: return "TLS handshake failed";
      case TlsErrc::certificate_verify_failed: return "certificate verify failed";
      case TlsErrc::hostname_mismatch: return "hostname mismatch";
      case TlsErrc::handshake_timeout: return "TLS handshake timed out";
      case TlsErrc::truncated: return "TLS stream truncated (connection closed without close_notify)";
      case TlsErrc::protocol_error: return "TLS protocol error";
      case TlsErrc::closed: return "TLS stream already shut down";
      case TlsErrc::not_tls: return "the peer does not speak TLS";
    }
    return "unknown TLS error";
  }
};

}  // namespace

const std::error_category& tls_category() {
  static const TlsCategory category;
  return category;
}

}  // namespace tls
