#pragma once
// Fitting a model on a dataset's columns, as fit, calibrate and predict share it: one target on
// given features (or on those forward selection picks), cross-validated; the stall counters'
// check of a CPI-stack model; per-band sub-models; the machine identity a dataset carries.
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "models/fit/auto_features.h"
#include "models/fit/cross_validation.h"
#include "models/fit/feature_selection.h"
#include "models/fit/model_file.h"
#include "models/fit/stall_comparison.h"

namespace pmc {

// How `fit --features auto` fitted its model, so that its bands are fitted the same way: the
// rows' weighting, each term's ≥ 0 bound, and the held-out features clipped to each fold's
// training range. A relative weighting (every target value > 0 in the band) gives the band a
// relative interval (relative_residual_interval), as it gives the pooled model; so does
// `relative_interval`, set for the plain baseline that a selection judged by relative error kept
// (fitted unweighted and unbounded, its errors still scale with the power).
struct ConstrainedFit {
  FitWeighting weighting = FitWeighting::none;
  std::vector<char> nonnegative;  // per term of the pooled model
  bool relative_interval = false;
};

struct FitOutcome {
  Model model;
  CvResult cv;
  bool selected = false;      // features chosen by forward selection
  SelectionResult selection;  // when selected
  // The auto pool's fit (its selection, or the baseline it kept): how its bands are to be fitted.
  std::optional<ConstrainedFit> constrained;
};

// Fits `target` on `features`, or, when `features` is empty, on the features forward selection
// picks from `candidates` (VIF limit in `selection`); cross-validates with `plan`. Throws
// std::runtime_error naming the dataset when there is nothing to fit on.
FitOutcome fit_table(const Dataset& data, const std::string& target,
                     const std::vector<FeatureSpec>& features,
                     const std::vector<FeatureSpec>& candidates, const SolverOptions& solver,
                     const CvPlan& plan, const SelectionOptions& selection,
                     const ModelIdentity& identity);

// For a CPI-stack model — target `cpi`, every feature ratio(miss column, I) with one I — the
// comparison of its stall estimate with the stall counters in `data` (calibrate's `_per_s` rates
// when I ends in `_per_s`, else columns named as the counters' stems), per group of
// `group_of_row` (empty: every row is one group). Empty when there is nothing to compare.
StallComparison stall_check(const Model& model, const Dataset& data,
                            const std::vector<std::string>& group_of_row);

// Per-band sub-models of `pooled` (already fitted on every row): one per band of `band_by`
// (`edges`, or default_band_edges of the column when empty), with the pooled model's features
// less those constant in the band, each cross-validated with the plan `plan_for` gives for the
// band's rows. A band with fewer than `min_rows` rows (0: max(10, 5 × (features + 1))), or
// whose fit is refused, keeps no model and its reason; the pooled model predicts it. Sets
// pooled.band_* and pooled.bands, and pooled.band_cv over the fitted bands' held-out rows.
// With `constrained`, each band is fitted as it says (fit_sign_constrained, clipping_predictor)
// instead of with `solver`. Throws std::invalid_argument when the edges are not increasing.
void fit_bands(const Dataset& data, const std::string& target, const std::string& band_by,
               std::vector<double> edges, size_t min_rows, const SolverOptions& solver,
               const ModelIdentity& identity,
               const std::function<CvPlan(const Dataset& band_rows)>& plan_for, Model& pooled,
               const std::optional<ConstrainedFit>& constrained = std::nullopt);

// The banded model `pooled` (its bands fitted by fit_bands) cross-validated on the pooled
// model's own `plan`, so that it is judged on the rows and splits the pooled model was: in each
// split, each band with a model is refitted on the split's training rows in the band, as
// `constrained` says (its terms' bounds, weights, held-out features clipped to those rows' range),
// and predicts the split's test rows in the band. A band without a model, with fewer training rows
// in the split than pooled.band_min_rows, or whose fit is refused, takes `pooled_predictions`
// (the pooled model's held-out prediction of each row on the same plan). Errors over every row
// the plan tests.
ErrorMetrics banded_cv_on_plan(const Dataset& data, const std::string& target, const Model& pooled,
                               const CvPlan& plan, const std::vector<double>& pooled_predictions,
                               const ConstrainedFit& constrained);

// "[1.2e+09, 2.4e+09)", "< 1.2e+09", ">= 2.4e+09": a band's range as fit prints it.
std::string band_label(const ModelBand& band);

// The machine identity of a dataset: its `# machine.KEY=VALUE` comment lines (calibrate writes
// them) as {"KEY": "VALUE"}, the `# event.COLUMN=EVENT` lines as {"events": {COLUMN: EVENT}} (so
// `measure --model` can say which event to count), plus "dataset": the file's path.
nlohmann::json machine_from_comments(const std::vector<std::string>& comments,
                                     const std::string& dataset);

}  // namespace pmc
