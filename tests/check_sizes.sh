#!/usr/bin/env bash
# The size budget: no source file over 600 lines and no function over 80
# lines, so that every piece can be read in one sitting. A function is
# measured from its signature's first line (at column 0) to its closing brace
# (at column 0); functions defined inside a class body are not measured.
# Usage: check_sizes.sh [ROOT]   (default: the repository)
set -euo pipefail
root=${1:-$(cd "$(dirname "$0")/.." && pwd)}
max_file_lines=600
max_function_lines=80

failures=0
while IFS= read -r -d '' file; do
  rel=${file#"$root"/}
  lines=$(wc -l < "$file")
  if ((lines > max_file_lines)); then
    echo "$rel: $lines lines (budget $max_file_lines): split it by purpose"
    failures=$((failures + 1))
  fi
  report=$(awk -v max="$max_function_lines" -v file="$rel" '
    function starts_function(line) {
      if (line !~ /^[A-Za-z_~].*\(/ || line ~ /[;}][[:space:]]*(\/\/.*)?$/ || line ~ / = /) return 0
      return line !~ /^(namespace|class|struct|enum|union|using|typedef|template|return|extern)[[:space:]]/
    }
    start == 0 && starts_function($0) { start = NR; name = $0; next }
    start > 0 && /^}/ {
      if (NR - start + 1 > max) printf "%s:%d: function of %d lines (budget %d): %s\n", file, start, NR - start + 1, max, name
      start = 0
    }' "$file")
  if [[ -n $report ]]; then
    echo "$report"
    failures=$((failures + $(wc -l <<< "$report")))
  fi
done < <(find "$root" \( -path "$root/build*" -o -path "$root/.git" \) -prune -o -type f \( -name '*.cpp' -o -name '*.hpp' \) -print0 | sort -z)

if ((failures > 0)); then
  echo "check_sizes: $failures over budget" >&2
  exit 1
fi
echo "check_sizes: every file and function is within budget"
