#!/usr/bin/env bash
# CLI tests of janusc: outputs and exit codes (0 ok, 1 compile errors, 2 usage/I/O).
# Usage: tools_janusc.sh PATH_TO_JANUSC PATH_TO_JDC
set -u
janusc=$(realpath "$1")
jdc=$(realpath "$2")
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# shellcheck source=support/cli_expect.sh
source "$(dirname "$0")/support/cli_expect.sh"

expect "no subcommand is a usage error" 2 "" -- "$janusc"
expect "help exits 0" 0 "build" -- "$janusc" --help
expect "version" 0 "^janusc [0-9]+\.[0-9]+\.[0-9]+" -- "$janusc" --version
expect "gen: a bad size" 2 "--size must be small, medium, large or a number" -- "$janusc" gen --size huge "$tmp/x"
expect "gen: a size is required" 2 "" -- "$janusc" gen "$tmp/x"
expect "gen small" 0 "100 generic functions" -- "$janusc" gen --size small --seed 4 "$tmp/p"
expect "gen prints the distribution it drew" 0 "calls in method bodies: [0-9]+, [0-9.]+ per method" -- "$janusc" gen --size small --seed 4 "$tmp/stats"
expect "gen refuses a non-empty directory" 2 "not an empty directory" -- "$janusc" gen --size small --seed 4 "$tmp/p"
"$janusc" gen --size small --seed 4 "$tmp/p2" >/dev/null
expect "gen is deterministic" 0 "" -- diff -r "$tmp/p" "$tmp/p2"

expect "build cold" 0 "100 built, 0 from the cache" -- "$janusc" build "$tmp/p" --cache-dir "$tmp/cache" --out "$tmp/out1" --report-json "$tmp/r1.json"
expect "build warm" 0 "hit ratio 100.0%" -- "$janusc" build "$tmp/p" --cache-dir "$tmp/cache" --out "$tmp/out2" -j 1
expect "build without the cache" 0 "cache: +disabled \(--no-cache\): every table built" -- "$janusc" build "$tmp/p" --no-cache --out "$tmp/out3"
expect "JANUS_CACHE_DISABLE is named in the report" 0 "cache: +disabled \(JANUS_CACHE_DISABLE\)" -- env JANUS_CACHE_DISABLE=1 "$janusc" build "$tmp/p" --cache-dir "$tmp/cache" --out "$tmp/out3"
expect "summaries identical warm and cold" 0 "" -- diff -r "$tmp/out1" "$tmp/out2"
expect "summaries identical without the cache" 0 "" -- diff -r "$tmp/out1" "$tmp/out3"
expect "the JSON report" 0 '"tables_built": 100' -- cat "$tmp/r1.json"
expect "the JSON report has the call sites" 0 '"calls_resolved_statically": [0-9]+' -- cat "$tmp/r1.json"
expect "the report labels wall and CPU time" 0 "total: +[0-9.]+ [^ ,]*s wall, [0-9.]+ [^ ,]*s CPU" -- "$janusc" build "$tmp/p" --cache-dir "$tmp/cache" --out "$tmp/out2"
expect "... and each phase's time as wall" 0 "parse: +[0-9.]+ [^ ,]*s wall \([0-9]+ threads?\)" -- "$janusc" build "$tmp/p" --cache-dir "$tmp/cache" --out "$tmp/out2"
expect "... the table summaries' too" 0 "summaries: +[0-9]+ table summaries in [0-9.]+ [^ ,]*s wall" -- "$janusc" build "$tmp/p" --cache-dir "$tmp/cache" --out "$tmp/out2"
expect "... and the cache's times as summed over threads" 0 "loading: +100 tables, [0-9.]+ [^ ,]*s summed over threads" -- "$janusc" build "$tmp/p" --cache-dir "$tmp/cache" --out "$tmp/out2"
expect "the JSON report has a schema_version" 0 '"schema_version": 2' -- cat "$tmp/r1.json"
# On a terminal, stderr shows the phase and its progress, cleared before the report: no
# line of the report starts on the progress line.
expect "a progress line on a terminal" 0 "janusc: (parse|tables) \[" -- script -qec "'$janusc' build '$tmp/p' --no-cache --out '$tmp/out-tty'" /dev/null
expect "... cleared before the report" 0 "^janusc [0-9.]+: built" -- bash -c "script -qec \"'$janusc' build '$tmp/p' --no-cache --out '$tmp/out-tty'\" /dev/null | sed 's/\x1b\[K//g' | tr '\r' '\n'"
expect "no progress when stderr is not a terminal" 0 "" -- bash -c "! '$janusc' build '$tmp/p' --no-cache --out '$tmp/out-tty' 2>&1 | grep -q \$'\r'"
expect "the report has the call sites" 0 "calls: +[0-9]+ call sites in .* wall, .* CPU \(.* resolving, the rest their summary lines\): [0-9]+ resolved statically, [0-9]+ dynamic" -- "$janusc" build "$tmp/p" --cache-dir "$tmp/cache" --out "$tmp/out2"
"$janusc" build "$tmp/p" --cache-dir "$tmp/cache" --out "$tmp/out2" 2>"$tmp/warnings2" >/dev/null
"$janusc" build "$tmp/p" --no-cache --out "$tmp/out3" 2>"$tmp/warnings3" >/dev/null
expect "warnings identical with and without the cache" 0 "" -- diff "$tmp/warnings2" "$tmp/warnings3"
expect "a changed flag rebuilds every table" 0 "config changed 100" -- "$janusc" build "$tmp/p" --cache-dir "$tmp/cache" --out "$tmp/out4" -O 0
expect "JANUS_CACHE_DIR is the default cache" 0 "100 built" -- env JANUS_CACHE_DIR="$tmp/envcache" "$janusc" build "$tmp/p" --out "$tmp/out5"
expect "... and was used" 0 "" -- test -f "$tmp/envcache/stats.json"
expect "a bad JANUS_CACHE_SIZE is a usage error" 2 "JANUS_CACHE_SIZE" -- env JANUS_CACHE_SIZE=lots "$janusc" build "$tmp/p" --out "$tmp/out6"
expect "the default cache lives in the project" 0 "in $tmp/p/.janus_cache/dispatch_tables" -- env -u JANUS_CACHE_DIR "$janusc" build "$tmp/p"

