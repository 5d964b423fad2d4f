#pragma once
// Linear least-squares fits of y = intercept + Σ coefficient_j × x_j on a DesignMatrix.
//
//   ols          Householder QR with column pivoting on the column-scaled [1 X]; standard errors
//                σ²(XᵀX)⁻¹ from the triangular factor. Columns the QR finds dependent get
//                coefficient 0 and a NaN standard error.
//   ridge        min (1/n)‖y - b₀ - Zβ‖² + λ‖β‖², Z the columns standardised (mean 0, population
//                sd 1) on the training rows; the intercept is not penalised. This is glmnet's λ at
//                α = 0. Coefficients are reported on the original scale.
//   nnls         Lawson–Hanson active set: every coefficient ≥ 0. The intercept is free by default
//                (the problem is solved on centred data); NnlsOptions::nonnegative_intercept
//                constrains it too (a base CPI cannot be negative).
//   elastic_net  min (1/2n)‖y - b₀ - Zβ‖² + λ(α‖β‖₁ + (1-α)/2‖β‖²) by cyclic coordinate descent
//                with covariance updates (glmnet's objective), warm starts down a λ path.
//
// Ridge and elastic-net cross-validation never refit from rows per λ: one pass over the data
// accumulates the Gram matrix [1 X y]ᵀ[1 X y] of every CV block, a training set's Gram is the sum
// of its blocks (total minus the test block for k-fold), and each λ is a p×p solve. The held-out
// squared error of each λ also comes from the test block's Gram.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "models/fit/cross_validation.h"
#include "models/fit/dataset.h"
#include "models/fit/feature_transforms.h"

namespace pmc {

struct Fit {
  std::string solver;              // "ols", "ridge", "nnls", "elastic_net"
  std::vector<std::string> names;  // one per coefficient (the design's column names)
  double intercept = 0;
  double intercept_se = 0;              // NaN where the solver gives none
  std::vector<double> coefficients;     // on the scale of the design's columns
  std::vector<double> standard_errors;  // NaN where undefined (see each solver)
  double lambda = 0;                    // ridge, elastic net
  double alpha = 0;                     // elastic net (0 for ridge)
  size_t rows = 0;
  double effective_parameters = 0;  // rank for OLS/NNLS, tr(hat matrix) for ridge
  double sigma = 0;                 // residual sd, √(SSE / (n - 1 - effective parameters))
  double r2 = 0;                    // on the training rows

  double predict_row(const DesignMatrix& x, size_t row) const;
  std::vector<double> predict(const DesignMatrix& x) const;
};

// Throws std::runtime_error when rows ≤ columns + 1 or sizes disagree.
Fit fit_ols(const DesignMatrix& x, const std::vector<double>& y);

// Standard errors are the sandwich σ²(G+λI)⁻¹G(G+λI)⁻¹ of the standardised problem.
Fit fit_ridge(const DesignMatrix& x, const std::vector<double>& y, double lambda);

// log-spaced λ from hi down to lo (count values).
std::vector<double> log_grid(double lo, double hi, size_t count);
std::vector<double> default_ridge_lambdas();  // 1e-8 … 1e2, 41 values

struct PathCv {
  Fit fit;                      // refitted on every row at the chosen λ
  std::vector<double> lambdas;  // as tried
  std::vector<double> cv_mse;   // pooled held-out mean squared error per λ
  size_t best = 0;              // index of the chosen λ (lowest cv_mse)
};

// λ by cross-validation over `plan`'s splits (rows of x in the plan's order). `threads` splits
// the accumulation pass over the rows (1 = this thread only).
PathCv fit_ridge_cv(const DesignMatrix& x, const std::vector<double>& y, const CvPlan& plan,
                    std::vector<double> lambdas = {}, size_t threads = 2);

struct NnlsOptions {
  bool nonnegative_intercept = false;
  size_t max_iterations = 0;  // 0: 3 × (columns + 1)
};

// Coefficients at the bound (exactly 0) have a NaN standard error; the others are the OLS
// standard errors of the fit restricted to the positive set.
Fit fit_nnls(const DesignMatrix& x, const std::vector<double>& y, const NnlsOptions& options = {});

struct ElasticNetOptions {
  double alpha = 1;                // 1 = lasso, 0 = ridge
  size_t path_length = 60;         // λ values from λ_max (all coefficients 0) down
  double lambda_min_ratio = 1e-4;  // λ_min = ratio × λ_max
  double tolerance = 1e-9;         // on the largest coefficient change (standardised units)
  size_t max_sweeps = 100000;
};

// One λ. Standard errors are NaN (the lasso has no simple sampling distribution).
Fit fit_elastic_net(const DesignMatrix& x, const std::vector<double>& y, double lambda,
                    const ElasticNetOptions& options = {});
// The whole path, λ descending, each fit warm-started from the previous one.
std::vector<Fit> elastic_net_path(const DesignMatrix& x, const std::vector<double>& y,
                                  const ElasticNetOptions& options = {});
PathCv fit_elastic_net_cv(const DesignMatrix& x, const std::vector<double>& y, const CvPlan& plan,
                          const ElasticNetOptions& options = {}, size_t threads = 2);

// A solver as configured in a model: used by cross-validation, feature selection and fit_model.
enum class SolverKind { ols, ridge, nnls, elastic_net };
const char* to_string(SolverKind kind);
std::optional<SolverKind> parse_solver(std::string_view text);

struct SolverOptions {
  SolverKind kind = SolverKind::ols;
  double lambda = -1;      // ridge / elastic net; < 0: chosen by inner k-fold CV
  double alpha = 1;        // elastic net
  size_t inner_folds = 5;  // for choosing λ
  uint64_t seed = 1;
  NnlsOptions nnls;
};

Fit fit_with(const DesignMatrix& x, const std::vector<double>& y, const SolverOptions& options);
FoldPredictor fold_predictor(const SolverOptions& options);

// CPI stack: cycles/instruction = base + Σ penalty_level × misses_level/instruction, fitted by NNLS
// with a non-negative base, so no level can give cycles back. Rows with zero instructions are left
// out of the fit.
struct CpiStack {
  double base_cpi = 0;
  std::vector<std::string> levels;     // the miss columns
  std::vector<double> penalty_cycles;  // cycles per miss, ≥ 0
  std::vector<double> penalty_se;      // NaN at the bound
  ErrorMetrics cpi_error;              // of the fitted CPI on the fitted rows
  // Per row: base_cpi × instructions, penalty × misses per level, and what is left of the cycles.
  std::vector<double> base_cycles;
  std::vector<std::vector<double>> stall_cycles;  // [level][row]
  std::vector<double> unexplained_cycles;         // cycles - base - Σ stalls (may be negative)
};

// The cache-stall estimate per workload: over the rows of each group (in order of first
// appearance), the base, each level's stall and the unexplained cycles as shares of the group's
// cycles (Σ component / Σ cycles, so long intervals weigh more).
struct GroupStallShares {
  std::string group;
  size_t rows = 0;
  double base_share = 0;
  std::vector<double> level_share;  // per level of the stack
  double unexplained_share = 0;
};
std::vector<GroupStallShares> stall_shares_by_group(const CpiStack& stack,
                                                    const std::vector<double>& cycles,
                                                    const std::vector<std::string>& group_of_row);

CpiStack fit_cpi_stack(const Dataset& data, const std::string& cycles_column,
                       const std::string& instructions_column,
                       const std::vector<std::string>& miss_columns);

}  // namespace pmc
