#pragma once
// The --svg chart of `pmcmodel compare`: cost and energy per run of each machine or SKU, as two
// horizontal bar charts side by side, rows sorted by the comparison's rank; each bar carries its
// interval as an error bar, and projected rows are drawn apart from measured ones (lighter, a
// dashed outline, "projected" after the name). Self-contained SVG 1.1 (no scripts, fonts or
// external references), so any browser opens it.
#include <span>
#include <string>

#include "models/fleet/comparison.h"

namespace pmc::cli {

// A cost per run as a person says it: "0.0123 USD/run" from a cent up, else per 1,000 runs
// ("1.09 USD/1k runs") or per million runs ("1.09 USD/1M runs"), three significant figures.
std::string human_cost_usd(double usd_per_run);

// One section per workload; at most `max_rows` rows each (ranked ones first).
std::string comparison_svg(std::span<const ComparisonRow> rows, Objective objective,
                           size_t max_rows = 40);

}  // namespace pmc::cli
