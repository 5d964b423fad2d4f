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

now_ns() { date +%s%N; }
declare -A total=([true]=0 [perf]=0 [pmcmodel]=0)
for ((i = 0; i < runs; i++)); do
  t0=$(now_ns); /bin/true; t1=$(now_ns)
  "$perf_bin" stat -- /bin/true 2>/dev/null; t2=$(now_ns)
  "$pmc" measure -- /bin/true 2>/dev/null; t3=$(now_ns)
  total[true]=$((total[true] + t1 - t0))
  total[perf]=$((total[perf] + t2 - t1))
  total[pmcmodel]=$((total[pmcmodel] + t3 - t2))
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
