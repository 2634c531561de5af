#!/usr/bin/env bash
# Builds adaptgrad and runs every test suite.
#   tools/test.sh             Release build in build/, then ctest, then tools/build_example.sh
#                             (a program built against the installed library)
#   tools/test.sh --sanitize  AddressSanitizer + UndefinedBehaviorSanitizer build in build-asan/
#   tools/test.sh --mpi       -DADAPTGRAD_MPI=ON build in build-mpi/ (installs Open MPI), then
#                             the data-parallel tests (test_mpi: train under mpirun -np 2)
set -euo pipefail
cd "$(dirname "$0")/.."
case "${1:-}" in
  --sanitize)
    tools/install_deps.sh
    cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=Debug -DADAPTGRAD_SANITIZE=ON
    cmake --build build-asan -j"$(nproc)"
    ctest --test-dir build-asan --output-on-failure -j"$(nproc)"
    ;;
  --mpi)
    tools/install_deps.sh --mpi
    cmake -S . -B build-mpi -DCMAKE_BUILD_TYPE=Release -DADAPTGRAD_MPI=ON
    cmake --build build-mpi -j"$(nproc)" --target train train_faults predict test_mpi test_train_app
    # One at a time: each test already runs two ranks.
    ctest --test-dir build-mpi --output-on-failure -R "^test_(mpi|train_app):"
    ;;
  "")
    tools/install_deps.sh
    cmake -S . -B build -DCMAKE_BUILD_TYPE=Release
    cmake --build build -j"$(nproc)"
    ctest --test-dir build --output-on-failure -j"$(nproc)"
    # The library as a user gets it: installed, found by find_package, linked by examples/.
    tools/build_example.sh build
    ;;
  *)
    echo "tools/test.sh: unknown option '$1' (use --sanitize or --mpi)" >&2
    exit 2
    ;;
esac
