#!/usr/bin/env bash
# CLI tests of the commands that report on a cache: --version and unknown words,
# jdc ls, jdc stats (--json, --zero, --history, --format prometheus), jdc gc
# --max-size/--older-than, jdc validate --fix's exit code, jdc-compactor --json.
# Outputs, exit codes (0 ok, 1 problem found, 2 usage or I/O error) and the JSON
# schema (tests/support/check_json.py: schema_version 2, snake_case keys).
# Usage: tools_jdc_stats.sh PATH_TO_JDC PATH_TO_JDC_COMPACTOR PATH_TO_JANUSC
set -u
jdc=$(realpath "$1")
compactor=$(realpath "$2")
janusc=$(realpath "$3")
support="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/support"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# shellcheck source=support/cli_expect.sh
source "$support/cli_expect.sh"
unset JANUS_CACHE_DIR JANUS_CACHE_SIZE JANUS_CACHE_MAX_AGE JANUS_CACHE_DISABLE JANUS_CACHE_VERBOSE JANUS_CACHE_COMPACT_THRESHOLD \
  JANUS_CACHE_COMPACTOR JANUS_CACHE_WRITE_THROUGH JANUS_CACHE_REMOTE
# Builds start jdc-compactor (it sits beside jdc) past the threshold: the counts of
# loose files and packs below are the builds' own.
export JANUS_CACHE_COMPACT_THRESHOLD=0

# ---- every program: --version, unknown words named ------------------------------------
expect "jdc --version" 0 "^jdc [0-9]+\.[0-9]+\.[0-9]+$" -- "$jdc" --version
expect "jdc-compactor --version" 0 "^jdc-compactor [0-9]+\.[0-9]+\.[0-9]+$" -- "$compactor" --version
expect "janusc --version" 0 "^janusc [0-9]+\.[0-9]+\.[0-9]+$" -- "$janusc" --version
expect "jdc: an unknown command is named" 2 "unknown command 'bogus' \(commands: verify, inspect," -- "$jdc" bogus
expect "jdc: an unknown flag is named" 2 "--bogus" -- "$jdc" stats --bogus
expect "jdc: an unknown flag before the command is named" 2 "--frob" -- "$jdc" --frob stats
expect "jdc-compactor: an unknown flag is named" 2 "--bogus" -- "$compactor" --bogus
expect "janusc: an unknown command is named" 2 "bogus" -- "$janusc" bogus

# ---- a cache with loose entries ------------------------------------------------------
c="$tmp/cache"
JANUS_CACHE_WRITE_THROUGH=1 "$jdc" demo-build --dir "$c" --functions 12 --types 10 >/dev/null || { echo "FAIL demo-build"; exit 1; }

# ---- ls --------------------------------------------------------------------------------
expect "ls: a header and one line per entry" 0 "^name +methods +size +age +last read +form +origin +key" -- "$jdc" ls --dir "$c"
expect "ls: names come from the arenas" 0 "^fn0 +[0-9]+ +[0-9.]+ (B|KiB) +[0-9]+s +[0-9]+s +(scan|compressed table) +loose +[0-9a-f]{32}$" -- "$jdc" ls --dir "$c"
expect "ls: a total" 0 "^12 entries, " -- "$jdc" ls --dir "$c"
check_json "ls --json: every entry with its fields" \
  'len(j["entries"]) == 12 and all(set(e) >= {"name","key","size_bytes","created_ns","last_access_ns","access_count","form","origin","payload","methods"} for e in j["entries"]) and {e["origin"] for e in j["entries"]} == {"loose"} and {e["form"] for e in j["entries"]} <= {"scan","compressed_table"}' \
  "$jdc" ls --json --dir "$c"
check_json "ls --sort size: largest first" 'all(a["size_bytes"] >= b["size_bytes"] for a, b in zip(j["entries"], j["entries"][1:]))' "$jdc" ls --json --sort size --dir "$c"
check_json "ls --sort name (the default)" '[e["name"] for e in j["entries"]] == sorted(e["name"] for e in j["entries"])' "$jdc" ls --json --dir "$c"
expect "ls: a bad --sort" 2 "--sort" -- "$jdc" ls --sort colour --dir "$c"
expect "ls: no cache there" 2 "no cache directory" -- "$jdc" ls --dir "$tmp/missing"
cp -r "$c" "$tmp/damaged"
victim=$(find "$tmp/damaged/objects" -name '*.jdca' | sort | head -1)
flip_byte "$victim" 300
expect "ls: an unreadable entry is listed with its error, exit 1" 1 "^[0-9a-f]{32}: INVALID \(checksum mismatch" -- "$jdc" ls --dir "$tmp/damaged"
check "ls: ... and changes nothing (inspect, not serve)" test -f "$victim"

# ---- stats --json ---------------------------------------------------------------------
check_json "stats --json: schema_version, snake_case keys" \
  'j["entries"] == 12 and j["loose_entries"] == 12 and j["lifetime"]["misses_by_reason"] == {"never_seen": 12} and "remote" in j["lifetime"] and j["store"]["hits"] >= 12 and j["cache_directory"].endswith("/cache")' \
  "$jdc" stats --json --dir "$c"
