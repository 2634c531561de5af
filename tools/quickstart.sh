#!/usr/bin/env bash
# The main job: install what is missing, build, and run the end-to-end demo.
set -euo pipefail
cd "$(dirname "$0")/.."
tools/install_deps.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release
cmake --build build -j"$(nproc)"
echo "the train app is not built yet"
