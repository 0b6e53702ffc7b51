#!/usr/bin/env python3
"""Tests bench/make_results.py on made-up Google Benchmark results: growth names, the
comparison with the fastest peer, losses collected at the top, a program without a
section, fragments appended, a failed benchmark refused.

    python3 tests/bench_make_results.py [path/to/bench/make_results.py]
"""

import importlib.util
import json
import os
import subprocess
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
SCRIPT = sys.argv.pop(1) if len(sys.argv) > 1 else os.path.join(HERE, "..", "bench", "make_results.py")

spec = importlib.util.spec_from_file_location("make_results", SCRIPT)
mr = importlib.util.module_from_spec(spec)
spec.loader.exec_module(mr)


def row(name, us, **counters):
    """One median aggregate row of Google Benchmark's JSON (time in µs)."""
    r = {"name": name + "_median", "run_name": name, "run_type": "aggregate", "aggregate_name": "median",
         "repetitions": 3, "real_time": us, "cpu_time": us, "time_unit": "us"}
    r.update(counters)
    return r


def cv_row(name, cv):
    return {"name": name + "_cv", "run_name": name, "run_type": "aggregate", "aggregate_name": "cv",
            "aggregate_unit": "percentage", "repetitions": 3, "real_time": cv, "cpu_time": cv, "time_unit": "us"}


def write(dirname, program, rows):
    with open(os.path.join(dirname, program + ".json"), "w", encoding="utf-8") as f:
        json.dump({"context": {"date": "2026-11-25T00:00:00+00:00", "load_avg": [0.1, 0.2, 0.3]}, "benchmarks": rows}, f)
    with open(os.path.join(dirname, program + ".run"), "w", encoding="utf-8") as f:
        f.write(f"command\tbench_{program} --x\nseconds\t7\nload_after\t0.1, 0.2, 0.3\n")


SCALE = [10, 100, 1000, 10000, 100000]


def scaling_rows():
    rows = []
    for n in SCALE:
        rows.append(row(f"BM_JdcSerialize/{n}", n * 0.1, bytes=80 * n, entries=n, hierarchy_types=257))
        rows.append(row(f"BM_JdcDeserialize/{n}", n * 0.01))
        rows.append(row(f"BM_JdcFirstLookup/{n}", n * 0.02))
        rows.append(row(f"BM_JdcSteadyLookup/{n}", n * 0.005, method=1, ambiguous=2, no_method=0))
        for short, slower in (("Fb", 2.0), ("Capnp", 3.0), ("Pb", 0.5)):  # protobuf encodes faster
            rows.append(row(f"BM_{short}Encode/{n}", n * 0.1 * slower, bytes=90 * n))
            rows.append(row(f"BM_{short}LoadVerify/{n}", n * 0.01 * max(slower, 1.5)))
            rows.append(row(f"BM_{short}FirstLookup/{n}", n * 0.02 * max(slower, 1.5)))
            rows.append(row(f"BM_{short}SteadyLookup/{n}", n * 0.005 * max(slower, 1.5)))
    for n in (1000, 100000):
        rows.append(row(f"BM_JdcVerifyOnly/{n}", n * 0.01, bytes=80 * n))
        rows.append(row(f"BM_Xxh3Checksum/{n}", n * 0.005, bytes=80 * n))
        rows.append(row(f"BM_Memcpy/{n}", n * 0.002, bytes=80 * n))
    return rows


def store_rows():
    rows = []
    for n in SCALE:
        rows.append(row(f"BM_PackOpen/{n}", 17.0, bytes=600 * n))
        rows.append(cv_row(f"BM_PackOpen/{n}", 0.02))
        rows.append(row(f"BM_PackFind/{n}", 0.03))
        rows.append(row(f"BM_PackFindVerify/{n}", 0.2 + 0.05 * mr.math.log(n)))
        rows.append(row(f"BM_PackFindMissing/{n}", 0.02))
    return rows


