#!/usr/bin/env bash
# bench/scenarios.sh — the seed's build scenarios, measured with janusc on generated
# projects, each against the same build with --no-cache.
#
#   bench/scenarios.sh              small, medium and large projects, 3 runs each (median);
#                                   writes bench/results/scenarios.md and scenarios.json.
#                                   Takes under a minute on 2 cores once janusc is built
#                                   (42 builds of the large project, 0.2-0.7 s each).
#   bench/scenarios.sh --smoke      CI: the small project, 1 run; checks every scenario's
#                                   hit pattern and the cached/uncached output equality,
#                                   exits non-zero on a failure; writes nothing under bench/
#   bench/scenarios.sh --sizes small,medium --runs 5 --jobs 1    (any subset, any count)
#   bench/scenarios.sh --no-build   use build-bench/janusc as it is
#
# Scenarios, in this order within each run:
#   clean        no cache, no previous output
#   no change    the same sources again
#   incremental  one method body edited in a leaf module (one no module imports)
#   partial      a type added to the most widely imported module besides core.base
#   full         a build flag changed (--opt-level 0): every table's key changes
# Edits are undone after their scenario; each run starts from a clean cache (a new
# directory per run).
#
# Uses the release build directory of bench/run.sh (build-bench/); projects and caches
# go to build-bench/scenarios/.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
top=$(dirname "$here")
build=build-bench
build_first=yes
args=()
for a in "$@"; do
  case "$a" in
    --no-build) build_first=no ;;
    -h|--help) sed -n '2,25p' "${BASH_SOURCE[0]}"; exit 0 ;;
    *) args+=("$a") ;;
  esac
done

cd "$top"
if [ "$build_first" = yes ]; then
  if [ ! -f "$build/build.ninja" ]; then
    meson setup "$build" -Dbench=true --buildtype=release >/dev/null
  else
    meson configure "$build" -Dbuildtype=release >/dev/null
  fi
  ninja -C "$build" janusc jdc >/dev/null
elif [ ! -x "$build/janusc" ]; then
  echo "bench/scenarios.sh: --no-build, but $build/janusc does not exist" >&2
  exit 1
fi
exec python3 bench/scenarios.py --janusc "$build/janusc" --work "$build/scenarios" --build-dir "$build" "${args[@]}"
