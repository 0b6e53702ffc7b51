#!/usr/bin/env bash
# CLI tests of the jdc tool: outputs and exit codes (0 ok, 1 invalid, 2 usage/I/O).
# Usage: tools_jdc.sh PATH_TO_JDC GOLDEN_DIR
set -u
jdc=$1
golden=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# shellcheck source=support/cli_expect.sh
source "$(dirname "${BASH_SOURCE[0]}")/support/cli_expect.sh"

expect "sample writes, loads and checks every lookup" 0 "49 of 49 lookups agree" -- "$jdc" sample "$tmp/s.jdca"
expect "verify a valid arena" 0 "s.jdca: ok" -- "$jdc" verify "$tmp/s.jdca"
check_json "verify --json" 'j["files"][0]["valid"] is True and j["files"][0]["codec"] == "none"' "$jdc" verify --json "$tmp/s.jdca"
check_json "inspect --json: the arena" \
  'j["signature"]["name"] == "collide" and j["signature"]["parameters"] == ["Object", "Object"] and len(j["entries"]) == 4 and j["entries"][3]["parameters"] == ["Drawable", "Shape"] and j["form"] in ("scan", "compressed_table") and {s["kind"] for s in j["sections"]} >= {"strings", "types", "entries"}' \
  "$jdc" inspect --json "$golden"/shapes.jdca
expect "verify golden arenas" 0 "shapes.jdca: ok" -- "$jdc" verify "$golden"/shapes.jdca "$golden"/empty.jdca "$golden"/random-arity3.jdca
expect "inspect shows the header" 0 "signature: +collide\(Object, Object\) -> bool" -- "$jdc" inspect "$golden"/shapes.jdca
expect "inspect shows entries" 0 "#3  geometry.collide\(Drawable, Shape\) -> bool  id 4" -- "$jdc" inspect "$golden"/shapes.jdca
expect "inspect shows sections" 0 "parameters +offset +[0-9]+ +size +32 +required" -- "$jdc" inspect "$golden"/shapes.jdca

cp "$tmp/s.jdca" "$tmp/flip.jdca"
printf '\x00' | dd of="$tmp/flip.jdca" bs=1 seek=300 conv=notrunc status=none
expect "verify a corrupted arena" 1 "flip.jdca: INVALID \(checksum mismatch\)" -- "$jdc" verify "$tmp/flip.jdca"
expect "inspect a corrupted arena" 1 "INVALID" -- "$jdc" inspect "$tmp/flip.jdca"

head -c 100 "$tmp/s.jdca" > "$tmp/short.jdca"
expect "verify a truncated arena" 1 "INVALID \(truncated\)" -- "$jdc" verify "$tmp/short.jdca"

printf 'hello world, not an arena at all' > "$tmp/text.jdca"
expect "verify a wrong magic names both" 1 "magic is 0x6c6c6568, expected 0x4143444a" -- "$jdc" verify "$tmp/text.jdca"

# A version 3.0 arena: patch major version, reseal the header checksum is not
# needed, the version is checked first and named with ours.
cp "$tmp/s.jdca" "$tmp/v3.jdca"
printf '\x03' | dd of="$tmp/v3.jdca" bs=1 seek=4 conv=notrunc status=none
expect "verify a newer version names both" 1 "version 3.0 is not supported: this reader reads formats 1.x to 2.x \\(written for 2.0\\)" -- "$jdc" verify "$tmp/v3.jdca"

expect "mixed valid and invalid: worst exit wins" 1 "s.jdca: ok" -- "$jdc" verify "$tmp/s.jdca" "$tmp/flip.jdca"
check_json "verify --json: an invalid file" 'j["files"][1]["valid"] is False and j["files"][1]["error"] == "checksum mismatch"' \
  "$jdc" verify --json "$tmp/s.jdca" "$tmp/flip.jdca"
