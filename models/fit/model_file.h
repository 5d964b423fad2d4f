#pragma once
// A fitted model as a file ("schema": "pmcmodel.model/1", documented in docs/MODELS.md): the
// target, the machine it was calibrated on, each feature's transform with its coefficient,
// standard error and training range, the cross-validated error and the residual quantiles that
// make a 90% prediction interval, and the training range of each input column the features read.
// Predictions outside the training range (of a feature or of an input) are flagged.
#include <cstddef>
#include <filesystem>
#include <limits>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "models/fit/cross_validation.h"
#include "models/fit/dataset.h"
#include "models/fit/feature_transforms.h"
#include "models/fit/solvers.h"
#include "models/fit/stall_comparison.h"

namespace pmc {

inline constexpr const char* kModelSchema = "pmcmodel.model/1";

struct ModelTerm {
  FeatureSpec spec;
  double coefficient = 0;
  double standard_error = std::numeric_limits<double>::quiet_NaN();
  double train_min = 0;  // range of the feature over the training rows
  double train_max = 0;
};

// An input column a model's features read, with its range over the training rows ("inputs"). A
// row can hold an input outside it while every feature stays inside (a ratio of two inputs that
// both grew, a hinge below its knot), so the row is flagged by the input.
struct InputRange {
  std::string column;
  double train_min = 0;
  double train_max = 0;
};

// Each column `features` read, in order of first use, with its range over `data`'s rows.
std::vector<InputRange> input_ranges(const Dataset& data, const std::vector<FeatureSpec>& features);

struct CvSummary {
  std::string method;   // to_string(CvMethod)
  size_t folds = 0;     // splits tested
  ErrorMetrics errors;  // pooled over the held-out rows
};

struct Model;

// One band of a banded model: the training rows whose band column is in [lower, upper).
struct ModelBand {
  double lower = -std::numeric_limits<double>::infinity();
  double upper = std::numeric_limits<double>::infinity();
  size_t rows = 0;                     // training rows in the band
  std::shared_ptr<const Model> model;  // its own fit; null when it had too few rows
  std::string reason;                  // why there is no model (the pooled one predicts)
};

struct Model {
  std::string target;
  nlohmann::json machine = nlohmann::json::object();  // free-form, given by the caller
  std::vector<ModelTerm> terms;
  // The input columns of the terms with their training ranges; empty for a file written before
  // they were recorded (then only the features' ranges are checked).
  std::vector<InputRange> inputs;
  double intercept = 0;
  double intercept_se = std::numeric_limits<double>::quiet_NaN();
  std::string solver;  // to_string(SolverKind)
  double lambda = 0;
  double alpha = 0;
  bool nonnegative_intercept = false;  // nnls only
  size_t training_rows = 0;
  double target_min = 0, target_max = 0;
  // "extrapolation": "clip" (fit --features auto): a feature outside its training range is clipped
  // to it for the prediction, and the interval is widened on both sides by what the unclipped
  // value would have added (|Σ coefficient × (value − clipped)|), and by how far the prediction
  // moves when the inputs outside their ranges are clipped to them (the features evaluated again
  // on the clipped inputs). Absent: extrapolated linearly, the interval not widened.
  bool clip_out_of_range = false;
  CvSummary cv;
  ResidualInterval interval;
  std::string created_at;  // ISO 8601, given by the caller (models/ reads no clock)
  std::string pmcmodel_version;
  // A CPI-stack model's estimate against the dataset's stall counters ("stall_counters"), when
  // the training data had them; empty otherwise.
  StallComparison stall_check;
  // A banded model ("bands", as SmartWatts fits one model per frequency): the column that chooses
  // the band, the edges between bands (band i is edges[i-1] ≤ value < edges[i]), the fewest rows
  // a band was fitted with, and the held-out error of the band models over all their rows. The
  // fields above are the pooled model, which predicts rows of a band without a model.
  std::string band_column;
  std::vector<double> band_edges;
  size_t band_min_rows = 0;
  ErrorMetrics band_cv;
  std::vector<ModelBand> bands;  // band_edges.size() + 1 when banded
};

// The band of `value`: the number of edges ≤ value.
size_t band_index(const std::vector<double>& edges, double value);
// Edges for --band-by without --band-edges: midway between neighbouring distinct values when
// there are at most `max_distinct` of them (one band per value), else the quantiles that cut the
// values into `quantile_bands` bands (fewer when quantiles coincide).
std::vector<double> default_band_edges(std::vector<double> values, size_t max_distinct = 8,
                                       size_t quantile_bands = 4);

struct ModelIdentity {
  nlohmann::json machine = nlohmann::json::object();
  std::string created_at;
};

// Fits `features` → `target` on every row with `solver`, cross-validates with `plan` (the same
// solver refitted per split) and keeps the CV residual quantiles for the interval.
Model fit_model(const Dataset& data, const std::string& target,
                const std::vector<FeatureSpec>& features, const SolverOptions& solver,
                const CvPlan& plan, const ModelIdentity& identity);
// The same from a fit already made on `data`'s rows (the CV result gives the errors and the
// interval; `data` the inputs' ranges).
Model make_model(const Dataset& data, const std::string& target,
                 const std::vector<FeatureSpec>& features, const DesignMatrix& x,
                 const std::vector<double>& y, const Fit& fit, const CvResult& cv, size_t cv_splits,
                 const ModelIdentity& identity);

std::string model_to_json(const Model& model);  // pretty-printed, with a trailing newline
// Throws std::runtime_error "FILE:LINE: what was expected".
Model model_from_json(std::string_view text, const std::string& file);
Model read_model(const std::filesystem::path& file);

struct Prediction {
  std::vector<double> value;
  // value + the interval's lower residual quantile (times |value| for a relative interval)
  std::vector<double> lower;
  std::vector<double> upper;
  std::vector<char> out_of_range;             // per row: a feature or input outside its range
  std::vector<size_t> out_of_range_by_term;   // per term: rows outside its range
  std::vector<size_t> out_of_range_by_input;  // per model input: rows outside its range
  // Banded models only: per row the band whose model predicted it, −1 where the pooled model did
  // (the band had too few training rows); band_note says why no row could choose a band.
  std::vector<int> band;
  std::string band_note;
};

// Evaluates the model's features on `data` (which needs their input columns).
Prediction predict(const Model& model, const Dataset& data);

}  // namespace pmc
