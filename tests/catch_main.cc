// Catch2 main for every test binary. Under `bazel test` (XML_OUTPUT_FILE set) results go to
// Bazel's test.xml as JUnit, one <testcase> per TEST_CASE, which .ci/run counts; run by hand,
// the console reporter prints as usual.
#define CATCH_CONFIG_RUNNER
#include <catch2/catch.hpp>

#include <cstdlib>
#include <string>
#include <vector>

int main(int argc, char** argv) {
  std::vector<std::string> args(argv, argv + argc);
  const char* xml = std::getenv("XML_OUTPUT_FILE");
  bool explicit_reporter = false;
  for (const auto& a : args) explicit_reporter |= a == "-r" || a.rfind("--reporter", 0) == 0;
  if (xml && *xml && !explicit_reporter) {
    args.insert(args.end(), {"--reporter", "junit", "--out", xml});
  }
  std::vector<char*> raw;
  for (auto& a : args) raw.push_back(a.data());
  return Catch::Session().run(static_cast<int>(raw.size()), raw.data());
}
