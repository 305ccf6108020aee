// wsp-cat run in shell pipelines against wsp's echo server and faulty_echo_server, on
// 127.0.0.1 with ports from the OS.
#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "tests/ports.h"
#include "tests/tools/tool_process.h"

using namespace tool_test;

namespace {

std::string cat() { return runfile("tools/cat/wsp-cat"); }

}  // namespace

TEST_CASE("echo hi | wsp-cat ws://127.0.0.1:PORT/ prints hi and exits 0") {
  Server server = echo_server();
  Output out = run_shell("echo hi | " + cat() + " " + server.url(), 30s);
  CHECK(out.lines == std::vector<std::string>{"hi"});
  CHECK(out.status == 0);
}

TEST_CASE("wsp-cat sends every stdin line as a message and prints every echo in order") {
  Server server = echo_server();
  Output out = run_shell("seq 1 2000 | " + cat() + " " + server.url() + " | sha1sum; seq 1 2000 | sha1sum", 60s);
  REQUIRE(out.lines.size() == 2);
  CHECK(out.lines[0] == out.lines[1]);
}

TEST_CASE("wsp-cat --binary sends stdin's bytes as binary messages and writes them back as is") {
  Server server = echo_server();
  const std::string data = temp_path("random.bin");
  Output out = run_shell("head -c 300000 /dev/urandom > " + data + " && " + cat() + " --binary " +
                             server.url() + " < " + data + " | cmp - " + data + " && echo same",
                         60s);
  CHECK(out.lines == std::vector<std::string>{"same"});
  CHECK(out.status == 0);
}

TEST_CASE("wsp-cat's exit status comes from the server's close code") {
  {
    Server server = faulty_server({"--close-after", "1", "--close-code", "1008"});
    Output out = run_shell("echo hi | " + cat() + " " + server.url(), 30s);
    CHECK(out.lines == std::vector<std::string>{"hi"});
    CHECK(out.status == 18);  // 10 + 1008 - 1000
  }
  {
    Server server = faulty_server({"--close-after", "1", "--close-code", "4000"});
    Output out = run_shell("echo hi | " + cat() + " " + server.url(), 30s);
    CHECK(out.status == 4);  // an application code
  }
}

TEST_CASE("wsp-cat without a server, with a bad URL or a bad flag says so in one line") {
  testing_support::RefusingPort refusing;
  const std::string url = "ws://127.0.0.1:" + std::to_string(refusing.port()) + "/";
  Output refused = run_shell(cat() + " " + url + " < /dev/null", 30s);
  CHECK(refused.status == 1);
  REQUIRE(refused.lines.size() == 1);
  CHECK_THAT(refused.lines[0], Catch::StartsWith("wsp-cat: cannot connect to " + url + ": ") &&
                                   Catch::Contains("refused"));
  Output bad_url = run({cat(), "http://x/"});
  CHECK(bad_url.status == 2);
  CHECK(bad_url.lines == std::vector<std::string>{"wsp-cat: 'http://x/' is not a ws:// or wss:// URL (see --help)"});
  Output bad_flag = run({cat(), "--bogus"});
  CHECK(bad_flag.status == 2);
  REQUIRE_FALSE(bad_flag.lines.empty());
  CHECK(bad_flag.lines[0] == "wsp-cat: unknown option --bogus");
}

TEST_CASE("wsp-cat -l 0 --once prints what its one client sends and exits by its close code") {
  ChildProcess listener({"/bin/sh", "-c", "exec \"$0\" -l 0 --once 2>&1", cat()});
  const std::string announced = listener.read_line(15s).value_or("(none)");
  const std::string prefix = "wsp-cat: listening on 127.0.0.1:";
  REQUIRE(announced.rfind(prefix, 0) == 0);
  const std::string url = "ws://127.0.0.1:" + announced.substr(prefix.size()) + "/";
  // The server answers nothing: the client waits --wait 0.2 s for replies, then closes (1000).
  Output client = run_shell("printf 'one\\ntwo\\n' | " + cat() + " --wait 0.2 " + url, 30s);
  CHECK(client.status == 0);
  CHECK(listener.read_all(15s) == std::vector<std::string>{"one", "two"});
  CHECK(listener.wait(10s) == std::optional<int>(0));
}
