#!/usr/bin/env bash
# The layer rule (docs/ARCHITECTURE.md): a library's sources include only
# headers of the libraries below it, only ops/dnnl/ includes oneDNN, only
# distributed/mpi/ includes MPI, and a model's folder (models/NAME/) includes
# no other model's folder: io/, runtime/ and train/ know no model at all.
# Every library shares the top folder as its include root, so the compiler
# alone would accept a wrong-way include; this check refuses it, naming the
# file and line. Usage: check_layers.sh [ROOT]   (default: the repository)
set -euo pipefail
root=${1:-$(cd "$(dirname "$0")/.." && pwd)}

# What each folder may include, besides itself (and its sub-folders).
declare -A allowed=(
  [graph]=""
  [ops]="graph"
  [autograd]="graph ops"
  [optim]="graph"
  [text]="graph"
  [distributed]="graph"
  [io]="graph ops autograd optim text"
  [runtime]="graph ops autograd optim text io"
  [models]="graph ops autograd optim text io runtime"
  [train]="graph ops autograd optim text io runtime distributed"
  [examples]="graph ops autograd optim text io runtime models"
  [tools]="graph ops autograd optim text io runtime models distributed train examples"
)
layers="${!allowed[*]}"

failures=0
for layer in $layers; do
  [[ -d "$root/$layer" ]] || continue
  while IFS= read -r -d '' file; do
    rel=${file#"$root"/}
    line_no=0
    while IFS= read -r line; do
      line_no=$((line_no + 1))
      if [[ $line =~ ^[[:space:]]*#[[:space:]]*include[[:space:]]*\<(dnnl[^\>]*)\> ]] && [[ $rel != ops/dnnl/* ]]; then
        echo "$rel:$line_no: includes <${BASH_REMATCH[1]}>; only ops/dnnl/ may include oneDNN"
        failures=$((failures + 1))
      fi
      if [[ $line =~ ^[[:space:]]*#[[:space:]]*include[[:space:]]*\<(mpi[^\>]*)\> ]] && [[ $rel != distributed/mpi/* ]]; then
        echo "$rel:$line_no: includes <${BASH_REMATCH[1]}>; only distributed/mpi/ may include MPI"
        failures=$((failures + 1))
      fi
      if [[ $rel == models/*/* ]] && [[ $line =~ ^[[:space:]]*#[[:space:]]*include[[:space:]]*\"models/([a-z0-9_]+)/ ]]; then
        own=${rel#models/}
        own=${own%%/*}
        if [[ ${BASH_REMATCH[1]} != "$own" ]]; then
          echo "$rel:$line_no: includes \"models/${BASH_REMATCH[1]}/...\"; a model's folder may not include another model's"
          failures=$((failures + 1))
        fi
      fi
      [[ $line =~ ^[[:space:]]*#[[:space:]]*include[[:space:]]*\"([a-z_]+)/ ]] || continue
      target=${BASH_REMATCH[1]}
      [[ $target == "$layer" ]] && continue
      [[ " $layers " == *" $target "* ]] || continue  # not a library folder
      if [[ " ${allowed[$layer]} " != *" $target "* ]]; then
        echo "$rel:$line_no: includes \"$target/...\", but $layer/ may include only: ${allowed[$layer]:-nothing outside itself}"
        failures=$((failures + 1))
      fi
    done < "$file"
  done < <(find "$root/$layer" -type f \( -name '*.cpp' -o -name '*.hpp' \) -print0 | sort -z)
done

if ((failures > 0)); then
  echo "check_layers: $failures wrong-way include(s); see the dependency table in docs/ARCHITECTURE.md" >&2
  exit 1
fi
echo "check_layers: every include follows the layer rule"
