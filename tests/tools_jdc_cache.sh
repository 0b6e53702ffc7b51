#!/usr/bin/env bash
# CLI tests of the jdc cache subcommands (clear, stats, validate, optimize, gc, inspect
# KEY, explain) and of jdc-compactor: outputs and exit codes (0 ok, 1 problem found,
# 2 usage or I/O error).
# Usage: tools_jdc_cache.sh PATH_TO_JDC PATH_TO_JDC_COMPACTOR
set -u
jdc=$1
compactor=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
chmod 755 "$tmp"  # so that uid 65534 reaches the directories made unreadable below
# shellcheck source=support/cli_expect.sh
source "$(dirname "${BASH_SOURCE[0]}")/support/cli_expect.sh"
unset JANUS_CACHE_DIR JANUS_CACHE_SIZE JANUS_CACHE_DISABLE JANUS_CACHE_VERBOSE JANUS_CACHE_COMPACT_THRESHOLD JANUS_CACHE_COMPACTOR
# These tests work on loose entries: every built table written at once as its own file,
# and no compactor started in the background at the end of the build (it would pack them).
export JANUS_CACHE_WRITE_THROUGH=1 JANUS_CACHE_COMPACT_THRESHOLD=0

check() {  # check NAME CONDITION-COMMAND...
  local name=$1
  shift
  if "$@"; then echo "ok   $name"; pass=$((pass + 1)); else echo "FAIL $name"; fail=$((fail + 1)); fi
}

first_key() {  # the key of one loose entry of cache $1
  basename "$(find "$1/objects" -name '*.jdca' | sort | head -1)" .jdca
}

c="$tmp/cache"
"$jdc" demo-build --dir "$c" --functions 30 --types 20 > /dev/null || { echo "FAIL demo-build"; exit 1; }
key=$(first_key "$c")

# ---- stats ------------------------------------------------------------------------
expect "stats: entries, loose and packed" 0 "entries: +30 \(30 loose, 0 packed\)" -- "$jdc" stats --dir "$c"
expect "stats: size against the limit" 0 "size: +[0-9.]+ KiB of 100.0 MiB" -- "$jdc" stats --dir "$c"
expect "stats: the limit follows JANUS_CACHE_SIZE" 0 "of 2.0 MiB" -- env JANUS_CACHE_SIZE=2M "$jdc" stats --dir "$c"
expect "stats: lifetime counters of the build sessions" 0 "lifetime: +60 lookups, 30 hits, 30 misses \(hit ratio 50.0%\)" -- "$jdc" stats --dir "$c"
expect "stats: the last session" 0 "last session: +30 lookups, 30 hits, 0 misses" -- "$jdc" stats --dir "$c"
expect "stats: evictions and drops" 0 "store counters: .*0 evictions, 0 corrupt drops" -- "$jdc" stats --dir "$c"
expect "stats: oldest and newest" 0 "newest entry: +20[0-9]{2}-" -- "$jdc" stats --dir "$c"
expect "stats: files and packs" 0 "files: +30 loose files .*0 packs" -- "$jdc" stats --dir "$c"
expect "stats --json" 0 '"loose_entries": 30' -- "$jdc" stats --json --dir "$c"
expect "stats --json carries the recorded sessions" 0 '"last_session": \{' -- "$jdc" stats --json --dir "$c"
check "stats --json is JSON" python3 -c "import json,subprocess,sys; j=json.loads(subprocess.check_output(['$jdc','stats','--json','--dir','$c'])); sys.exit(0 if j['entries']==30 and j['packs']==0 else 1)"
expect "stats: --dir defaults to JANUS_CACHE_DIR" 0 "cache directory: +$c" -- env JANUS_CACHE_DIR="$c" "$jdc" stats
expect "stats: a missing directory" 2 "no cache directory at '$tmp/missing'" -- "$jdc" stats --dir "$tmp/missing"
mkdir -p "$tmp/empty"
expect "stats: a directory that is not a cache" 2 "is not a jdc cache directory" -- "$jdc" stats --dir "$tmp/empty"
check "stats: nothing created in a directory that is not a cache" test -z "$(ls -A "$tmp/empty")"
expect "stats: a bad JANUS_CACHE_SIZE names the variable" 2 "JANUS_CACHE_SIZE='lots'" -- env JANUS_CACHE_SIZE=lots "$jdc" stats --dir "$c"
expect "stats: an unknown option" 2 "" -- "$jdc" stats --dir "$c" --bogus

