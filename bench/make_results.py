#!/usr/bin/env python3
"""Writes bench/RESULTS.md from the Google Benchmark JSON of bench/run.sh.

Reads the median (and coefficient of variation) of every benchmark, compares jdc
with the seed's published figures and with the FlatBuffers peer measured in the
same run, and says plainly where jdc loses. Standard library only.

    python3 bench/make_results.py --json bench/results/latest.json \
        --out bench/RESULTS.md --build-dir build-bench --command "..."
"""

import argparse
import datetime
import json
import os
import platform
import subprocess
import sys

SIZES = ["small", "medium", "large"]

# The seed (seed/dispatch-table-caching.md, "Serialization Performance"), in µs.
SEED_SERIALIZE_US = {"small": 50.0, "medium": 200.0, "large": 1000.0}
SEED_DESERIALIZE_US = {"small": 30.0, "medium": 100.0, "large": 500.0}
TARGET = 20.0  # the issue: jdc in memory at least 20x faster than each seed figure

# (label, jdc benchmark, FlatBuffers benchmark, what is compared)
PEER_ROWS = [
    ("load + verify (in memory)", "BM_JdcDeserialize", "BM_FbLoadVerify",
     "jdc: full verify incl. XXH3 + bind; FB: Verifier + GetRoot + fixup"),
    ("load + verify, equal safety", "BM_JdcDeserialize", "BM_FbLoadVerifyChecked",
     "FB also checks every type index and parameter-list length, as jdc's verifier does"),
    ("verify only", "BM_JdcVerifyOnly", "BM_FbVerifyOnly",
     "jdc hashes every byte (XXH3); FlatBuffers has no checksum"),
    ("load from file (read) + bind", "BM_JdcLoadFileRead", "BM_FbLoadFileRead",
     "open + read + verify + fixup"),
    ("first lookup", "BM_JdcFirstLookup", "BM_FbFirstLookup",
     "load + verify + fixup + one lookup, bytes in memory"),
    ("steady lookup", "BM_JdcSteadyLookup", "BM_FbSteadyLookup",
     "per lookup, same tournament algorithm"),
    ("encode", "BM_JdcSerialize", "BM_FbEncode",
     "jdc also validates the table and computes 3 hashes"),
]

DESCRIPTIONS = {
    "BM_JdcSerialize": "build_arena(table, registry): validate, lay out, table hash, XXH3 checksums",
    "BM_JdcDeserialize": "ArenaView::open (full verify incl. XXH3) + BoundArena::bind — the seed's \"deserialize\"",
    "BM_JdcVerifyOnly": "verify_arena(bytes, full) alone",
    "BM_JdcBindOnly": "BoundArena::bind on an open view (type fixup) alone",
    "BM_Xxh3Checksum": "XXH3-64 over the whole arena (lower bound of the data checksum)",
    "BM_JdcLoadFileRead": "LoadedArena::open(path, LoadMode::read) + bind",
    "BM_JdcLoadFileMap": "LoadedArena::open(path, LoadMode::map) + bind",
    "BM_OsReadFile": "open + fstat + read + close of the arena file: the OS floor of a read load",
    "BM_OsMapFile": "open + mmap + touch one page + munmap + close: the OS floor of a mapped load",
    "BM_JdcFirstLookup": "ArenaView::open + bind + one lookup",
    "BM_JdcSteadyLookup": "one BoundArena::lookup (cycling over 256 sampled argument tuples)",
    "BM_FbEncode": "FlatBufferBuilder over the same fields (shared strings, same local type table)",
    "BM_FbVerifyOnly": "flatbuffers::Verifier alone",
    "BM_FbLoadVerify": "Verifier + GetRoot + fixup (types to live ids: writer's id hint, else structural hash; names compared), as BoundArena::bind",
    "BM_FbLoadVerifyChecked": "BM_FbLoadVerify + the index checks jdc's verifier makes",
    "BM_FbLoadFileRead": "open + fstat + read + close + BM_FbLoadVerify",
    "BM_FbFirstLookup": "BM_FbLoadVerify + one lookup",
    "BM_FbSteadyLookup": "one lookup through the FlatBuffers accessors (same algorithm as jdc)",
}

TO_US = {"ns": 1e-3, "us": 1.0, "ms": 1e3, "s": 1e6}


def fmt_time(us):
    if us is None:
        return "—"
    if us < 1.0:
        return f"{us * 1000:.0f} ns"
    if us < 10.0:
        return f"{us:.2f} µs"
    if us < 100.0:
        return f"{us:.1f} µs"
    return f"{us:.0f} µs"


