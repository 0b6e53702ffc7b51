#!/usr/bin/env python3
"""Writes bench/RESULTS.md from the Google Benchmark JSON of bench/run.sh.

Reads the median (and coefficient of variation) of every benchmark. For bench_arena:
compares jdc with the seed's published figures and with the FlatBuffers peer measured
in the same run, and says plainly where jdc loses. For bench_store: pack open and
lookups against the pack's size (with the fitted growth), loose loads against the OS
floor, the store's bookkeeping at 1,000 and 100,000 entries, puts single and batched,
and where a manager hit's time goes. Standard library only.

    python3 bench/make_results.py --arena-json bench/results/arena.json \
        --store-json bench/results/store.json --out bench/RESULTS.md --build-dir build-bench \
        --arena-command "..." --store-command "..."
"""

import argparse
import datetime
import json
import math
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
                                                "hierarchy_types", "repetitions", "batch", "entries_after",
                                                "index_slots", "hashed_types") if k in b}
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


# ---------------------------------------------------------------------------------------
# bench_store

STORE_DESCRIPTIONS = {
    "BM_PackOpen": "MappedPack::open + ~MappedPack: open, fstat, mmap, O(1) header check, munmap",
    "BM_PackFind": "MappedPack::find of a present key (locates the arena, no verification)",
    "BM_PackFindVerify": "find + ArenaView::open (full verify incl. XXH3) of the found arena",
    "BM_PackFindMissing": "find of a key the pack does not hold",
    "BM_StoreGet": "LocalStore::get of a loose entry: index lookup + open + read + verify + access record",
    "BM_StoreFind": "LocalStore::find: the index lookup alone",
    "BM_LoadedArenaOpen": "LoadedArena::open of the same files, as get() opens them (automatic mode: read)",
    "BM_OsReadFile": "open + fstat + read + close of the same files: the OS floor",
    "BM_StoreStats": "LocalStore::stats(): the index header's totals and counters",
    "BM_StoreEntries": "LocalStore::entries(): every live slot of the index, copied out",
    "BM_StoreOpen": "LocalStore::open + ~LocalStore of an existing store (maps its index and its pack)",
    "BM_StoreGetPacked": "LocalStore::get of a packed entry: index + pack lookup + verify",
    "BM_StorePut": "LocalStore::put of one ~600 B arena under a new key: verify + stage + lock + rename + index "
                   "(tmp: the store under /tmp; shm: under /dev/shm)",
    "BM_StorePutBatch": "LocalStore::put_batch of `batch` such arenas under new keys (time per batch)",
    "BM_OsPutFloor": "create (O_EXCL) + fallocate + write + close + rename of the same bytes: the OS floor of a put",
    "BM_StoreLock": "ScopedStoreLock acquire + release (fcntl lock + thread mutex): what a batch shares across entries",
    "BM_ManagerHit": "BuildCacheManager::getOrBuildDispatchTable on a hit: key hash + get + bind",
    "BM_ManagerKey": "BuildCacheManager::cache_key alone (name, signature, 4 sources, every type of the hierarchy)",
    "BM_ManagerStoreGet": "LocalStore::get of the same entry alone",
}


PLACE = {"tmp": "/tmp", "shm": "/dev/shm"}


def fs_type(path):
    """The filesystem type of `path`, from /proc/mounts (longest mount point that contains it)."""
    best, kind = "", "?"
    try:
        with open("/proc/mounts", encoding="utf-8") as f:
            for line in f:
                parts = line.split()
                if len(parts) >= 3:
                    mnt = parts[1]
                    if (path == mnt or path.startswith(mnt.rstrip("/") + "/")) and len(mnt) >= len(best):
                        best, kind = mnt, parts[2]
    except OSError:
        pass
    return kind


def fmt_count(n):
    return f"{int(n):,}"


def fit_exponent(points):
    """Least-squares slope b of log t = a + b log n: t grows like n^b (0 flat, 1 linear)."""
    pts = [(math.log(n), math.log(t)) for n, t in points if n and t]
    if len(pts) < 2:
        return None
    mx = sum(x for x, _ in pts) / len(pts)
    my = sum(y for _, y in pts) / len(pts)
    sxx = sum((x - mx) ** 2 for x, _ in pts)
    return sum((x - mx) * (y - my) for x, y in pts) / sxx if sxx else None


