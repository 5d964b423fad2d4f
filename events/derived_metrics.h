#pragma once
// The derived metrics `measure` prints next to the counts, from perf's generic events.
#include <vector>

#include "measurement.h"

namespace pmc {

// ipc, cpi, ghz, cpus_utilized, branch_miss_rate, cache_miss_rate: each present only when all of
// its inputs were counted and its denominator is not zero. Rates are fractions (unit "ratio").
// Definitions follow perf's tools/perf/util/stat-shadow.c: GHz = cycles / task-clock, CPUs
// utilized = task-clock / wall time.
std::vector<Metric> derive_metrics(const std::vector<EventCount>& events, double duration_s);

}  // namespace pmc
