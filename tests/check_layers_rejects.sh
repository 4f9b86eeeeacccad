#!/usr/bin/env bash
# Proves that tests/check_layers.sh refuses wrong-way includes: it builds a
# scratch tree with one offending file per rule and expects each to be named
# with its line, and a tree of allowed includes to pass.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT

# expect_rejected FILE LINE_TEXT: a tree holding only FILE must fail, naming FILE:2.
expect_rejected() {
  local file=$1 include=$2
  rm -rf "${scratch:?}"/*
  mkdir -p "$scratch/$(dirname "$file")"
  printf '// a wrong-way include\n%s\n' "$include" > "$scratch/$file"
  local out
  if out=$(bash "$here/check_layers.sh" "$scratch" 2>&1); then
    echo "FAIL: $file with '$include' passed the layer check"; exit 1
  fi
  if [[ $out != *"$file:2: includes"* ]]; then
    echo "FAIL: the message for $file does not name it and its line:"; echo "$out"; exit 1
  fi
  echo "ok: $file rejected: ${out%%$'\n'*}"
}

expect_rejected ops/wrong_way.cpp '#include "models/seq2seq/seq2seq.hpp"'
expect_rejected graph/executor.hpp '#include "ops/dnnl/context.hpp"'
expect_rejected ops/softmax.cpp '#include "autograd/grad.hpp"'
expect_rejected text/batcher.cpp '#include "models/seq2seq/seq2seq.hpp"'
expect_rejected models/seq2seq.cpp '#include "train/trainer.hpp"'
expect_rejected models/attention.cpp '#include <dnnl.hpp>'
expect_rejected io/checkpoint.cpp '#include "models/seq2seq/seq2seq.hpp"'
expect_rejected train/trainer.cpp '#include "models/lm/language_model.hpp"'
expect_rejected runtime/model.hpp '#include "train/trainer.hpp"'
expect_rejected models/lm/language_model.cpp '#include "models/seq2seq/seq2seq.hpp"'
expect_rejected distributed/world.cpp '#include <mpi.h>'

rm -rf "${scratch:?}"/*
mkdir -p "$scratch/models/seq2seq" "$scratch/ops/dnnl"
printf '#include "ops/ops.hpp"\n#include "models/seq2seq/batcher.hpp"\n' > "$scratch/models/fine.cpp"
printf '#include "runtime/model.hpp"\n#include "models/seq2seq/batcher.hpp"\n' > "$scratch/models/seq2seq/fine.cpp"
printf '#include <dnnl.hpp>\n#include "graph/op_def.hpp"\n' > "$scratch/ops/dnnl/fine.cpp"
if ! out=$(bash "$here/check_layers.sh" "$scratch" 2>&1); then
  echo "FAIL: allowed includes were rejected:"; echo "$out"; exit 1
fi
echo "ok: allowed includes pass"
