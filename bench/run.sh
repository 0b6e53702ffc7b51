#!/usr/bin/env bash
# bench/run.sh — build and run the benchmarks: bench_arena (arenas, against the seed and
# FlatBuffers) and bench_store (packs, the loose store, puts, the build cache manager).
#
#   bench/run.sh            full run: 5 repetitions per benchmark, medians to
#                           bench/results/{arena,store}.json (not committed) and bench/RESULTS.md
#   bench/run.sh --smoke    CI smoke test: every benchmark once, briefly, bench_store on small
#                           fixtures (--jdc_scale=small); writes nothing; exits non-zero when
#                           the build or any benchmark fails
#   bench/run.sh --only arena|store  run one program (with a full run: its JSON only,
#                                    RESULTS.md is left as it is, never half old and half new)
#   bench/run.sh [--smoke] -- ARGS   extra arguments for the programs (e.g. --benchmark_filter=Pack;
#                                    with --only, for that one)
#   bench/run.sh --no-build          reuse the binaries in build-bench/bench as they are (e.g. while
#                                    the rest of the tree does not configure); RESULTS.md records
#                                    their build times beside the git revision
#
# Uses its own release build directory, build-bench/ at the top of the project.
# The full run takes about 3-5 minutes on 2 cores (bench_arena ~1.5, bench_store 1.5-3).
# On a machine shared with other jobs, run it as `nice -n -20 bench/run.sh` (root): the
# benchmark thread then keeps a core, and RESULTS.md records the niceness.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
top=$(dirname "$here")
build=build-bench
mode=full
build_first=yes
programs=(arena store)
extra=()
while [ $# -gt 0 ]; do
  case "$1" in
    --smoke) mode=smoke ;;
    --no-build) build_first=no ;;
    --only)
      shift
      case "${1:-}" in
        arena|store) programs=("$1") ;;
        *) echo "bench/run.sh: --only takes 'arena' or 'store'" >&2; exit 2 ;;
      esac ;;
    --) shift; extra=("$@"); break ;;
    -h|--help) sed -n '2,22p' "${BASH_SOURCE[0]}"; exit 0 ;;
    *) echo "bench/run.sh: unknown argument '$1' (try --help)" >&2; exit 2 ;;
  esac
  shift
done

cd "$top"
if [ "$build_first" = yes ]; then
  if [ ! -f "$build/build.ninja" ]; then
    meson setup "$build" -Dbench=true --buildtype=release
  else
    meson configure "$build" -Dbench=true -Dbuildtype=release >/dev/null
  fi
  ninja -C "$build" "${programs[@]/#/bench/bench_}"
else
  for p in "${programs[@]}"; do
    if [ ! -x "$build/bench/bench_$p" ]; then
      echo "bench/run.sh: --no-build, but $build/bench/bench_$p does not exist" >&2
      exit 1
    fi
  done
fi

# Arguments of each program besides the shared ones.
own_args() {
  if [ "$1" = store ] && [ "$mode" = smoke ]; then echo "--jdc_scale=small"; fi
}

if [ "$mode" = smoke ]; then
  for p in "${programs[@]}"; do
    # shellcheck disable=SC2046  # own_args prints zero or one word
    "$build/bench/bench_$p" --benchmark_min_time=0.01 $(own_args "$p") "${extra[@]}"
  done
  echo "bench/run.sh --smoke: every benchmark ran (${programs[*]})"
  exit 0
fi

read -r load1 _ < /proc/loadavg
if awk -v l="$load1" -v n="$(nproc)" 'BEGIN { exit !(l > n / 2) }'; then
  echo "bench/run.sh: warning: load average is $load1 on $(nproc) cores; other work will make the figures noisy" >&2
fi
mkdir -p bench/results
# Random interleaving runs the repetitions of all benchmarks in random order, so a burst
# of other work on the machine spreads over many benchmarks instead of one block.
common=(--benchmark_min_time=0.2 --benchmark_repetitions=5 --benchmark_enable_random_interleaving=true
        --benchmark_report_aggregates_only=true --benchmark_out_format=json)
results_args=()
for p in "${programs[@]}"; do
  binary="$build/bench/bench_$p"
  json="bench/results/$p.json"
  args=("${common[@]}" "--benchmark_out=$json" "${extra[@]}")
  command="$binary ${args[*]}"
  echo "+ $command"
  start=$(date +%s)
  "$binary" "${args[@]}"
  echo "bench/run.sh: bench_$p took $(( $(date +%s) - start )) s"
  read -r l1 l5 l15 _ < /proc/loadavg
  results_args+=("--$p-json" "$json" "--$p-command" "$command" "--$p-binary" "$binary" "--$p-load-after" "$l1, $l5, $l15")
done
if [ "${#programs[@]}" -lt 2 ]; then
  echo "bench/run.sh: --only ${programs[0]}: wrote bench/results/${programs[0]}.json; RESULTS.md needs both programs' results of one run, so it is unchanged"
  exit 0
fi
python3 bench/make_results.py "${results_args[@]}" --out bench/RESULTS.md --build-dir "$build" --niceness "$(nice)"
echo "bench/run.sh: wrote bench/RESULTS.md"