def fmt_ratio(r):
    if r is None:
        return "—"
    return f"{r:.1f}x" if r >= 10 else f"{r:.2f}x"


def load_results(path, metric):
    """Medians and CVs of `metric` ("cpu_time" or "real_time"), in µs, by benchmark name."""
    with open(path, encoding="utf-8") as f:
        data = json.load(f)
    medians, cvs, counters, errors = {}, {}, {}, []
    for b in data.get("benchmarks", []):
        name = b.get("run_name", b["name"])
        if b.get("error_occurred"):
            errors.append(f"{name}: {b.get('error_message', 'error')}")
            continue
        agg = b.get("aggregate_name")
        if agg == "median" or (agg is None and b.get("run_type") == "iteration"):
            medians[name] = b[metric] * TO_US[b.get("time_unit", "ns")]
            counters[name] = {k: b[k] for k in ("bytes", "method", "ambiguous", "no_method", "entries",
                                                "hierarchy_types", "repetitions") if k in b}
        elif agg == "cv":
            cvs[name] = b[metric]  # a fraction (aggregate_unit "percentage")
    return data.get("context", {}), medians, cvs, counters, errors


def cpu_model():
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def compiler_version(build_dir):
    intro = os.path.join(build_dir, "meson-info", "intro-compilers.json") if build_dir else ""
    try:
        with open(intro, encoding="utf-8") as f:
            cpp = json.load(f)["host"]["cpp"]
        return cpp.get("full_version") or f"{cpp['id']} {cpp['version']}"
    except (OSError, KeyError, ValueError):
        pass
    try:
        return subprocess.run(["c++", "--version"], capture_output=True, text=True, check=True).stdout.splitlines()[0]
    except (OSError, subprocess.CalledProcessError, IndexError):
        return "unknown"


