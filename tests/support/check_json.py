#!/usr/bin/env python3
"""Checks a jdc JSON document read from stdin, for the CLI tests.

Usage: check_json.py [--lines] EXPR

Every document must be an object with "schema_version": 2 whose keys, at every depth,
are snake_case. EXPR, a Python expression over the document `j`, must then be true.
--lines: stdin holds one document per line (JSON Lines); `j` is the last one.
Exits 0 when all holds, 1 otherwise, saying what failed.
"""
import json
import re
import sys

SNAKE = re.compile(r"^[a-z][a-z0-9_]*$")


def bad_keys(value, path="$"):
    if isinstance(value, dict):
        for key, item in value.items():
            if not SNAKE.match(key):
                yield f"{path}: key {key!r} is not snake_case"
            yield from bad_keys(item, f"{path}.{key}")
    elif isinstance(value, list):
        for i, item in enumerate(value):
            yield from bad_keys(item, f"{path}[{i}]")


def main() -> int:
    args = sys.argv[1:]
    lines = args[:1] == ["--lines"]
    if lines:
        args = args[1:]
    expr = args[0] if args else "True"
    text = sys.stdin.read()
    try:
        docs = [json.loads(l) for l in text.splitlines() if l.strip()] if lines else [json.loads(text)]
    except json.JSONDecodeError as e:
        print(f"not JSON: {e}: {text[:200]!r}")
        return 1
    if not docs:
        print("no document")
        return 1
    for j in docs:
        if not isinstance(j, dict) or j.get("schema_version") != 2:
            print(f"no schema_version 2: {str(j)[:200]}")
            return 1
        problems = list(bad_keys(j))
        if problems:
            print("\n".join(problems[:10]))
            return 1
    j = docs[-1]
    try:
        ok = eval(expr, {"j": j, "docs": docs})
    except Exception as e:  # the expression itself failed: a missing key, a wrong type
        print(f"{expr}: {type(e).__name__}: {e}")
        return 1
    if not ok:
        print(f"false: {expr}\ndocument: {json.dumps(j)[:600]}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
