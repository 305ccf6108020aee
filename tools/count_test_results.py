#!/usr/bin/env python3
"""Counts per-test results from Bazel's test.xml files (JUnit: one <testcase> per Catch2
TEST_CASE, or Bazel's own one-case file for other tests). Prints failures with their messages.

usage: count_test_results.py TESTLOGS_DIR SINCE_EPOCH TARGET...
Each target that has no test.xml written since SINCE_EPOCH (did not build, timed out before
writing, or was not run) counts as one failure. Prints "passed failed" on the last line.
"""
import os
import sys
import xml.etree.ElementTree as ET


def main():
    testlogs, since, targets = sys.argv[1], float(sys.argv[2]), sys.argv[3:]
    passed = failed = 0
    for target in targets:
        rel = target.lstrip("/").replace(":", "/")
        path = os.path.join(testlogs, rel, "test.xml")
        if not os.path.exists(path) or os.path.getmtime(path) < since:
            print(f"FAILED {target}: no result (did not build or did not run)")
            failed += 1
            continue
        try:
            root = ET.parse(path).getroot()
        except ET.ParseError as e:
            print(f"FAILED {target}: unreadable test.xml ({e})")
            failed += 1
            continue
        cases = list(root.iter("testcase"))
        if not cases:
            print(f"FAILED {target}: test.xml lists no test case")
            failed += 1
            continue
        for case in cases:
            problems = case.findall("failure") + case.findall("error")
            if problems:
                failed += 1
                name = case.get("name", "?")
                detail = (problems[0].get("message") or problems[0].text or "").strip()
                print(f"FAILED {target}: {name}: {detail[:400]}")
            elif case.find("skipped") is None:
                passed += 1
        # Catch2 reports a crash after the last case only in the suite's error count.
        for suite in root.iter("testsuite"):
            if int(suite.get("errors", "0") or 0) > sum(
                    1 for c in suite.iter("testcase") if c.find("error") is not None):
                failed += 1
                print(f"FAILED {target}: the test binary reported an error outside its cases")
    print(f"{passed} {failed}")


if __name__ == "__main__":
    main()
