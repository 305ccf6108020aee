// permessage-deflate negotiation (RFC 7692 §5, §7.1), sans-IO: the policy an application
// chooses, the parameters of one offer or response, and what a connection does once both
// sides agreed.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "wsp/protocol/extension_header.h"

namespace wsp {

inline constexpr std::string_view kPermessageDeflate = "permessage-deflate";

// The parameters of one permessage-deflate offer or response (§7.1), as on the wire.
struct DeflateParameters {
  // client_max_window_bits in an offer without a value (§7.1.2.2: "I support the parameter").
  static constexpr int kNoValue = -1;

  bool server_no_context_takeover = false;
  bool client_no_context_takeover = false;
  int server_max_window_bits = 0;  // 0: absent; else 8..15
  int client_max_window_bits = 0;  // 0: absent; kNoValue (offers only); else 8..15
  bool operator==(const DeflateParameters&) const = default;
};

// "permessage-deflate; server_no_context_takeover; ..." in that order.
std::string to_string(const DeflateParameters& parameters);

// Reads one permessage-deflate element. False, with `error` saying why, for a parameter that
// is unknown, repeated, has a value it may not have or lacks one it needs, or a window size
// outside 8..15 in its decimal form without leading zeros (§7.1: a server declines such an
// offer; a client fails the connection on such a response). A response's
// client_max_window_bits needs a value.
bool parse_deflate_parameters(const Extension& element, bool is_response, DeflateParameters& out,
                              std::string& error);

// What an application chooses (ConnectOptions::deflate, AcceptOptions::deflate,
// WebSocketPeer::set_deflate). Off by default.
struct DeflateOptions {
  enum class Mode : std::uint8_t {
    off,
    // No context takeover in either direction, so every message is compressed and inflated
    // on its own and a connection keeps no zlib state: one decompressor and one compressor per
    // window size serve all connections of a reactor thread.
    shared,
    // Each connection has its own compressor and decompressor, made when first needed and
    // kept for its life (context takeover: repeated content compresses much better).
    dedicated,
  };
  Mode mode = Mode::off;
  // Dedicated: the LZ77 window (bits, 8..15) of our compressor and the most we let the
  // peer's compressor use. 8 is taken as 9: zlib cannot compress with a 256-byte window (it
  // silently uses 512 bytes), so we never announce 8 for either side; a peer's 8 for what it
  // compresses is accepted and inflated with 9 bits (a larger window inflates correctly). The
  // shared mode always uses 15.
  int window_bits = 15;
  // Dedicated: zlib's memLevel (1..9) for the compressor: hash tables of 2^(mem_level + 9)
  // bytes. The shared streams use 8.
  int mem_level = 8;
  // zlib compression level 0..9, or -1 for zlib's default (6).
  int level = -1;
  // Messages shorter than this are sent uncompressed (RSV1 clear). By default it follows the
  // mode (min_size_of; the figures are in docs/permessage-deflate.md): 256 bytes in the shared
  // mode, where each message is compressed on its own and a shorter chat line shrinks by a
  // fifth or less for 6-16 us of CPU; 64 in the dedicated one, where context takeover shrinks
  // even short messages by half or more.
  static constexpr std::size_t kMinSizeOfMode = ~std::size_t{0};
  static constexpr std::size_t kSharedMinSize = 256;
  static constexpr std::size_t kDedicatedMinSize = 64;
  std::size_t min_size = kMinSizeOfMode;
  // Shared mode: whether each connection counts what it compressed and inflated
  // (DeflateSlot::stats(), WebSocketPeer::get_deflate_stats()). The counters take about 100
  // bytes per connection from its first compressed message on; without them a connection
  // costs not one byte more than one without the extension, and the counts go to its
  // thread's totals (SharedDeflateStreams::stats()). The dedicated mode always counts.
  bool per_connection_stats = true;
  // Client: the offers to send in order of preference; empty: one offer made from the mode
  // (shared: both no_context_takeover; dedicated: the windows when window_bits < 15).
  std::vector<DeflateParameters> offers;
};

// The min_size a connection uses: options.min_size, or the mode's default.
std::size_t min_size_of(const DeflateOptions& options);

// "off", "shared" or "dedicated"; false for anything else.
bool parse_deflate_mode(std::string_view name, DeflateOptions::Mode& mode);
const char* to_string(DeflateOptions::Mode mode);

// Checks the numbers of `options` (window 8..15, memLevel 1..9, level -1..9, offers valid);
// false with `error` naming the field.
bool valid_deflate_options(const DeflateOptions& options, std::string& error);

// What one connection's permessage-deflate does, seen from our side (whichever role).
struct DeflateConfig {
  bool shared = false;               // use the thread's shared streams where allowed
  int send_window_bits = 15;         // our compressor, 9..15
  bool send_no_context_takeover = false;
  int receive_window_bits = 15;      // our decompressor, 9..15 (at least what the peer may use)
  bool receive_no_context_takeover = false;
  int mem_level = 8;
  int level = -1;
  std::size_t min_size = 64;
  bool per_connection_stats = true;  // DeflateOptions::per_connection_stats
  bool operator==(const DeflateConfig&) const = default;
};

// Client: the Sec-WebSocket-Extensions value to send ("" when mode is off).
std::string deflate_offer_header(const DeflateOptions& options);

// Server: the first permessage-deflate offer in `offers` that `options` can accept (§7.1:
// malformed offers and offers we cannot honour are declined, never fatal). Sets `response`
// to the header value to answer with; nullopt (response empty) when none is accepted.
std::optional<DeflateConfig> accept_deflate_offer(const std::vector<Extension>& offers,
                                                  const DeflateOptions& options,
                                                  std::string& response);

// Client: the configuration the server's accepted permessage-deflate element `response`
// stands for, if it is valid and consistent with one of the offers we sent (§7.1); nullopt
// with `error` when the connection must fail.
std::optional<DeflateConfig> accept_deflate_response(const Extension& response,
                                                     const DeflateOptions& options,
                                                     std::string& error);

}  // namespace wsp
