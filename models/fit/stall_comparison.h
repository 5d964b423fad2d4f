#pragma once
// The CPI stack's cache-stall estimate checked against the CPU's own stall counters, where a
// dataset has them (Intel CYCLE_ACTIVITY.STALLS_*). The counters nest: STALLS_L1D_MISS counts
// execution stalls while an L1d demand-load miss is outstanding, which includes the cycles of
// misses that also missed L2 and L3 (perf pmu-events, x86/skylake pipeline.json and memory.json:
// "Execution stalls while L1 cache miss demand load is outstanding", "… L2 …", "… L3 …"). So the
// model's side of the comparison at level k is the cumulative Σ over its miss levels ≥ k, not the
// level-k term alone.
#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "models/fit/dataset.h"

namespace pmc {

// A stall counter the comparison knows: the cache level its misses are at (1 = L1d, 2 = L2,
// 3 = L3/LLC; 0 = reported but not compared), its libpfm4 name (what calibrate counts) and the
// dataset column stem (calibrate's rate_column without "_per_s").
struct StallCounter {
  int level = 0;
  const char* event;
  const char* column;
  const char* meaning;
};
// STALLS_L1D_MISS, STALLS_L2_MISS, STALLS_L3_MISS (compared) and STALLS_MEM_ANY, STALLS_TOTAL
// (shown for scale: MEM_ANY also counts stalls on loads that hit L1d, which the CPI stack puts in
// its base CPI, and TOTAL counts every stall).
const std::vector<StallCounter>& stall_counters();

// Whether a dataset column holds one of stall_counters(), as a count ("<column>") or a rate
// ("<column>_per_s"): such a column stays numeric, since a CPI-stack model is compared with it.
bool is_stall_counter_column(const std::string& name);

// The cache level whose misses a miss column counts, from its name: the first '_'-separated word
// l1/l1d → 1, l2 → 2, l3/llc → 3, dram → 4; perf's generic cache-misses (LLC misses on x86,
// arch/x86/events/intel/core.c maps it to LONGEST_LAT_CACHE.MISS) → 3; 0 when unknown.
int cache_level_of(std::string_view miss_column);

struct LevelComparison {
  int level = 0;
  std::string counter;                    // the dataset column of the stall counter
  std::vector<std::string> model_levels;  // the miss columns summed (cache level ≥ level)
  double model_share = 0;                 // Σ model stall cycles beyond the level / Σ cycles
  double measured_share = 0;              // Σ counter / Σ cycles
  double difference = 0;                  // model_share − measured_share (a share of cycles)
  double relative_error_percent = 0;      // 100 · difference / measured_share; NaN when 0
};

struct GroupStallComparison {
  std::string group;  // "all" for every row together
  size_t rows = 0;
  std::vector<LevelComparison> levels;
  std::vector<double> reference_share;  // per entry of StallComparison::reference (Σ / Σ cycles)
};

struct StallComparison {
  std::vector<GroupStallComparison> groups;  // in order of first appearance, then "all"
  std::vector<std::string> reference;        // counters shown, not compared (MEM_ANY, TOTAL)
  std::vector<std::string> notes;            // counters not compared and why
  bool empty() const { return groups.empty(); }
};

// `miss_columns[l]` with `penalty_cycles[l]` cycles per miss; `cycles` per row in the same form as
// the miss and stall columns (rates per second in calibrate's datasets, or counts). A counter's
// column is found as its stem + `suffix` ("_per_s" for calibrate's rates). Level k is compared
// only when the model has a miss column at exactly level k: without one, the stalls of misses at
// k that hit k+1 sit in the model's lower levels or its base and the sum beyond k would be short.
// Empty (no groups) when the dataset has no stall counter the model can be compared with.
StallComparison compare_stall_counters(const Dataset& data,
                                       const std::vector<std::string>& miss_columns,
                                       const std::vector<double>& penalty_cycles,
                                       const std::vector<double>& cycles,
                                       const std::vector<std::string>& group_of_row,
                                       std::string_view suffix);

}  // namespace pmc
