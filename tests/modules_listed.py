#!/usr/bin/env python3
"""Every Catch2 module in tests/ is in the test program, and nothing else is.

Usage: modules_listed.py TESTS_DIR. tests/meson.build lists the modules
(`test_modules`) that make up jdc_tests and that meson test runs one by one; a file of
test cases left out of that list would be neither compiled nor run, silently. Exits 1
naming each file of test cases that is not listed and each listed name with no such file.
"""
import re
import sys
from pathlib import Path


def main() -> int:
    tests = Path(sys.argv[1])
    build = (tests / "meson.build").read_text()
    block = re.search(r"^test_modules = \[(.*?)^\]", build, re.S | re.M)
    if block is None:
        print("modules_listed: no `test_modules = [...]` list in tests/meson.build")
        return 1
    listed = set(re.findall(r"'([a-z0-9_]+)'", block.group(1)))
    with_cases = {p.stem for p in tests.glob("*.cpp") if re.search(r"^\s*(TEST_CASE|SCENARIO|TEMPLATE_TEST_CASE)\b",
                                                                    p.read_text(), re.M)}
    problems = [f"tests/{name}.cpp has test cases but is not in test_modules (tests/meson.build)"
                for name in sorted(with_cases - listed)]
    problems += [f"'{name}' is in test_modules but tests/{name}.cpp has no test case" for name in sorted(listed - with_cases)]
    for p in problems:
        print("modules_listed:", p)
    if not problems:
        print(f"modules_listed: all {len(listed)} modules of test cases are in the test program")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