def sizes_of(med, bench):
    """The numeric arguments `bench` ran with, ascending, as strings."""
    return sorted({k.rsplit("/", 1)[1] for k in med if k.startswith(bench + "/") and k.rsplit("/", 1)[1].isdigit()}, key=int)


def store_sections(w, st, arena_med):
    med, cv, wall, wall_cv, counters = st["med"], st["cv"], st["wall"], st["wall_cv"], st["counters"]
    pack_sizes, store_sizes = sizes_of(med, "BM_PackOpen"), sizes_of(med, "BM_StoreStats")
    if not pack_sizes or not store_sizes:
        w("## bench_store")
        w("")
        w("**No results of bench_store in this run** (filtered out?).")
        w("")
        return
    p_lo, p_hi, s_lo, s_hi = pack_sizes[0], pack_sizes[-1], store_sizes[0], store_sizes[-1]

    def m(name):
        return med.get(name)

    def c(name):
        return cv.get(name, 0.0)

    def cell(name, scale=1.0):
        v = m(name)
        k = cv.get(name)
        return fmt_time(v / scale if v is not None else None) + (f" ±{k * 100:.0f}%" if k is not None and k >= 0.005 else "")

    def growth(bench, sizes):
        """(exponent, last/first ratio, within noise?) over the sizes present."""
        pts = [(int(s), m(f"{bench}/{s}")) for s in sizes if m(f"{bench}/{s}")]
        if len(pts) < 2:
            return None, None, False
        b = fit_exponent(pts)
        first, last = f"{bench}/{pts[0][0]}", f"{bench}/{pts[-1][0]}"
        ratio = pts[-1][1] / pts[0][1]
        return b, ratio, abs(ratio - 1.0) < c(first) + c(last)

    def growth_cell(bench, sizes):
        b, ratio, tie = growth(bench, sizes)
        if b is None:
            return "—"
        return f"n^{b:.2f} ({fmt_ratio(ratio)}{' ~' if tie else ''})"

    # --- packs ----------------------------------------------------------------------------
    w("## Packs: open and lookup against the number of tables (bench_store)")
    w("")
    shapes, biggest = [], 0
    for s in pack_sizes:
        k = counters.get(f"BM_PackOpen/{s}", {})
        if "bytes" in k:
            biggest = max(biggest, k["bytes"])
            shapes.append(f"{fmt_count(s)} tables = {k['bytes'] / 1e6:.2f} MB" if k["bytes"] >= 1e6
                          else f"{fmt_count(s)} tables = {k['bytes'] / 1e3:.1f} KB")
    w("One pack file per size (build_pack of tiny arenas, 560-640 B each: 64 distinct arenas reused under "
      "different keys), in a temp dir on this machine's ext4 root filesystem: " + "; ".join(shapes) + ". "
      f"Lookups cycle over up to 4,096 keys drawn at random from the pack (fixed seed), so the {fmt_count(p_hi)}-table "
      f"pack's lookups touch pages and cache lines all over a {biggest / 1e6:.0f} MB mapping, as a compiler's would; "
      "missing keys are 4,096 keys in no pack.")
    w("")
    w("Growth: the exponent b of a least-squares fit of t ∝ n^b over the sizes (0 = flat, 1 = linear), "
      f"then the {fmt_count(p_hi)}-table median over the {fmt_count(p_lo)}-table one; ~ marks a ratio within the two "
      "coefficients of variation added together (a tie: no measurable growth).")
    w("")
    w("| operation | " + " | ".join(f"{fmt_count(s)} tables" for s in pack_sizes)
      + f" | growth ({fmt_count(p_hi)} / {fmt_count(p_lo)}) |")
    w("|---|" + "---:|" * len(pack_sizes) + "---|")
    for label, bench in (("MappedPack::open (+ close)", "BM_PackOpen"), ("find, present key", "BM_PackFind"),
                         ("find + ArenaView::open (verify)", "BM_PackFindVerify"),
                         ("find, missing key", "BM_PackFindMissing")):
        w(f"| {label} | " + " | ".join(cell(f"{bench}/{s}") for s in pack_sizes) + f" | {growth_cell(bench, pack_sizes)} |")
    w("")
    b, ratio, tie = growth("BM_PackOpen", pack_sizes)
    if b is not None:
        flat = tie or abs(b) < 0.05
        w(f"**Pack open is {'flat' if flat else 'not flat'}:** fitted growth n^{b:.3f}; opening {fmt_count(p_hi)} tables "
          f"takes {fmt_ratio(ratio)} the time of {fmt_count(p_lo)}"
          + (" (within noise)" if tie else "") + ". "
          + ("Nothing in it is proportional to the number of tables (the mapping is lazy and the header check "
             "O(1)); its time is syscalls (see bench/PROFILE.md)." if flat else
             "Something in it grows with the pack: see bench/PROFILE.md."))
        w("")
    fv = [m(f"BM_PackFindVerify/{s}") for s in pack_sizes]
    f0 = [m(f"BM_PackFind/{s}") for s in pack_sizes]
    if all(fv) and all(f0):
        w(f"A lookup is a find ({fmt_time(f0[0])} to {fmt_time(f0[-1])}) plus the full verification of the "
          f"arena it returns ({fmt_time(fv[0])} to {fmt_time(fv[-1])} together). What growth there is at "
          f"{fmt_count(p_hi)} tables is cache and TLB misses (the sampled keys are spread over the whole mapping, "
          "and a cold ~600 B arena is ten cache lines to fetch before XXH3 can hash them), not probing: the index "
          "is a hash table. A missing key is a probe to the first empty slot, cheapest where the index is "
          "emptiest (see bench/PROFILE.md).")
        w("")

    # --- loose files ------------------------------------------------------------------------
    w("## Loose-file load: LocalStore::get against LoadedArena and the OS floor")
    w("")
    n = "1000"
    get, loaded, floor, find = (m(f"BM_StoreGet/{n}"), m(f"BM_LoadedArenaOpen/{n}"), m(f"BM_OsReadFile/{n}"),
                                m(f"BM_StoreFind/{n}"))
    w("A store of 1,000 loose entries (one ~600 B arena file each, sharded in objects/<2 hex>/); every benchmark "
      "cycles over the same 1,000 files in the same random order.")
    w("")
    w("| operation | median | on top of the row below |")
    w("|---|---:|---:|")
    rows = [("LocalStore::get (index + open + read + verify + access record)", f"BM_StoreGet/{n}", get, loaded),
            ("LoadedArena::open of the same file (open + fstat + read + verify)", f"BM_LoadedArenaOpen/{n}", loaded, floor),
            ("OS floor: open + fstat + read + close", f"BM_OsReadFile/{n}", floor, None),
            ("LocalStore::find (the index lookup alone)", f"BM_StoreFind/{n}", find, None)]
    def diff(v, below, names):
        """v - below, or a tie when the gap is within the two CVs (or negative)."""
        if not (v and below):
            return "—"
        d = v - below
        if d <= 0 or d / below < sum(c(n) for n in names):
            return f"≈ 0 ({'−' if d < 0 else ''}{fmt_time(abs(d))}: within noise)"
        return fmt_time(d)

    below_name = {f"BM_StoreGet/{n}": f"BM_LoadedArenaOpen/{n}", f"BM_LoadedArenaOpen/{n}": f"BM_OsReadFile/{n}"}
    for label, name, v, below in rows:
        w(f"| {label} | {cell(name)} | {diff(v, below, [name, below_name.get(name, name)]) if below else '—'} |")
    w("")
    if get and loaded and floor:
        w(f"Of a {fmt_time(get)} get, {fmt_time(floor)} ({floor / get * 100:.0f}%) is the OS's open + read + close, "
          f"{diff(loaded, floor, [f'BM_LoadedArenaOpen/{n}', f'BM_OsReadFile/{n}'])} is LoadedArena's verification "
          f"and buffer on top of that, and {diff(get, loaded, [f'BM_StoreGet/{n}', f'BM_LoadedArenaOpen/{n}'])} "
          f"({(get - loaded) / get * 100:.0f}%) is the store's own work around the load (the index lookup is "
          f"{fmt_time(find)} of it; the rest is one more syscall and building paths: bench/PROFILE.md).")
        w("")

    # --- bookkeeping ------------------------------------------------------------------------
    w(f"## The store's bookkeeping: stats, entries, open ({fmt_count(s_lo)} and {fmt_count(s_hi)} entries)")
    w("")
    slots = {s: counters.get(f"BM_StoreEntries/{s}", {}).get("index_slots") for s in store_sizes}
    w("Each store holds its entries in one pack (the pack fixture of that size, hard-linked into packs/ and "
      f"indexed with rebuild_index), so building the {fmt_count(s_hi)}-entry store creates two files, not "
      f"{fmt_count(s_hi)}; the index (what stats and entries read) is the same as for loose entries"
      + (": " + " and ".join(fmt_count(slots[s]) for s in store_sizes) + " slots of 64 B" if all(slots.values()) else "")
      + ". Growth as for packs (fitted exponent over the sizes).")
    w("")
    w("| operation | " + " | ".join(f"{fmt_count(s)} entries" for s in store_sizes)
      + f" | growth ({fmt_count(s_hi)} / {fmt_count(s_lo)}) |")
    w("|---|" + "---:|" * len(store_sizes) + "---|")
    for label, bench in (("LocalStore::stats()", "BM_StoreStats"), ("LocalStore::entries()", "BM_StoreEntries"),
                         ("LocalStore::open (+ close)", "BM_StoreOpen"), ("LocalStore::get, packed entry", "BM_StoreGetPacked")):
        w(f"| {label} | " + " | ".join(cell(f"{bench}/{s}") for s in store_sizes) + f" | {growth_cell(bench, store_sizes)} |")
    w("")
    b, ratio, tie = growth("BM_StoreStats", store_sizes)
    if b is not None:
        o1 = tie or abs(b) < 0.05
        w(f"**stats() is {'O(1)' if o1 else 'not O(1)'}:** fitted growth n^{b:.3f} ({fmt_ratio(ratio)} from "
          f"{fmt_count(s_lo)} to {fmt_count(s_hi)} entries{', within noise' if tie else ''})"
          + (": it reads totals and counters from the index header and never scans the index or the directory."
             if o1 else "."))
        w("")
    e1, e2 = m(f"BM_StoreEntries/{s_lo}"), m(f"BM_StoreEntries/{s_hi}")
    if e1 and e2 and all(slots.values()):
        w(f"entries() is linear in the index's slots, as it must be: {e2 * 1000 / slots[s_hi]:.0f} ns per slot "
          f"at {fmt_count(s_hi)} entries ({e1 * 1000 / slots[s_lo]:.0f} ns at {fmt_count(s_lo)}). Callers that only "
          "need totals should use stats().")
        w("")
    b, ratio, tie = growth("BM_StoreOpen", store_sizes)
    if b is not None:
        w(f"LocalStore::open grows n^{b:.2f} ({fmt_ratio(ratio)}{', within noise' if tie else ''}): it maps the "
          "index and the packs and reads neither; its time is syscalls (see bench/PROFILE.md).")
        w("")

    # --- puts -------------------------------------------------------------------------------
    w("## Puts: one at a time against put_batch")
    w("")
    places = [p for p in ("tmp", "shm") if m(f"BM_StorePut/{p}")]
    after = counters.get("BM_StorePutBatch/tmp", {}).get("entries_after")
    w("Every put is of a new key (a cache miss's put), into a store that starts with 1,000 entries and grows"
      + (f" (to about {fmt_count(after)} entries by the end of the run)" if after else "")
      + "; durability no_sync (the store's default), arenas of ~600 B. Nothing is deleted while the puts run. "
      "Two stores: one under /tmp with the other fixtures, and one under /dev/shm, where creating a file is "
      "cheap, so that what jdc adds to the files shows. Per entry: the batch's median over its size.")
    w("")
    w("| operation | " + " | ".join(f"{PLACE[p]} ({fs_type(PLACE[p])})" for p in places) + " |")
    w("|---|" + "---:|" * len(places) + "")
    bsize = {p: counters.get(f"BM_StorePutBatch/{p}", {}).get("batch") for p in places}

    def row(label, fn):
        w(f"| {label} | " + " | ".join(fn(p) for p in places) + " |")

    row("LocalStore::put, one arena", lambda p: cell(f"BM_StorePut/{p}"))
    row("LocalStore::put_batch, per entry", lambda p: (f"{fmt_time(m(f'BM_StorePutBatch/{p}') / bsize[p])} "
                                                        f"(±{c(f'BM_StorePutBatch/{p}') * 100:.0f}%, {fmt_count(bsize[p])} a batch)")
        if bsize[p] and m(f"BM_StorePutBatch/{p}") else "—")
    row("OS floor: create + fallocate + write + close + rename", lambda p: cell(f"BM_OsPutFloor/{p}"))
    row("jdc on top of the floor, lone put", lambda p: fmt_time(m(f"BM_StorePut/{p}") - m(f"BM_OsPutFloor/{p}"))
        if m(f"BM_OsPutFloor/{p}") else "—")
    row("ScopedStoreLock acquire + release (once a call: shared by a batch)", lambda p: cell(f"BM_StoreLock/{p}"))
    if m("BM_StorePut/replace"):
        w(f"| LocalStore::put over an existing entry (--jdc_replace) | {cell('BM_StorePut/replace')} | "
          + " | ".join("—" for _ in places[1:]) + " |")
    w("")
    for p in places:
        single, batch, floor, lock = (m(f"BM_StorePut/{p}"), m(f"BM_StorePutBatch/{p}"), m(f"BM_OsPutFloor/{p}"),
                                      m(f"BM_StoreLock/{p}"))
        if not (single and batch and bsize[p]):
            continue
        per = batch / bsize[p]
        tie = abs(per / single - 1.0) < c(f"BM_StorePut/{p}") + c(f"BM_StorePutBatch/{p}")
        if per < single and not tie:
            verdict = (f"**batching amortises the per-call work:** {fmt_time(per)} per entry against {fmt_time(single)} "
                       f"for a lone put ({fmt_ratio(single / per)} cheaper, {fmt_time(single - per)} saved per entry"
                       + (f"; the lock cycle alone is {fmt_time(lock)}" if lock else "") + ").")
        else:
            verdict = (f"**no measurable gain from batching:** {fmt_time(per)} per entry against {fmt_time(single)} for "
                       "a lone put" + (" (~: within this run's noise, a tie)" if tie else "") + "; the lock it takes "
                       "once instead of per entry" + (f" costs {fmt_time(lock)}," if lock else "")
                       + " too little to show against the files" + (f" (OS floor {fmt_time(floor)} per file)" if floor else "")
                       + ".")
        w(f"- {PLACE[p]}: " + verdict)
    w("")
    w("On /tmp the figures swing with the state of the filesystem (ext4 without a journal skips recently freed inodes "
      "when it allocates one, so file creation slows down after other jobs delete files): compare them with the floor "
      "of the same run, never across runs (bench/PROFILE.md).")
    w("")

    # --- manager ---------------------------------------------------------------------------------
    w("## Build cache manager: getOrBuildDispatchTable on a hit")
    w("")
    w("Tables of bench_arena's size classes (same generator and seed), stored once by a miss; inputs are the "
      "function's name and signature, 4 source files and every type of the hierarchy. The parts are measured "
      "separately (bind is bench_arena's BM_JdcBindOnly), so \"rest\" is what the manager adds around them plus "
      "the noise between separately measured figures; bench/PROFILE.md has the instruction shares of a hit.")
    w("")
    w("| size | hit | key hash | store get | bind | rest (hit − the parts) |")
    w("|---|---:|---:|---:|---:|---:|")
    for size in SIZES:
        hit, key, sget = m(f"BM_ManagerHit/{size}"), m(f"BM_ManagerKey/{size}"), m(f"BM_ManagerStoreGet/{size}")
        bind = arena_med.get(f"BM_JdcBindOnly/{size}")
        rest = hit - key - sget - bind if hit and key and sget and bind else None
        rest_cell = "—" if rest is None else (fmt_time(rest) if rest >= 0 else f"≈ 0 (−{fmt_time(-rest)}: noise)")
        w(f"| {size} | {cell(f'BM_ManagerHit/{size}')} | {cell(f'BM_ManagerKey/{size}')} | "
          f"{cell(f'BM_ManagerStoreGet/{size}')} | {fmt_time(bind)} | {rest_cell} |")
    w("")

    # --- every median -------------------------------------------------------------------------
    w("## Every bench_store benchmark (median CPU time, then wall-clock)")
    w("")
    w("| benchmark | CPU | wall-clock | measures |")
    w("|---|---:|---:|---|")
    order = list(STORE_DESCRIPTIONS)
    def arg_key(arg):
        if arg.isdigit():
            return (0, int(arg), "")
        order = SIZES + list(PLACE)
        return (1, order.index(arg), "") if arg in order else (2, 0, arg)

    names = sorted(med, key=lambda k: (order.index(k.rsplit("/", 1)[0]) if k.rsplit("/", 1)[0] in order else len(order),
                                       arg_key(k.rsplit("/", 1)[-1]), k))
    for name in names:
        base = name.rsplit("/", 1)[0]
        wc = wall_cv.get(name)
        wcell = fmt_time(wall.get(name)) + (f" ±{wc * 100:.0f}%" if wc is not None and wc >= 0.005 else "")
        w(f"| {name} | {cell(name)} | {wcell} | {STORE_DESCRIPTIONS.get(base, '')} |")
    w("")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    for prog in ("arena", "store"):
        ap.add_argument(f"--{prog}-json", required=True, help=f"bench_{prog}'s JSON")
        ap.add_argument(f"--{prog}-command", default="", help=f"the command that ran bench_{prog}")
        ap.add_argument(f"--{prog}-load-after", default="", help=f"the load average when bench_{prog} ended")
        ap.add_argument(f"--{prog}-binary", default="", help=f"bench_{prog} (its build time is recorded)")
    ap.add_argument("--out", required=True)
    ap.add_argument("--build-dir", default="build-bench")
    ap.add_argument("--niceness", type=int, default=None, help="the niceness of the run (default: this process's)")
    args = ap.parse_args()

    context, med, cv, counters, errors = load_results(args.arena_json, "cpu_time")
    _, wall, wall_cv, _, _ = load_results(args.arena_json, "real_time")
    store = {}
    store["context"], store["med"], store["cv"], store["counters"], store_errors = load_results(args.store_json, "cpu_time")
    _, store["wall"], store["wall_cv"], _, _ = load_results(args.store_json, "real_time")
    nbytes = {k: int(round(v["bytes"])) for k, v in counters.items() if "bytes" in v}
    if errors or store_errors:
        print("make_results.py: benchmarks failed:\n  " + "\n  ".join(errors + store_errors), file=sys.stderr)
        return 1

    def m(bench, size):
        return med.get(f"{bench}/{size}")

    def cell(bench, size):
        v = m(bench, size)
        c = cv.get(f"{bench}/{size}")
        return fmt_time(v) + (f" ±{c * 100:.0f}%" if c is not None and c >= 0.005 else "")

    out = []
    w = out.append
    w("# jdc benchmarks")
    w("")
    reps = sorted({int(c["repetitions"]) for cs in (counters, store["counters"]) for c in cs.values() if "repetitions" in c})
    w("Generated by `bench/run.sh` (bench/make_results.py); do not edit by hand. "
      f"Medians of {'/'.join(map(str, reps)) or '?'} repetitions of the benchmark thread's **CPU time** "
      "(user + system, so syscalls count); ±x% is the coefficient of variation across them when ≥ 0.5%. "
      "CPU time rather than wall-clock time because this 2-core machine is shared with other jobs "
      "(see the load averages below): time the thread spends descheduled is not jdc's cost. "
      "On a quiet machine the two agree; wall-clock medians are in the last table of each program. "
      "Two programs, run one after the other: bench_arena (arenas against the seed and FlatBuffers; "
      "the first sections) and bench_store (packs, the loose-file store, puts and the build cache "
      "manager; from \"Packs\" on).")
    w("")
    w("## Machine and run")
    w("")
    w(f"- date of the run: {context.get('date') or datetime.datetime.now().astimezone().isoformat(timespec='minutes')}"
      + (f" (bench_arena), {store['context']['date']} (bench_store)" if store["context"].get("date") else ""))
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
    for prog, ctx in (("arena", context), ("store", store["context"])):
        if "load_avg" in ctx:
            after = getattr(args, f"{prog}_load_after")
            w(f"- load average at the start of bench_{prog}: {', '.join(f'{x:.2f}' for x in ctx['load_avg'])}"
              + (f"; at its end: {after}" if after else ""))
    w(f"- source: git {git_revision()}")
    for prog in ("arena", "store"):
        binary = getattr(args, f"{prog}_binary")
        if binary and os.path.exists(binary):
            built = datetime.datetime.fromtimestamp(os.path.getmtime(binary)).astimezone()
            w(f"- bench_{prog} built: {built.strftime('%Y-%m-%d %H:%M:%S %Z')}")
    for prog in ("arena", "store"):
        command = getattr(args, f"{prog}_command")
        w(f"- command: `{command}`" if command else f"- command of bench_{prog}: unknown")
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
    store_sections(w, store, med)
    w("")

    with open(args.out, "w", encoding="utf-8") as f:
        f.write("\n".join(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