check_json "stats --format json is --json" 'j["entries"] == 12' "$jdc" stats --format json --dir "$c"
expect "stats: --json and --format prometheus contradict" 2 "contradict" -- "$jdc" stats --json --format prometheus --dir "$c"
expect "stats: a bad --format" 2 "--format" -- "$jdc" stats --format xml --dir "$c"

# ---- stats --zero -----------------------------------------------------------------------
expect "stats --zero" 0 "statistics zeroed in $c" -- "$jdc" stats --zero --dir "$c"
expect "stats after --zero: store counters at zero" 0 "store counters: +0 hits, 0 misses, 0 evictions" -- "$jdc" stats --dir "$c"
expect "stats after --zero: session totals at zero" 0 "lifetime: +0 lookups, 0 hits, 0 misses" -- "$jdc" stats --dir "$c"
expect "stats after --zero: when" 0 "zeroed: +20[0-9]{2}-" -- "$jdc" stats --dir "$c"
check_json "stats --json after --zero" 'j["zeroed_at_ns"] > 0 and j["lifetime"]["lookups"] == 0 and j["store"]["hits"] == 0 and j["entries"] == 12' \
  "$jdc" stats --json --dir "$c"
check_json "stats --zero --json" 'j["zeroed"] is True' "$jdc" stats --zero --json --dir "$c"
"$jdc" demo-build --dir "$c" --functions 12 --types 10 >/dev/null
expect "stats: counting again after --zero" 0 "lifetime: +24 lookups, 24 hits, 0 misses" -- "$jdc" stats --dir "$c"
expect "stats --zero: no cache there" 2 "no cache directory" -- "$jdc" stats --zero --dir "$tmp/missing"

# ---- stats --format prometheus ------------------------------------------------------
prom() {  # prom NAME CHECKS...: the exposition of cache $c passes check_prometheus.py
  local name=$1 msg
  shift
  if msg=$("$jdc" stats --format prometheus --dir "$c" | python3 "$support/check_prometheus.py" "$@"); then
    echo "ok   $name"; pass=$((pass + 1))
  else echo "FAIL $name: $msg"; fail=$((fail + 1)); fi
}
prom "stats --format prometheus: well formed, HELP and TYPE for every family" \
  jdc_cache_entries jdc_cache_size_bytes jdc_store_hits_total jdc_lookups_total jdc_build_seconds_total jdc_sessions_recorded
prom "prometheus: the numbers" 'jdc_cache_entries{location="loose"}=12' 'jdc_cache_entries{location="packed"}=0' \
  'jdc_hits_total=24' 'jdc_misses_total{reason="never_seen"}=0' 'jdc_cache_max_size_bytes=104857600' 'jdc_last_session_hit_ratio=1'
expect "prometheus: the cache label" 0 "^jdc_cache_size_bytes\{cache=\"$c\"\} [0-9]+$" -- "$jdc" stats --format prometheus --dir "$c"
expect "prometheus takes no --history" 2 "neither --zero nor --history" -- "$jdc" stats --format prometheus --history --dir "$c"

# ---- stats --history: sessions of a real project, one type redefined again and again --
p="$tmp/project"
"$janusc" gen --size small --seed 3 "$p" >/dev/null
"$janusc" build "$p" >/dev/null 2>&1
# A comment or a body edit keeps every table (keys depend on what decides a table), so
# each round gives the type Sound of the leaf module render/view.jn a new definition
# with the same ancestors: the tables whose domains hold it miss, always for it.
edited=render/view.jn
check "the generated project declares Sound : Column" grep -qx 'type Sound : Column' "$p/$edited"
prev="Column"
for def in "Column, Layer" "Column, Vector2" "Column, Layer, Vector2" "Layer, Column"; do
  sed -i "s/^type Sound : $prev\$/type Sound : $def/" "$p/$edited"
  prev=$def
  "$janusc" build "$p" >/dev/null 2>&1
done
"$janusc" build "$p" >/dev/null 2>&1  # nothing changed: all hits
pc="$p/.janus_cache/dispatch_tables"
expect "stats --history: the trend" 0 "sessions: +6 recorded" -- "$jdc" stats --history --dir "$pc"
expect "stats --history: a line per session" 0 "^  20[0-9-]+T[0-9:]+Z +[0-9]+ +[0-9]+ +0 +100.0%" -- "$jdc" stats --history --dir "$pc"
expect "stats --history: misses by reason" 0 "type changed: [0-9]+ \([0-9]+\)" -- "$jdc" stats --history --dir "$pc"
expect "stats --history: what changed" 0 "type changes \(.Sound. changed definition\): [0-9]+ misses in 4 sessions" -- "$jdc" stats --history --dir "$pc"
expect "stats --history: the tables that missed most" 0 "tables that missed most" -- "$jdc" stats --history --dir "$pc"
expect "stats --history: a suggestion reasoned from the changes" 0 "100 % of the misses in the last 6 sessions that a change caused \([0-9]+ of [0-9]+\) come from type changes \(.Sound. changed definition\), changed in 4 of them; each change rebuilt up to [0-9]+ tables" -- \
  "$jdc" stats --history --dir "$pc"
