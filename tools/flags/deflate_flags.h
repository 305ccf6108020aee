// The permessage-deflate flags (RFC 7692) every program takes alike: the echo, chat and demo
// examples and wsp-load.
#pragma once

#include <string>
#include <string_view>

#include "tools/flags/flags.h"
#include "wsp/protocol/deflate_negotiation.h"

namespace flags {

// --deflate off|shared|dedicated and its numbers, read into `d`.
inline void add_deflate_flags(Flags& f, wsp::DeflateOptions& d) {
  f.add("--deflate", "off|shared|dedicated",
        [&d](std::string_view v) {
          return wsp::parse_deflate_mode(v, d.mode) ? std::string() : std::string("off, shared or dedicated");
        },
        "permessage-deflate (default off)");
  f.add("--deflate-window-bits", &d.window_bits, 8, 15, "dedicated: LZ77 window bits (default 15)");
  f.add("--deflate-mem-level", &d.mem_level, 1, 9, "zlib memLevel (default 8)");
  f.add("--deflate-level", &d.level, -1, 9, "zlib compression level, -1 for zlib's default (default -1)");
  f.add("--deflate-min-size", &d.min_size, std::size_t{0}, std::size_t{1} << 30,
        "messages under this many bytes are sent uncompressed (default 256 shared, 64 dedicated)");
  f.add("--deflate-connection-stats", &d.per_connection_stats,
        "shared: count per connection what it compressed and inflated (default 1; 0 spares each "
        "connection about 100 bytes after its first compressed message)");
}

}  // namespace flags
