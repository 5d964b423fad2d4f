#pragma once
// Forward selection: start from the intercept alone, add the candidate feature that lowers the
// cross-validated error most, stop when the best addition improves it by less than a tolerance.
// A candidate nearly collinear with the features already chosen is rejected before it is tried:
// its variance inflation factor VIF = 1 / (1 - R²), R² of regressing it on the chosen features,
// must not exceed a limit (10 is the usual rule of thumb; Kutner et al., Applied Linear
// Statistical Models, §10.5), so the model's coefficients stay interpretable.
#include <cstddef>
#include <string>
#include <vector>

#include "models/fit/cross_validation.h"
#include "models/fit/feature_transforms.h"
#include "models/fit/solvers.h"

namespace pmc {

enum class SelectionCriterion { rmse, mape };

struct SelectionOptions {
  double vif_limit = 10;
  double tolerance = 0.01;  // relative: the best addition must lower the CV error by ≥ 1%
  size_t max_features = 0;  // 0: no limit but the candidates
  SelectionCriterion criterion = SelectionCriterion::rmse;
  SolverOptions solver;
};

struct SelectionStep {
  std::string added;                 // the feature added at this step
  double cv_error = 0;               // the criterion after adding it
  std::vector<std::string> rejected_for_vif;  // candidates skipped at this step
};

struct SelectionResult {
  std::vector<size_t> selected;  // columns of the candidates, in order of selection
  std::vector<std::string> names;
  double baseline_error = 0;     // intercept only
  double cv_error = 0;           // of the selected set
  std::vector<SelectionStep> steps;
};

// VIF of column `candidate` against `chosen` (1 when none is chosen; +inf for an exact copy).
double variance_inflation(const DesignMatrix& x, const std::vector<size_t>& chosen, size_t candidate);

SelectionResult forward_select(const DesignMatrix& candidates, const std::vector<double>& y, const CvPlan& plan,
                               const SelectionOptions& options = {});

}  // namespace pmc