# ---- inspect KEY, explain ---------------------------------------------------------
expect "inspect KEY: a loose entry through the store" 0 "location: +loose file .*$key.jdca" -- "$jdc" inspect --dir "$c" "$key"
expect "inspect KEY: the arena" 0 "signature: +fn[0-9]+\(" -- "$jdc" inspect --dir "$c" "$key"
expect "inspect KEY: an unknown key" 1 "no entry 0123456789abcdef0123456789abcdef" -- "$jdc" inspect --dir "$c" 0123456789abcdef0123456789abcdef
expect "inspect FILE still works" 0 "signature:" -- "$jdc" inspect "$c/objects/${key:0:2}/$key.jdca"
expect "explain KEY: what was recorded" 0 "table: +fn[0-9]+" -- "$jdc" explain --dir "$c" "$key"
expect "explain KEY: why it was built" 0 "built after: +never seen" -- "$jdc" explain --dir "$c" "$key"
expect "explain KEY: where it is" 0 "in cache: +yes, loose file" -- "$jdc" explain --dir "$c" "$key"
expect "explain KEY: its methods" 0 "fn[0-9]+\(Any(, Any)*\) -> f64  in module0 at src/module0.jn:10:1" -- "$jdc" explain --dir "$c" "$key"
expect "explain KEY: its domains" 0 "parameter 0:  domain of Any, 20 types" -- "$jdc" explain --dir "$c" "$key"
name=$("$jdc" explain --dir "$c" "$key" | sed -n 's/^table: *//p')
expect "explain NAME: the same table by its name" 0 "key: +$key" -- "$jdc" explain --dir "$c" "$name"
expect "explain: an unknown key" 1 "in cache: +no" -- "$jdc" explain --dir "$c" 0123456789abcdef0123456789abcdef
expect "explain: an unknown name" 1 "no table named 'xyz' was recorded" -- "$jdc" explain --dir "$c" xyz
expect "explain: the key is required" 2 "" -- "$jdc" explain --dir "$c"
check_json "explain --json: the entry and the record, reason in snake_case" \
  'j["key"] == "'"$key"'" and j["in_cache"] is True and j["entry"]["location"] == "loose" and j["entry"]["size_bytes"] > 0 and j["record"]["name"].startswith("fn") and j["record"]["built_after"]["reason"] == "never_seen" and len(j["record"]["domains"]) >= 1 and all(set(m) >= {"text","module","file","line","column"} for m in j["record"]["methods"])' \
  "$jdc" explain --json --dir "$c" "$key"
check_json "explain --json NAME: the same key" 'j["key"] == "'"$key"'"' "$jdc" explain --json --dir "$c" "$name"
check_json "explain --json: an unknown key, neither in the cache nor recorded" 'j["in_cache"] is False and j["entry"] is None and j["record"] is None' \
  "$jdc" explain --json --dir "$c" 0123456789abcdef0123456789abcdef
expect "explain --json: an unknown key exits 1" 1 '"in_cache": false' -- "$jdc" explain --json --dir "$c" 0123456789abcdef0123456789abcdef

# ---- validate, optimize -----------------------------------------------------------
expect "validate: all valid" 0 "checked 30 arenas \(30 loose, 0 in 0 packs.*: all valid" -- "$jdc" validate --dir "$c"
check "validate: no progress bar when stderr is not a terminal" bash -c "! '$jdc' validate --dir '$c' 2>&1 | grep -q \$'\\r'"
check "validate: a progress bar on a terminal" bash -c "script -qec \"'$jdc' validate --dir '$c'\" /dev/null | grep -q 'validate \['"
cp -r "$c" "$tmp/grown"
expect "optimize: says why the files grew" 0 "30 loose entries moved into a pack: each gains a 16-byte key copy" -- "$jdc" optimize --dir "$tmp/grown"
expect "optimize: packs the loose entries" 0 "packed: +30 entries \(30 from loose files, 0 rewritten" -- "$jdc" optimize --dir "$c"
expect "optimize: after it, all packed" 0 "entries: +30 \(0 loose, 30 packed\)" -- "$jdc" stats --dir "$c"
expect "optimize: again, nothing to do" 0 "nothing to compact: 0 loose files, 1 packs" -- "$jdc" optimize --dir "$c"
expect "inspect KEY: a packed entry" 0 "location: +packed" -- "$jdc" inspect --dir "$c" "$key"
expect "validate: a packed cache is valid" 0 "30 in 1 packs.*all valid" -- "$jdc" validate --dir "$c"
expect "demo-build: served from the pack" 0 "20 of 20 tables identical" -- "$jdc" demo-build --dir "$c" --functions 20 --types 20

