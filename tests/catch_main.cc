// Catch2 main for every test binary. Under `bazel test` (XML_OUTPUT_FILE set) results go to
// Bazel's test.xml as JUnit, one <testcase> per TEST_CASE, which .ci/run counts; each failed
// assertion is also written to stderr, so test.log (what `--test_output=errors` and CI show)
// says what failed. Run by hand, the console reporter prints as usual.
#define CATCH_CONFIG_RUNNER
#include <catch2/catch.hpp>

#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

namespace {

bool writing_junit = false;

// Writes each failed assertion to stderr (the JUnit reporter keeps them in test.xml only).
struct FailuresToStderr : Catch::TestEventListenerBase {
  using TestEventListenerBase::TestEventListenerBase;

  void testCaseStarting(const Catch::TestCaseInfo& info) override {
    TestEventListenerBase::testCaseStarting(info);
    test_case_ = info.name;
  }

  bool assertionEnded(const Catch::AssertionStats& stats) override {
    const Catch::AssertionResult& result = stats.assertionResult;
    if (!writing_junit || result.isOk()) return true;
    std::string report = "FAILED in \"" + test_case_ + "\" at " + result.getSourceInfo().file + ":" +
                         std::to_string(result.getSourceInfo().line) + "\n";
    if (result.hasExpression())
      report += "  " + result.getExpressionInMacro() + "\n  with expansion: " + result.getExpandedExpression() + "\n";
    if (!result.getMessage().empty()) report += "  " + result.getMessage() + "\n";
    for (const Catch::MessageInfo& info : stats.infoMessages) report += "  with message: " + info.message + "\n";
    std::fputs(report.c_str(), stderr);
    return true;
  }

 private:
  std::string test_case_;
};

}  // namespace

CATCH_REGISTER_LISTENER(FailuresToStderr)

int main(int argc, char** argv) {
  std::vector<std::string> args(argv, argv + argc);
  const char* xml = std::getenv("XML_OUTPUT_FILE");
  bool explicit_reporter = false;
  for (const auto& a : args) explicit_reporter |= a == "-r" || a.rfind("--reporter", 0) == 0;
  if (xml && *xml && !explicit_reporter) {
    args.insert(args.end(), {"--reporter", "junit", "--out", xml});
    writing_junit = true;
  }
  std::vector<char*> raw;
  for (auto& a : args) raw.push_back(a.data());
  return Catch::Session().run(static_cast<int>(raw.size()), raw.data());
}
