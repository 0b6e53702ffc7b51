#!/usr/bin/env bash
# The main job: build everything, then let the reference compiler janusc build a
# generated medium project (1,000 generic functions in 100 modules) twice through the
# cache: cold (empty cache: every dispatch table resolved over the whole type hierarchy
# and stored, as one pack at the end of the build), then warm (every table from the
# cache). Both builds also resolve every call site over the cone of its argument types
# and warn about calls that can be ambiguous or have no method. Both build reports are
# printed, with the first warnings; the dispatch summaries the two builds wrote, and
# their warnings, are compared byte for byte.
# (`build/jdc demo-build` is the older, synthetic version of this.)
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/build.sh build
project=build/janus-medium
rm -rf "$project" "$project-out"   # start cold, so the first build really builds
build/janusc gen --size medium --seed 1 "$project"
cache=(--cache-dir "$project/.janus_cache/dispatch_tables")  # not $JANUS_CACHE_DIR: this job must start cold
mkdir -p "$project-out"
# Warnings go to stderr, before the report; each build's go to a file, of which the
# first few are shown (the report counts them all).
build() {
  local name=$1
  build/janusc build "$project" "${cache[@]}" --out "$project-out/$name" 2>"$project-out/$name.warnings"
  echo "  ($(grep -c ': warning: ' "$project-out/$name.warnings") warnings shown on stderr, the first 3:)"
  head -n 3 "$project-out/$name.warnings" | sed 's/^/  /'
}
echo
echo "== cold build: empty cache"
build cold
echo
echo "== warm build: the same sources again"
build warm
echo
if diff -r "$project-out/cold" "$project-out/warm" >/dev/null; then
  echo "the dispatch summaries of both builds are identical ($(find "$project-out/warm" -name '*.dispatch' | wc -l) modules)"
else
  echo "the dispatch summaries of the two builds differ" >&2
  exit 1
fi
if cmp -s "$project-out/cold.warnings" "$project-out/warm.warnings"; then
  echo "the warnings of both builds are identical ($(grep -c ': warning: ' "$project-out/warm.warnings") shown)"
else
  echo "the warnings of the two builds differ" >&2
  exit 1
fi
