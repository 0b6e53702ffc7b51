#!/usr/bin/env python3
"""The seed's build scenarios with janusc, each against --no-cache (run by bench/scenarios.sh).

For each project size: generate a project, then per run: clean, no change, incremental,
partial, full rebuild (see scenarios.sh). Every cached build is paired with a --no-cache
build of the same sources and the same output-directory state; both write summaries,
which must be byte-identical. Times are wall-clock times of the janusc process; the table
shows medians over the runs. Hit ratios and miss counts come from janusc's JSON report.
"""
import argparse
import datetime
import filecmp
import json
import os
import platform
import re
import resource
import shutil
import statistics
import subprocess
import sys
import time

SIZES = {"small": 100, "medium": 1000, "large": 10000}
# The issue's targets: the top of the seed's ranges.
TARGET_SPEEDUP = {"small": 2.0, "medium": 4.0, "large": 8.0}
SCENARIOS = ["clean", "no change", "comment", "body", "incremental", "partial", "full"]
SEED_RANGE = {"clean": "0%", "no change": "100%", "comment": "-", "body": "-", "incremental": "80-95%", "partial": "60-80%",
              "full": "0-20%"}
# Issue 14's hit-ratio targets: (scenario, sizes, minimum hit ratio); "optimum" means
# the best any correct cache can keep (see optimum() below).
HIT_TARGETS = [("comment", ("small", "medium", "large"), 1.0), ("body", ("small", "medium", "large"), 1.0),
               ("incremental", ("medium", "large"), 0.99), ("partial", ("medium", "large"), 0.80),
               ("partial", ("small", "medium", "large"), "optimum")]
# The cost targets: a cold build through an empty cache at most COLD_LIMIT times a
# --no-cache build; the warm dispatch stage (every table fetched or built) at least
# WARM_DISPATCH_SPEEDUP times faster than --no-cache's at these sizes; a warm small
# build never slower than --no-cache.
COLD_LIMIT = 1.10
WARM_DISPATCH_SPEEDUP = 20.0
WARM_DISPATCH_SIZES = ("medium", "large")


def summary_blocks(out_dir):
    """Each generic function's block of the dispatch summaries, by name, without the
    place of its declaration (not part of its table): what its table determines."""
    blocks = {}
    for root, _, files in os.walk(out_dir):
        for f in files:
            if not f.endswith(".dispatch"):
                continue
            block, name = [], None
            for line in open(os.path.join(root, f)):
                if re.match(r"generic \w+\(", line):
                    if name:
                        blocks[name] = "".join(block)
                    name = line.split("(", 1)[0][len("generic "):]
                    block = [line.rsplit(" at ", 1)[0] + "\n"]
                elif name and line.startswith("  "):
                    block.append(line)
                elif name:
                    blocks[name] = "".join(block)
                    name = None
            if name:
                blocks[name] = "".join(block)
    return blocks


def optimum(before, after):
    """The hit ratio of a cache that rebuilds exactly the tables whose content changed:
    generic functions whose summary block is the same before and after the edit (a
    table's content decides its block), over every generic function after it."""
    return sum(1 for name, block in after.items() if before.get(name) == block) / len(after) if after else 0.0


def die(message):
    print(f"scenarios: {message}", file=sys.stderr)
    sys.exit(1)