expect "verify --quiet prints only problems" 1 "^$tmp/flip.jdca: INVALID" -- "$jdc" verify -q "$tmp/s.jdca" "$tmp/flip.jdca"
expect "verify a missing file" 2 "cannot open .*missing.jdca" -- "$jdc" verify "$tmp/missing.jdca"
expect "verify a directory" 2 "not a regular file" -- "$jdc" verify "$tmp"
expect "no subcommand is a usage error" 2 "" -- "$jdc"
expect "an unknown subcommand is named" 2 "unknown command 'frobnicate'" -- "$jdc" frobnicate
expect "version" 0 "^jdc [0-9]+\.[0-9]+\.[0-9]+$" -- "$jdc" --version
expect "unknown option is a usage error" 2 "" -- "$jdc" verify --frobnicate "$tmp/s.jdca"
expect "help exits 0" 0 "inspect" -- "$jdc" --help
expect "sample into a missing directory" 2 "cannot create temporary file" -- "$jdc" sample "$tmp/no/such/dir/s.jdca"

expect "demo-build: cold then warm, identical tables" 0 "20 of 20 tables identical" -- "$jdc" demo-build --dir "$tmp/demo" --functions 20 --types 30
expect "demo-build: the warm build only hits" 0 "lookups: +20 \(20 hits, 0 misses, hit ratio 100.0%\)" -- "$jdc" demo-build --dir "$tmp/demo" --functions 20 --types 30
expect "demo-build: a bad option value is a usage error" 2 "" -- "$jdc" demo-build --functions 0
JANUS_CACHE_SIZE=lots expect "demo-build: a bad JANUS_CACHE_SIZE names the variable" 2 "JANUS_CACHE_SIZE='lots'" -- "$jdc" demo-build --dir "$tmp/demo2" --functions 2
check_json "demo-build --json: both reports, the warm one all hits" \
  'j["tables_identical"] == 20 and j["cold"]["report"]["session"]["misses"] + j["cold"]["report"]["session"]["hits"] == 20 and j["warm"]["report"]["session"]["hits"] == 20 and j["warm"]["report"]["session"]["misses"] == 0' \
  "$jdc" demo-build --json --dir "$tmp/demo" --functions 20 --types 30
check_json "sample --json: every lookup and its agreement" \
  'j["lookups"] == 49 and j["agreeing"] == 49 and len(j["results"]) == 49 and all(r["agrees_with_reference"] for r in j["results"]) and {r["result"] for r in j["results"]} == {"method", "ambiguous", "no_method"}' \
  "$jdc" sample --json "$tmp/sj.jdca"
expect "sample --json to standard output is a usage error" 2 "needs an output file" -- "$jdc" sample --json -

# Compressed arenas (compressed-arena-v1.md): written by compress, read by every command.
expect "compress with zstd" 0 "z.jdca: [0-9]+ bytes \(zstd\) from [0-9]+ bytes \(none\)" -- "$jdc" compress --codec zstd "$golden"/random-arity3.jdca "$tmp/z.jdca"
expect "compress with lz4 (the default)" 0 "\(lz4\) from" -- "$jdc" compress "$golden"/random-arity3.jdca "$tmp/l.jdca"
expect "verify a compressed arena" 0 "z.jdca: ok \(stored zstd-compressed: [0-9]+ of [0-9]+ bytes\)" -- "$jdc" verify "$tmp/z.jdca"
expect "inspect a compressed arena shows the arena" 0 "arity: +3" -- "$jdc" inspect "$tmp/l.jdca"
expect "decompress gives the arena back" 0 "[0-9]+ bytes \(none\)" -- "$jdc" decompress "$tmp/z.jdca" "$tmp/back.jdca"
expect "the decompressed arena is the original, byte for byte" 0 "" -- cmp "$tmp/back.jdca" "$golden"/random-arity3.jdca
check_json "compress --json: sizes and codecs" \
  'j["valid"] is True and j["input_codec"] == "none" and j["output_codec"] == "zstd" and 0 < j["output_bytes"] < j["input_bytes"]' \
  "$jdc" compress --json --codec zstd "$golden"/random-arity3.jdca "$tmp/zj.jdca"
check_json "decompress --json: the arena's size back" \
  'j["valid"] is True and j["input_codec"] == "zstd" and j["output_codec"] == "none" and j["output_bytes"] > j["input_bytes"]' \
  "$jdc" decompress --json "$tmp/zj.jdca" "$tmp/backj.jdca"
