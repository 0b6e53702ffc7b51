#!/usr/bin/env bash
# bench/run.sh — build and run the arena benchmarks (bench/bench_arena.cpp).
#
#   bench/run.sh            full run: 5 repetitions per benchmark, medians to
#                           bench/results/latest.json (not committed) and bench/RESULTS.md
#   bench/run.sh --smoke    CI smoke test: every benchmark once, briefly; writes nothing;
#                           exits non-zero when the build or any benchmark fails
#   bench/run.sh [--smoke] -- ARGS   extra arguments for bench_arena (e.g. --benchmark_filter=Lookup)
#   bench/run.sh --no-build          reuse build-bench/bench/bench_arena as it is (e.g. while the
#                                    rest of the tree does not configure); RESULTS.md records
#                                    the binary's build time beside the git revision
#
# Uses its own release build directory, build-bench/ at the top of the project.
# The full run takes about 2-3 minutes on 2 cores. On a machine shared with other jobs,
# run it as `nice -n -20 bench/run.sh` (root): the benchmark thread then keeps a core,
# and RESULTS.md records the niceness.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
top=$(dirname "$here")
build=build-bench
mode=full
build_first=yes
extra=()
while [ $# -gt 0 ]; do
  case "$1" in
    --smoke) mode=smoke ;;
    --no-build) build_first=no ;;
    --) shift; extra=("$@"); break ;;
    -h|--help) sed -n '2,15p' "${BASH_SOURCE[0]}"; exit 0 ;;
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
  ninja -C "$build" bench/bench_arena
elif [ ! -x "$build/bench/bench_arena" ]; then
  echo "bench/run.sh: --no-build, but $build/bench/bench_arena does not exist" >&2
  exit 1
fi

binary="$build/bench/bench_arena"
if [ "$mode" = smoke ]; then
  "$binary" --benchmark_min_time=0.01 "${extra[@]}"
  echo "bench/run.sh --smoke: every benchmark ran"
  exit 0
fi

read -r load1 _ < /proc/loadavg
if awk -v l="$load1" -v n="$(nproc)" 'BEGIN { exit !(l > n / 2) }'; then
  echo "bench/run.sh: warning: load average is $load1 on $(nproc) cores; other work will make the figures noisy" >&2
fi
mkdir -p bench/results
json=bench/results/latest.json
# Random interleaving runs the repetitions of all benchmarks in random order, so a burst
# of other work on the machine spreads over many benchmarks instead of one block.
args=(--benchmark_min_time=0.2 --benchmark_repetitions=5 --benchmark_enable_random_interleaving=true
      --benchmark_report_aggregates_only=true
      --benchmark_out_format=json "--benchmark_out=$json" "${extra[@]}")
command="$binary ${args[*]}"
echo "+ $command"
start=$(date +%s)
"$binary" "${args[@]}"
echo "bench/run.sh: benchmarks took $(( $(date +%s) - start )) s"
read -r l1 l5 l15 _ < /proc/loadavg
python3 bench/make_results.py --json "$json" --out bench/RESULTS.md --build-dir "$build" --command "$command" \
  --load-after "$l1, $l5, $l15" --binary "$binary" --niceness "$(nice)"
echo "bench/run.sh: wrote bench/RESULTS.md"
