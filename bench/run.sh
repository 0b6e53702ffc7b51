#!/usr/bin/env bash
# bench/run.sh — build and run the benchmark suite, then regenerate bench/RESULTS.md.
#
#   bench/run.sh            full run, 4-7 minutes on 2 cores (more when other jobs load them): every program below,
#                           medians to bench/results/<program>.json (not committed), then
#                           bench/RESULTS.md (bench/make_results.py)
#   bench/run.sh --smoke    CI smoke test: every benchmark once, briefly, on small fixtures;
#                           writes nothing; exits non-zero when the build or any benchmark
#                           fails. Under a minute once built. Timing means nothing here, so
#                           it uses the test build (build/, debugoptimized, which builds
#                           bench/ by default) instead of a release build of its own.
#   bench/run.sh --only P[,P...]     run these programs only (with a full run: their JSON only;
#                                    RESULTS.md is left as it is, never half old and half new)
#   bench/run.sh [--smoke] -- ARGS   extra arguments for every program run (e.g.
#                                    --benchmark_filter=Pack)
#   bench/run.sh --no-build          reuse the binaries in build-bench/bench as they are;
#                                    RESULTS.md records their build times beside the git revision
#
# Programs (bench/bench_<program>.cpp; what each measures is at the top of its file):
#   arena     arenas against the seed's figures and the FlatBuffers, Cap'n Proto and protobuf peers
#   store     packs (10 to 100,000 tables), the loose-file store, syscall floors, puts, manager hits
#   scaling   cost against entries (10 to 100,000), jdc and peers; verify throughput limits
#   startup   a whole compiler process (startup_probe) with a cache of 10 to 100,000 tables
#   memory    heap bytes and allocations per loaded table (counting operator new)
#   prefetch  a warm build after the page cache dropped the cache files, with and without prefetch
# Adding a program: add it to `all_programs` and to full_args/smoke_args below, and give it a
# section in bench/make_results.py (a program without one still gets a table of medians).
# Other scripts may leave Markdown fragments in bench/results/*.md: RESULTS.md appends
# those that no section claims.
#
# Uses its own release build directory, build-bench/ at the top of the project. On a
# machine shared with other jobs, run it as `nice -n -20 bench/run.sh` (root): the
# benchmark thread then keeps a core, and RESULTS.md records the niceness.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
top=$(dirname "$here")
build=build-bench
mode=full
build_first=yes
all_programs=(arena store scaling startup memory dispatch codec prefetch)
programs=("${all_programs[@]}")
extra=()
invocation="bench/run.sh${*:+ $*}"
while [ $# -gt 0 ]; do
  case "$1" in
    --smoke) mode=smoke ;;
    --no-build) build_first=no ;;
    --only)
      shift
      IFS=, read -r -a programs <<< "${1:-}"
      for p in "${programs[@]}"; do
        case " ${all_programs[*]} " in
          *" $p "*) ;;
          *) echo "bench/run.sh: --only takes programs among: ${all_programs[*]} (comma-separated)" >&2; exit 2 ;;
        esac
      done
      [ "${#programs[@]}" -gt 0 ] || { echo "bench/run.sh: --only needs a program" >&2; exit 2; } ;;
    --) shift; extra=("$@"); break ;;
    -h|--help) sed -n '2,32p' "${BASH_SOURCE[0]}"; exit 0 ;;
    *) echo "bench/run.sh: unknown argument '$1' (try --help)" >&2; exit 2 ;;
  esac
  shift
done

# Arguments of each program in a full run, besides the shared ones. Deterministic counts
# (memory) need one short repetition; the scaling program's 100,000-entry tables make
# every iteration long, so it repeats less.
full_args() {
  case "$1" in
    arena|store) echo "--benchmark_min_time=0.05 --benchmark_repetitions=5" ;;
    scaling) echo "--benchmark_min_time=0.05 --benchmark_repetitions=3" ;;
    startup) echo "--benchmark_repetitions=5 --jdc_runs=60" ;;
    memory) echo "--benchmark_min_time=0.01 --benchmark_repetitions=1" ;;
    dispatch|codec) echo "--benchmark_min_time=0.1 --benchmark_repetitions=3" ;;
    prefetch) echo "--benchmark_min_time=0.5 --benchmark_repetitions=5 --jdc_dir=$build" ;;
  esac
}
smoke_args() {
  case "$1" in
    store|scaling) echo "--benchmark_min_time=0.01 --jdc_scale=small" ;;
    startup) echo "--jdc_scale=small --jdc_runs=2" ;;
    prefetch) echo "--benchmark_min_time=0.01 --jdc_entries=200 --jdc_dir=$build" ;;
    *) echo "--benchmark_min_time=0.01" ;;
  esac
}
binary_of() { echo "$build/bench/bench_$1"; }

