#!/usr/bin/env bash
# The whole test suite: install what is missing, build (Release, benchmarks
# included so they keep compiling), run ctest; then build the library and
# tests again under AddressSanitizer + UBSan and run ctest there too; last,
# build the fuzz harnesses with clang's libFuzzer (ASan + UBSan) and run each
# for LOOM_FUZZ_SECONDS (default 30) from its seed corpus. That last build is
# configured without MPI, which keeps the build without MPI compiling.
set -euo pipefail
cd "$(dirname "$0")/.."
bash tools/setup.sh
jobs=$(nproc)

echo "== Release build and tests"
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release -DLOOM_BUILD_BENCH=ON >/dev/null
cmake --build build -j "$jobs"
(cd build && ctest --output-on-failure -j "$jobs")

echo "== AddressSanitizer + UndefinedBehaviorSanitizer build and tests"
cmake -S . -B build-sanitize -DCMAKE_BUILD_TYPE=Debug -DCMAKE_CXX_FLAGS_DEBUG="-O1 -g" \
  -DLOOM_SANITIZE=address,undefined -DLOOM_BUILD_BENCH=OFF >/dev/null
cmake --build build-sanitize -j "$jobs"
(cd build-sanitize && ctest --output-on-failure -j "$jobs")

echo "== libFuzzer: each harness for ${LOOM_FUZZ_SECONDS:-30} s (LOOM_FUZZ_SECONDS=600 for a longer run)"
CC=clang-16 CXX=clang++-16 cmake -S . -B build-fuzz -DCMAKE_BUILD_TYPE=Debug -DCMAKE_CXX_FLAGS_DEBUG="-O1 -g" \
  -DLOOM_FUZZ=ON -DLOOM_SANITIZE=address,undefined,fuzzer-no-link -DLOOM_WERROR=OFF -DLOOM_MPI=OFF \
  -DLOOM_BUILD_TESTS=OFF -DLOOM_BUILD_BENCH=OFF >/dev/null
harnesses=(tsv tokenizer safetensors checkpoint text_lines)
cmake --build build-fuzz -j "$jobs" --target "${harnesses[@]/#/fuzz_}"
bash tools/fuzz.sh "${LOOM_FUZZ_SECONDS:-30}" "${harnesses[@]}"
