#pragma once
// Shared by fit, predict and calibrate: the CV report of a fitted model, and the identity and
// time stamp a model file carries.
#include <string>
#include <vector>

#include "models/fit/cross_validation.h"
#include "models/fit/feature_selection.h"
#include "models/fit/model_file.h"

namespace pmc::cli {

// The text `pmcmodel fit` prints: data and solver, pooled and per-fold held-out errors, the
// features with coefficients, standard errors and training ranges, and the 90% interval.
std::string format_fit_report(const Model& model, const CvResult& cv,
                              const std::string& data_origin);

// For a CPI-stack model — target `cpi`, every feature ratio(miss column, I) with one I — the
// comparison of its stall estimate with the stall counters in `data` (calibrate's `_per_s` rates
// when I ends in `_per_s`, else columns named as the counters' stems), per group of
// `group_of_row` (empty: every row is one group). Empty when there is nothing to compare.
StallComparison stall_check(const Model& model, const Dataset& data,
                            const std::vector<std::string>& group_of_row);
// The comparison as fit and calibrate print it: per group and level, the model's and the
// counter's stall cycles as shares of cycles, their difference and the relative error.
std::string format_stall_comparison(const StallComparison& s);

// "MAPE 8.2%  RMSE 10.4  MedAE 6.1  R² 0.953  (863 rows)"
std::string format_errors(const ErrorMetrics& e);

// Current UTC time, ISO 8601 to the second.
std::string utc_now_iso8601();

// The machine identity of a dataset: its `# machine.KEY=VALUE` comment lines (calibrate writes
// them) as {"KEY": "VALUE"}, the `# event.COLUMN=EVENT` lines as {"events": {COLUMN: EVENT}} (so
// `measure --model` can say which event to count), plus "dataset": the file's path.
nlohmann::json machine_from_comments(const std::vector<std::string>& comments,
                                     const std::string& dataset);

}  // namespace pmc::cli

namespace pmc::cli {

struct FitOutcome {
  Model model;
  CvResult cv;
  bool selected = false;      // features chosen by forward selection
  SelectionResult selection;  // when selected
};

// Fits `target` on `features`, or, when `features` is empty, on the features forward selection
// picks from `candidates` (VIF limit in `selection`); cross-validates with `plan`.
FitOutcome fit_table(const Dataset& data, const std::string& target,
                     const std::vector<FeatureSpec>& features,
                     const std::vector<FeatureSpec>& candidates, const SolverOptions& solver,
                     const CvPlan& plan, const SelectionOptions& selection,
                     const ModelIdentity& identity);

// The selection steps: what was added, its CV error, what the VIF limit rejected.
std::string format_selection(const SelectionResult& s, const SelectionOptions& options);

}  // namespace pmc::cli