# Paths are bytes (issue 20, attack 6): a project in a Latin-1 directory, whose default cache
# path is not UTF-8, builds, and every JSON document names it with U+FFFD.
latin1="$tmp/caf$(printf '\351')"
"$janusc" gen --size small --seed 5 "$latin1" >/dev/null
expect "a project in a Latin-1 directory builds with its default cache" 0 "100 built" -- env -u JANUS_CACHE_DIR "$janusc" build "$latin1" --report-json "$tmp/latin1.json"
expect "... twice (the records of its paths are read back)" 0 "hit ratio 100.0%" -- env -u JANUS_CACHE_DIR "$janusc" build "$latin1"
check_json() {  # check_json NAME FILE PYTHON-EXPRESSION-OF-j
  if python3 -c "import json,sys; j=json.load(open(sys.argv[1], encoding='utf-8')); sys.exit(0 if ($3) else 1)" "$2"; then
    echo "ok   $1"; pass=$((pass + 1)); else echo "FAIL $1"; fail=$((fail + 1)); fi
}
check_json "... its JSON report is UTF-8, the path with U+FFFD" "$tmp/latin1.json" "j['cache']['cache']['directory'].endswith('caf\ufffd/.janus_cache/dispatch_tables')"
"$jdc" stats --json --dir "$latin1/.janus_cache/dispatch_tables" >"$tmp/latin1-stats.json" 2>&1
check_json "jdc stats --json of that cache" "$tmp/latin1-stats.json" "j['entries'] == 100 and j['cache_directory'].endswith('caf\ufffd/.janus_cache/dispatch_tables')"

mkdir -p "$tmp/bad"
printf 'module main\ntype A : Nowhere\n' > "$tmp/bad/main.jn"
expect "compile errors exit 1 with file:line:col" 1 "bad/main.jn:2:10: error: undefined type 'Nowhere'" -- "$janusc" build "$tmp/bad" --no-cache
printf 'module main\ntype A :\n' > "$tmp/bad/main.jn"
expect "syntax errors exit 1" 1 "main.jn:2:9: error: expected a supertype name, found end of file" -- "$janusc" build "$tmp/bad"
mkdir -p "$tmp/warn"
printf 'module main\ntype Shape\ntype Circle : Shape\ngeneric area(s: Shape) -> f64\nfunc area(s: Circle) -> f64 { return area(s) }\n' > "$tmp/warn/main.jn"
printf 'module use\nimport main\ngeneric run(s: Shape) -> f64\nfunc run(s: Shape) -> f64 { return area(s) }\n' > "$tmp/warn/use.jn"
expect "a warning does not fail the build" 0 "warn/use.jn:4:36: warning: call to 'area' has no method for \(Shape\)" -- "$janusc" build "$tmp/warn" --no-cache
expect "... and comes before the report" 0 "" -- bash -c "'$janusc' build '$tmp/warn' --no-cache 2>&1 | head -1 | grep -q 'warning: call to'"
expect "--Werror makes warnings errors" 1 "warn/use.jn:4:36: error: call to 'area' has no method for \(Shape\) \[--Werror\]" -- "$janusc" build "$tmp/warn" --no-cache --Werror --out "$tmp/werror"
expect "... and says why the build failed" 1 "build failed: 1 error \(warnings, with --Werror\)" -- "$janusc" build "$tmp/warn" --no-cache --Werror --out "$tmp/werror"
expect "... and writes no summary" 0 "" -- test ! -e "$tmp/werror"
expect "a missing project exits 2" 2 "does not exist" -- "$janusc" build "$tmp/missing"
expect "an empty project exits 2" 2 "no Janus sources" -- "$janusc" build "$tmp/out1"
expect "--jobs 0 is a usage error" 2 "" -- "$janusc" build "$tmp/p" --jobs 0
expect "an unknown option is a usage error" 2 "" -- "$janusc" build "$tmp/p" --frobnicate

