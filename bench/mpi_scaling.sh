#!/usr/bin/env bash
# One machine, the same global batch: 1 process x 2 threads against 2 MPI
# ranks x 1 thread, interleaved (A B A B ...) REPS times, at the small and
# medium configurations on data/en-es. Prints each run's "time:" line (target
# tokens/s) and, for 2 ranks, the milliseconds per step spent waiting for the
# gradient sums. docs/DISTRIBUTED.md has the figures.
# usage: bench/mpi_scaling.sh [LOOM] [REPS]   (from the source tree's top)
set -euo pipefail
loom=${1:-build/loom}
reps=${2:-3}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# Unbound: on a shared machine a bound rank cannot move off a core that
# another job is using. (On a dedicated one, mpirun's default binding is right.)
mpirun=(mpirun --bind-to none -np 2)
[ "$(id -u)" = 0 ] && mpirun+=(--allow-run-as-root)
common=(--train data/en-es/train.tsv --valid data/toy.tsv --bleu-sentences 0 --epochs 1 --patience 0)
small=(--max-vocab 2000 --embed 128 --hidden 256 --batch 32 --max-steps 100)
medium=(--max-vocab 8000 --embed 256 --hidden 512 --batch 64 --max-steps 20)
for rep in $(seq "$reps"); do
  for config in small medium; do
    declare -n args=$config
    echo "== $config, rep $rep, load $(cut -d' ' -f1-3 /proc/loadavg)"
    "$loom" train "${common[@]}" "${args[@]}" --threads 2 --out "$work/one" --overwrite 2>&1 |
      grep -E '^time:' | sed 's/^/1x2: /'
    "${mpirun[@]}" "$loom" train "${common[@]}" "${args[@]}" --threads 1 --out "$work/two" --overwrite 2>&1 |
      grep -E '^(time:|data-parallel)' | sed 's/^/2x1: /'
  done
done
