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
ninja -C "$dir" >/dev/null
