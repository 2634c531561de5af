#!/usr/bin/env bash
# Installs the Debian 12 packages adaptgrad builds with, if any is missing (oneDNN, libdnnl-dev,
# gives the bf16 products; a build without it is fp32 only).
#   tools/install_deps.sh         the default build
#   tools/install_deps.sh --mpi   also Open MPI, for -DADAPTGRAD_MPI=ON (mpirun, mpicxx)
# Needs root (or sudo). Does nothing when everything is already there.
set -euo pipefail
packages=(cmake g++ make libopenblas-openmp-dev doctest-dev nlohmann-json3-dev libcli11-dev
          libutf8proc-dev libdnnl-dev)
[ "${1:-}" = "--mpi" ] && packages+=(libopenmpi-dev openmpi-bin)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
sudo=""
[ "$(id -u)" -ne 0 ] && sudo="sudo"
echo "installing: ${missing[*]}"
$sudo env DEBIAN_FRONTEND=noninteractive apt-get update -q
$sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"
