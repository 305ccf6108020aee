// Chromium (Debian's `chromium`, headless) against wsp's two example echo servers over ws:// and
// wss://. The page (chromium_page.html) opens the socket, sends text, 256 bytes of binary, 1 MiB
// of binary and 1 MiB of text, checks each echo, closes with 4000 "bye" and reports every check
// with console.log; the test reads Chromium's console from its stderr and compares the lines
// exactly; the same with permessage-deflate negotiated in shared and dedicated modes (Chromium
// always offers it). For wss:// Chromium trusts the test server certificate by its SPKI hash
// (--ignore-certificate-errors-spki-list). Chromium runs in its own process group with a fresh
// profile directory; the group is killed on every path.
#include <catch2/catch.hpp>
#include <openssl/base64.h>
#include <openssl/bio.h>
#include <openssl/pem.h>
#include <openssl/sha.h>
#include <openssl/x509.h>
#include <stdlib.h>

#include <filesystem>
#include <functional>
#include <signal.h>
#include <string>
#include <vector>

#include "tests/interop/child_process.h"
#include "tests/interop/real_peers.h"
#include "tests/tls/test_certs.h"

using namespace std::chrono_literals;
using interop::ChildProcess;
using Lines = std::vector<std::string>;

namespace {

// base64(SHA-256(SubjectPublicKeyInfo)) of a PEM certificate: Chromium's SPKI pin format.
std::string spki_hash(const std::string& pem) {
  bssl::UniquePtr<BIO> bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  bssl::UniquePtr<X509> cert(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
  REQUIRE(cert);
  unsigned char* der = nullptr;
  int length = i2d_X509_PUBKEY(X509_get_X509_PUBKEY(cert.get()), &der);
  REQUIRE(length > 0);
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(der, static_cast<std::size_t>(length), digest);
  OPENSSL_free(der);
  std::string out(64, '\0');
  std::size_t n = EVP_EncodeBlock(reinterpret_cast<uint8_t*>(out.data()), digest, sizeof digest);
  out.resize(n);
  return out;
}

// A fresh directory under $TEST_TMPDIR, removed with the object.
struct TempDir {
  std::string path;
  TempDir() {
    const char* base = std::getenv("TEST_TMPDIR");
    std::string pattern = std::string(base ? base : "/tmp") + "/chromium.XXXXXX";
    REQUIRE(mkdtemp(pattern.data()) != nullptr);
    path = pattern;
  }
  ~TempDir() {
    std::error_code ignored;
    std::filesystem::remove_all(path, ignored);
  }
};

// The message of a console line, e.g. `[..:INFO:CONSOLE:12] "wsp: done", source: file:///...`.
std::optional<std::string> console_message(const std::string& line) {
  auto start = line.find("] \"wsp: ");
  auto end = line.rfind("\", source: ");
  if (line.find(":CONSOLE") == std::string::npos || start == std::string::npos || end == std::string::npos ||
      end < start + 8)
    return std::nullopt;
  return line.substr(start + 8, end - start - 8);
}

// What a page run printed: its report lines (up to "done" or an "error"), and the last lines of
// everything else Chromium said, shown when a check fails (a crash, a certificate or network
// error).
struct PageRun {
  Lines report;
  std::string chromium_log;
};

// Runs the page against `url`. `on_line` (if any) sees each report line as it arrives.
PageRun run_page(const std::string& url, const std::string& spki,
                 const std::function<void(const std::string&)>& on_line = {}) {
  std::string chromium = interop::find_program({"/usr/bin/chromium", "/usr/bin/chromium-browser"});
  INFO("chromium is missing: run tools/setup.sh");
  REQUIRE(!chromium.empty());
  TempDir profile;
  std::string page = "file://" + interop::real_runfile("wsp/tests/interop/chromium_page.html") + "?url=" + url;
  std::vector<std::string> argv{chromium, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                                "--no-first-run", "--disable-background-networking",
                                "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage",
                                "--user-data-dir=" + profile.path, "--enable-logging=stderr", "--v=0"};
  if (!spki.empty()) argv.push_back("--ignore-certificate-errors-spki-list=" + spki);
  argv.push_back(page);
  PageRun run;
  Lines others;
  auto started = interop::Clock::now();
  {
    ChildProcess browser(argv, {.merge_stderr = true, .process_group = true});
    auto deadline = interop::Clock::now() + 60s;
    while (interop::Clock::now() < deadline) {
      auto line = browser.read_line(std::chrono::duration_cast<std::chrono::milliseconds>(
          deadline - interop::Clock::now()));
      if (!line) break;
      auto message = console_message(*line);
      if (!message) {
        others.push_back(*line);
        if (others.size() > 40) others.erase(others.begin());
        continue;
      }
      run.report.push_back(*message);
      if (on_line) on_line(*message);
      if (*message == "done" || message->rfind("error", 0) == 0) break;
    }
  }  // the browser's whole process group is killed here
  auto seconds = std::chrono::duration<double>(interop::Clock::now() - started).count();
  run.chromium_log = "after " + std::to_string(seconds) + " s, Chromium's last other lines:";
  for (const auto& line : others) run.chromium_log += "\n  " + line;
  return run;
}

const Lines kExpected{
    // Chromium offers permessage-deflate; wsp declines it unless the server has --deflate.
    "open extensions=[] protocol=[]",
    "text echoed",
    "binary 256 echoed",
    "binary 1048576 echoed",
    "text 1048576 echoed",
    // The servers echo the close code without the reason (RFC 6455 §5.5.1 allows either).
    "close code=4000 reason=[] clean=true",
    "done",
};

}  // namespace

TEST_CASE("Chromium exchanges text, binary and 1 MiB messages with both wsp servers over ws://, then closes with 4000") {
  const char* server = GENERATE("echo_server", "echo_server_poll");
  INFO(server);
  interop::EchoServerProcess echo(server);
  PageRun run = run_page("ws://127.0.0.1:" + std::to_string(echo.port) + "/", "");
  INFO(run.chromium_log);
  CHECK(run.report == kExpected);
}

TEST_CASE("Chromium exchanges text, binary and 1 MiB messages with both wsp servers over wss://, then closes with 4000") {
  const char* server = GENERATE("echo_server", "echo_server_poll");
  INFO(server);
  const auto& certs = tls::testing::test_certificates();
  interop::EchoServerProcess echo(server, certs.server.cert_file, certs.server.key_file);
  PageRun run = run_page("wss://127.0.0.1:" + std::to_string(echo.port) + "/", spki_hash(certs.server.cert));
  INFO(run.chromium_log);
  CHECK(run.report == kExpected);
}

TEST_CASE("Chromium negotiates permessage-deflate with both wsp servers, shared and dedicated, and every message survives both ways") {
  const char* server = GENERATE("echo_server", "echo_server_poll");
  // The server's flags and the extension Chromium then reports (ws.extensions: the response).
  const auto [flags, extension] = GENERATE(table<std::vector<std::string>, std::string>({
      {{"--deflate", "shared"}, "permessage-deflate; server_no_context_takeover; client_no_context_takeover"},
      {{"--deflate", "dedicated"}, "permessage-deflate"},
      {{"--deflate", "dedicated", "--deflate-window-bits", "9", "--deflate-mem-level", "2"},
       "permessage-deflate; server_max_window_bits=9; client_max_window_bits=9"},
  }));
  std::string command = server;
  for (const std::string& flag : flags) command += " " + flag;
  INFO(command);
  interop::EchoServerProcess echo(server, "", "", flags);
  PageRun run = run_page("ws://127.0.0.1:" + std::to_string(echo.port) + "/", "");
  INFO(run.chromium_log);
  Lines expected = kExpected;
  expected[0] = "open extensions=[" + extension + "] protocol=[]";
  CHECK(run.report == expected);
}

TEST_CASE("Chromium sees the 1001 \"server shutting down\" close of a wsp server stopped with SIGTERM, ws and wss") {
  const char* server = GENERATE("echo_server", "echo_server_poll");
  bool tls = GENERATE(false, true);
  INFO(server << (tls ? " over wss://" : " over ws://"));
  const auto& certs = tls::testing::test_certificates();
  interop::EchoServerProcess echo(server, tls ? certs.server.cert_file : "", tls ? certs.server.key_file : "");
  std::string url = std::string(tls ? "wss" : "ws") + "://127.0.0.1:" + std::to_string(echo.port) + "/&wait=1";
  PageRun run = run_page(url, tls ? spki_hash(certs.server.cert) : "", [&](const std::string& line) {
    if (line == "open") echo.process.signal(SIGTERM);
  });
  INFO(run.chromium_log);
  CHECK(run.report == Lines{"open", "close code=1001 reason=[server shutting down] clean=true", "done"});
  CHECK(echo.process.wait(10s) == std::optional<int>(0));
}
