#!/usr/bin/env bash
# Installs adaptgrad from a build folder into a temporary prefix, builds examples/ against it with
# find_package(adaptgrad) alone, and runs the example on the tiny BERT test fixture: the check
# that a program of your own can link the library.
#
#   tools/build_example.sh [BUILD_DIR]     (default build/, configured and built if missing)
#
# The temporary prefix and the example's build folder are removed at the end.
set -euo pipefail
cd "$(dirname "$0")/.."
build="${1:-build}"
start=$SECONDS
work="$(mktemp -d "${TMPDIR:-/tmp}/adaptgrad-example.XXXXXX")"
trap 'rm -rf "$work"' EXIT
log="$work/log"
# Quiet unless a step fails: then its log's tail.
run() {
  if ! "$@" >"$log" 2>&1; then
    echo "build_example: failed: $*" >&2
    tail -n 40 "$log" >&2
    exit 1
  fi
}

if [ ! -f "$build/CMakeCache.txt" ]; then
  run cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release
fi
# Only the libraries are installed; build just them (the apps and tests are not needed).
run cmake --build "$build" -j"$(nproc)" --target adaptgrad_core adaptgrad_nn adaptgrad_models \
  adaptgrad_data adaptgrad_read_file
run cmake --install "$build" --prefix "$work/prefix"
echo "installed into a temporary prefix: $(find "$work/prefix/include" -name '*.h' | wc -l) headers," \
  "$(ls "$work/prefix/lib"/libadaptgrad_*.a | wc -l) libraries"
# A clean configure that knows only the prefix: nothing of the source or build tree.
run cmake -S examples -B "$work/example" -DCMAKE_BUILD_TYPE=Release \
  -DCMAKE_PREFIX_PATH="$work/prefix"
run cmake --build "$work/example" -j"$(nproc)"
if grep -rq -- "$PWD/" "$work/prefix/lib/cmake/adaptgrad"; then
  echo "build_example: the installed package names the source tree $PWD:" >&2
  grep -rn -- "$PWD/" "$work/prefix/lib/cmake/adaptgrad" >&2
  exit 1
fi
"$work/example/fine_tune" tests/fixtures/tiny-bert "$work/adapter" 3
test -s "$work/adapter/adapter_model.safetensors"
echo "build_example: the example built against the install and trained ($((SECONDS - start))s)"
