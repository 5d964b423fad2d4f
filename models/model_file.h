#pragma once
// A fitted model as a file ("schema": "pmcmodel.model/1", documented in docs/MODELS.md): the
// target, the machine it was calibrated on, each feature's transform with its coefficient,
// standard error and training range, the cross-validated error and the residual quantiles that
// make a 90% prediction interval. Predictions outside the training range are flagged.
#include <cstddef>
#include <filesystem>
#include <limits>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "cross_validation.h"
#include "dataset.h"
#include "feature_transforms.h"
#include "solvers.h"
#include "stall_comparison.h"

namespace pmc {

inline constexpr const char* kModelSchema = "pmcmodel.model/1";

struct ModelTerm {
  FeatureSpec spec;
  double coefficient = 0;
  double standard_error = std::numeric_limits<double>::quiet_NaN();
  double train_min = 0;  // range of the feature over the training rows
  double train_max = 0;
};

struct CvSummary {
  std::string method;   // to_string(CvMethod)
  size_t folds = 0;     // splits tested
  ErrorMetrics errors;  // pooled over the held-out rows
};

struct Model {
  std::string target;
  nlohmann::json machine = nlohmann::json::object();  // free-form, given by the caller
  std::vector<ModelTerm> terms;
  double intercept = 0;
  double intercept_se = std::numeric_limits<double>::quiet_NaN();
  std::string solver;  // to_string(SolverKind)
  double lambda = 0;
  double alpha = 0;
  bool nonnegative_intercept = false;  // nnls only
  size_t training_rows = 0;
  double target_min = 0, target_max = 0;
  CvSummary cv;
  ResidualInterval interval;
  std::string created_at;  // ISO 8601, given by the caller (models/ reads no clock)
  std::string pmcmodel_version;
  // A CPI-stack model's estimate against the dataset's stall counters ("stall_counters"), when
  // the training data had them; empty otherwise.
  StallComparison stall_check;
};

struct ModelIdentity {
  nlohmann::json machine = nlohmann::json::object();
  std::string created_at;
};

// Fits `features` → `target` on every row with `solver`, cross-validates with `plan` (the same
// solver refitted per split) and keeps the CV residual quantiles for the interval.
Model fit_model(const Dataset& data, const std::string& target,
                const std::vector<FeatureSpec>& features, const SolverOptions& solver,
                const CvPlan& plan, const ModelIdentity& identity);
// The same from a fit already made (the CV result gives the errors and the interval).
Model make_model(const std::string& target, const std::vector<FeatureSpec>& features,
                 const DesignMatrix& x, const std::vector<double>& y, const Fit& fit,
                 const CvResult& cv, size_t cv_splits, const ModelIdentity& identity);

std::string model_to_json(const Model& model);  // pretty-printed, with a trailing newline
// Throws std::runtime_error "FILE:LINE: what was expected".
Model model_from_json(std::string_view text, const std::string& file);
Model read_model(const std::filesystem::path& file);

struct Prediction {
  std::vector<double> value;
  std::vector<double> lower;  // value + the interval's lower residual quantile
  std::vector<double> upper;
  std::vector<char> out_of_range;            // per row: a feature outside its training range
  std::vector<size_t> out_of_range_by_term;  // per term: rows outside its range
};

// Evaluates the model's features on `data` (which needs their input columns).
Prediction predict(const Model& model, const Dataset& data);

}  // namespace pmc
