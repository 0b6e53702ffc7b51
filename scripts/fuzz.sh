#!/usr/bin/env bash
# Runs every libFuzzer target of fuzz/ for a while, under ASan + UBSan.
#
#   scripts/fuzz.sh [SECONDS] [TARGET...]
#
# SECONDS: time per target (default 30). TARGET: names from the fuzz_targets list of
# fuzz/meson.build (default: all of them). Environment: BUILD_DIR (default
# build-fuzz), JOBS (targets run in parallel, default 1), FUZZ_ARGS (extra libFuzzer
# flags), KEEP=1 to keep the scratch directory.
#
# Per-target libFuzzer flags live in fuzz/<target>.options, one flag per line (`#`
# starts a comment); a -dict= path there is relative to fuzz/. Defaults for every
# target: -timeout=10 -rss_limit_mb=2048 -max_len=8192 (a later flag wins).
#
# Each target starts from a scratch copy of its checked-in corpus
# (fuzz/corpus/<target>), so that corpus only grows on purpose: to keep a new input,
# copy it there by hand (or run `fuzz_<target> -merge=1 fuzz/corpus/<target> DIR`).
# Fails (exit 1) on any crash, leak, timeout, out-of-memory or sanitizer report; the
# reproducer is left in the scratch directory and its path printed. Reproduce with
#   BUILD_DIR/fuzz/fuzz_<target> FILE      or      build/fuzz/replay_<target> FILE
# (the replay programs are part of the test build; REPLAY=1 also builds them here).
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
seconds=${1:-30}
shift || true
build=${BUILD_DIR:-$root/build-fuzz}
jobs=${JOBS:-1}
# The one list of targets is fuzz/meson.build's: a target added there is fuzzed here.
mapfile -t all_targets < <(sed -n "/^fuzz_targets = \[/,/^\]/s/^ *'\([a-z0-9_]*\)',*\$/\1/p" "$root/fuzz/meson.build")
[[ ${#all_targets[@]} -gt 0 ]] || { echo "no fuzz_targets list in fuzz/meson.build" >&2; exit 2; }
targets=("$@")
[[ ${#targets[@]} -gt 0 ]] || targets=("${all_targets[@]}")

if ! [[ $seconds =~ ^[0-9]+$ ]] || [[ $seconds -eq 0 ]]; then
    echo "usage: scripts/fuzz.sh [SECONDS] [TARGET...]" >&2
    exit 2
fi

if [[ ! -f $build/build.ninja ]]; then
    CC=clang-14 CXX=clang++-14 meson setup "$build" "$root" \
        -Dfuzz=true -Dbench=false \
        -Db_sanitize=address,undefined -Db_lundef=false \
        -Dcpp_args=-fno-sanitize-recover=all -Dcpp_link_args=-fno-sanitize-recover=all
fi
ninja_targets=()
for t in "${targets[@]}"; do
    ninja_targets+=("fuzz/fuzz_$t")
    [[ ${REPLAY:-0} == 1 ]] && ninja_targets+=("fuzz/replay_$t")
done
ninja -C "$build" "${ninja_targets[@]}"

scratch=$(mktemp -d "${TMPDIR:-/tmp}/jdc-fuzz.XXXXXX")
if [[ ${KEEP:-0} != 1 ]]; then
    # Keep the directory when something failed: it holds the reproducer.
    trap 'if [[ ${failed:-0} == 0 ]]; then rm -rf "$scratch"; else echo "scratch directory kept: $scratch"; fi' EXIT
fi

# Abort on the first report of either sanitizer, with a stack.
export ASAN_OPTIONS=${ASAN_OPTIONS:-abort_on_error=1:detect_leaks=1:symbolize=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:abort_on_error=1:print_stacktrace=1}

# The flags of fuzz/<target>.options, dictionaries resolved against fuzz/.
target_options() {
    local file=$root/fuzz/$1.options line
    [[ -f $file ]] || return 0
    while IFS= read -r line; do
        line=${line%%#*}
        line=${line//[[:space:]]/}
        [[ -n $line ]] || continue
        [[ $line == -dict=* ]] && line=-dict=$root/fuzz/${line#-dict=}
        echo "$line"
    done <"$file"
}

run_one() {
    local t=$1
    local corpus=$scratch/$t/corpus artifacts=$scratch/$t/artifacts/
    local options
    mapfile -t options < <(target_options "$t")
    mkdir -p "$corpus" "$artifacts"
    cp -R "$root/fuzz/corpus/$t/." "$corpus/"
    # shellcheck disable=SC2086
    "$build/fuzz/fuzz_$t" "$corpus" \
        -timeout=10 -rss_limit_mb=2048 -max_len=8192 \
        "${options[@]}" \
        -max_total_time="$seconds" \
        -artifact_prefix="$artifacts" \
        -print_final_stats=1 \
        ${FUZZ_ARGS:-} >"$scratch/$t/log" 2>&1
}

pids=()
names=()
failed=0
for t in "${targets[@]}"; do
    [[ -x $build/fuzz/fuzz_$t ]] || { echo "no fuzz target $t in $build (is CXX clang++?)" >&2; exit 2; }
    echo "fuzzing $t for ${seconds}s ..."
    run_one "$t" &
    pids+=($!)
    names+=("$t")
    if [[ ${#pids[@]} -ge $jobs ]]; then
        wait "${pids[0]}" || true
        pids=("${pids[@]:1}")
    fi
done
wait || true

for t in "${names[@]}"; do
    log=$scratch/$t/log
    summary=$(grep -E '^#[0-9]+[[:space:]]+DONE' "$log" | tail -1 || true)
    execs=$(grep -E '^stat::number_of_executed_units' "$log" | awk '{print $2}' || true)
    echo "== $t: ${summary:-no DONE line} (executions: ${execs:-?})"
    artifacts=$(find "$scratch/$t/artifacts" -type f 2>/dev/null || true)
    if [[ -z $summary || -n $artifacts ]] || grep -qE 'ERROR: (AddressSanitizer|LeakSanitizer|libFuzzer)|runtime error:|property violated' "$log"; then
        failed=1
        echo "FAILED: $t; log follows (last 60 lines)"
        tail -60 "$log"
        [[ -n $artifacts ]] && echo "reproducers:" && echo "$artifacts"
    fi
done
[[ $failed == 0 ]] && echo "all targets ran clean"
exit "$failed"
