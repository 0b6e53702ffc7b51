#!/usr/bin/env bash
# Configures (once) and builds jdc. Usage: scripts/build.sh [BUILD_DIR [meson options...]]
# Default BUILD_DIR is build/. Extra options only apply when the directory is new.
set -euo pipefail
cd "$(dirname "$0")/.."
dir=${1:-build}
shift || true
scripts/install-deps.sh
if [[ ! -f "$dir/build.ninja" ]]; then
  meson setup "$dir" "$@" >/dev/null
fi
# Quiet when it works; the whole compiler output when it does not.
if ! ninja -C "$dir" >"$dir/build-output.txt" 2>&1; then
  grep -E -A12 'FAILED|error:' "$dir/build-output.txt" | head -150
  echo "scripts/build.sh: the build in $dir failed (whole log: $dir/build-output.txt)" >&2
  exit 1
fi
