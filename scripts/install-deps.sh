#!/usr/bin/env bash
# Installs the Debian packages jdc needs, only those missing. Idempotent; silent
# when everything is present. Needs root (or sudo) only when something is missing.
set -euo pipefail

packages=(
  # build
  g++ meson ninja-build pkg-config python3
  # library
  libboost-dev libxxhash-dev liblz4-dev libzstd-dev libexpected-dev
  libcli11-dev nlohmann-json3-dev libhiredis-dev libsodium-dev
  # tests, benchmarks, fuzzing
  catch2 libbenchmark-dev redis-server clang-14 libclang-rt-14-dev
  # the install test (scripts/install-test.sh): the consumer built with CMake; man pages rendered
  cmake groff-base
  # benchmark peers (bench/ only; the library needs none of them)
  libflatbuffers-dev flatbuffers-compiler
  capnproto libcapnp-dev protobuf-compiler libprotobuf-dev
)

missing=()
for p in "${packages[@]}"; do
  status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
  [[ "$status" == "install ok installed" ]] || missing+=("$p")
done
[[ ${#missing[@]} -eq 0 ]] && exit 0

echo "install-deps: installing ${missing[*]}" >&2
sudo=""
if [[ $(id -u) -ne 0 ]]; then
  command -v sudo >/dev/null || { echo "install-deps: need root to install: ${missing[*]}" >&2; exit 1; }
  sudo="sudo"
fi
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
echo "install-deps: done" >&2
