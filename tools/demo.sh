#!/usr/bin/env bash
# The main job, runnable from a fresh checkout: install what is missing, build
# the `loom` command (Release), gradient-check every registered op, and compile
# the demo training graph, writing its plan as text, DOT and SVG into out/.
# (When the translator lands, this script trains and runs it instead.)
set -euo pipefail
cd "$(dirname "$0")/.."
bash tools/setup.sh
jobs=$(nproc)
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build -j "$jobs" --target loom
mkdir -p out

echo "== loom gradcheck --all"
./build/loom gradcheck --all | tee out/gradcheck.txt

echo "== loom explain --model lstm --verify"
./build/loom explain --model lstm --verify --dot out/plan.dot | tee out/plan.txt
dot -Tsvg out/plan.dot -o out/plan.svg
echo "wrote out/gradcheck.txt, out/plan.txt, out/plan.dot, out/plan.svg"