class GrowthNames(unittest.TestCase):
    def test_linear_flat_logarithmic(self):
        self.assertEqual(mr.Growth([(n, 3.0 * n) for n in SCALE]).label, "linear")
        self.assertEqual(mr.Growth([(n, 5.0) for n in SCALE]).label, "flat")
        self.assertEqual(mr.Growth([(n, 1.0 + mr.math.log(n)) for n in SCALE]).label, "logarithmic")
        self.assertEqual(mr.Growth([(n, n ** 1.5) for n in SCALE]).label, "super-linear")

    def test_fixed_cost_hides_linear_growth_only_at_the_bottom(self):
        g = mr.Growth([(n, 100.0 + n) for n in SCALE])  # flat-looking at 10, linear at the top
        self.assertLess(g.b, 0.85)
        self.assertEqual(g.label, "linear")

    def test_noise_makes_a_tie_flat(self):
        self.assertEqual(mr.Growth([(10, 1.0), (100000, 1.5)], noise=0.6).label, "flat")
        self.assertEqual(mr.Growth([(10, 1.0), (100000, 1.5)], noise=0.1).label, "sub-linear")

    def test_fit_exponent(self):
        self.assertAlmostEqual(mr.fit_exponent([(n, 2.0 * n * n) for n in SCALE]), 2.0)


class Report(unittest.TestCase):
    def run_script(self, results, programs, expect_ok=True):
        out = os.path.join(results, "RESULTS.md")
        proc = subprocess.run([sys.executable, SCRIPT, "--results-dir", results, "--programs", *programs, "--out", out,
                               "--build-dir", results, "--invocation", "bench/run.sh (test)"],
                              capture_output=True, text=True)
        self.assertEqual(proc.returncode == 0, expect_ok, proc.stderr)
        if not expect_ok:
            return proc.stderr
        with open(out, encoding="utf-8") as f:
            return f.read()

    def test_sections_losses_generic_program_and_fragments(self):
        with tempfile.TemporaryDirectory() as d:
            write(d, "scaling", scaling_rows())
            write(d, "store", store_rows())
            write(d, "remote", [row("BM_RemoteGet/small", 42.0)])
            with open(os.path.join(d, "scenarios.md"), "w", encoding="utf-8") as f:
                f.write("# janusc scenarios\n\ncold build: 12 s\n")
            text = self.run_script(d, ["scaling", "store", "remote"])
        self.assertIn("## Scaling: cost against the number of entries", text)
        serialize = text.split("### serialize / encode")[1].split("###")[0]
        self.assertRegex(serialize, r"\| jdc \|.*\*\*linear\*\*")
        self.assertIn("**0.50x (protobuf)**", serialize)  # protobuf encodes twice as fast: a loss, in bold
        self.assertRegex(text, r"- serialize / encode at 100,000 entries: jdc 10\.0 ms, protobuf 5\.00 ms")
        steady = text.split("### steady lookup")[1].split("##")[0]
        self.assertIn("1.50x (protobuf)", steady)
        self.assertRegex(text, r"\| MappedPack::open \(\+ close\) \|.*\*\*flat\*\*")
        self.assertRegex(text, r"\| find \+ ArenaView::open \(verify\) \|.*\*\*logarithmic\*\*")
        self.assertIn("Not in this run: seed_section (needs bench_arena)", text)
        self.assertIn("## bench_remote: every benchmark", text)
        self.assertIn("| BM_RemoteGet | 42.0 µs |", text)
        self.assertIn("## janusc scenarios", text)  # a fragment's title, one level down
        self.assertIn("cold build: 12 s", text)
        self.assertIn("- command: `bench/run.sh (test)`", text)

    def test_failed_benchmark_refused(self):
        with tempfile.TemporaryDirectory() as d:
            rows = store_rows()
            rows.append({"name": "BM_PackOpen/7", "run_name": "BM_PackOpen/7", "run_type": "iteration",
                         "error_occurred": True, "error_message": "cannot map", "real_time": 0, "cpu_time": 0,
                         "time_unit": "us"})
            write(d, "store", rows)
            self.assertIn("BM_PackOpen/7: cannot map", self.run_script(d, ["store"], expect_ok=False))

    def test_missing_program_refused(self):
        with tempfile.TemporaryDirectory() as d:
            self.assertIn("no results of bench_arena", self.run_script(d, ["arena"], expect_ok=False))


if __name__ == "__main__":
    unittest.main()
