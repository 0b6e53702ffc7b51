#!/usr/bin/env bash
# The main job: build everything, then run jdc end to end on a sample: write a dispatch
# table as an arena file, load it back (read or mmap + full verification), bind it to a
# live type registry and answer every lookup from the file's bytes, each checked
# against the reference resolver; then verify and inspect the file.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/build.sh build
mkdir -p .janus_cache
build/jdc sample --quiet .janus_cache/sample.jdca
build/jdc verify .janus_cache/sample.jdca
build/jdc inspect .janus_cache/sample.jdca