class Project:
    """A generated project on disk, and the modules the scenarios edit."""

    def __init__(self, root):
        self.root = root
        self.modules = {}  # name -> path
        imports, types, methods = {}, {}, {}
        for d, _, files in os.walk(root):
            if os.path.relpath(d, root).startswith((".", "janus-out")):
                continue
            for f in files:
                if not f.endswith(".jn"):
                    continue
                path = os.path.join(d, f)
                text = open(path).read()
                name = re.search(r"^module (\S+)", text, re.M).group(1)
                self.modules[name] = path
                imports[name] = re.findall(r"^import (\S+)", text, re.M)
                types[name] = re.findall(r"^type (\w+)", text, re.M)
                methods[name] = len(re.findall(r"^func ", text, re.M))
        importers = {m: set() for m in self.modules}  # transitive
        def closure(m, seen):
            for i in imports[m]:
                if i not in seen:
                    seen.add(i)
                    closure(i, seen)
            return seen
        for m in self.modules:
            for i in closure(m, set()):
                importers[i].add(m)
        # A typical leaf: the median by method count among the modules no module imports.
        leaves = sorted((methods[m], m) for m in self.modules if not importers[m] and methods[m] > 0)
        if not leaves:
            die(f"{root}: no leaf module with methods to edit")
        self.leaf = leaves[len(leaves) // 2][1]
        candidates = [m for m in self.modules if m != "core.base" and types[m]]
        self.core = max(sorted(candidates), key=lambda m: len(importers[m]))
        self.core_type = types[self.core][0]
        self.core_importers = len(importers[self.core])
        self.leaf_methods = methods[self.leaf]


class Edit:
    """Changes one file for a scenario and puts it back."""

    def __init__(self, path, change):
        self.path = path
        self.original = open(path).read()
        changed = change(self.original)
        if changed == self.original:
            die(f"the edit of {path} changed nothing")
        with open(path, "w") as f:
            f.write(changed)

    def undo(self):
        with open(self.path, "w") as f:
            f.write(self.original)


class Bench:
    def __init__(self, args):
        self.args = args
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("JANUS_CACHE_")}
        self.failures = []

    def janusc(self, *argv):
        """Runs janusc; returns its wall-clock and CPU (user + system) seconds."""
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        start = time.perf_counter()
        p = subprocess.run([self.args.janusc, *argv], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=self.env)
        took = time.perf_counter() - start
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        if p.returncode != 0:
            die(f"janusc {' '.join(argv)} failed ({p.returncode}):\n{p.stderr}")
        return took, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)

    def build(self, work, project, cached, flags=()):
        out = os.path.join(work, "out-cached" if cached else "out-uncached")
        report = os.path.join(work, "report.json")
        argv = ["build", project, "--out", out, "--report-json", report, "--jobs", str(self.args.jobs), *flags]
        argv += ["--cache-dir", os.path.join(work, "cache")] if cached else ["--no-cache"]
        took, cpu = self.janusc(*argv)
        with open(report) as f:
            j = json.load(f)
        return took, cpu, j

    def same_output(self, work):
        a, b = os.path.join(work, "out-cached"), os.path.join(work, "out-uncached")
        def walk(d):
            return sorted(os.path.relpath(os.path.join(r, f), d) for r, _, fs in os.walk(d) for f in fs)
        files = walk(a)
        if files != walk(b):
            return False
        match, mismatch, errors = filecmp.cmpfiles(a, b, files, shallow=False)
        return not mismatch and not errors

    def scenario(self, size, work, project, name, results, flags=()):
        cached, cached_cpu, j = self.build(work, project, True, flags)
        uncached, uncached_cpu, ju = self.build(work, project, False, flags)
        session = j["cache"]["session"]
        r = results.setdefault(name, {"cached": [], "uncached": [], "cached_cpu": [], "uncached_cpu": [], "hits": [], "lookups": [],
                                      "misses_by_reason": [], "total_ns": [], "call_sites_ns": [], "call_sites_cpu_ns": [],
                                      "optimum": [], "dispatch_ns": [], "uncached_dispatch_ns": []})
        blocks = summary_blocks(os.path.join(work, "out-uncached"))
        if name == "no change":
            self.blocks_before = blocks
        elif name not in ("clean", "full"):
            r["optimum"].append(optimum(self.blocks_before, blocks))
        compiler = j["janusc"]
        r["total_ns"].append(compiler["total_ns"])
        r["dispatch_ns"].append(compiler["dispatch_ns"])
        r["uncached_dispatch_ns"].append(ju["janusc"]["dispatch_ns"])
        r["call_sites_ns"].append(compiler["call_sites_ns"])
        r["call_sites_cpu_ns"].append(compiler["call_sites_cpu_ns"])
        r["calls"] = {k: compiler[k] for k in ("call_sites", "calls_resolved_statically", "calls_dynamic", "warnings",
                                               "warnings_ambiguous", "warnings_no_method")}
        r["cached"].append(cached)
        r["uncached"].append(uncached)
        r["cached_cpu"].append(cached_cpu)
        r["uncached_cpu"].append(uncached_cpu)
        r["hits"].append(session["hits"])
        r["lookups"].append(session["lookups"])
        r["misses_by_reason"].append(session["misses_by_reason"])
        if not self.same_output(work):
            self.failures.append(f"{size} {name}: summaries differ between the cached and the --no-cache build")
        print(f"  {name:12} cached {cached:8.3f} s   --no-cache {uncached:8.3f} s   hits {session['hits']}/{session['lookups']}", flush=True)
        return session

    def check(self, size, name, ok, what):
        if not ok:
            self.failures.append(f"{size} {name}: {what}")

    def run_size(self, size):
        base = os.path.abspath(os.path.join(self.args.work, size))
        project = os.path.join(base, "project")
        shutil.rmtree(base, ignore_errors=True)
        os.makedirs(base)
        p = subprocess.run([self.args.janusc, "gen", "--size", size, "--seed", str(self.args.seed), project],
                           capture_output=True, text=True, env=self.env)
        if p.returncode != 0:
            die(f"janusc gen failed:\n{p.stderr}")
        shape = p.stdout.splitlines()[0].split(": ", 1)[1].split(" in ")[0]  # then its statistics, one line each
        proj = Project(project)
        print(f"{size}: {shape}; leaf {proj.leaf}, widely imported {proj.core} "
              f"(imported by {proj.core_importers} of {len(proj.modules)} modules)", flush=True)
        results = {}
        for run in range(self.args.runs):
            print(f" run {run + 1}/{self.args.runs}", flush=True)
            # A fresh directory per run, removed only at the end: on ext4, creating files
            # where tens of thousands were just deleted is several times slower (the inode
            # allocator skips recently deleted inodes), which a benchmark that empties its
            # cache every run would otherwise measure instead of the cache.
            work = os.path.join(base, f"run{run + 1}")
            os.makedirs(work)
            s = self.scenario(size, work, project, "clean", results)
            self.check(size, "clean", s["hits"] == 0, f"{s['hits']} hits, want 0")
            s = self.scenario(size, work, project, "no change", results)
            self.check(size, "no change", s["hits"] == s["lookups"], f"{s['hits']} of {s['lookups']} hits, want all")

            # A comment at the end of a leaf module, then a new constant in one of its
            # method bodies (a different one each run, so that no run finds the previous
            # run's edited tables): no table's inputs change.
            edit = Edit(proj.modules[proj.leaf], lambda t: t + f"\n// scenario comment {run + 1}\n")
            s = self.scenario(size, work, project, "comment", results)
            edit.undo()
            self.check(size, "comment", s["hits"] == s["lookups"], f"{s['hits']} of {s['lookups']} hits, want all")
            edit = Edit(proj.modules[proj.leaf], lambda t: t.replace("    return ", f"    return {run + 1} + ", 1))
            s = self.scenario(size, work, project, "body", results)
            edit.undo()
            self.check(size, "body", s["hits"] == s["lookups"], f"{s['hits']} of {s['lookups']} hits, want all")

            # The leaf module's methods change: a line inserted above them moves every one
            # (their places are in their tables); only tables with a method there miss.
            edit = Edit(proj.modules[proj.leaf], lambda t: t.replace("\n", f"\n// moved {run + 1}\n", 1))
            s = self.scenario(size, work, project, "incremental", results)
            edit.undo()
            self.check(size, "incremental", 0 < s["hits"] < s["lookups"], f"{s['hits']} of {s['lookups']} hits")
            self.check(size, "incremental", set(s["misses_by_reason"]) <= {"methods_changed"}, f"miss reasons {s['misses_by_reason']}")

            edit = Edit(proj.modules[proj.core], lambda t: t + f"\ntype ScenarioEdit{run + 1} : {proj.core_type}\n")
            s = self.scenario(size, work, project, "partial", results)
            edit.undo()
            self.check(size, "partial", s["hits"] < s["lookups"], f"{s['hits']} of {s['lookups']} hits")
            # Type changes; "methods_changed" for the tables last stored by the incremental
            # scenario (their methods are back in place: the last record said otherwise).
            self.check(size, "partial", set(s["misses_by_reason"]) <= {"type_changed", "methods_changed"},
                       f"miss reasons {s['misses_by_reason']}")
            # No correct cache keeps more; this one must keep exactly that many.
            best = results["partial"]["optimum"][-1]
            self.check(size, "partial", abs(s["hits"] / s["lookups"] - best) < 1e-9,
                       f"hit ratio {s['hits'] / s['lookups']:.4f}, the optimum is {best:.4f}")

            s = self.scenario(size, work, project, "full", results, flags=("--opt-level", "0"))
            self.check(size, "full", s["hits"] == 0 and set(s["misses_by_reason"]) == {"config_changed"},
                       f"{s['hits']} hits, reasons {s['misses_by_reason']}")
        for run in range(self.args.runs):
            shutil.rmtree(os.path.join(base, f"run{run + 1}"), ignore_errors=True)
        return {"shape": shape, "leaf": proj.leaf, "leaf_methods": proj.leaf_methods, "core": proj.core,
                "core_importers": proj.core_importers, "modules": len(proj.modules), "results": results}


