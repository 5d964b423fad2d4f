#!/bin/bash
# Times `pmcmodel list` against `perf list` (every PMU, event and tracepoint each knows), N runs
# each, interleaved so that machine noise hits both alike. Prints a markdown table of the mean
# wall time per run and pmcmodel's as a ratio of perf's. pmcmodel also opens events to mark what
# cannot be counted here (one tracepoint for all but ftrace's own: docs/formats.md).
# Usage: bench/list.sh PATH/TO/pmcmodel [RUNS]
set -euo pipefail
pmc=${1:?usage: bench/list.sh PATH/TO/pmcmodel [RUNS]}
runs=${2:-20}
perf_bin=$(command -v perf || true)
[ -n "$perf_bin" ] || { echo "perf not found: apt-get install linux-perf" >&2; exit 1; }

perf_total=0
pmc_total=0
perf_lines=0
pmc_lines=0
for ((i = 0; i < runs; i++)); do
  t0=${EPOCHREALTIME/./}
  perf_lines=$("$perf_bin" list 2>/dev/null | wc -l)
  t1=${EPOCHREALTIME/./}
  pmc_lines=$("$pmc" list 2>/dev/null | wc -l)
  t2=${EPOCHREALTIME/./}
  perf_total=$((perf_total + 10#$t1 - 10#$t0))
  pmc_total=$((pmc_total + 10#$t2 - 10#$t1))
done
awk -v runs="$runs" -v p="$perf_total" -v m="$pmc_total" -v pl="$perf_lines" -v ml="$pmc_lines" 'BEGIN {
  tp = p / runs / 1000; tm = m / runs / 1000
  printf "| command (mean of %d runs, interleaved) | wall ms/run | lines listed |\n", runs
  printf "|---|---:|---:|\n"
  printf "| perf list | %.1f | %d |\n", tp, pl
  printf "| pmcmodel list | %.1f | %d |\n", tm, ml
  printf "\npmcmodel list / perf list = %.2f\n", tm / tp
}'
