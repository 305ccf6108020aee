// Interop with a real peer: Python's ssl module (/usr/bin/python3, Debian's OpenSSL 3) as a TLS
// echo server for our client, and as a TLS client of our server. Script: python_tls_peer.py.
#include <catch2/catch.hpp>

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <string>
#include <vector>

#include "io/reactor.h"
#include "io/socket_address.h"
#include "io/tcp_listener.h"
#include "io/tcp_stream.h"
#include "tests/stream_testing.h"
#include "tests/tls/test_certs.h"
#include "tls/tls_error.h"
#include "tls/tls_stream.h"

extern char** environ;

using namespace std::chrono_literals;
using io::Reactor;
using io::Task;
using io::TcpListener;
using io::TcpStream;
using tls::TLSOptions;
using tls::TlsStream;
using tls::testing::test_certificates;

namespace {

using testing_support::read_exactly;
using testing_support::run_until;

constexpr const char* kPython = "/usr/bin/python3";
constexpr const char* kScript = "tests/tls/python_tls_peer.py";

// A child process with its stdin and stdout on pipes; killed and reaped on destruction.
class Child {
 public:
  explicit Child(std::vector<std::string> args) {
    int in[2], out[2];
    REQUIRE(pipe2(in, O_CLOEXEC) == 0);
    REQUIRE(pipe2(out, O_CLOEXEC) == 0);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, in[0], 0);
    posix_spawn_file_actions_adddup2(&actions, out[1], 1);
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    int rc = posix_spawn(&pid_, argv[0], &actions, nullptr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    close(in[0]);
    close(out[1]);
    stdin_ = in[1];
    stdout_ = out[0];
    REQUIRE(rc == 0);
  }
  ~Child() {
    if (stdin_ >= 0) close(stdin_);
    if (pid_ > 0 && !exited_) {
      kill(pid_, SIGTERM);
      waitpid(pid_, nullptr, 0);
    }
    close(stdout_);
  }

  // One line of output, waiting at most `timeout`.
  std::string read_line(std::chrono::milliseconds timeout) {
    std::string line;
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (line.empty() || line.back() != '\n') {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          deadline - std::chrono::steady_clock::now());
      pollfd p{stdout_, POLLIN, 0};
      if (left.count() <= 0 || poll(&p, 1, static_cast<int>(left.count())) <= 0) break;
      char c;
      if (read(stdout_, &c, 1) != 1) break;
      line += c;
    }
    if (!line.empty() && line.back() == '\n') line.pop_back();
    return line;
  }

  // The exit status once the process has ended, or -1.
  int poll_exit() {
    if (exited_) return status_;
    int status = 0;
    if (waitpid(pid_, &status, WNOHANG) == pid_) {
      exited_ = true;
      status_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128;
    }
    return exited_ ? status_ : -1;
  }

 private:
  pid_t pid_ = -1;
  int stdin_ = -1;
  int stdout_ = -1;
  bool exited_ = false;
  int status_ = -1;
};

std::string pattern(std::size_t size) {
  std::string s(size, '\0');
  for (std::size_t i = 0; i < size; ++i) s[i] = static_cast<char>(i * 131 + i / 7);
  return s;
}


}  // namespace

TEST_CASE("our TLS client echoes 1 MiB through a Python ssl server and closes cleanly") {
  const auto& certs = test_certificates();
  Child python({kPython, kScript, "server", certs.server.cert_file, certs.server.key_file});
  std::string line = python.read_line(20s);
  REQUIRE(line.rfind("port ", 0) == 0);
  auto port = static_cast<std::uint16_t>(std::stoi(line.substr(5)));

  Reactor reactor;
  const std::string payload = pattern(1 << 20);
  bool written = false;
  auto writer = [&](TlsStream* stream) -> Task<void> {
    iovec v{const_cast<char*>(payload.data()), payload.size()};
    auto w = co_await stream->write_all({&v, 1});
    written = w.ok();
  };
  auto body = [&]() -> Task<void> {
    auto tcp = co_await TcpStream::connect(reactor, *io::SocketAddress::parse("127.0.0.1", port));
    REQUIRE(tcp);
    auto options = TLSOptions::client(tls::X509Certificate::load_from_string(certs.ca.cert));
    std::string error;
    auto stream = co_await TlsStream::connect(std::move(*tcp), "localhost", options, 10s, &error);
    INFO(error);
    REQUIRE(stream);
    CHECK((*stream)->engine().alpn_protocol() == "http/1.1");
    CHECK((*stream)->engine().protocol_version() == "TLSv1.3");
    reactor.spawn(writer(stream->get()));
    std::string echoed = co_await read_exactly(**stream, payload.size());
    CHECK(echoed.size() == payload.size());
    CHECK(echoed == payload);
    auto s = co_await (*stream)->shutdown();
    CHECK(s);
    std::uint8_t buf[16];
    auto n = co_await (*stream)->read_some(buf);  // Python's close_notify
    REQUIRE(n);
    CHECK(*n == 0);
  };
  reactor.sync_wait(body());
  CHECK(written);
}

