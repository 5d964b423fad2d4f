#pragma once
// Shared by fit, predict and calibrate: the reports of fitted models (the fitting itself is in
// models/fit/fit_table.h), and the time stamp a model file carries.
#include <string>
#include <vector>

#include "models/fit/cross_validation.h"
#include "models/fit/feature_selection.h"
#include "models/fit/fit_table.h"
#include "models/fit/model_file.h"

namespace pmc::cli {

// The text `pmcmodel fit` prints: data and solver, pooled and per-fold held-out errors, the
// features with coefficients, standard errors and training ranges, and the 90% interval.
std::string format_fit_report(const Model& model, const CvResult& cv,
                              const std::string& data_origin);

// The comparison as fit and calibrate print it: per group and level, the model's and the
// counter's stall cycles as shares of cycles, their difference and the relative error.
std::string format_stall_comparison(const StallComparison& s);

// "MAPE 8.2%  RMSE 10.4  MedAE 6.1  R² 0.953  (863 rows)"
std::string format_errors(const ErrorMetrics& e);

// Current UTC time, ISO 8601 to the second.
std::string utc_now_iso8601();

// The selection steps: what was added, its CV error, what the VIF limit rejected.
std::string format_selection(const SelectionResult& s, const SelectionOptions& options);

}  // namespace pmc::cli