def fmt_time(s):
    return f"{s * 1000:.0f} ms" if s < 10 else f"{s:.1f} s"


def git_revision(top):
    try:
        rev = subprocess.run(["git", "-C", top, "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
        dirty = subprocess.run(["git", "-C", top, "status", "--porcelain", "--untracked-files=no"], capture_output=True, text=True).stdout
        return rev + (" (with uncommitted changes)" if dirty.strip() else "")
    except OSError:
        return "unknown"


def cpu_model():
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def markdown(data, meta):
    lines = [
        "# janusc build scenarios",
        "",
        f"{meta['date']}, revision {meta['revision']}, {meta['cpus']} x {meta['cpu']}, load average "
        f"{meta['load_before']} before and {meta['load_after']} after.",
        f"Command: `{meta['command']}` ({meta['runs']} runs per cell, medians; `--jobs {meta['jobs']}`; janusc from "
        f"`{meta['build_dir']}`, release).",
        "Times are wall-clock times of the whole janusc process (start, parse, check, cache, tables, summaries), each",
        "against a `--no-cache` build of the same sources with the same previous output; targets are judged on them.",
        "The CPU speedup compares user + system CPU time, which other work on the machine disturbs less. Summaries of every",
        "cached build were compared with the `--no-cache` build's: " + ("identical in every scenario." if not meta["failures"]
                                                                       else "see the failures below."),
        "",
        "The dispatch stage is the part of the build that gets every table (from the cache or built); its speedup is",
        "the `--no-cache` build's dispatch stage over the cached build's (janusc's report, medians).",
        "",
        "| project | scenario | hit ratio (seed) | optimum | misses | cached | --no-cache | speedup | CPU speedup | dispatch stage: cached / --no-cache (speedup) | target |",
        "|---|---|---|---:|---|---:|---:|---:|---:|---:|---|",
    ]
    verdicts = []
    for size, d in data.items():
        for name in SCENARIOS:
            r = d["results"].get(name)
            if not r:
                continue
            hits, lookups = statistics.median(r["hits"]), statistics.median(r["lookups"])
            ratio = hits / lookups if lookups else 0.0
            cached, uncached = statistics.median(r["cached"]), statistics.median(r["uncached"])
            speedup = uncached / cached if cached else 0.0
            cpu_cached, cpu_uncached = statistics.median(r["cached_cpu"]), statistics.median(r["uncached_cpu"])
            cpu_speedup = cpu_uncached / cpu_cached if cpu_cached else 0.0
            reasons = {}
            for by_reason in r["misses_by_reason"]:
                for k, v in by_reason.items():
                    reasons[k] = reasons.get(k, 0) + v
            misses = int(lookups - hits)
            reason_text = ", ".join(f"{k}" for k in sorted(reasons)) if reasons else ""
            targets = []

            def judge(ok, what, kind):
                targets.append(f"{'met' if ok else '**missed**'}: {what}")
                verdicts.append((size, name, kind, ok))

            d_cached = statistics.median(r["dispatch_ns"]) if r.get("dispatch_ns") else None
            d_uncached = statistics.median(r["uncached_dispatch_ns"]) if r.get("uncached_dispatch_ns") else None
            d_speedup = d_uncached / d_cached if d_cached and d_uncached else None
            if name in ("no change", "incremental"):
                judge(speedup >= TARGET_SPEEDUP[size], f">= {TARGET_SPEEDUP[size]:.0f}x", "speedup")
            if name == "clean":
                judge(speedup >= 1 / COLD_LIMIT - 1e-9, f"cold <= {COLD_LIMIT:.2f}x --no-cache", "cold cost")
            if name == "no change" and size == "small":
                judge(speedup >= 1.0, "never slower than --no-cache", "warm small")
            if name == "no change" and size in WARM_DISPATCH_SIZES and d_speedup is not None:
                judge(d_speedup >= WARM_DISPATCH_SPEEDUP, f"dispatch stage >= {WARM_DISPATCH_SPEEDUP:.0f}x", "warm dispatch")
            best = statistics.median(r["optimum"]) if r.get("optimum") else None
            for scenario, sizes, want in HIT_TARGETS:
                if scenario != name or size not in sizes:
                    continue
                floor = best if want == "optimum" else want
                ok = floor is not None and ratio >= floor - 1e-9
                what = "the optimum" if want == "optimum" else f">= {want * 100:.0f}% hits"
                judge(ok, what, "hit ratio" if want != "optimum" else "optimum")
            target = "; ".join(targets)
            dispatch_cell = (f"{d_cached / 1e6:.1f} / {d_uncached / 1e6:.1f} ms ({d_speedup:.1f}x)"
                             if d_speedup is not None else "")
            label = f"{size} ({d['shape']})" if name == "clean" else ""
            best_text = f"{best * 100:.1f}%" if best is not None else ""
            lines.append(f"| {label} | {name} | {ratio * 100:.1f}% ({SEED_RANGE[name]}) | {best_text} | {misses}"
                         f"{' (' + reason_text + ')' if reason_text else ''} | {fmt_time(cached)} | {fmt_time(uncached)} | "
                         f"{speedup:.2f}x | {cpu_speedup:.2f}x | {dispatch_cell} | {target} |")
    lines += ["", "Edited modules:"]
    for size, d in data.items():
        lines.append(f"- {size}: comment, body and incremental edit `{d['leaf']}` ({d['leaf_methods']} methods, imported by no "
                     f"module): a comment appended, a method body changed, a line inserted above its methods; partial adds a type "
                     f"to `{d['core']}` (imported, directly or not, by {d['core_importers']} of {d['modules']} modules). The "
                     f"optimum is the share of generic functions whose summary block (what their table determines) the edit "
                     f"left unchanged.")
    lines += ["", "Call sites (every build resolves them over their cones; figures from the cached builds' reports, "
                  "time as the median share of janusc's own total):"]
    for size, d in data.items():
        res = d["results"]
        c = next((res[n]["calls"] for n in SCENARIOS if n in res and "calls" in res[n]), None)
        if c is None:
            continue
        shares = []
        for name in ("clean", "no change"):
            r = res.get(name)
            if r and r["total_ns"]:
                wall = statistics.median(r["call_sites_ns"])
                share = statistics.median(a / t for a, t in zip(r["call_sites_ns"], r["total_ns"]) if t)
                shares.append(f"{fmt_time(wall / 1e9)} wall ({share * 100:.0f}% of the {name} build), "
                              f"{fmt_time(statistics.median(r['call_sites_cpu_ns']) / 1e9)} CPU")
        lines.append(f"- {size}: {c['call_sites']} call sites, {c['calls_resolved_statically']} resolved statically, "
                     f"{c['calls_dynamic']} dynamic; {c['warnings']} warnings ({c['warnings_ambiguous']} can be ambiguous, "
                     f"{c['warnings_no_method']} without a method); resolving: " + "; ".join(shares) + ".")
    missed = [f"{s} {n} ({w})" for s, n, w, ok in verdicts if not ok]
    lines += ["", "Targets missed: " + (", ".join(missed) if missed else "none") + "."]
    if meta["failures"]:
        lines += ["", "Failures:"] + [f"- {f}" for f in meta["failures"]]
    return "\n".join(lines) + "\n"


def user_arguments(argv):
    """The arguments given to scenarios.sh: argv without the ones the wrapper adds."""
    out, skip = [], False
    for a in argv:
        if skip:
            skip = False
        elif a in ("--janusc", "--work", "--build-dir"):
            skip = True
        else:
            out.append(a)
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--janusc", required=True)
    ap.add_argument("--work", required=True)
    ap.add_argument("--build-dir", default="build-bench")
    ap.add_argument("--sizes", default="small,medium,large")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--smoke", action="store_true", help="small only, one run, nothing written under bench/")
    ap.add_argument("--out", default="bench/results")
    args = ap.parse_args()
    if args.smoke:
        args.sizes, args.runs = "small", 1
    sizes = [s for s in args.sizes.split(",") if s]
    for s in sizes:
        if s not in SIZES:
            die(f"unknown size '{s}' (small, medium, large)")
    if args.runs < 1:
        die("--runs must be at least 1")
    top = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    load_before = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    if os.getloadavg()[0] > (os.cpu_count() or 1) / 2:
        print(f"scenarios: warning: load average {load_before} on {os.cpu_count()} cores; times will be noisy", file=sys.stderr)

    bench = Bench(args)
    data = {size: bench.run_size(size) for size in sizes}
    meta = {
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "revision": git_revision(top),
        "cpus": os.cpu_count(),
        "cpu": cpu_model(),
        "load_before": load_before,
        "load_after": ", ".join(f"{x:.2f}" for x in os.getloadavg()),
        "command": " ".join(["bench/scenarios.sh", *user_arguments(sys.argv[1:])]),
        "runs": args.runs,
        "jobs": args.jobs,
        "build_dir": args.build_dir,
        "failures": bench.failures,
    }
    text = markdown(data, meta)
    print()
    print(text)
    if not args.smoke:
        os.makedirs(args.out, exist_ok=True)
        with open(os.path.join(args.out, "scenarios.md"), "w") as f:
            f.write(text)
        with open(os.path.join(args.out, "scenarios.json"), "w") as f:
            json.dump({"meta": meta, "sizes": data}, f, indent=1)
        print(f"scenarios: wrote {args.out}/scenarios.md and scenarios.json")
    if bench.failures:
        die("failures:\n  " + "\n  ".join(bench.failures))


if __name__ == "__main__":
    main()
