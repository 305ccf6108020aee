#!/usr/bin/env python3
"""Counts per-test results of one `bazel test` run, from two sources that must agree:

- the test.xml files (JUnit: one <testcase> per Catch2 TEST_CASE, or Bazel's own one-case file
  for other tests): each case passes, fails, or is skipped (its <system-out> holds a line
  starting "WSP_SKIPPED:", written by tests/skip.h, since Catch2 v2 has no skip of its own);
- Bazel's verdict per target, from the run's build event file (--build_event_json_file): a
  target whose cases all passed but which Bazel reports FAILED, TIMEOUT, FLAKY or without a
  status (a leak found by LeakSanitizer at exit, a crash in a static destructor, a hang at exit:
  all after Catch2 wrote test.xml) counts as one more failure.

usage: count_test_results.py BEP_JSON TARGET...
The test.xml files are the ones the build events name for this run (a cached result names its
cached file). A target the run did not test (did not build, was not run) counts as one failure,
and so does an unreadable build event file. Prints "passed failed skipped" on the last line.
"""
import json
import sys
import urllib.parse
import xml.etree.ElementTree as ET

SKIP_MARK = "WSP_SKIPPED:"


def read_events(path):
    """label -> {"status": overall status, "xml": [test.xml paths]} for the tested targets."""
    targets = {}
    with open(path) as f:
        for line in f:
            event = json.loads(line)
            ids = event.get("id", {})
            if "testResult" in ids:
                entry = targets.setdefault(ids["testResult"]["label"], {"status": "NO_STATUS", "xml": []})
                for output in event.get("testResult", {}).get("testActionOutput", []):
                    if output.get("name") == "test.xml":
                        entry["xml"].append(urllib.parse.urlparse(output["uri"]).path)
            if "testSummary" in ids:
                entry = targets.setdefault(ids["testSummary"]["label"], {"status": "NO_STATUS", "xml": []})
                entry["status"] = event.get("testSummary", {}).get("overallStatus", "NO_STATUS")
    return targets


def count_cases(target, path):
    """(passed, failed, skipped) from one test.xml; prints each failure and skip."""
    passed = failed = skipped = 0
    root = ET.parse(path).getroot()
    cases = list(root.iter("testcase"))
    if not cases:
        print(f"FAILED {target}: test.xml lists no test case")
        return 0, 1, 0
    for case in cases:
        name = case.get("name", "?")
        problems = case.findall("failure") + case.findall("error")
        out = "\n".join(o.text or "" for o in case.iter("system-out"))
        skip_lines = [l.strip() for l in out.splitlines() if l.strip().startswith(SKIP_MARK)]
        if problems:
            failed += 1
            # The text holds the expression, its expansion and the INFO messages.
            detail = " | ".join(l.strip() for l in (problems[0].text or problems[0].get("message") or "")
                                .strip().splitlines() if l.strip())
            print(f"FAILED {target}: {name}: {detail[:1500]}")
        elif skip_lines or case.find("skipped") is not None:
            skipped += 1
            why = skip_lines[0][len(SKIP_MARK):].strip() if skip_lines else ""
            print(f"SKIPPED {target}: {name}: {why}")
        else:
            passed += 1
    # Catch2 reports a crash after the last case only in the suite's error count.
    for suite in root.iter("testsuite"):
        if int(suite.get("errors", "0") or 0) > sum(
                1 for c in suite.iter("testcase") if c.find("error") is not None):
            failed += 1
            print(f"FAILED {target}: the test binary reported an error outside its cases")
    return passed, failed, skipped


def main():
    bep, expected = sys.argv[1], sys.argv[2:]
    passed = failed = skipped = 0
    try:
        tested = read_events(bep)
    except (OSError, ValueError) as e:
        print(f"FAILED: cannot read Bazel's build events ({e})")
        print(f"0 1 0")
        return
    for target in expected:
        entry = tested.get(target)
        if entry is None or not entry["xml"]:
            print(f"FAILED {target}: no result (did not build or did not run)")
            failed += 1
            continue
        target_failed = 0
        for path in entry["xml"]:
            try:
                p, f, s = count_cases(target, path)
            except (OSError, ET.ParseError) as e:
                print(f"FAILED {target}: unreadable test.xml ({e})")
                p, f, s = 0, 1, 0
            passed, skipped, target_failed = passed + p, skipped + s, target_failed + f
        if entry["status"] != "PASSED" and target_failed == 0:
            target_failed = 1
            print(f"FAILED {target}: Bazel reports {entry['status']} although every case "
                  f"passed (a failure after the cases: leak at exit, crash, hang; see its test.log)")
        failed += target_failed
    print(f"{passed} {failed} {skipped}")


if __name__ == "__main__":
    main()
