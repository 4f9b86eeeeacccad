#!/usr/bin/env bash
# The layer rule (docs/ARCHITECTURE.md): a library's sources include only
# headers of the libraries below it, only ops/dnnl/ includes oneDNN and only
# dist/mpi/ includes MPI.
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
  [dist]="graph"
  [models]="graph ops autograd text"
  [io]="graph ops autograd optim text models"
  [train]="graph ops autograd optim text models io dist"
  [examples]="graph ops autograd optim text models"
  [tools]="graph ops autograd optim text models io dist train examples"
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
      if [[ $line =~ ^[[:space:]]*#[[:space:]]*include[[:space:]]*\<(mpi[^\>]*)\> ]] && [[ $rel != dist/mpi/* ]]; then
        echo "$rel:$line_no: includes <${BASH_REMATCH[1]}>; only dist/mpi/ may include MPI"
        failures=$((failures + 1))
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
