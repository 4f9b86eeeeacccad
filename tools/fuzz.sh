#!/usr/bin/env bash
# Runs libFuzzer harnesses built in build-fuzz/ (see tools/test.sh), each for
# SECONDS, starting from its committed seeds in tests/fuzz/corpus/NAME/. New
# inputs go to a scratch folder, not into the repository; a crash leaves its
# input in build-fuzz/crashes/ and fails the run.
#   bash tools/fuzz.sh SECONDS NAME...        e.g. bash tools/fuzz.sh 600 checkpoint
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:?usage: tools/fuzz.sh SECONDS NAME...}
shift
mkdir -p build-fuzz/crashes
failed=0
for name in "$@"; do
  scratch=$(mktemp -d)
  if ./build-fuzz/"fuzz_$name" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
      -artifact_prefix=build-fuzz/crashes/"$name"- "$scratch" tests/fuzz/corpus/"$name" >"$scratch.log" 2>&1; then
    echo "fuzz_$name: $(grep -m1 -oE 'stat::number_of_executed_units: *[0-9]+' "$scratch.log" | grep -oE '[0-9]+$') inputs in ${seconds} s, no failure"
  else
    echo "fuzz_$name FAILED:"; tail -40 "$scratch.log"; failed=1
  fi
  rm -rf "$scratch" "$scratch.log"
done
exit "$failed"
