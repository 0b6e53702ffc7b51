#!/usr/bin/env bash
# CLI tests of the configuration: jdc config (every setting, its value and source),
# jdc.conf in the cache directory and its precedence (flag > environment > file >
# default), jdc init, the default cache directory janusc and jdc share (the nearest
# .janus_cache/ from any directory inside the project), and the refusal to make a
# directory that is not empty and not a cache into one.
# Usage: tools_jdc_config.sh PATH_TO_JDC PATH_TO_JANUSC
set -u
jdc=$(realpath "$1")
janusc=$(realpath "$2")
support="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/support"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# shellcheck source=support/cli_expect.sh
source "$support/cli_expect.sh"
unset JANUS_CACHE_DIR JANUS_CACHE_SIZE JANUS_CACHE_MAX_AGE JANUS_CACHE_DISABLE JANUS_CACHE_VERBOSE JANUS_CACHE_COMPACT_THRESHOLD \
  JANUS_CACHE_COMPACTOR JANUS_CACHE_WRITE_THROUGH JANUS_CACHE_REMOTE JANUS_CACHE_COMPRESSION \
  JANUS_CACHE_ALLOW_SHARED JANUS_CACHE_REMOTE_SECRET JANUS_CACHE_REMOTE_DEADLINE_MS JANUS_CACHE_REMOTE_SESSION_BUDGET_MS


# ---- jdc config: defaults, environment, jdc.conf, flags -------------------------------
c="$tmp/cache"
expect "config of a directory that is no cache yet" 0 "cache directory: +$c \(not a cache yet\)" -- "$jdc" config --dir "$c"
expect "config: every key with value and source" 0 "^max_size +100M +default$" -- "$jdc" config --dir "$c"
expect "config: the directory's source is the flag" 0 "^cache_dir +$c +flag \(--dir\)$" -- "$jdc" config --dir "$c"
check_json "config --json: every setting, each with its source" \
  'j["cache_directory"] == "'"$c"'" and j["config_file"] is None and [s["key"] for s in j["settings"]][:3] == ["cache_dir", "max_size", "max_age"] and {s["key"] for s in j["settings"]} >= {"cleanup_interval","disable","verbose","write_through","compression","remote","remote_read_only","remote_connect_timeout_ms","remote_timeout_ms","remote_deadline_ms","remote_session_budget_ms","remote_secret","allow_shared","remote_ttl","remote_max_size","compact_threshold","compactor"} and all(s["source"] == "default" for s in j["settings"][1:]) and all(s["variable"].startswith("JANUS_CACHE_") for s in j["settings"])' \
  "$jdc" config --json --dir "$c"

expect "init: makes the cache" 0 "initialized cache directory $c" -- "$jdc" init --dir "$c"
check "init: CACHEDIR.TAG" test -f "$c/CACHEDIR.TAG"
check "init: a jdc.conf listing every key, commented out" bash -c "grep -q '^# max_size = 100M$' '$c/jdc.conf' && grep -q '^# remote_ttl = 0$' '$c/jdc.conf' && ! grep -q '^[a-z]' '$c/jdc.conf'"
expect "init again: already one, jdc.conf kept" 0 "already a cache directory.*" -- "$jdc" init --dir "$c"
expect "config: the commented-out file changes nothing" 0 "^max_size +100M +default$" -- "$jdc" config --dir "$c"

printf '# our limits\nmax_size = 3M\nmax_age = 30d\n' > "$c/jdc.conf"
expect "config: a value from jdc.conf, with file and line" 0 "^max_size +3M +config file \($c/jdc.conf:2\)$" -- "$jdc" config --dir "$c"
expect "config: the environment over jdc.conf" 0 "^max_size +2M +environment \(JANUS_CACHE_SIZE\)$" -- env JANUS_CACHE_SIZE=2M "$jdc" config --dir "$c"
expect "config: max_age from jdc.conf" 0 "^max_age +30d +config file" -- "$jdc" config --dir "$c"
check_json "config --json: sources" \
  '{s["key"]: s["source"] for s in j["settings"]}["max_size"] == "environment" and {s["key"]: s["source"] for s in j["settings"]}["max_age"] == "config_file" and j["config_file"].endswith("/jdc.conf")' \
  env JANUS_CACHE_SIZE=2M "$jdc" config --json --dir "$c"