cd "$top"
targets=()
for p in "${programs[@]}"; do
  targets+=("bench/bench_$p")
  [ "$p" = startup ] && targets+=(bench/startup_probe)
done
if [ "$mode" = smoke ]; then
  build=build
  if [ ! -f "$build/build.ninja" ]; then
    meson setup "$build" -Dbench=true
  elif ! meson introspect "$build" --buildoptions | python3 -c '
import json, sys
sys.exit(0 if {o["name"]: o["value"] for o in json.load(sys.stdin)}.get("bench") is True else 1)'; then
    meson configure "$build" -Dbench=true >/dev/null
  fi
fi
if [ "$build_first" = yes ] && [ "$mode" = smoke ]; then
  ninja -C "$build" "${targets[@]}"
elif [ "$build_first" = yes ]; then
  if [ ! -f "$build/build.ninja" ]; then
    meson setup "$build" -Dbench=true --buildtype=release
  elif ! meson introspect "$build" --buildoptions | python3 -c '
import json, sys
opts = {o["name"]: o["value"] for o in json.load(sys.stdin)}
sys.exit(0 if opts.get("bench") is True and opts.get("buildtype") == "release" else 1)'; then
    # Reconfiguring regenerates the build files, so only when an option differs.
    meson configure "$build" -Dbench=true -Dbuildtype=release >/dev/null
  fi
  ninja -C "$build" "${targets[@]}"
else
  for t in "${targets[@]}"; do
    if [ ! -x "$build/$t" ]; then
      echo "bench/run.sh: --no-build, but $build/$t does not exist" >&2
      exit 1
    fi
  done
fi

if [ "$mode" = smoke ]; then
  start=$(date +%s)
  for p in "${programs[@]}"; do
    # shellcheck disable=SC2046  # the argument lists are words without spaces
    "$(binary_of "$p")" $(smoke_args "$p") "${extra[@]}"
  done
  echo "bench/run.sh --smoke: every benchmark ran (${programs[*]}) in $(( $(date +%s) - start )) s"
  exit 0
fi

read -r load1 _ < /proc/loadavg
if awk -v l="$load1" -v n="$(nproc)" 'BEGIN { exit !(l > n / 2) }'; then
  echo "bench/run.sh: warning: load average is $load1 on $(nproc) cores; other work will make the figures noisy" >&2
fi
mkdir -p bench/results
# Random interleaving runs the repetitions of all benchmarks in random order, so a burst
# of other work on the machine spreads over many benchmarks instead of one block.
common=(--benchmark_enable_random_interleaving=true --benchmark_report_aggregates_only=true
        --benchmark_out_format=json)
suite_start=$(date +%s)
for p in "${programs[@]}"; do
  binary=$(binary_of "$p")
  json="bench/results/$p.json"
  # shellcheck disable=SC2207  # the argument lists are words without spaces
  args=($(full_args "$p") "${common[@]}" "--benchmark_out=$json" "${extra[@]}")
  command="$binary ${args[*]}"
  echo "+ $command"
  start=$(date +%s)
  "$binary" "${args[@]}"
  seconds=$(( $(date +%s) - start ))
  echo "bench/run.sh: bench_$p took $seconds s"
  read -r l1 l5 l15 _ < /proc/loadavg
  # What make_results.py records about the run of this program, one "key<TAB>value" a line.
  printf 'command\t%s\nbinary\t%s\nseconds\t%s\nload_after\t%s, %s, %s\n' \
    "$command" "$binary" "$seconds" "$l1" "$l5" "$l15" > "bench/results/$p.run"
done
if [ "${#programs[@]}" -lt "${#all_programs[@]}" ]; then
  echo "bench/run.sh: --only ${programs[*]}: wrote their JSON in bench/results/; RESULTS.md needs every program's results of one run, so it is unchanged"
  exit 0
fi
python3 bench/make_results.py --results-dir bench/results --programs "${programs[@]}" --out bench/RESULTS.md \
  --build-dir "$build" --niceness "$(nice)" --invocation "$invocation" --suite-seconds "$(( $(date +%s) - suite_start ))"
echo "bench/run.sh: wrote bench/RESULTS.md ($(( $(date +%s) - suite_start )) s in all)"
