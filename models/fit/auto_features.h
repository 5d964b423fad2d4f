#pragma once
// `fit --features auto`: features chosen so that the model holds on later data, not only on the
// rows it was fitted on.
//
// - Candidates from every input column: the column itself, √ and log1p (concave responses, the
//   shape of a server's power against its load) when its values are ≥ 0, and hinges
//   max(0, x − knot) at every 5 % quantile of the column (a bend where the response changes slope);
//   and the ratio of every ordered pair of columns ≥ 0 (IPC, misses per instruction, a clock).
// - Judged by CV MAPE, the selection's fits minimise relative squared error (weights 1/y²).
// - Activity terms (the column, √, log1p) keep a coefficient ≥ 0: more activity never lowers
//   power. Hinge slopes are free, so a bend may flatten (concave) or steepen.
// - Chosen by forward selection on the caller's CV plan (time-ordered with a gap between training
//   and test blocks when the rows are in time order), with the held-out features clipped to each
//   fold's training range, as predict clips them.
// - Never worse than the plain linear baseline (OLS on the raw columns) on the same plan: when the
//   selection's CV error is not below the baseline's, the baseline is returned. Both are reported.
#include <cstddef>
#include <functional>
#include <string>
#include <vector>

#include "models/fit/cross_validation.h"
#include "models/fit/dataset.h"
#include "models/fit/feature_selection.h"
#include "models/fit/feature_transforms.h"
#include "models/fit/solvers.h"

namespace pmc {

// Whether a column is a measured output or a label rather than an input, and so never an
// automatic candidate: a power column (`*_power`, `*_watts`) must not predict another power
// column of the same interval, nor may a prediction (`predicted_*`, `lower_*`, `upper_*`,
// `out_of_range`) or the time (`timestamp`, `time_s`).
bool looks_like_output(const std::string& column);

// `fit --features auto` without --candidates: every column of `data` that is not the target, an
// output (looks_like_output), in `exclude` or constant, as a raw feature; a note for each constant
// one.
std::vector<FeatureSpec> default_candidates(const Dataset& data, const std::string& target,
                                            const std::vector<std::string>& exclude,
                                            std::vector<std::string>& notes);

struct CandidatePool {
  std::vector<FeatureSpec> specs;
  std::vector<char> nonnegative;  // per spec: coefficient kept ≥ 0
  std::vector<size_t> raw;        // indices of the raw columns (the baseline)
};

// The hinge knots of `--features auto`: the 5 %, 10 %, …, 95 % quantiles of each column. A bend
// may sit anywhere in a column's range (a server's power flattens near full load, or steepens as
// the clock rises), and three knots at the quartiles place it coarsely; forward selection by CV
// picks the few that help. On the earlier 70 % of the Kepler nx12 rows, time-ordered CV preferred
// these 19 to deciles and deciles to quartiles (docs/MODELS.md).
std::vector<double> default_knot_quantiles();

// Quantiles (type 7) of each column's values for the hinge knots; a knot equal to another or not
// strictly inside the column's range is skipped.
CandidatePool expand_candidates(
    const Dataset& data, const std::vector<std::string>& columns,
    const std::vector<double>& knot_quantiles = default_knot_quantiles());

// How the rows of a least-squares fit are weighted: `none` minimises Σ(y − ŷ)²; `relative`
// minimises Σ((y − ŷ)/y)² (weights 1/y²), the squared-error counterpart of MAPE, so that a 30 W
// idle row counts as much as a 200 W busy one. `relative` needs every y > 0, else it is `none`.
enum class FitWeighting { none, relative };

// 1/y² per row, or empty when some y ≤ 0.
std::vector<double> relative_weights(const std::vector<double>& y);

// y = b0 + Σ b_j x_j, b_j ≥ 0 where nonnegative[j], by cyclic coordinate descent on the
// standardised (weighted) normal equations (exact per coordinate, projected onto the bound).
// Standard errors are NaN; R² and σ are unweighted. Throws std::runtime_error when rows ≤
// columns + 1.
Fit fit_sign_constrained(const DesignMatrix& x, const std::vector<double>& y,
                         const std::vector<char>& nonnegative,
                         FitWeighting weighting = FitWeighting::none);

// Fits on the training rows, then predicts the test rows with every feature clipped to its range
// over the training rows (as predict does for a model with "extrapolation": "clip").
FoldPredictor clipping_predictor(
    std::function<Fit(const DesignMatrix&, const std::vector<double>&)> fit);

// A time-ordered plan (blocks consecutive blocks, block f tested on a fit to blocks 0…f−1) whose
// training rows stop `gap` rows before each test block, so that a test block is not predicted
// from the rows right before it (3-s intervals of one workload phase are near copies). The gap
// rows (the last `gap` rows of the block before) form their own blocks, "gap before block f":
// never tested, trained on by the later splits.
CvPlan time_ordered_gap_plan(size_t rows, size_t blocks, size_t gap);

struct AutoSelection {
  std::vector<size_t> selected;  // columns of the pool, in order of selection
  std::vector<SelectionStep> steps;
  ErrorMetrics selected_cv;    // the selection's CV errors (clipped, sign-constrained)
  ErrorMetrics baseline_cv;    // OLS on the raw columns, same plan, clipped
  bool baseline_kept = false;  // the selection was not better: the baseline is the model
  FitWeighting weighting = FitWeighting::none;  // of the selection's fits (never the baseline's)
  std::vector<size_t> final_columns;            // selected, or the raw columns when baseline_kept
};

// Forward selection by CV MAPE (tolerance and VIF limit from `options`), sign constraints per
// pool column, clipping in every fold; then the baseline comparison.
AutoSelection select_auto(const DesignMatrix& pool, const std::vector<char>& nonnegative,
                          const std::vector<size_t>& raw_columns, const std::vector<double>& y,
                          const CvPlan& plan, const SelectionOptions& options);

}  // namespace pmc
