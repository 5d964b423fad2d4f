#include "models/fit/feature_selection.h"

#include <cmath>
#include <limits>
#include <numeric>

namespace pmc {
namespace {

double criterion_of(const ErrorMetrics& e, SelectionCriterion c) {
  return c == SelectionCriterion::mape ? e.mape_percent : e.rmse;
}

// Cross-validated error of the intercept-only model: the mean of the training rows.
double baseline(const DesignMatrix& x, const std::vector<double>& y, const CvPlan& plan, SelectionCriterion c) {
  DesignMatrix none = x.select_columns({});
  auto result = cross_validate(none, y, plan, [](const DesignMatrix&, const std::vector<double>& train_y,
                                                 const DesignMatrix& test_x) {
    double mean = std::accumulate(train_y.begin(), train_y.end(), 0.0) / double(train_y.size());
    return std::vector<double>(test_x.rows, mean);
  });
  return criterion_of(result.pooled, c);
}

}  // namespace

double variance_inflation(const DesignMatrix& x, const std::vector<size_t>& chosen, size_t candidate) {
  if (chosen.empty()) return 1;
  DesignMatrix others = x.select_columns(chosen);
  std::vector<double> target(x.column(candidate), x.column(candidate) + x.rows);
  double r2 = fit_ols(others, target).r2;
  if (std::isnan(r2)) return std::numeric_limits<double>::infinity();  // a constant candidate
  return r2 >= 1 ? std::numeric_limits<double>::infinity() : 1 / (1 - r2);
}

SelectionResult forward_select(const DesignMatrix& candidates, const std::vector<double>& y, const CvPlan& plan,
                               const SelectionOptions& options) {
  SelectionResult result;
  result.baseline_error = baseline(candidates, y, plan, options.criterion);
  result.cv_error = result.baseline_error;
  std::vector<char> used(candidates.cols, 0);
  auto predictor = fold_predictor(options.solver);
  size_t limit = options.max_features ? options.max_features : candidates.cols;
  while (result.selected.size() < limit) {
    SelectionStep step;
    size_t best = candidates.cols;
    double best_error = std::numeric_limits<double>::infinity();
    for (size_t c = 0; c < candidates.cols; ++c) {
      if (used[c]) continue;
      if (variance_inflation(candidates, result.selected, c) > options.vif_limit) {
        step.rejected_for_vif.push_back(candidates.names[c]);
        continue;
      }
      auto trial = result.selected;
      trial.push_back(c);
      double error = criterion_of(cross_validate(candidates.select_columns(trial), y, plan, predictor).pooled,
                                  options.criterion);
      if (error < best_error) best_error = error, best = c;
    }
    if (best == candidates.cols || !(best_error < result.cv_error * (1 - options.tolerance))) break;
    used[best] = 1;
    result.selected.push_back(best);
    result.names.push_back(candidates.names[best]);
    result.cv_error = best_error;
    step.added = candidates.names[best];
    step.cv_error = best_error;
    result.steps.push_back(std::move(step));
  }
  return result;
}

}  // namespace pmc
