#pragma once
// `pmcmodel fit` as one computation on a loaded table: which columns the CSV must hold as numbers,
// then the fit itself — the CV plan, the features (given, forward selection, or `--features auto`'s
// pool with its linear baseline), the stall counters' check, per-band sub-models and, for the auto
// pool, the trial of bands by a frequency column. The caller reads the file and renders the result.
#include <cstddef>
#include <optional>
#include <string>
#include <vector>

#include "models/fit/auto_features.h"
#include "models/fit/cv_choice.h"
#include "models/fit/dataset.h"
#include "models/fit/fit_table.h"

namespace pmc {

struct FitRequest {
  std::string target;
  // The features to fit on; empty: chosen automatically from `candidates`, or, when that is empty
  // too, from every input column of the table (default_candidates, less `exclude`).
  std::vector<FeatureSpec> features;
  std::vector<FeatureSpec> candidates;
  std::vector<std::string> exclude;
  SolverOptions solver;
  // The CV plan asked for; gap_by_default is set for the auto pool (auto_pool).
  CvRequest cv;
  double vif_limit = 10;
  std::string band_by;  // empty: no bands asked for
  std::vector<double> band_edges;
  size_t band_min_rows = 0;
};

// Whether the request is `--features auto` with the default pool and the linear solver: √, log1p
// and hinge candidates of every input column, activity terms ≥ 0, clipped folds, a gap before each
// time-ordered test block, and the plain linear baseline kept when the selection is not better.
bool auto_pool(const FitRequest& request);

// Throws std::invalid_argument when two features (or two candidates) have the same name, or a
// feature or candidate reads the target column.
void check_fit_request(const FitRequest& request);

// How the CSV is read: the target, the features' and candidates' inputs and band_by must be
// numbers; group_by, the excluded columns, anything not numeric in the first row, and (unless the
// features are chosen from every column) every other column is text, except a numeric `timestamp`
// (time-ordered CV) and numeric stall counters (the CPI-stack check). Throws std::invalid_argument
// when band_by is the target or group_by, or group_by is a feature's input or the target, and what
// check_fit_request throws.
CsvOptions fit_csv_options(const FitRequest& request, const CsvPreview& preview);

// The auto pool's selection, as fit reports it.
struct AutoFeaturesReport {
  size_t candidates = 0;   // features of the pool
  size_t columns = 0;      // input columns they come from
  size_t raw_columns = 0;  // of the plain linear baseline
  SelectionOptions options;
  AutoSelection selection;
  // Features the ≥ 0 bound held at 0 in the final fit, dropped, in the order they were.
  std::vector<std::string> dropped_at_bound;
};

// The auto pool's trial of one sub-model per band of a frequency column (as SmartWatts fits):
// kept when its MAPE, cross-validated on the pooled model's plan (each band refitted on each
// split's training rows in the band; banded_cv_on_plan), is below the pooled model's on the
// same rows.
struct FrequencyBandTrial {
  std::string column;
  bool tried = false;
  std::string not_tried_reason;  // when !tried: why the bands could not be fitted
  double banded_mape_percent = 0;
  double pooled_mape_percent = 0;
  bool kept = false;
};

struct FitResult {
  Model model;                               // with its stall check, and its bands when banded
  CvResult cv;                               // the pooled model's folds
  std::string cv_plan;                       // the plan in words
  // The default candidates' notes (constant columns), and a text `timestamp` that the automatic
  // plan could not order by.
  std::vector<std::string> notes;
  std::optional<SelectionResult> selection;  // forward selection, outside the auto pool
  SelectionOptions selection_options;
  std::optional<AutoFeaturesReport> auto_features;  // the auto pool
  std::optional<FrequencyBandTrial> frequency_bands;
  bool banded = false;  // the model has per-band sub-models (band_by, or a kept trial)
};

// Fits request.target on `data` (loaded with fit_csv_options). Rows are sorted by `timestamp`
// when the table has one and no group_by is set. Throws std::invalid_argument or
// std::runtime_error ("FILE:LINE: …" where the table is at fault) for what cannot be fitted: a
// constant feature, too few rows for the plan, `grouped` CV without group_by, bad band edges.
FitResult fit_dataset(Dataset data, const FitRequest& request, const ModelIdentity& identity);

}  // namespace pmc
