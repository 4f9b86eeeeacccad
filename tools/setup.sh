#!/usr/bin/env bash
# Installs every Debian package Loom needs to build, test and benchmark.
# Idempotent, and silent when everything is already there.
# `bash tools/setup.sh --list` prints the package list and installs nothing
# (tests/scripts/check_setup_packages proves the list complete).
set -euo pipefail
packages=(
  g++ cmake make pkg-config
  libdnnl-dev
  ocl-icd-opencl-dev  # oneDNN's CMake config calls find_package(OpenCL); libdnnl-dev only recommends it
  libboost-program-options-dev libgtest-dev libgmock-dev libbenchmark-dev
  nlohmann-json3-dev
  # MPI for data-parallel training (docs/DISTRIBUTED.md): headers and library,
  # and mpirun, which the tests launch 2 ranks with. (libopenmpi-dev only
  # recommends libcoarrays-openmpi-dev, for Fortran coarrays: not needed.)
  libopenmpi-dev openmpi-bin
  python3-torch python3-numpy
  # PyTorch links libblas.so.3: without OpenBLAS it gets the reference BLAS (~5 GF/s). The
  # OpenMP build shares PyTorch's thread pool; the pthreads build fights it for the cores.
  libopenblas0-openmp
  graphviz
  # Fuzzing in tools/test.sh: clang's libFuzzer, its sanitizer runtimes, and the
  # OpenMP runtime clang links against.
  clang-16 libfuzzer-16-dev libclang-rt-16-dev libomp-16-dev
)
if [ "${1:-}" = "--list" ]; then
  printf '%s\n' "${packages[@]}"
  exit 0
fi
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
echo "setup: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