def git_revision():
    try:
        rev = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True,
                             check=True).stdout.strip()
        # Tracked files only: the previous RESULTS.md and raw results are not sources.
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no", "--", "src", "include",
                                "tests/support", "bench", ":(exclude)bench/RESULTS.md", "meson.build", "tests/meson.build"],
                               capture_output=True, text=True, check=True).stdout.strip()
        return rev + (" (with uncommitted changes to tracked sources)" if dirty else " (clean)")
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--json", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--build-dir", default="build-bench")
    ap.add_argument("--command", default="")
    ap.add_argument("--load-after", default="", help="the load average when the run ended")
    ap.add_argument("--binary", default="", help="the benchmark binary (its build time is recorded)")
    ap.add_argument("--niceness", type=int, default=None, help="the niceness of the run (default: this process's)")
    args = ap.parse_args()

    context, med, cv, counters, errors = load_results(args.json, "cpu_time")
    _, wall, wall_cv, _, _ = load_results(args.json, "real_time")
    nbytes = {k: int(round(v["bytes"])) for k, v in counters.items() if "bytes" in v}
    if errors:
        print("make_results.py: benchmarks failed:\n  " + "\n  ".join(errors), file=sys.stderr)
        return 1

    def m(bench, size):
        return med.get(f"{bench}/{size}")

    def cell(bench, size):
        v = m(bench, size)
        c = cv.get(f"{bench}/{size}")
        return fmt_time(v) + (f" ±{c * 100:.0f}%" if c is not None and c >= 0.005 else "")

    out = []
    w = out.append
    w("# jdc arena benchmarks")
    w("")
    reps = sorted({int(c["repetitions"]) for c in counters.values() if "repetitions" in c})
    w("Generated by `bench/run.sh` (bench/make_results.py); do not edit by hand. "
      f"Medians of {'/'.join(map(str, reps)) or '?'} repetitions of the benchmark thread's **CPU time** "
      "(user + system, so syscalls count); ±x% is the coefficient of variation across them when ≥ 0.5%. "
      "CPU time rather than wall-clock time because this 2-core machine is shared with other jobs "
      "(see the load averages below): time the thread spends descheduled is not jdc's cost. "
      "On a quiet machine the two agree; wall-clock medians are in the last table.")
    w("")
    w("## Machine and run")
    w("")
    w(f"- date of the run: {context.get('date') or datetime.datetime.now().astimezone().isoformat(timespec='minutes')}")
    w(f"- CPU: {cpu_model()}, nproc = {os.cpu_count()}"
      + (f", {context['mhz_per_cpu']} MHz" if "mhz_per_cpu" in context else ""))
    w(f"- OS: {platform.system()} {platform.release()}")
    w(f"- compiler: {compiler_version(args.build_dir)}; meson buildtype=release (-O3, NDEBUG)")
    w(f"- Google Benchmark library build type: {context.get('library_build_type', 'unknown')} "
      "(Debian's package; it only affects the harness, not the code measured)")
    niceness = args.niceness if args.niceness is not None else os.nice(0)
    if niceness != 0:
        w(f"- scheduling: the run had niceness {niceness} (e.g. `nice -n {niceness} bench/run.sh`), so other "
          "jobs on the machine took the cores only when the benchmark thread did not need one")
    if "load_avg" in context:
        w(f"- load average at start: {', '.join(f'{x:.2f}' for x in context['load_avg'])}"
          + (f"; at the end: {args.load_after}" if args.load_after else ""))
    w(f"- source: git {git_revision()}")
    if args.binary and os.path.exists(args.binary):
        built = datetime.datetime.fromtimestamp(os.path.getmtime(args.binary)).astimezone()
        w(f"- binary built: {built.strftime('%Y-%m-%d %H:%M:%S %Z')}")
    w(f"- command: `{args.command}`" if args.command else "- command: unknown")
    w("")
    shapes = []
    for size in SIZES:
        c = counters.get(f"BM_JdcSerialize/{size}", {})
        if "entries" in c:
            shapes.append(f"{size} = {int(c['entries'])} entries over a hierarchy of {int(c['hierarchy_types'])} types")
    w("Tables: `tests/support/random_model.hpp` (make_random_model, seed 20261124, the seed's size classes), arity 2: "
      + "; ".join(shapes) + ". The seed's classes are ranges (< 10, 10–100, 100+ entries); "
      "the large table is 10x the bottom of its range.")
    w("")
    mix = []
    for size in SIZES:
        c = counters.get(f"BM_JdcSteadyLookup/{size}", {})
        if "method" in c:
            mix.append(f"{size} {int(c['method'])} method / {int(c['ambiguous'])} ambiguous / "
                       f"{int(c['no_method'])} no method")
    if mix:
        w("Lookups cycle over 256 argument tuples drawn uniformly from each hierarchy (fixed seed); outcomes: "
          + "; ".join(mix) + ". An ambiguous call ends the second pass early, so large-table lookups are "
          "mostly one full pass plus a short second one.")
        w("")

    # --- vs the seed -------------------------------------------------------------------
    w("## jdc against the seed's figures (in memory)")
    w("")
    w(f"Ratio = seed / jdc median (\"x faster\"). Target: ≥ {TARGET:.0f}x for every figure.")
    w("")
    w("| size | operation | seed | jdc | x faster | ≥ 20x? |")
    w("|---|---|---:|---:|---:|:---:|")
    misses = []
    for size in SIZES:
        for label, bench, seed in (("serialize", "BM_JdcSerialize", SEED_SERIALIZE_US[size]),
                                   ("deserialize (verify + bind)", "BM_JdcDeserialize", SEED_DESERIALIZE_US[size])):
            ours = m(bench, size)
            ratio = seed / ours if ours else None
            ok = ratio is not None and ratio >= TARGET
            if not ok:
                misses.append(f"{label} {size}: {fmt_ratio(ratio)} (seed {fmt_time(seed)}, jdc {fmt_time(ours)})")
            w(f"| {size} | {label} | {fmt_time(seed)} | {cell(bench, size)} | {fmt_ratio(ratio)} | "
              f"{'yes' if ok else '**no**'} |")
    w("")
    if misses:
        w("**Target missed:** " + "; ".join(misses) + ".")
    else:
        w("Target met for every figure.")
    w("")

    # --- vs FlatBuffers ----------------------------------------------------------------
    w("## jdc against FlatBuffers (same tables, same run)")
    w("")
    w("Ratio = FlatBuffers / jdc: above 1, jdc is faster (or, for bytes, smaller). "
      "**Bold** marks where jdc loses; ~ marks a difference within the run's noise.")
    w("")
    w("| operation | size | jdc | FlatBuffers | FB / jdc |")
    w("|---|---|---:|---:|---:|")
    losses, close_calls = [], []
    for label, jb, fb, _ in PEER_ROWS:
        for size in SIZES:
            j, f = m(jb, size), m(fb, size)
            r = f / j if j and f else None
            lose = r is not None and r < 1.0
            # Within noise: the gap is smaller than the two CVs together.
            noise = cv.get(f"{jb}/{size}", 0.0) + cv.get(f"{fb}/{size}", 0.0)
            close = r is not None and abs(r - 1.0) < noise
            if lose:
                losses.append(f"{label} ({size}): jdc {fmt_time(j)} vs FlatBuffers {fmt_time(f)}")
            if close:
                close_calls.append(f"{label} ({size})")
            rs = fmt_ratio(r) + (" ~" if close else "")
            w(f"| {label} | {size} | {cell(jb, size)} | {cell(fb, size)} | {'**' + rs + '**' if lose else rs} |")
    for size in SIZES:
        j, f = nbytes.get(f"BM_JdcSerialize/{size}"), nbytes.get(f"BM_FbEncode/{size}")
        r = f / j if j and f else None
        lose = r is not None and r < 1.0
        if lose:
            losses.append(f"bytes on disk ({size}): jdc {j} B vs FlatBuffers {f} B")
        rs = fmt_ratio(r)
        w(f"| bytes on disk | {size} | {j} B | {f} B | {'**' + rs + '**' if lose else rs} |")
    w("")
    w("What each row compares:")
    w("")
    for label, _, _, what in PEER_ROWS:
        w(f"- {label}: {what}.")
    w("")
    if losses:
        w("**Where jdc loses:** " + "; ".join(losses) + ".")
    else:
        w("jdc is ahead of FlatBuffers on every row of this run.")
    if close_calls:
        w("")
        w("~ marks a gap smaller than the two coefficients of variation added together: within this run's "
          "noise, so read it as a tie rather than a win or a loss: " + "; ".join(close_calls) + ".")
    w("")

    # --- every median ------------------------------------------------------------------
    w("## Every benchmark (median)")
    w("")
    w("| benchmark | small | medium | large | measures |")
    w("|---|---:|---:|---:|---|")
    # Fixed order (the JSON's is random with --benchmark_enable_random_interleaving).
    seen = [name for name in DESCRIPTIONS if any(k.startswith(name + "/") for k in med)]
    for name in sorted(med):
        base = name.rsplit("/", 1)[0]
        if base not in seen:
            seen.append(base)
    for base in seen:
        w(f"| {base} | " + " | ".join(cell(base, s) for s in SIZES) + f" | {DESCRIPTIONS.get(base, '')} |")
    w("")
    w("Load share of jdc's deserialize (medians; the parts are measured separately, so they need not add up):")
    w("")
    w("| size | deserialize | verify only | of which XXH3 | bind only |")
    w("|---|---:|---:|---:|---:|")
    for size in SIZES:
        w(f"| {size} | {fmt_time(m('BM_JdcDeserialize', size))} | {fmt_time(m('BM_JdcVerifyOnly', size))} | "
          f"{fmt_time(m('BM_Xxh3Checksum', size))} | {fmt_time(m('BM_JdcBindOnly', size))} |")
    w("")
    w("File loads against the operating system's floor (the same syscalls with no verification). "
      "On this machine syscalls are slow (open + close alone is several µs), so they dominate small loads:")
    w("")
    w("| size | jdc load (read) | OS read floor | jdc on top | jdc load (map) | OS map floor | jdc on top |")
    w("|---|---:|---:|---:|---:|---:|---:|")
    for size in SIZES:
        lr, orf, lm, omf = (m("BM_JdcLoadFileRead", size), m("BM_OsReadFile", size),
                            m("BM_JdcLoadFileMap", size), m("BM_OsMapFile", size))
        w(f"| {size} | {fmt_time(lr)} | {fmt_time(orf)} | {fmt_time(lr - orf) if lr and orf else '—'} | "
          f"{fmt_time(lm)} | {fmt_time(omf)} | {fmt_time(lm - omf) if lm and omf else '—'} |")
    w("")
    w("See bench/PROFILE.md for where the time goes inside these figures.")
    w("")
    w("## Wall-clock medians (same run)")
    w("")
    w("| benchmark | small | medium | large |")
    w("|---|---:|---:|---:|")
    for base in seen:
        cells = []
        for size in SIZES:
            v, c = wall.get(f"{base}/{size}"), wall_cv.get(f"{base}/{size}")
            cells.append(fmt_time(v) + (f" ±{c * 100:.0f}%" if c is not None and c >= 0.005 else ""))
        w(f"| {base} | " + " | ".join(cells) + " |")
    w("")
    w("")

    with open(args.out, "w", encoding="utf-8") as f:
        f.write("\n".join(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
