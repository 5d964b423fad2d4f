#pragma once
// The comparison as documents: `pmcmodel.comparison/1` JSON (docs/formats.md) and the CSV of its
// rows, written by `compare --json/--csv`.
#include <string>
#include <vector>

#include "models/fleet/comparison.h"
#include "models/fleet/recommendations.h"

namespace pmc {

// The JSON document: objective, work units and grid of `options`, the catalog's origin, the
// runs per month the savings assume, every row, the recommendations and the notes.
std::string comparison_json(const Comparison& comparison,
                            const std::vector<Recommendation>& recommendations,
                            const CompareOptions& options, const std::string& catalog_origin,
                            double runs_per_month);

// One CSV line per row (fields with a comma, quote or line end quoted, absent numbers empty).
std::string comparison_csv(const Comparison& comparison);

}  // namespace pmc