expect "stats: the limit from jdc.conf" 0 "of 3.0 MiB" -- "$jdc" stats --dir "$c"
expect "stats: the environment over it" 0 "of 2.0 MiB" -- env JANUS_CACHE_SIZE=2M "$jdc" stats --dir "$c"
check_json "gc: the flag over both" 'j["max_size_bytes"] == 5 << 20 and j["max_age_seconds"] == 30 * 86400' env JANUS_CACHE_SIZE=2M "$jdc" gc --json --max-size 5M --dir "$c"
expect "config: a password in a remote URL is hidden" 0 "^remote +redis://:\*\*\*@cache.example:6379/0 +environment" -- \
  env JANUS_CACHE_REMOTE="redis://:hunter2@cache.example:6379/0" "$jdc" config --dir "$c"
check "config: ... nowhere shown" bash -c "! env JANUS_CACHE_REMOTE='redis://:hunter2@cache.example' '$jdc' config --json --dir '$c' | grep -q hunter2"
expect "config: the team secret shown only as set" 0 "^remote_secret +\(set\) +environment \(JANUS_CACHE_REMOTE_SECRET\)$" -- \
  env JANUS_CACHE_REMOTE_SECRET=sw0rdfish "$jdc" config --dir "$c"
check "config: ... never its value" bash -c "! env JANUS_CACHE_REMOTE_SECRET=sw0rdfish '$jdc' config --dir '$c' 2>&1 | grep -q sw0rdfish && ! env JANUS_CACHE_REMOTE_SECRET=sw0rdfish '$jdc' config --json --dir '$c' 2>&1 | grep -q sw0rdfish"
expect "config: no secret is (none)" 0 "^remote_secret +\(none\) +default$" -- "$jdc" config --dir "$c"

# Bad files: the file, the line and the key; every command refuses, nothing is half-applied.
printf 'max_size = 1M\nmax_age = soon\n' > "$c/jdc.conf"
expect "jdc.conf: a bad value names file, line and key" 2 "$c/jdc.conf:2: max_age = 'soon' is not valid: expected a positive duration" -- "$jdc" stats --dir "$c"
expect "jdc.conf: ... config says it too" 2 "jdc.conf:2: max_age" -- "$jdc" config --dir "$c"
printf 'max_size = 1M\n\nmax_sise = 2M\n' > "$c/jdc.conf"
expect "jdc.conf: an unknown key" 2 "jdc.conf:3: unknown key 'max_sise' \(the keys are: max_size, max_age," -- "$jdc" stats --dir "$c"
printf 'max_size = 1M\nmax_size = 2M\n' > "$c/jdc.conf"
expect "jdc.conf: a key set twice" 2 "jdc.conf:2: key 'max_size' is set twice \(first on line 1\)" -- "$jdc" stats --dir "$c"
printf 'max_size\n' > "$c/jdc.conf"
expect "jdc.conf: a line without =" 2 "jdc.conf:1: expected 'key = value', found 'max_size'" -- "$jdc" stats --dir "$c"
printf 'cache_dir = /elsewhere\n' > "$c/jdc.conf"
expect "jdc.conf: the directory cannot move itself" 2 "jdc.conf:1: cache_dir cannot be set in the cache's own jdc.conf" -- "$jdc" stats --dir "$c"
rm "$c/jdc.conf"