expect "stats --history --sessions 2: only the newest two listed" 0 "the newest 2 below" -- "$jdc" stats --history --sessions 2 --dir "$pc"
check_json "stats --history --json" \
  'len(j["sessions"]) == 6 and j["sessions"][-1]["metrics"]["misses"] == 0 and j["causes"][0]["reason"] == "type_changed" and j["causes"][0]["detail"] == "`Sound` changed definition" and j["causes"][0]["sessions"] == 4 and any(s["id"] == "frequent_change" for s in j["suggestions"]) and j["misses_by_reason"][0]["reason"] in ("never_seen", "type_changed") and j["top_missed_tables"][0]["sessions"] >= 4' \
  "$jdc" stats --history --json --dir "$pc"
"$jdc" init --dir "$tmp/fresh" >/dev/null
expect "stats --history of a cache without sessions" 0 "no build sessions recorded yet" -- "$jdc" stats --history --dir "$tmp/fresh"
expect "stats --history: a bad --sessions" 2 "" -- "$jdc" stats --history --sessions 0 --dir "$pc"
check "the history is one JSON line per session" test "$(wc -l < "$pc/history.jsonl")" -eq 6
check_json "... each a session record" 'j["metrics"]["lookups"] > 0 and "causes" in j and "missed_tables" in j' bash -c "tail -1 '$pc/history.jsonl'"

# ---- gc --max-size / --older-than ----------------------------------------------------
check_json "gc --json: the limits in force" 'j["max_size_bytes"] == 104857600 and j["max_age_seconds"] == 7 * 86400 and j["evicted_by_age"] == 0' \
  "$jdc" gc --json --dir "$c"
check_json "gc --max-size / --older-than override them for the run" 'j["max_size_bytes"] == 1 << 30 and j["max_age_seconds"] == 3600' \
  "$jdc" gc --json --max-size 1G --older-than 1h --dir "$c"
expect "gc --max-size: a bad size names the flag" 2 "--max-size 'lots' is not valid: expected a positive size" -- "$jdc" gc --max-size lots --dir "$c"
expect "gc --older-than: a bad age names the flag" 2 "--older-than 'soon' is not valid: expected a positive duration" -- "$jdc" gc --older-than soon --dir "$c"
# Entries not read for 40 days: the index is rebuilt from the files, whose mtime is the last read.
old="$tmp/old"
cp -r "$c" "$old"
find "$old/objects" -name '*.jdca' -exec touch -d '40 days ago' {} +
rm "$old/index.jdci"
expect "gc --older-than 60d: nothing is that old" 0 "evicted: +0 entries by age \(not read for 60d\)" -- "$jdc" gc --older-than 60d --dir "$old"
expect "gc --older-than 30d: every entry is" 0 "evicted: +12 entries by age \(not read for 30d\)" -- "$jdc" gc --older-than 30d --dir "$old"
expect "gc: the cache is empty after it" 0 "entries: +0 " -- "$jdc" stats --dir "$old"

# ---- validate: exit codes as documented ----------------------------------------------
check_json "validate --json: valid" 'j["valid"] is True and j["problems"] == [] and j["arenas"] == 12' "$jdc" validate --json --dir "$c"
expect "validate: damage found, exit 1" 1 "1 problems" -- "$jdc" validate --dir "$tmp/damaged"
check_json "validate --json: the problem" 'j["valid"] is False and j["problems"][0]["kind"] == "invalid_loose_file" and len(j["problems"][0]["key"]) == 32' \
  "$jdc" validate --json --dir "$tmp/damaged"
cp -r "$tmp/damaged" "$tmp/damaged2"
expect "validate --fix that fixed everything exits 0" 0 "after fixing: all valid" -- "$jdc" validate --fix --dir "$tmp/damaged"
check_json "validate --fix --json" 'j["valid"] is False and j["valid_after_fix"] is True and j["fixed"]["loose_files_removed"] == 1' \
  "$jdc" validate --fix --json --dir "$tmp/damaged2"

# ---- clear, optimize, jdc-compactor: JSON ---------------------------------------------
check_json "optimize --json" 'j["outcome"] == "compacted" and j["entries_packed"] == 12 and isinstance(j["wall_ns"], int)' "$jdc" optimize --json --dir "$c"
check_json "jdc-compactor --once --json: one line per run" 'j["outcome"] == "nothing_to_do"' "$compactor" --once --json --dir "$c"
# On a terminal the progress bar is cleared before the report: no report line starts on the bar's.
check "optimize: the progress bar never shares a line with the report" \
  bash -c "script -qec \"'$jdc' optimize --dir '$tmp/damaged'\" /dev/null | sed 's/\x1b\[K//g' | tr '\r' '\n' | grep -q '^packed: '"
check_json "clear --json" 'j["entries_removed"] == 12 and j["packs_removed"] == 1' "$jdc" clear --json --dir "$c"

expect_summary tools_jdc_stats