expect "decompress --json to standard output is a usage error" 2 "needs an output file" -- "$jdc" decompress --json "$tmp/zj.jdca" -
cp "$tmp/z.jdca" "$tmp/zflip.jdca"
printf '\x00' | dd of="$tmp/zflip.jdca" bs=1 seek=200 conv=notrunc status=none
expect "verify a damaged compressed arena" 1 "zflip.jdca: INVALID \(checksum mismatch\)" -- "$jdc" verify "$tmp/zflip.jdca"
expect "decompress a damaged compressed arena" 1 "INVALID" -- "$jdc" decompress "$tmp/zflip.jdca" "$tmp/nothing.jdca"
expect "compress refuses an invalid arena" 1 "INVALID" -- "$jdc" compress "$tmp/flip.jdca" "$tmp/nothing.jdca"
expect "compress --json: an invalid arena, exit 1" 1 '"valid": false' -- "$jdc" compress --json "$tmp/flip.jdca" "$tmp/nothing.jdca"
expect "compress: a level out of range is a usage error" 2 "outside" -- "$jdc" compress --level 99 "$golden"/shapes.jdca "$tmp/nothing.jdca"
expect "compress: an unknown codec is a usage error" 2 "" -- "$jdc" compress --codec gzip "$golden"/shapes.jdca "$tmp/nothing.jdca"
[ ! -e "$tmp/nothing.jdca" ] && echo "ok   nothing written on failure" || { echo "FAIL something written on failure"; fail=$((fail + 1)); }

# OUT must be a regular file or a new path (issue 20, attack 7): outputs are published
# by rename, which replaced a FIFO, a symlink or (as root) /dev/full given as OUT.
check() {  # NAME CONDITION...: counts a check done in the shell
  local name=$1
  shift
  if "$@"; then echo "ok   $name"; pass=$((pass + 1)); else echo "FAIL $name"; fail=$((fail + 1)); fi
}
mkfifo "$tmp/fifo"
ln -s "$tmp/target.jdca" "$tmp/link.jdca"
mkdir "$tmp/outdir"
expect "sample refuses a FIFO as OUT" 2 "refusing to write '$tmp/fifo': it is a FIFO, not a regular file" -- "$jdc" sample "$tmp/fifo"
expect "compress refuses a symlink as OUT" 2 "it is a symbolic link, not a regular file.*replace the link itself" -- "$jdc" compress "$golden"/shapes.jdca "$tmp/link.jdca"
expect "decompress refuses a directory as OUT" 2 "it is a directory, not a regular file" -- "$jdc" decompress "$tmp/z.jdca" "$tmp/outdir"
check "the FIFO is still a FIFO" test -p "$tmp/fifo"
check "the symlink is still a symlink, its target not created" eval 'test -L "$tmp/link.jdca" && test ! -e "$tmp/target.jdca"'
if mknod "$tmp/null" c 1 3 2>/dev/null; then  # root only: a device node of our own
  expect "compress refuses a character device as OUT" 2 "it is a character device" -- "$jdc" compress "$golden"/shapes.jdca "$tmp/null"
  check "the device node is still a device node" test -c "$tmp/null"
fi
cp "$golden"/empty.jdca "$tmp/existing.jdca"
expect "an existing regular file is replaced" 0 "bytes \(none\)" -- "$jdc" decompress "$tmp/z.jdca" "$tmp/existing.jdca"
check "with the new arena" cmp -s "$tmp/existing.jdca" "$golden"/random-arity3.jdca
"$jdc" decompress "$tmp/z.jdca" - > "$tmp/stdout.jdca" 2> "$tmp/stderr.txt"
check "decompress - writes the arena to stdout, the summary to stderr" eval 'cmp -s "$tmp/stdout.jdca" "$golden"/random-arity3.jdca && grep -q "^-: [0-9]* bytes (none)" "$tmp/stderr.txt"'
"$jdc" compress --codec zstd "$golden"/shapes.jdca - > "$tmp/stdout-z.jdca" 2> /dev/null
expect "compress - writes a compressed arena to stdout" 0 "stdout-z.jdca: ok \(stored zstd-compressed" -- "$jdc" verify "$tmp/stdout-z.jdca"
"$jdc" sample - > "$tmp/stdout-s.jdca" 2> "$tmp/stderr.txt"
check "sample - writes the arena to stdout and reports on stderr" eval '"$jdc" verify -q "$tmp/stdout-s.jdca" && grep -q "49 of 49 lookups agree" "$tmp/stderr.txt"'

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
