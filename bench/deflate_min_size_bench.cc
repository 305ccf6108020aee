// What permessage-deflate costs and saves on small chat-like messages, sans-IO, to choose
// DeflateOptions::min_size: for each size, the CPU time to compress a message and to inflate
// it (both ends of one hop: the sender's PerMessageDeflate and the receiver's), and the bytes
// it saves on the wire, in the shared mode (no context takeover: each message on its own, the
// mode for many small-message connections) and the dedicated one (context kept: later messages
// refer back to earlier ones). CPU from CLOCK_THREAD_CPUTIME_ID, so another process on the
// core does not count; each figure is the median of --rounds.
//
//   bazel run --config=opt //bench:deflate_min_size_bench -- [--messages 20000] [--rounds 5]
//       [--level -1]
#include <time.h>

#include <algorithm>
#include <cstdio>
#include <random>
#include <string>
#include <vector>

#include "tools/flags/flags.h"
#include "wsp/protocol/permessage_deflate.h"

namespace {

double thread_cpu_ns() {
  timespec t;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
  return static_cast<double>(t.tv_sec) * 1e9 + static_cast<double>(t.tv_nsec);
}

// Chat lines: short English sentences from common words, as people type them.
std::string chat_line(std::mt19937& rng, std::size_t size) {
  static const char* words[] = {
      "hey", "hi", "ok", "yes", "no", "I", "you", "we", "they", "the", "a", "to", "is", "are",
      "it", "that", "this", "and", "but", "so", "what", "when", "where", "how", "think",
      "know", "see", "meeting", "today", "tomorrow", "later", "now", "lunch", "call", "send",
      "file", "link", "thanks", "great", "sure", "maybe", "sounds", "good", "can", "will",
      "just", "there", "here", "with", "for", "on", "in", "at", "about", "team", "update",
      "review", "done", "soon", "back", "lol", "haha", "morning", "night", "weekend"};
  static const char* ends[] = {".", "?", "!", " :)", ","};
  std::string s;
  bool capital = true;
  while (s.size() < size) {
    std::string w = words[rng() % (sizeof words / sizeof *words)];
    if (capital) w[0] = static_cast<char>(std::toupper(static_cast<unsigned char>(w[0])));
    capital = false;
    s += w;
    if (rng() % 6 == 0) {
      const char* end = ends[rng() % 5];
      s += end;
      capital = end[0] != ',';
    }
    s += ' ';
  }
  s.resize(size);
  return s;
}

// The same lines in a chat application's JSON event, as most WebSocket chats send them.
std::string chat_event(std::mt19937& rng, std::size_t size) {
  static const char* users[] = {"alice", "bob", "carol", "dave", "erin", "frank"};
  static const char* rooms[] = {"general", "random", "dev", "support"};
  std::string s = "{\"type\":\"message\",\"room\":\"" + std::string(rooms[rng() % 4]) +
                  "\",\"user\":\"" + users[rng() % 6] + "\",\"id\":" + std::to_string(rng() % 1000000) +
                  ",\"text\":\"";
  const std::size_t tail = 2;
  if (s.size() + tail < size) s += chat_line(rng, size - s.size() - tail);
  s += "\"}";
  s.resize(size);
  return s;
}

struct Figures {
  double compress_us = 0, inflate_us = 0;
  double wire_bytes = 0;  // mean payload on the wire (uncompressed when it did not shrink)
  double compressed_share = 0;  // messages that went compressed
};

Figures measure(const std::vector<std::string>& messages, bool shared, int level) {
  wsp::DeflateConfig config;
  config.shared = shared;
  config.send_no_context_takeover = config.receive_no_context_takeover = shared;
  config.level = level;
  config.min_size = 0;
  wsp::SharedDeflateStreams streams;
  wsp::PerMessageDeflate sender(config, &streams), receiver(config, &streams);
  std::vector<std::string> wire(messages.size());
  std::vector<bool> compressed(messages.size());
  const double t0 = thread_cpu_ns();
  for (std::size_t i = 0; i < messages.size(); ++i) {
    const auto* data = reinterpret_cast<const std::uint8_t*>(messages[i].data());
    compressed[i] = sender.compress(data, messages[i].size(), wire[i]);
  }
  const double t1 = thread_cpu_ns();
  std::string out;
  std::size_t wire_total = 0, compressed_count = 0;
  double inflate_ns = 0;
  for (std::size_t i = 0; i < messages.size(); ++i) {
    if (!compressed[i]) {
      wire_total += messages[i].size();
      continue;
    }
    ++compressed_count;
    wire_total += wire[i].size();
    const double a = thread_cpu_ns();
    const auto result = receiver.inflate(wire[i], out, 0);
    inflate_ns += thread_cpu_ns() - a;
    if (result != wsp::PerMessageDeflate::InflateResult::ok || out != messages[i]) {
      std::fprintf(stderr, "message %zu did not round-trip\n", i);
      std::exit(1);
    }
  }
  Figures f;
  f.compress_us = (t1 - t0) / 1e3 / static_cast<double>(messages.size());
  f.inflate_us = compressed_count ? inflate_ns / 1e3 / static_cast<double>(compressed_count) : 0;
  f.wire_bytes = static_cast<double>(wire_total) / static_cast<double>(messages.size());
  f.compressed_share = static_cast<double>(compressed_count) / static_cast<double>(messages.size());
  return f;
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

}  // namespace

int main(int argc, char** argv) {
  int count = 20000, rounds = 5, level = -1;
  flags::Flags f("deflate_min_size_bench",
                 "permessage-deflate's cost and saving on small chat-like messages (sans-IO)");
  f.add("--messages", &count, 100, 10000000, "messages per size, corpus and mode (20000)");
  f.add("--rounds", &rounds, 1, 101, "repetitions; figures are medians (5)");
  f.add("--level", &level, -1, 9, "zlib level, -1 for zlib's default 6 (-1)");
  f.parse(argc, argv);

  std::printf("zlib level %d, %d messages per row, median of %d rounds; CPU per message (us) "
              "of compressing it and of inflating it, bytes on the wire\n",
              level, count, rounds);
  std::printf("%-6s %-6s %-10s %11s %10s %10s %10s %10s %11s %14s\n", "corpus", "size", "mode",
              "compressed", "deflate", "inflate", "both", "wire B", "saved B", "saved B/us");
  for (const char* corpus : {"lines", "json"}) {
    for (std::size_t size : {32, 64, 96, 128, 192, 256, 384, 512, 1024}) {
      std::mt19937 rng(static_cast<unsigned>(size));
      std::vector<std::string> messages;
      for (int i = 0; i < count; ++i)
        messages.push_back(corpus[0] == 'l' ? chat_line(rng, size) : chat_event(rng, size));
      for (bool shared : {true, false}) {
        std::vector<double> c, in, w, share;
        for (int r = 0; r < rounds; ++r) {
          const Figures fig = measure(messages, shared, level);
          c.push_back(fig.compress_us);
          in.push_back(fig.inflate_us);
          w.push_back(fig.wire_bytes);
          share.push_back(fig.compressed_share);
        }
        const double both = median(c) + median(in) * median(share);
        const double saved = static_cast<double>(size) - median(w);
        std::printf("%-6s %-6zu %-10s %10.0f%% %10.2f %10.2f %10.2f %10.1f %11.1f %14.1f\n", corpus,
                    size, shared ? "shared" : "dedicated", 100 * median(share), median(c), median(in),
                    both, median(w), saved, both > 0 ? saved / both : 0.0);
      }
    }
  }
  return 0;
}
