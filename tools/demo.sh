#!/usr/bin/env bash
# The main job, runnable from a fresh checkout: install what is missing, build
# the `loom` command (Release), train the attention translator on the bundled
# English→Spanish corpus for a few minutes on this machine's cores, translate
# sample sentences, and write the attention heatmap and the loss curve.
# Everything lands in out/: out/train/ (checkpoints, metrics.csv, loss.svg),
# out/attention.svg, out/translations.txt, and the compiled plan of an LSTM
# training graph (out/plan.txt, out/plan.svg).
set -euo pipefail
cd "$(dirname "$0")/.."
bash tools/setup.sh
jobs=$(nproc)
minutes=${LOOM_DEMO_MINUTES:-4}
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build -j "$jobs" --target loom
mkdir -p out

echo "== loom train (English→Spanish, ${minutes} minutes)"
./build/loom train --train data/en-es/train.tsv --valid data/en-es/valid.tsv --out out/train \
  --epochs 20 --max-minutes "$minutes" --seed 1

checkpoint=out/train/last.safetensors
echo "== loom translate"
samples=("the old man is reading a book." "my sister does not like the red car." "we will visit the city tomorrow.")
./build/loom translate --checkpoint "$checkpoint" --attention out/attention.svg "${samples[@]}" \
  | tee out/translations.txt

echo "== loom eval (first 200 test pairs for BLEU)"
./build/loom eval --checkpoint "$checkpoint" --data data/en-es/test.tsv --bleu-limit 200

echo "== loom explain --model lstm --verify"
./build/loom explain --model lstm --verify --dot out/plan.dot > out/plan.txt
tail -3 out/plan.txt
dot -Tsvg out/plan.dot -o out/plan.svg

echo "wrote out/train/loss.svg, out/attention.svg, out/translations.txt, out/plan.svg"
echo "continue training with: ./build/loom train --resume out/train/last.safetensors --out out/train"
