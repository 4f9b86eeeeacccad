#!/usr/bin/env bash
# Proves that tests/check_sizes.sh enforces the budget: a scratch tree with a
# 601-line file and an 81-line function must fail naming both; functions of
# 80 lines, one-liners and class bodies must pass.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT

# function_of NAME BODY_LINES: a function whose signature-to-brace span is BODY_LINES + 2.
function_of() {
  echo "int $1(int x) {"
  for ((i = 0; i < $2; ++i)); do echo "  x += $i;"; done
  echo "}"
}

mkdir -p "$scratch/ops"
{ echo "int one_liner() { return 1; }"; function_of fits 78; } > "$scratch/ops/fine.cpp"
if ! out=$(bash "$here/check_sizes.sh" "$scratch" 2>&1); then
  echo "FAIL: a tree within budget was refused:"; echo "$out"; exit 1
fi
echo "ok: an 80-line function passes"

function_of too_long 79 > "$scratch/ops/long_function.cpp"
for ((i = 0; i < 601; ++i)); do echo "// line $i"; done > "$scratch/ops/long_file.hpp"
if out=$(bash "$here/check_sizes.sh" "$scratch" 2>&1); then
  echo "FAIL: the budget check passed an 81-line function and a 601-line file"; exit 1
fi
for want in "ops/long_function.cpp:1: function of 81 lines" "ops/long_file.hpp: 601 lines"; do
  if [[ $out != *"$want"* ]]; then
    echo "FAIL: expected '$want' in:"; echo "$out"; exit 1
  fi
done
echo "ok: both offenders are named"
