// Close status codes (RFC 6455 §7.4, IANA "WebSocket Close Code Number Registry").
#pragma once

namespace wsp {

namespace close_code {
inline constexpr int normal = 1000;
inline constexpr int going_away = 1001;
inline constexpr int protocol_error = 1002;
inline constexpr int unsupported_data = 1003;
inline constexpr int no_status = 1005;         // never on the wire (§7.4.1)
inline constexpr int abnormal = 1006;          // never on the wire (§7.4.1)
inline constexpr int invalid_payload = 1007;
inline constexpr int policy_violation = 1008;
inline constexpr int message_too_big = 1009;
inline constexpr int mandatory_extension = 1010;
inline constexpr int internal_error = 1011;
inline constexpr int service_restart = 1012;   // registered by IANA after RFC 6455
inline constexpr int try_again_later = 1013;
inline constexpr int bad_gateway = 1014;
inline constexpr int tls_handshake = 1015;     // never on the wire (§7.4.1)
}  // namespace close_code

// A code that may appear in a received close frame: 1000-1003, 1007-1014 (registered),
// 3000-4999 (libraries, applications). Everything else is a protocol error (§7.4.1, §7.4.2).
bool is_valid_received_close_code(int code);

// A code the local side may put in a close frame: the same set as above. 1004, 1005, 1006,
// 1015, codes below 1000, above 4999 and unregistered 1016-2999 are refused.
bool is_sendable_close_code(int code);

}  // namespace wsp
