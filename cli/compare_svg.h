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

// One section per workload; at most `max_rows` rows each (ranked ones first).
std::string comparison_svg(std::span<const ComparisonRow> rows, Objective objective,
                           size_t max_rows = 40);

}  // namespace pmc::cli
