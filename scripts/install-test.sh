#!/usr/bin/env bash
# The install test (CI): configures jdc as a package builder would (-Dtests=false
# -Dbench=false), installs it into a temporary prefix, checks what was installed
# (headers, libjdc.so and its exported symbols, jdc.pc, the CMake package, man pages,
# bash completions), then builds examples/consumer against that prefix twice, with
# meson + pkg-config and with CMake, and runs both.
#
#   scripts/install-test.sh [BUILD_DIR]     (default build-install/; kept for reuse)
#
# Compiles the same sources with the same flags as build/, so after scripts/test.sh
# ccache serves most of it (CCACHE_NOHASHDIR: the build directory is not part of the
# hash). Exits non-zero on the first failure, saying which.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
dir=${1:-build-install}
scripts/install-deps.sh
work=$(mktemp -d "${TMPDIR:-/tmp}/jdc-install.XXXXXX")
trap 'rm -rf "$work"' EXIT
prefix=$work/prefix
fail() { echo "install-test: FAIL: $*" >&2; exit 1; }
ok() { echo "install-test: ok   $*"; }

export CCACHE_NOHASHDIR=1
rm -rf "$dir"
meson setup "$dir" --prefix="$prefix" -Dtests=false -Dbench=false -Dwerror=true >"$work/setup.log" 2>&1 ||
  { cat "$work/setup.log"; fail "meson setup -Dtests=false -Dbench=false"; }
grep -qi 'catch2\|benchmark\|flatbuffers\|capnp\|protobuf' "$work/setup.log" &&
  fail "a package build looked for a test or benchmark dependency: $(grep -i 'catch2\|benchmark\|flatbuffers\|capnp\|protobuf' "$work/setup.log" | head -3)"
ok "configured without tests and benchmarks (no Catch2, Google Benchmark or peers looked for)"
ninja -C "$dir" >"$work/build.log" 2>&1 || { tail -40 "$work/build.log"; fail "build"; }
meson install -C "$dir" --quiet >"$work/install.log" 2>&1 || { cat "$work/install.log"; fail "meson install"; }
ok "built and installed into a temporary prefix"

libdir=$(cd "$prefix" && find . -name 'libjdc.so' -printf '%h\n' | head -1 | sed 's|^\./||')
[[ -n $libdir ]] || fail "no libjdc.so under $prefix"
for f in include/jdc/build_cache_manager.hpp include/jdc/export.hpp include/jdc/version.hpp "$libdir/libjdc.a" \
         "$libdir/pkgconfig/jdc.pc" "$libdir/cmake/jdc/jdcConfig.cmake" "$libdir/cmake/jdc/jdcConfigVersion.cmake" \
         bin/jdc bin/jdc-compactor bin/janusc share/man/man1/jdc.1 share/man/man1/jdc-compactor.1 share/man/man1/janusc.1 \
         share/bash-completion/completions/jdc share/bash-completion/completions/jdc-compactor share/bash-completion/completions/janusc; do
  [[ -e $prefix/$f ]] || fail "not installed: $f"
done
ok "headers, libraries, jdc.pc, CMake package, programs, man pages, completions"
[[ $("$prefix/bin/jdc" --version) == "jdc $(meson introspect "$dir" --projectinfo | python3 -c 'import json,sys; print(json.load(sys.stdin)["version"])')" ]] ||
  fail "jdc --version"
man -l "$prefix/share/man/man1/jdc.1" >/dev/null 2>&1 || MANWIDTH=80 groff -man -Tutf8 "$prefix/share/man/man1/jdc.1" >/dev/null ||
  fail "man page jdc.1 does not render"
ok "the installed jdc runs; its man page renders"

