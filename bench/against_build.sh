#!/bin/bash
# The "no worse" check: this build's start-up, import, fit and compare figures beside an
# older build's, in one run, alternated so both see the same machine load.
#   bench/against_build.sh NEW_BUILD_DIR OLD_BUILD_DIR [LABEL]
# Each build dir holds cli/pmcmodel and bench/{import,fit,compare}_bench. Prints markdown tables.
# Instruction counts (callgrind) are exact under any load; CPU and wall times are not, so each
# benchmark runs twice per build, alternating.
set -euo pipefail
new=$(realpath "$1"); old=$(realpath "$2"); label=${3:-old}
here=$(dirname "$(realpath "$0")")

echo "### Start-up: measure -- /bin/true"
python3 "$here/startup_median.py" "$new/cli/pmcmodel" 40 "$label=$old/cli/pmcmodel" | tail -n +1
echo
echo "| build | page faults | task-clock ms | instructions (callgrind) |"
echo "|---|---:|---:|---:|"
for b in "$label:$old" "now:$new"; do
  name=${b%%:*}; dir=${b#*:}
  stat=$(perf stat -x, -e page-faults,task-clock -r 20 "$dir/cli/pmcmodel" measure -q -- /bin/true 2>&1 >/dev/null)
  faults=$(echo "$stat" | awk -F, '$3=="page-faults"{print $1}')
  clock=$(echo "$stat" | awk -F, '$3=="task-clock"{printf "%.2f", $1}')
  ins=$(valgrind --tool=callgrind --callgrind-out-file=/dev/null "$dir/cli/pmcmodel" measure -q -- /bin/true 2>&1 | awk '/Collected/{print $4}')
  echo "| $name | $faults | $clock | $ins |"
done
echo
echo "### Import: instructions in import_perf_stat, BM_ImportInterval100MB (3 iterations + 1)"
echo "| build | instructions |"
echo "|---|---:|"
for b in "$label:$old" "now:$new"; do
  name=${b%%:*}; dir=${b#*:}
  ins=$(valgrind --tool=callgrind --collect-atstart=no --toggle-collect='pmc::import_perf_stat*' \
        --callgrind-out-file=/dev/null "$dir/bench/import_bench" --benchmark_filter='BM_ImportInterval100MB/' 2>&1 |
        awk '/Collected/{print $4}')
  echo "| $name | $ins |"
done
echo
echo "### Benchmarks, alternated (CPU ms / wall ms)"
echo "| benchmark | build | round 1 | round 2 |"
echo "|---|---|---|---|"
declare -A out
for round in 1 2; do
  for b in "$label:$old" "now:$new"; do
    name=${b%%:*}; dir=${b#*:}
    # One run per benchmark: Google Benchmark's CSV reporter stops at a run whose user counters
    # differ from the first run's (the import's "intervals").
    k=0
    for spec in "import_bench:BM_ImportInterval100MB/" "import_bench:BM_ImportIntervalThreads100MB" \
                "import_bench:BM_CountLines" "fit_bench:BM_RidgeCv10Fold" \
                "compare_bench:BM_ProjectAndRank" "compare_bench:BM_SortCells"; do
      bin=${spec%%:*}; filter=${spec#*:}; k=$((k + 1))
      csv="/tmp/against_${name}_${round}.$k.csv"
      "$dir/bench/$bin" --benchmark_filter="$filter" --benchmark_format=csv 2>/dev/null |
        awk -F, 'NR > 1 { gsub(/"/, "", $1); f = ($5 == "ns") ? 1e-6 : ($5 == "us") ? 1e-3 : ($5 == "s") ? 1e3 : 1;
                          printf "%s,%.1f,%.1f\n", $1, $4 * f, $3 * f }' > "$csv" || true
      while IFS=, read -r bench cpu wall; do
        key="$bench|$name"
        out[$key]="${out[$key]:-}| $cpu / $wall "
      done < "$csv"
    done
  done
done
for key in $(printf '%s\n' "${!out[@]}" | sort); do
  echo "| ${key%%|*} | ${key#*|} ${out[$key]}|"
done