# A session writes its tables as one pack; with JANUS_CACHE_WRITE_THROUGH each is a loose file at once.
expect "the cold build wrote one pack" 0 "" -- test "$(find "$tmp/cache/packs" -name '*.jdcp' | wc -l)" -ge 1
# (No background compactor: it would pack the loose files before they are counted.)
expect "write-through: loose files" 0 "100 built" -- env JANUS_CACHE_WRITE_THROUGH=1 JANUS_CACHE_COMPACT_THRESHOLD=0 "$janusc" build "$tmp/p" --cache-dir "$tmp/cache-wt" --out "$tmp/out-wt"
expect "write-through: ... as many as tables" 0 "" -- test "$(find "$tmp/cache-wt/objects" -name '*.jdca' | wc -l)" -eq 100
expect "write-through: the next build hits" 0 "hit ratio 100.0%" -- env JANUS_CACHE_COMPACT_THRESHOLD=0 "$janusc" build "$tmp/p" --cache-dir "$tmp/cache-wt" --out "$tmp/out-wt"
arena=$(find "$tmp/cache-wt/objects" -name '*.jdca' | head -1)
expect "cache forwards to jdc (verify)" 0 ": ok" -- "$janusc" cache verify "$arena"
expect "cache forwards to jdc (inspect)" 0 "signature:" -- "$janusc" cache inspect "$arena"
expect "cache forwards the exit code" 2 "cannot open" -- "$janusc" cache verify "$tmp/missing.jdca"
expect "cache with no arguments is jdc's usage error" 2 "" -- "$janusc" cache
mkdir -p "$tmp/alone" "$tmp/bin"
cp "$janusc" "$tmp/alone/janusc"
ln -s "$jdc" "$tmp/bin/jdc"
expect "cache finds jdc on PATH when it is not beside janusc" 0 ": ok" -- env PATH="$tmp/bin:/usr/bin:/bin" "$tmp/alone/janusc" cache verify "$arena"
expect "cache without any jdc exits 2" 2 "cannot run jdc" -- env PATH="/nonexistent" "$tmp/alone/janusc" cache verify "$arena"

# The cache never fails a build it could do without (issue 20, attack 5: before, each
# of these exited 2). A full disk: RLIMIT_FSIZE 0 with SIGXFSZ ignored makes every
# file write fail with EFBIG; a warm build writes nothing but derived data.
full_disk=(bash -c 'trap "" XFSZ; ulimit -f 0; exec "$0" build "$1" --cache-dir "$2"' "$janusc" "$tmp/p" "$tmp/cache-wt")
expect "a full disk: a warm build succeeds" 0 "hit ratio 100.0%" -- "${full_disk[@]}"
# RLIMIT_FSIZE 0 refuses even a write inside a file: stats.json fails; the dependency
# state too when it changed (racy entries of the last build settle, or a source was
# edited); each failure counted.
expect "... the failed stats.json counted" 0 "[12] derived-data writes failed" -- "${full_disk[@]}"
echo "// edited" >> "$tmp/p/core/math.jn"
expect "... and the changed dependency state" 0 "2 derived-data writes failed" -- "${full_disk[@]}"
# A cache this user cannot write (another user's: root ignores modes, so run as nobody).
chmod 755 "$tmp"
if [ "$(id -u)" -eq 0 ]; then as_other=(setpriv --reuid=65534 --regid=65534 --clear-groups); else as_other=(); chmod -R a-w "$tmp/cache-wt"; fi
expect "a read-only cache is read: every table a hit" 0 "hit ratio 100.0%" -- "${as_other[@]}" "$janusc" build "$tmp/p" --cache-dir "$tmp/cache-wt"
expect "... and one line says so" 0 "cache: +read-only: " -- "${as_other[@]}" "$janusc" build "$tmp/p" --cache-dir "$tmp/cache-wt"
chmod -R u+w "$tmp/cache-wt"
chmod 700 "$tmp/cache-wt"
if [ "$(id -u)" -ne 0 ]; then chmod 000 "$tmp/cache-wt"; fi
expect "a cache directory this user cannot read: every table built, exit 0" 0 "cache: +not used: .*every table built" -- "${as_other[@]}" "$janusc" build "$tmp/p" --cache-dir "$tmp/cache-wt"
chmod 755 "$tmp/cache-wt"

expect_summary tools_janusc