# Corrupt two loose entries and one packed arena: validate names exactly them.
"$jdc" demo-build --dir "$c" --functions 40 --types 20 > /dev/null  # fn30..fn39 loose again
mapfile -t loose < <(find "$c/objects" -name '*.jdca' | sort)
check "ten new loose entries" test "${#loose[@]}" -eq 10
flip_byte "${loose[0]}" 300
flip_byte "${loose[1]}" 200
pack=$(ls "$c"/packs/*.jdcp)
flip_byte "$pack" $(( $(stat -c %s "$pack") - 3 ))  # inside the last arena
expect "validate: finds the damage" 1 "3 problems" -- "$jdc" validate --dir "$c"
out=$("$jdc" validate --dir "$c" 2>&1)
check "validate: exactly three problem lines" test "$(grep -c 'invalid' <<<"$out")" -eq 3
check "validate: names the first loose file" grep -q "^${loose[0]}: invalid loose file" <<<"$out"
check "validate: names the second loose file" grep -q "^${loose[1]}: invalid loose file" <<<"$out"
check "validate: names the packed entry" grep -qE "^$pack: invalid packed entry \(key [0-9a-f]{32}\): .*checksum" <<<"$out"
check "validate: changes nothing" test -f "${loose[0]}"
# Exit 0: every problem found is gone (README: exit codes).
expect "validate --fix: removes exactly them" 0 "fixed: 2 loose files removed, 1 packs rewritten \(1 entries dropped\)" -- "$jdc" validate --fix --dir "$c"
check "validate --fix: the damaged files are gone" test ! -e "${loose[0]}" -a ! -e "${loose[1]}"
check "validate --fix: the other loose files stay" test -e "${loose[2]}" -a -e "${loose[9]}"
expect "validate: valid after the fix" 0 "all valid" -- "$jdc" validate --dir "$c"
expect "stats: three entries fewer" 0 "entries: +37 \(8 loose, 29 packed\)" -- "$jdc" stats --dir "$c"
expect "stats: the drops are counted" 0 "3 corrupt drops" -- "$jdc" stats --dir "$c"
expect "validate: a missing directory" 2 "no cache directory" -- "$jdc" validate --dir "$tmp/missing"
expect "optimize: a missing directory" 2 "no cache directory" -- "$jdc" optimize --dir "$tmp/missing"

# ---- gc, clear --------------------------------------------------------------------
expect "gc: nothing old, nothing over the limit" 0 "evicted: +0 entries by age \(not read for 7d\), 0 by size" -- "$jdc" gc --dir "$c"
cp -r "$c" "$tmp/gc-tiny"
expect "gc: over a tiny limit, even recent entries go: the grace never holds the cache over its limit" 0 "read within the grace period, removed to fit the limit" -- env JANUS_CACHE_SIZE=1K "$jdc" gc --dir "$tmp/gc-tiny"
expect "gc: what the directory counts against the limit" 0 "the directory counts .* against its limit of 1.0 KiB" -- env JANUS_CACHE_SIZE=1K "$jdc" gc --dir "$tmp/gc-tiny"
expect "gc: a missing directory" 2 "no cache directory" -- "$jdc" gc --dir "$tmp/missing"
cp -r "$c" "$tmp/copy"
expect "clear: removes every entry" 0 "cleared .*: 37 entries removed \(8 loose files, 1 packs" -- "$jdc" clear --dir "$tmp/copy"
expect "clear: nothing left" 0 "entries: +0 \(0 loose, 0 packed\)" -- "$jdc" stats --dir "$tmp/copy"
expect "clear: still a valid cache" 0 "all valid" -- "$jdc" validate --dir "$tmp/copy"
expect "clear: a missing directory" 2 "no cache directory" -- "$jdc" clear --dir "$tmp/missing"
expect "clear: a directory that is not a cache" 2 "is not a jdc cache directory" -- "$jdc" clear --dir "$tmp/empty"

# ---- help -------------------------------------------------------------------------
for sub in clear stats validate optimize gc explain inspect ls config init; do
  expect "$sub --help" 0 "--dir" -- "$jdc" "$sub" --help
done

# ---- an unreadable cache, as uid 65534 --------------------------------------------
if [ "$(id -u)" -eq 0 ] && command -v setpriv > /dev/null; then
  chmod 700 "$c"
  as_nobody=(setpriv --reuid=65534 --regid=65534 --clear-groups)
  for sub in stats validate optimize gc clear; do
    expect "$sub: an unreadable directory" 2 "cannot read cache directory" -- "${as_nobody[@]}" "$jdc" "$sub" --dir "$c"
  done
  expect "explain: an unreadable directory" 2 "cannot read cache directory" -- "${as_nobody[@]}" "$jdc" explain --dir "$c" "$key"
  expect "jdc-compactor: an unreadable directory" 2 "cannot read cache directory" -- "${as_nobody[@]}" "$compactor" --once --dir "$c"
  chmod 755 "$c"
  # Readable but not writable for this user (issue 20, attack 5: "a read-only cache
  # cannot even be read"): what only reads works, what writes fails clearly.
  expect "stats: a cache this user cannot write is read" 0 "opened read-only: .*Permission denied" -- "${as_nobody[@]}" "$jdc" stats --dir "$c"
  expect "stats --json: ... entries counted" 0 '"entries": [1-9]' -- "${as_nobody[@]}" "$jdc" stats --json --dir "$c"
  expect "validate: ... checked" 0 "all valid" -- "${as_nobody[@]}" "$jdc" validate --dir "$c"
  expect "explain: ... read" 0 "$key" -- "${as_nobody[@]}" "$jdc" explain --dir "$c" "$key"
  expect "gc: ... writing is refused" 2 "Permission denied" -- "${as_nobody[@]}" "$jdc" gc --dir "$c"
else
  echo "skip unreadable-directory tests (need root and setpriv)"
fi

# ---- jdc-compactor ----------------------------------------------------------------
expect "jdc-compactor --once: the loose entries and the small pack into one" 0 "packed: +37 entries \(8 from loose files" -- "$compactor" --once --dir "$c"
expect "jdc-compactor --once: again, nothing to do" 0 "nothing to compact" -- "$compactor" --once --dir "$c"
expect "jdc-compactor: a missing directory" 2 "no cache directory" -- "$compactor" --once --dir "$tmp/missing"
expect "jdc-compactor: an unknown option" 2 "" -- "$compactor" --bogus
expect "jdc-compactor --help" 0 "--once" -- "$compactor" --help
expect "jdc-compactor: a bad interval" 2 "" -- "$compactor" --dir "$c" --interval 0

# The build cache manager starts it past JANUS_CACHE_COMPACT_THRESHOLD loose entries.
m="$tmp/managed"
expect "demo-build with a compaction threshold" 0 "12 of 12 tables identical" -- \
  env JANUS_CACHE_COMPACT_THRESHOLD=5 JANUS_CACHE_COMPACTOR="$compactor" "$jdc" demo-build --dir "$m" --functions 12 --types 20
for _ in $(seq 100); do
  "$jdc" stats --dir "$m" 2>/dev/null | grep -qE "entries: +12 \(0 loose, 12 packed\)" && break
  sleep 0.1
done
expect "the background compactor packed the cache" 0 "entries: +12 \(0 loose, 12 packed\)" -- "$jdc" stats --dir "$m"
expect "a bad JANUS_CACHE_COMPACT_THRESHOLD names the variable" 2 "JANUS_CACHE_COMPACT_THRESHOLD='many'" -- \
  env JANUS_CACHE_COMPACT_THRESHOLD=many "$jdc" demo-build --dir "$m" --functions 2

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
