#pragma once
// How well a model predicts rows it was not fitted on. A plan splits rows into blocks (shuffled
// folds, consecutive time blocks, or groups such as workloads) and says, for each split, which
// block is tested and which blocks train. Errors are computed on the held-out predictions.
#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "models/fit/feature_transforms.h"

namespace pmc {

enum class CvMethod {
  kfold,         // rows shuffled with a fixed seed into k folds; each fold tested once
  time_ordered,  // rows in time order cut into k consecutive blocks; block f is tested on a fit
                 // to blocks 0…f-1 (train on the past, test on the later block), f = 1…k-1
  grouped,       // leave one group out: each group is tested on a fit to all other groups
  holdout,       // the last fraction of rows (by time) tested on a fit to the earlier rows
};

const char* to_string(CvMethod method);

struct CvSplit {
  uint32_t test_block = 0;
  std::vector<uint32_t> train_blocks;
};

struct CvPlan {
  CvMethod method = CvMethod::kfold;
  std::vector<uint32_t> block_of_row;    // block of every row
  std::vector<std::string> block_names;  // "fold 3", "block 2", the group's label
  std::vector<CvSplit> splits;

  size_t rows() const { return block_of_row.size(); }
  size_t blocks() const { return block_names.size(); }
  std::vector<size_t> test_rows(size_t split) const;   // ascending
  std::vector<size_t> train_rows(size_t split) const;  // ascending
};

// Throws std::invalid_argument when folds < 2 or rows < folds.
CvPlan kfold_plan(size_t rows, size_t folds, uint64_t seed = 1);
// Rows must already be in time order (Dataset::sorted_by). blocks ≥ 2 gives blocks - 1 splits.
CvPlan time_ordered_plan(size_t rows, size_t blocks);
// One block per distinct label, in order of first appearance; needs at least two groups.
CvPlan grouped_plan(const std::vector<std::string>& group_of_row);
// Train on the first (1 - test_fraction) of the rows, test on the rest (one split).
CvPlan holdout_plan(size_t rows, double test_fraction);

struct ErrorMetrics {
  size_t n = 0;
  double mape_percent = 0;  // mean |y - ŷ| / |y| × 100 over rows with y ≠ 0
  double rmse = 0;
  double medae = 0;         // median |y - ŷ|
  double r2 = 0;            // 1 - SSE / Σ(y - ȳ)², ȳ of these rows
};

ErrorMetrics error_metrics(const std::vector<double>& actual, const std::vector<double>& predicted);

struct FoldResult {
  std::string test_block;  // the block's name
  size_t train_rows = 0;
  ErrorMetrics errors;
};

struct CvResult {
  CvMethod method = CvMethod::kfold;
  std::vector<FoldResult> folds;
  ErrorMetrics pooled;              // over every held-out prediction together
  std::vector<double> predictions;  // held-out prediction of each row; NaN for rows never tested
  std::vector<double> residuals;    // actual - predicted of every tested row, in row order
};

// Fits on the training rows and predicts the test rows.
using FoldPredictor = std::function<std::vector<double>(
    const DesignMatrix& train_x, const std::vector<double>& train_y, const DesignMatrix& test_x)>;

CvResult cross_validate(const DesignMatrix& x, const std::vector<double>& y, const CvPlan& plan,
                        const FoldPredictor& predictor);

// A 90% (by default) prediction interval from held-out residuals: the empirical quantiles
// (1-level)/2 and (1+level)/2 of actual - predicted (linear interpolation between order
// statistics), added to a prediction. Distribution-free, so a skewed or heavy-tailed error is kept
// as it is; it needs a few dozen residuals to mean anything.
//
// A relative interval (for fits that minimise relative error, whose errors grow with the
// prediction) takes the quantiles of (actual - predicted) / |predicted| instead, and applies them
// as fractions of the prediction: [ŷ + |ŷ|·lower, ŷ + |ŷ|·upper].
struct ResidualInterval {
  double level = 0.9;
  double lower = 0;  // add to the prediction (relative: times |prediction|)
  double upper = 0;
  bool relative = false;
};

ResidualInterval residual_interval(std::vector<double> residuals, double level = 0.9);
// The relative interval from each row's actual and held-out prediction (rows whose prediction is
// NaN or 0 are left out). Throws std::invalid_argument when no row is left.
ResidualInterval relative_residual_interval(const std::vector<double>& actual,
                                            const std::vector<double>& predicted,
                                            double level = 0.9);
// The interval's bounds around one prediction.
double interval_lower(const ResidualInterval& interval, double prediction);
double interval_upper(const ResidualInterval& interval, double prediction);
// Quantile q ∈ [0, 1] of values (sorted inside), linear interpolation (Hyndman–Fan type 7).
double quantile(std::vector<double> values, double q);

}  // namespace pmc