# ---- one default cache for janusc and jdc: the project's .janus_cache/ ------------------
p="$tmp/project"
"$janusc" gen --size small --seed 2 "$p" >/dev/null
mkdir -p "$p/deep/down" "$tmp/elsewhere"
expect "janusc build: the cache goes into the project" 0 "in $p/.janus_cache/dispatch_tables" -- "$janusc" build "$p"
expect "jdc stats from the project finds it" 0 "cache directory: +$p/.janus_cache/dispatch_tables" -- bash -c "cd '$p' && '$jdc' stats"
expect "jdc stats from deep inside the project finds it" 0 "cache directory: +$p/.janus_cache/dispatch_tables" -- bash -c "cd '$p/deep/down' && '$jdc' stats"
expect "jdc config says how it was found" 0 "^cache_dir +$p/.janus_cache/dispatch_tables +default$" -- bash -c "cd '$p/deep/down' && '$jdc' config"
check_json "config --json: where it was found" '"the nearest .janus_cache/ from '"$p"'/deep/down" == j["settings"][0]["where"]' bash -c "cd '$p/deep/down' && '$jdc' config --json"
expect "janusc build from a subdirectory's view uses the same cache" 0 "hit ratio 100.0%" -- bash -c "cd '$p/deep' && '$janusc' build .."
expect "jdc outside any project says where it looked" 2 "no cache found: no .janus_cache/ in $tmp/elsewhere or above it .*give --dir DIR, set JANUS_CACHE_DIR" -- \
  bash -c "cd '$tmp/elsewhere' && '$jdc' stats"
expect "JANUS_CACHE_DIR wins over the search" 0 "cache directory: +$c" -- bash -c "cd '$p/deep' && JANUS_CACHE_DIR='$c' '$jdc' stats"
# compact_threshold = 0: no background compactor packs the loose files before the check.
printf 'write_through = true\ncompact_threshold = 0\n' > "$p/.janus_cache/dispatch_tables/jdc.conf"
# A new type under Any: tables whose domains hold it miss (a comment would not: keys
# depend on what decides a table, not on the bytes of its files).
printf 'type ConfTouched : Any\n' >> "$p/core/base.jn"
"$janusc" build "$p" >/dev/null
check "janusc reads the project cache's jdc.conf (write_through: loose files)" test -n "$(find "$p/.janus_cache/dispatch_tables/objects" -name '*.jdca' | head -1)"
printf 'disable = true\n' > "$p/.janus_cache/dispatch_tables/jdc.conf"
expect "janusc: disable in jdc.conf is named in the report" 0 "cache: +disabled \(disable = true in jdc.conf\)" -- "$janusc" build "$p"
printf 'max_size = huge\n' > "$p/.janus_cache/dispatch_tables/jdc.conf"
expect "janusc: a bad jdc.conf is a usage error naming it" 2 "jdc.conf:1: max_size = 'huge' is not valid" -- "$janusc" build "$p"
rm "$p/.janus_cache/dispatch_tables/jdc.conf"

# ---- a directory that is not empty and not a cache is never made one ------------------
repo="$tmp/repo"
mkdir -p "$repo/.git/objects/ab" "$repo/.git/refs"
echo "ref: refs/heads/main" > "$repo/.git/HEAD"
before=$(cd "$repo/.git" && find . | sort)
for sub in stats ls validate gc optimize clear; do
  expect "$sub --dir repo/.git: not a cache" 2 "'$repo/.git' is not a jdc cache directory \(no CACHEDIR.TAG or index.jdci\)" -- "$jdc" "$sub" --dir "$repo/.git"
done
expect "janusc build --cache-dir repo/.git: refused, saying why and how" 2 "refusing to make '$repo/.git' a cache directory: it is not empty and has no CACHEDIR.TAG.*jdc init --force" -- \
  "$janusc" build "$p" --cache-dir "$repo/.git"
expect "init --dir repo/.git: refused, naming --force" 2 "it is not empty and has no CACHEDIR.TAG.*jdc init --force" -- "$jdc" init --dir "$repo/.git"
check "nothing was written into .git" test "$(cd "$repo/.git" && find . | sort)" == "$before"
mkdir -p "$tmp/mine" && echo notes > "$tmp/mine/notes.txt"
check_json "init --force: a non-empty directory made a cache on purpose" 'j["created"] is True and j["config_file_written"] is True' "$jdc" init --force --json --dir "$tmp/mine"
check "init --force: what was there stays" test -f "$tmp/mine/notes.txt"
expect "janusc uses it now" 0 "100 built" -- "$janusc" build "$p" --cache-dir "$tmp/mine"
expect "init: a new directory needs no --force" 0 "initialized cache directory $tmp/new/cache" -- "$jdc" init --dir "$tmp/new/cache"

expect_summary tools_jdc_config