TEST_CASE("our TLS client refuses a Python ssl server whose certificate is for another name") {
  const auto& certs = test_certificates();
  Child python({kPython, kScript, "server", certs.wrong_name.cert_file, certs.wrong_name.key_file});
  std::string line = python.read_line(20s);
  REQUIRE(line.rfind("port ", 0) == 0);
  auto port = static_cast<std::uint16_t>(std::stoi(line.substr(5)));
  Reactor reactor;
  auto body = [&]() -> Task<std::string> {
    auto tcp = co_await TcpStream::connect(reactor, *io::SocketAddress::parse("127.0.0.1", port));
    REQUIRE(tcp);
    auto options = TLSOptions::client(tls::X509Certificate::load_from_string(certs.ca.cert));
    std::string error;
    auto stream = co_await TlsStream::connect(std::move(*tcp), "localhost", options, 10s, &error);
    CHECK(stream.error() == tls::TlsErrc::hostname_mismatch);
    co_return error;
  };
  CHECK(reactor.sync_wait(body()) ==
        "hostname mismatch: the certificate is not valid for 'localhost'");
}

namespace {

Task<void> serve_one(TcpListener* listener, std::shared_ptr<TLSOptions> options,
                     std::string* failure, bool* clean_close) {
  auto tcp = co_await listener->accept();
  if (!tcp) co_return;
  auto stream = co_await TlsStream::accept(std::move(*tcp), options, 10s, failure);
  if (!stream) co_return;
  std::vector<std::uint8_t> buffer(64 * 1024);
  for (;;) {
    auto n = co_await (*stream)->read_some(buffer);
    if (!n) {
      *failure = (*stream)->error();
      co_return;
    }
    if (*n == 0) {
      *clean_close = true;
      (void)co_await (*stream)->shutdown();
      co_return;
    }
    iovec v{buffer.data(), *n};
    auto w = co_await (*stream)->write_all({&v, 1});
    if (!w) co_return;
  }
}

// Runs the reactor until the Python client exits (30 s at most); its exit status.
int run_until_exit(Reactor& reactor, Child& python) {
  for (int i = 0; i < 3000; ++i) {
    int status = python.poll_exit();
    if (status >= 0) return status;
    reactor.run_once(10ms);
  }
  return -1;
}

}  // namespace

TEST_CASE("a Python ssl client echoes 1 MiB through our TLS server and closes cleanly") {
  const auto& certs = test_certificates();
  Reactor reactor;
  auto listener = TcpListener::bind(reactor, "127.0.0.1", 0);
  REQUIRE(listener);
  auto options = TLSOptions::server(tls::CryptoKey::load_from_string(certs.server.key),
                                    tls::X509Certificate::load_from_string(certs.server.cert));
  std::string failure;
  bool clean_close = false;
  auto id = reactor.spawn(serve_one(&*listener, options, &failure, &clean_close));
  Child python({kPython, kScript, "client", std::to_string(listener->local_port()),
                certs.ca.cert_file, "localhost", std::to_string(1 << 20)});
  int status = run_until_exit(reactor, python);
  std::string line = python.read_line(5s);
  run_until(reactor, [&] { return clean_close || !failure.empty(); });
  reactor.cancel(id);
  CHECK(status == 0);
  CHECK(line == "ok TLSv1.3 http/1.1 match");
  CHECK(failure.empty());
  CHECK(clean_close);
}

TEST_CASE("a Python ssl client that does not trust our certificate is refused and our handshake fails") {
  const auto& certs = test_certificates();
  Reactor reactor;
  auto listener = TcpListener::bind(reactor, "127.0.0.1", 0);
  REQUIRE(listener);
  auto options = TLSOptions::server(tls::CryptoKey::load_from_string(certs.untrusted.key),
                                    tls::X509Certificate::load_from_string(certs.untrusted.cert));
  std::string failure;
  bool clean_close = false;
  auto id = reactor.spawn(serve_one(&*listener, options, &failure, &clean_close));
  Child python({kPython, kScript, "client", std::to_string(listener->local_port()),
                certs.ca.cert_file, "localhost", "16"});
  int status = run_until_exit(reactor, python);
  std::string line = python.read_line(5s);
  run_until(reactor, [&] { return !failure.empty(); });
  reactor.cancel(id);
  CHECK(status == 1);
  CHECK(line.find("CERTIFICATE_VERIFY_FAILED") != std::string::npos);
  // OpenSSL 3's alert for this arrives as a record BoringSSL cannot open, so the reason reads
  // DECRYPTION_FAILED_OR_BAD_RECORD_MAC rather than TLSV1_ALERT_UNKNOWN_CA.
  CHECK(failure.rfind("TLS handshake failed: ", 0) == 0);
}
