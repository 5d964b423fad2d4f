#!/bin/bash
# The import benchmarks of two builds, alternated N times (old, then new), one CSV row per run:
#   bench/alternate_import.sh NEW_BUILD_DIR OLD_BUILD_DIR [N=8]
# Columns: round, build, benchmark, wall ms, CPU ms (of the calling thread), unit. Medians of the
# wall column, per build, are the figures docs/PERFORMANCE.md compares.
set -euo pipefail
new=$(realpath "$1"); old=$(realpath "$2"); rounds=${3:-8}
for ((i = 1; i <= rounds; ++i)); do
  for b in "old:$old" "new:$new"; do
    name=${b%%:*}; dir=${b#*:}
    "$dir/bench/import_bench" --benchmark_filter='BM_ImportInterval100MB/|BM_ImportIntervalThreads100MB' \
        --benchmark_format=csv 2>/dev/null |
      awk -F, -v n="$name" -v i="$i" 'NR > 1 { gsub(/"/, "", $1); print i "," n "," $1 "," $3 "," $4 "," $5 }'
  done
done
