#!/usr/bin/env python3
"""Checks Prometheus text exposition (format 0.0.4) read from stdin, for the CLI tests.

Usage: check_prometheus.py [NAME=VALUE | NAME ...]

Every metric family has one HELP and one TYPE line before its samples; names are
valid and start with jdc_; counters end in _total; label sets are well formed, carry
cache="...", and no series appears twice; values are numbers. Each NAME must have a
sample; NAME=VALUE (NAME may include labels, e.g. 'jdc_misses_total{reason="evicted"}'
matched on the series without its cache label) must have that value.
Exits 0 when all holds, 1 otherwise, saying what failed.
"""
import re
import sys

NAME = r"[a-zA-Z_:][a-zA-Z0-9_:]*"
SAMPLE = re.compile(rf"^({NAME})(\{{(.*)\}})? (\S+)$")
LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')
TYPES = {"counter", "gauge", "histogram", "summary", "untyped"}


def main() -> int:
    problems = []
    helps, types, series, values = {}, {}, set(), {}
    for n, line in enumerate(sys.stdin.read().splitlines(), 1):
        if not line:
            continue
        if line.startswith("# HELP ") or line.startswith("# TYPE "):
            parts = line.split(" ", 3)
            if len(parts) < 4 or not re.fullmatch(NAME, parts[2]):
                problems.append(f"line {n}: malformed: {line}")
                continue
            table = helps if parts[1] == "HELP" else types
            if parts[2] in table:
                problems.append(f"line {n}: second {parts[1]} for {parts[2]}")
            table[parts[2]] = parts[3]
            if parts[1] == "TYPE" and parts[3] not in TYPES:
                problems.append(f"line {n}: unknown type {parts[3]}")
            continue
        if line.startswith("#"):
            continue
        m = SAMPLE.match(line)
        if not m:
            problems.append(f"line {n}: not a sample: {line}")
            continue
        name, _, labels, value = m.groups()
        if not name.startswith("jdc_"):
            problems.append(f"line {n}: {name} does not start with jdc_")
        if name not in helps or name not in types:
            problems.append(f"line {n}: {name} has no HELP and TYPE before it")
        elif types[name] == "counter" and not name.endswith("_total"):
            problems.append(f"line {n}: counter {name} does not end in _total")
        pairs = LABEL.findall(labels or "")
        if ",".join(f'{k}="{v}"' for k, v in pairs) != (labels or ""):
            problems.append(f"line {n}: malformed labels {{{labels}}}")
        if "cache" not in dict(pairs):
            problems.append(f"line {n}: no cache label")
        key = (name, tuple(sorted(pairs)))
        if key in series:
            problems.append(f"line {n}: series repeated: {line}")
        series.add(key)
        try:
            number = float(value)
        except ValueError:
            problems.append(f"line {n}: value {value!r} is not a number")
            continue
        others = ",".join(f'{k}="{v}"' for k, v in pairs if k != "cache")
        values[name + (f"{{{others}}}" if others else "")] = number
    for want in sys.argv[1:]:
        name, _, expected = want.rpartition("=") if "=" in want.split("}")[-1] else (want, "", "")
        if name not in values and not any(v.startswith(name + "{") for v in values):
            problems.append(f"no sample of {name}")
        elif expected and values.get(name) != float(expected):
            problems.append(f"{name} is {values.get(name)}, want {expected}")
    if problems:
        print("\n".join(problems[:20]))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
