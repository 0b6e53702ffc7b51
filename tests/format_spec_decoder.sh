#!/usr/bin/env bash
# The independent decoder of the arena format (format-spec/tools/decode_forms.py, written
# from format-spec/arena-v2.md alone) against the library: every golden, random tables
# with a dispatch index, and damaged arenas (tests/spec_decoder_fixtures.cpp says which).
# Each case is one decoder run whose exit status and output are checked.
# Usage: format_spec_decoder.sh PATH_TO_spec_decoder_fixtures PATH_TO_decode_forms.py DATA_DIR
# Skips (exit 77) without python3 or without libxxhash for ctypes.
set -u
fixtures=$1
decoder=$2
data=$3
command -v python3 >/dev/null 2>&1 || { echo "SKIP: no python3"; exit 77; }
python3 -c 'import ctypes, ctypes.util; ctypes.CDLL(ctypes.util.find_library("xxhash") or "libxxhash.so.0")' 2>/dev/null ||
    { echo "SKIP: python3 cannot load libxxhash"; exit 77; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
"$fixtures" "$tmp" "$data" || exit 1
runs=0
failed=0
while IFS=$'\t' read -r status want args; do
    runs=$((runs + 1))
    # shellcheck disable=SC2086  # the arguments are paths without spaces (mktemp) and flags
    out=$(python3 "$decoder" $args 2>&1)
    got=$?
    if [ "$got" -ne "$status" ] || [[ "$out" != *"$want"* ]]; then
        failed=$((failed + 1))
        echo "FAIL: decode_forms.py $args"
        echo "  expected status $status and output containing: $want"
        echo "  got status $got: $out"
    fi
done < "$tmp/cases.tsv"
echo "$runs decoder runs, $failed failed"
[ "$runs" -gt 0 ] && [ "$failed" -eq 0 ]
