#!/bin/bash
# Times `pmcmodel measure -- true`, `perf stat -- true` and bare `true` side by side, N runs each,
# interleaved so that machine noise hits all three alike. Prints a markdown table of the mean
# wall time per run and pmcmodel's added time (over bare true) as a ratio of perf's.
# Usage: bench/startup.sh PATH/TO/pmcmodel [RUNS]
set -euo pipefail
pmc=${1:?usage: bench/startup.sh PATH/TO/pmcmodel [RUNS]}
runs=${2:-300}
perf_bin=$(command -v perf || true)
[ -n "$perf_bin" ] || { echo "perf not found: apt-get install linux-perf" >&2; exit 1; }

# Timestamps from EPOCHREALTIME (bash 5, microseconds): no fork, unlike date(1).
declare -A total=([true]=0 [perf]=0 [pmcmodel]=0)
for ((i = 0; i < runs; i++)); do
  t0=${EPOCHREALTIME/./}; /bin/true; t1=${EPOCHREALTIME/./}
  "$perf_bin" stat -- /bin/true 2>/dev/null; t2=${EPOCHREALTIME/./}
  "$pmc" measure -- /bin/true 2>/dev/null; t3=${EPOCHREALTIME/./}
  total[true]=$((total[true] + (10#$t1 - 10#$t0) * 1000))
  total[perf]=$((total[perf] + (10#$t2 - 10#$t1) * 1000))
  total[pmcmodel]=$((total[pmcmodel] + (10#$t3 - 10#$t2) * 1000))
done
awk -v runs="$runs" -v t="${total[true]}" -v p="${total[perf]}" -v m="${total[pmcmodel]}" 'BEGIN {
  tt = t / runs / 1000; tp = p / runs / 1000; tm = m / runs / 1000
  printf "| command (mean of %d runs, interleaved) | wall µs/run | added over bare true µs |\n", runs
  printf "|---|---:|---:|\n"
  printf "| /bin/true | %.1f | 0 |\n", tt
  printf "| perf stat -- /bin/true | %.1f | %.1f |\n", tp, tp - tt
  printf "| pmcmodel measure -- /bin/true | %.1f | %.1f |\n", tm, tm - tt
  printf "\npmcmodel added / perf added = %.2f (target <= 0.5)\n", (tm - tt) / (tp - tt)
}'
