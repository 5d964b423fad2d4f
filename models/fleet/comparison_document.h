#pragma once
// The comparison as documents: `pmcmodel.comparison/1` JSON (docs/formats.md) and the CSV of its
// rows, written by `compare --json/--csv`.
#include <string>
#include <vector>

#include "models/fleet/compare_runs.h"

namespace pmc {

// The report's rows in document order: each workload's comparison rows, then the rows of its GPU
// rankings (gpu_comparison_rows); the rows of a GPU ranking whose workload has none last.
std::vector<ComparisonRow> document_rows(const CompareReport& report);

// The JSON document: objective, work units and grid of the options, the catalog's origin, the
// runs per month the savings assume, every row, the recommendations and the notes.
std::string comparison_json(const CompareReport& report);

// One CSV line per row (fields with a comma, quote or line end quoted, absent numbers empty).
std::string comparison_csv(const CompareReport& report);

}  // namespace pmc
