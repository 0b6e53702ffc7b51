#!/usr/bin/env bash
# The main job: build everything, then a synthetic compiler build run twice through the
# cache (jdc demo-build): 300 generic functions over a 120-type hierarchy with multiple
# inheritance; the first build resolves every table and stores it, the second is
# served from the cache. Both build reports are printed, and the tables of the two
# builds are compared. Then a single arena round trip with every lookup checked
# against the reference resolver (jdc sample).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/build.sh build
rm -rf .janus_cache/demo   # start cold, so the first build really builds
build/jdc demo-build --dir .janus_cache/demo
build/jdc sample --quiet .janus_cache/sample.jdca