# The dynamic symbol table is the public API: nothing of jdc::detail, no instantiation
# of a third-party template.
symbols=$(nm -DC --defined-only "$prefix/$libdir/libjdc.so")
count=$(wc -l <<<"$symbols")
leaked=$(grep -E 'jdc::detail|nlohmann|boost::|fmt::' <<<"$symbols" || true)
[[ -z $leaked ]] || fail "exported internals: $(head -5 <<<"$leaked")"
grep -q 'jdc::BuildCacheManager::getOrBuildDispatchTable' <<<"$symbols" || fail "BuildCacheManager is not exported"
ok "libjdc.so exports $count symbols, none of jdc::detail, Boost or nlohmann"

# jdc.pc: what a consumer needs, and nothing only the library's sources need.
export PKG_CONFIG_PATH=$prefix/$libdir/pkgconfig
pkg-config --exists jdc || fail "pkg-config does not find jdc"
pkg-config --print-requires-private jdc | grep -q nlohmann && fail "jdc.pc lists nlohmann_json, which only jdc's sources need"
[[ $(pkg-config --modversion jdc) == $(meson introspect "$dir" --projectinfo | python3 -c 'import json,sys; print(json.load(sys.stdin)["version"])') ]] ||
  fail "jdc.pc's version"
ok "jdc.pc: $(pkg-config --cflags --libs jdc)"

run_consumer() {  # run_consumer NAME BINARY
  local name=$1 bin=$2 out
  rm -rf "$work/cache"
  out=$(JANUS_CACHE_DIR=$work/cache LD_LIBRARY_PATH=$prefix/$libdir "$bin") || fail "$name: the consumer failed: $out"
  grep -q 'area(Circle) -> method #0, table built' <<<"$out" || fail "$name: first run: $out"
  out=$(JANUS_CACHE_DIR=$work/cache LD_LIBRARY_PATH=$prefix/$libdir "$bin") || fail "$name: second run failed: $out"
  grep -q 'table from the cache' <<<"$out" || fail "$name: second run did not hit: $out"
  ldd "$bin" | grep -q "$prefix/$libdir/libjdc.so" || LD_LIBRARY_PATH=$prefix/$libdir ldd "$bin" | grep -q "$prefix/$libdir/libjdc.so" ||
    fail "$name: not linked against the installed libjdc.so"
  ok "$name: the consumer builds, links the installed libjdc.so, misses then hits"
}

meson setup "$work/meson-consumer" examples/consumer >"$work/consumer-meson.log" 2>&1 || { cat "$work/consumer-meson.log"; fail "consumer: meson setup"; }
ninja -C "$work/meson-consumer" >>"$work/consumer-meson.log" 2>&1 || { tail -30 "$work/consumer-meson.log"; fail "consumer: meson build"; }
run_consumer "meson + pkg-config" "$work/meson-consumer/consumer"

cmake -S examples/consumer -B "$work/cmake-consumer" -DCMAKE_PREFIX_PATH="$prefix" -DCMAKE_CXX_COMPILER=g++ >"$work/consumer-cmake.log" 2>&1 ||
  { cat "$work/consumer-cmake.log"; fail "consumer: cmake configure"; }
cmake --build "$work/cmake-consumer" >>"$work/consumer-cmake.log" 2>&1 || { tail -30 "$work/consumer-cmake.log"; fail "consumer: cmake build"; }
run_consumer "CMake find_package(jdc)" "$work/cmake-consumer/consumer"

# A moved prefix still works for CMake: the package's paths are relative to it.
mv "$prefix" "$work/moved"
prefix=$work/moved
rm -rf "$work/cmake-consumer"
cmake -S examples/consumer -B "$work/cmake-consumer" -DCMAKE_PREFIX_PATH="$prefix" -DCMAKE_CXX_COMPILER=g++ >"$work/consumer-cmake2.log" 2>&1 &&
  cmake --build "$work/cmake-consumer" >>"$work/consumer-cmake2.log" 2>&1 || { tail -30 "$work/consumer-cmake2.log"; fail "consumer: cmake after moving the prefix"; }
run_consumer "CMake, the prefix moved" "$work/cmake-consumer/consumer"
echo "install-test: all passed"
