#include "wsp/protocol/deflate_negotiation.h"

#include <algorithm>

namespace wsp {
namespace {

constexpr std::string_view kServerNoContextTakeover = "server_no_context_takeover";
constexpr std::string_view kClientNoContextTakeover = "client_no_context_takeover";
constexpr std::string_view kServerMaxWindowBits = "server_max_window_bits";
constexpr std::string_view kClientMaxWindowBits = "client_max_window_bits";

// zlib's raw deflate cannot compress with a 256-byte window (it silently uses 512 bytes).
constexpr int kMinCompressWindow = 9;

// §7.1.2.1: "a decimal integer value without leading zeroes between 8 to 15, inclusive".
bool parse_window_bits(const std::string& s, int& out) {
  if (s.size() == 1 && s[0] >= '8' && s[0] <= '9') {
    out = s[0] - '0';
    return true;
  }
  if (s.size() == 2 && s[0] == '1' && s[1] >= '0' && s[1] <= '5') {
    out = 10 + (s[1] - '0');
    return true;
  }
  return false;
}

bool valid_window(int bits) { return bits >= 8 && bits <= 15; }

// The largest window we compress or inflate with under `options`. 8 counts as 9: we cannot
// compress with 8, a zlib peer asked for 8 uses 9 (or fails, as we do), and a decompressor
// with 9 bits inflates what 8 bits made, so announcing 8 would gain nothing.
int our_window(const DeflateOptions& options) {
  return options.mode == DeflateOptions::Mode::shared ? 15 : std::max(options.window_bits, kMinCompressWindow);
}

std::vector<DeflateParameters> offers_for(const DeflateOptions& options) {
  if (!options.offers.empty()) return options.offers;
  DeflateParameters offer;
  if (options.mode == DeflateOptions::Mode::shared) {
    offer.server_no_context_takeover = true;
    offer.client_no_context_takeover = true;
    offer.client_max_window_bits = DeflateParameters::kNoValue;
  } else if (our_window(options) < 15) {
    // Our hint binds us (§7.1.2.2); the server's window bounds our decompressor.
    offer.client_max_window_bits = our_window(options);
    offer.server_max_window_bits = our_window(options);
  } else {
    offer.client_max_window_bits = DeflateParameters::kNoValue;
  }
  return {offer};
}

DeflateConfig base_config(const DeflateOptions& options) {
  DeflateConfig c;
  c.shared = options.mode == DeflateOptions::Mode::shared;
  c.mem_level = c.shared ? 8 : options.mem_level;
  c.level = options.level;
  c.min_size = min_size_of(options);
  c.per_connection_stats = !c.shared || options.per_connection_stats;
  return c;
}


// Whether `response` is consistent with `offer` (§7.1.1, §7.1.2); fills `config` if so.
bool matches(const DeflateParameters& offer, const DeflateParameters& response,
             const DeflateOptions& options, DeflateConfig& config, std::string& error) {
  if (offer.server_no_context_takeover && !response.server_no_context_takeover) {
    error = "the server did not confirm server_no_context_takeover";  // §7.1.1.1
    return false;
  }
  if (offer.server_max_window_bits != 0) {
    if (response.server_max_window_bits == 0) {
      error = "the server did not confirm server_max_window_bits";  // §7.1.2.1
      return false;
    }
    if (response.server_max_window_bits > offer.server_max_window_bits) {
      error = "server_max_window_bits=" + std::to_string(response.server_max_window_bits) +
              " is larger than the " + std::to_string(offer.server_max_window_bits) + " offered";
      return false;
    }
  }
  if (response.client_max_window_bits != 0 && offer.client_max_window_bits == 0) {
    error = "client_max_window_bits in the response, but it was not offered";  // §7.1.2.2
    return false;
  }
  int client_window = 15;
  if (response.client_max_window_bits > 0) {
    client_window = response.client_max_window_bits;
  } else if (offer.client_max_window_bits > 0) {
    client_window = offer.client_max_window_bits;  // our hint binds us
  }
  const int send_window = std::min(our_window(options), client_window);
  if (send_window < kMinCompressWindow) {
    error = "the server asked for client_max_window_bits=8, and zlib cannot compress with a "
            "256-byte window";
    return false;
  }
  config = base_config(options);
  config.send_window_bits = send_window;
  config.send_no_context_takeover = config.shared || response.client_no_context_takeover ||
                                    offer.client_no_context_takeover;
  const int server_window = response.server_max_window_bits ? response.server_max_window_bits : 15;
  config.receive_window_bits = std::max(server_window, kMinCompressWindow);
  config.receive_no_context_takeover = response.server_no_context_takeover;
  return true;
}

}  // namespace

std::string to_string(const DeflateParameters& p) {
  std::string out(kPermessageDeflate);
  if (p.server_no_context_takeover) out += "; server_no_context_takeover";
  if (p.client_no_context_takeover) out += "; client_no_context_takeover";
  if (p.server_max_window_bits) out += "; server_max_window_bits=" + std::to_string(p.server_max_window_bits);
  if (p.client_max_window_bits == DeflateParameters::kNoValue) {
    out += "; client_max_window_bits";
  } else if (p.client_max_window_bits) {
    out += "; client_max_window_bits=" + std::to_string(p.client_max_window_bits);
  }
  return out;
}

bool parse_deflate_parameters(const Extension& element, bool is_response, DeflateParameters& out,
                              std::string& error) {
  out = {};
  bool seen[4] = {};
  for (const ExtensionParam& p : element.params) {
    int index;
    if (p.name == kServerNoContextTakeover) index = 0;
    else if (p.name == kClientNoContextTakeover) index = 1;
    else if (p.name == kServerMaxWindowBits) index = 2;
    else if (p.name == kClientMaxWindowBits) index = 3;
    else {
      error = "unknown parameter " + p.name;
      return false;
    }
    if (seen[index]) {
      error = "parameter " + p.name + " given twice";
      return false;
    }
    seen[index] = true;
    if (index < 2) {
      if (p.value) {
        error = p.name + " takes no value";
        return false;
      }
      (index == 0 ? out.server_no_context_takeover : out.client_no_context_takeover) = true;
      continue;
    }
    int& bits = index == 2 ? out.server_max_window_bits : out.client_max_window_bits;
    if (!p.value) {
      // §7.1.2.2: only an offer's client_max_window_bits may come without a value.
      if (index == 3 && !is_response) {
        bits = DeflateParameters::kNoValue;
        continue;
      }
      error = p.name + " needs a value";
      return false;
    }
    if (!parse_window_bits(*p.value, bits)) {
      error = p.name + "=" + *p.value + " is not 8..15";
      return false;
    }
  }
  return true;
}

std::size_t min_size_of(const DeflateOptions& options) {
  if (options.min_size != DeflateOptions::kMinSizeOfMode) return options.min_size;
  return options.mode == DeflateOptions::Mode::shared ? DeflateOptions::kSharedMinSize
                                                      : DeflateOptions::kDedicatedMinSize;
}

bool parse_deflate_mode(std::string_view name, DeflateOptions::Mode& mode) {
  for (auto m : {DeflateOptions::Mode::off, DeflateOptions::Mode::shared, DeflateOptions::Mode::dedicated}) {
    if (name == to_string(m)) {
      mode = m;
      return true;
    }
  }
  return false;
}

const char* to_string(DeflateOptions::Mode mode) {
  switch (mode) {
    case DeflateOptions::Mode::off: return "off";
    case DeflateOptions::Mode::shared: return "shared";
    case DeflateOptions::Mode::dedicated: return "dedicated";
  }
  return "?";
}

bool valid_deflate_options(const DeflateOptions& o, std::string& error) {
  if (!valid_window(o.window_bits)) error = "window_bits must be 8..15";
  else if (o.mem_level < 1 || o.mem_level > 9) error = "mem_level must be 1..9";
  else if (o.level < -1 || o.level > 9) error = "level must be -1..9";
  for (const DeflateParameters& p : o.offers) {
    if (!error.empty()) break;
    if ((p.server_max_window_bits != 0 && !valid_window(p.server_max_window_bits)) ||
        (p.client_max_window_bits > 0 && !valid_window(p.client_max_window_bits)) ||
        p.client_max_window_bits < DeflateParameters::kNoValue) {
      error = "an offer's window bits must be 8..15";
    }
  }
  return error.empty();
}

std::string deflate_offer_header(const DeflateOptions& options) {
  if (options.mode == DeflateOptions::Mode::off) return {};
  std::string out;
  for (const DeflateParameters& offer : offers_for(options)) {
    if (!out.empty()) out += ", ";
    out += to_string(offer);
  }
  return out;
}

std::optional<DeflateConfig> accept_deflate_offer(const std::vector<Extension>& offers,
                                                  const DeflateOptions& options,
                                                  std::string& response) {
  response.clear();
  if (options.mode == DeflateOptions::Mode::off) return std::nullopt;
  for (const Extension& element : offers) {
    if (element.name != kPermessageDeflate) continue;
    DeflateParameters offer;
    std::string error;
    if (!parse_deflate_parameters(element, false, offer, error)) continue;  // §7.1: decline
    const int window = our_window(options);
    int send_window = window;
    if (offer.server_max_window_bits != 0) {
      // zlib cannot keep within 256 bytes: decline, another offer may do.
      if (offer.server_max_window_bits < kMinCompressWindow) continue;
      send_window = std::min(send_window, offer.server_max_window_bits);
    }
    // The client's window: limited to ours when it supports the parameter (§7.1.2.2); a
    // client that does not may use 15 bits.
    int client_window = 15;
    if (offer.client_max_window_bits != 0) {
      client_window = offer.client_max_window_bits > 0 ? std::min(window, offer.client_max_window_bits)
                                                       : window;
    }
    DeflateConfig config = base_config(options);
    DeflateParameters answer;
    // §7.1.1: an offered server_no_context_takeover must be honoured; the shared mode asks
    // for no context takeover both ways (a server may add either, §7.1.1.1, §7.1.1.2).
    answer.server_no_context_takeover = offer.server_no_context_takeover || config.shared;
    answer.client_no_context_takeover = offer.client_no_context_takeover || config.shared;
    if (offer.server_max_window_bits != 0 || send_window < 15) answer.server_max_window_bits = send_window;
    if (offer.client_max_window_bits != 0 && client_window < 15) answer.client_max_window_bits = client_window;
    config.send_window_bits = send_window;
    config.send_no_context_takeover = answer.server_no_context_takeover;
    config.receive_window_bits = std::max(client_window, kMinCompressWindow);
    config.receive_no_context_takeover = answer.client_no_context_takeover;
    response = to_string(answer);
    return config;
  }
  return std::nullopt;
}

std::optional<DeflateConfig> accept_deflate_response(const Extension& response,
                                                     const DeflateOptions& options,
                                                     std::string& error) {
  DeflateParameters answer;
  if (!parse_deflate_parameters(response, true, answer, error)) {
    error = "invalid permessage-deflate response: " + error;
    return std::nullopt;
  }
  std::string first_error;
  for (const DeflateParameters& offer : offers_for(options)) {
    DeflateConfig config;
    std::string why;
    if (matches(offer, answer, options, config, why)) return config;
    if (first_error.empty()) first_error = why;
  }
  error = "permessage-deflate response \"" + to_string(answer) + "\": " + first_error;
  return std::nullopt;
}

}  // namespace wsp
