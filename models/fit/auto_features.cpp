#include "models/fit/auto_features.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <stdexcept>

namespace pmc {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

}  // namespace

std::vector<double> default_knot_quantiles() {
  std::vector<double> q;
  for (int i = 1; i < 20; ++i) q.push_back(i / 20.0);
  return q;
}

CandidatePool expand_candidates(const Dataset& data, const std::vector<std::string>& columns,
                                const std::vector<double>& knot_quantiles) {
  CandidatePool pool;
  for (const auto& name : columns) {
    const auto& v = data.column(name);
    if (v.empty() || is_constant(v)) continue;
    auto [lo, hi] = std::minmax_element(v.begin(), v.end());
    pool.raw.push_back(pool.specs.size());
    pool.specs.push_back(raw_feature(name));
    pool.nonnegative.push_back(1);
    if (*lo >= 0) {
      for (auto op : {FeatureOp::sqrt, FeatureOp::log1p}) {
        FeatureSpec s = raw_feature(name);
        s.op = op;
        s.name = to_string(s);
        pool.specs.push_back(s);
        pool.nonnegative.push_back(1);
      }
    }
    std::vector<double> knots;
    for (double q : knot_quantiles) {
      double k = quantile(v, q);
      if (!(k > *lo && k < *hi)) continue;
      if (std::find(knots.begin(), knots.end(), k) != knots.end()) continue;
      knots.push_back(k);
      FeatureSpec s = raw_feature(name);
      s.op = FeatureOp::hinge;
      s.knot = k;
      s.name = to_string(s);
      pool.specs.push_back(s);
      pool.nonnegative.push_back(0);
    }
  }
  // Ratios of every ordered pair of columns ≥ 0 (instructions per cycle, misses per instruction,
  // cycles per unit of CPU time — a clock): intensive quantities that describe how the work is
  // done, not how much. Their sign is free (a higher IPC at the same cycles may cost or save).
  std::vector<std::string> nonneg;
  for (const auto& name : columns) {
    const auto& v = data.column(name);
    if (!v.empty() && !is_constant(v) && *std::min_element(v.begin(), v.end()) >= 0)
      nonneg.push_back(name);
  }
  for (const auto& a : nonneg)
    for (const auto& b : nonneg) {
      if (a == b) continue;
      FeatureSpec s = raw_feature(a);
      s.op = FeatureOp::ratio;
      s.b = b;
      s.name = to_string(s);
      if (is_constant(evaluate_feature(s, data))) continue;
      pool.specs.push_back(s);
      pool.nonnegative.push_back(0);
    }
  return pool;
}

std::vector<double> relative_weights(const std::vector<double>& y) {
  std::vector<double> w;
  if (y.empty() || !std::all_of(y.begin(), y.end(), [](double v) { return v > 0; })) return w;
  for (double v : y) w.push_back(1 / (v * v));
  return w;
}

Fit fit_sign_constrained(const DesignMatrix& x, const std::vector<double>& y,
                         const std::vector<char>& nonnegative, FitWeighting weighting) {
  const size_t n = x.rows, p = x.cols;
  if (y.size() != n || nonnegative.size() != p)
    throw std::invalid_argument("fit_sign_constrained: sizes disagree");
  if (n <= p + 1)
    throw std::runtime_error(
        fmt::format("expected more rows ({}) than features + intercept ({})", n, p + 1));
  std::vector<double> w =
      weighting == FitWeighting::relative ? relative_weights(y) : std::vector<double>{};
  if (w.empty()) w.assign(n, 1.0);
  // Weights normalised to sum n, so that the tolerances below keep their meaning.
  const double wsum = std::accumulate(w.begin(), w.end(), 0.0);
  for (double& v : w) v *= double(n) / wsum;
  // Centre and scale each column (weighted mean and sd), centre y: the intercept drops out.
  std::vector<double> mean(p), sd(p);
  for (size_t c = 0; c < p; ++c) {
    const double* v = x.column(c);
    double m = 0, ss = 0;
    for (size_t r = 0; r < n; ++r) m += w[r] * v[r];
    m /= double(n);
    for (size_t r = 0; r < n; ++r) ss += w[r] * (v[r] - m) * (v[r] - m);
    mean[c] = m;
    sd[c] = ss > 0 ? std::sqrt(ss / double(n)) : 1.0;
  }
  double ymean = 0;
  for (size_t r = 0; r < n; ++r) ymean += w[r] * y[r];
  ymean /= double(n);
  std::vector<double> gram(p * p, 0.0), rhs(p, 0.0);
  for (size_t i = 0; i < p; ++i) {
    const double* a = x.column(i);
    for (size_t r = 0; r < n; ++r) rhs[i] += w[r] * (a[r] - mean[i]) / sd[i] * (y[r] - ymean);
    for (size_t j = 0; j <= i; ++j) {
      const double* b = x.column(j);
      double s = 0;
      for (size_t r = 0; r < n; ++r) s += w[r] * (a[r] - mean[i]) * (b[r] - mean[j]);
      gram[i * p + j] = gram[j * p + i] = s / (sd[i] * sd[j]);
    }
  }
  // Coordinate descent: each step solves exactly for one coefficient given the others (the
  // objective is a convex quadratic), projected onto β ≥ 0 where constrained; a tiny ridge keeps
  // an exactly collinear pair from stalling it.
  std::vector<double> beta(p, 0.0);
  const double ridge = 1e-10 * double(n);
  for (size_t sweep = 0; sweep < 100000; ++sweep) {
    double largest = 0;
    for (size_t i = 0; i < p; ++i) {
      double g = rhs[i];
      for (size_t j = 0; j < p; ++j)
        if (j != i) g -= gram[i * p + j] * beta[j];
      double next = g / (gram[i * p + i] + ridge);
      if (nonnegative[i] && next < 0) next = 0;
      largest = std::max(largest, std::abs(next - beta[i]) * std::sqrt(gram[i * p + i]));
      beta[i] = next;
    }
    if (largest < 1e-11 * std::sqrt(double(n))) break;
  }
  Fit fit;
  fit.solver = "ols";
  fit.names = x.names;
  fit.rows = n;
  fit.coefficients.resize(p);
  fit.standard_errors.assign(p, kNaN);
  fit.intercept = ymean;
  size_t active = 0;
  for (size_t c = 0; c < p; ++c) {
    fit.coefficients[c] = beta[c] / sd[c];
    fit.intercept -= fit.coefficients[c] * mean[c];
    active += beta[c] != 0;
  }
  fit.intercept_se = kNaN;
  fit.effective_parameters = double(active);
  // R² and σ on the target's own scale (unweighted), as for every other solver.
  const double ybar = std::accumulate(y.begin(), y.end(), 0.0) / double(n);
  double sse = 0, sst = 0;
  for (size_t r = 0; r < n; ++r) {
    double e = y[r] - fit.predict_row(x, r);
    sse += e * e;
    sst += (y[r] - ybar) * (y[r] - ybar);
  }
  fit.r2 = sst > 0 ? 1 - sse / sst : kNaN;
  fit.sigma = std::sqrt(sse / std::max(1.0, double(n) - 1 - double(active)));
  return fit;
}

FoldPredictor clipping_predictor(
    std::function<Fit(const DesignMatrix&, const std::vector<double>&)> fit) {
  return [fit](const DesignMatrix& train_x, const std::vector<double>& train_y,
               const DesignMatrix& test_x) {
    Fit f = fit(train_x, train_y);
    DesignMatrix clipped = test_x;
    for (size_t c = 0; c < train_x.cols; ++c) {
      auto [lo, hi] = std::minmax_element(train_x.column(c), train_x.column(c) + train_x.rows);
      double* v = clipped.column(c);
      for (size_t r = 0; r < clipped.rows; ++r) v[r] = std::clamp(v[r], *lo, *hi);
    }
    return f.predict(clipped);
  };
}

CvPlan time_ordered_gap_plan(size_t rows, size_t blocks, size_t gap) {
  CvPlan base = time_ordered_plan(rows, blocks);
  if (gap == 0) return base;
  // Block ids: test block b keeps id 2b, the gap before it (b ≥ 1) gets id 2b − 1.
  CvPlan plan;
  plan.method = CvMethod::time_ordered;
  plan.block_of_row.resize(rows);
  std::vector<size_t> start(blocks, rows);
  for (size_t r = rows; r-- > 0;) start[base.block_of_row[r]] = r;
  for (size_t b = 0; b < blocks; ++b) {
    if (b > 0) plan.block_names.push_back(fmt::format("gap before block {}", b + 1));
    plan.block_names.push_back(fmt::format("block {}", b + 1));
  }
  for (size_t r = 0; r < rows; ++r) {
    uint32_t b = base.block_of_row[r];
    // Rows of block b−1 within `gap` rows of block b's start are the gap before block b.
    bool in_gap = b + 1 < blocks && r + gap >= start[b + 1];
    plan.block_of_row[r] = in_gap ? uint32_t(2 * (b + 1) - 1) : uint32_t(2 * b);
  }
  for (uint32_t f = 1; f < blocks; ++f) {
    CvSplit s{2 * f, {}};
    for (uint32_t b = 0; b < 2 * f - 1; ++b) s.train_blocks.push_back(b);
    plan.splits.push_back(std::move(s));
  }
  return plan;
}

AutoSelection select_auto(const DesignMatrix& pool, const std::vector<char>& nonnegative,
                          const std::vector<size_t>& raw_columns, const std::vector<double>& y,
                          const CvPlan& plan, const SelectionOptions& options) {
  // The selection's fits minimise the error the selection is judged by: relative squared error
  // for MAPE (when every target value is > 0). The baseline stays plain least squares.
  const FitWeighting weighting =
      options.criterion == SelectionCriterion::mape && !relative_weights(y).empty()
          ? FitWeighting::relative
          : FitWeighting::none;
  auto cv_of = [&](const std::vector<size_t>& cols, bool constrained) {
    std::vector<char> mask;
    for (size_t c : cols) mask.push_back(constrained ? nonnegative[c] : 0);
    FitWeighting how = constrained ? weighting : FitWeighting::none;
    auto predictor =
        clipping_predictor([mask, how](const DesignMatrix& x, const std::vector<double>& t) {
          return fit_sign_constrained(x, t, mask, how);
        });
    return cross_validate(pool.select_columns(cols), y, plan, predictor);
  };
  auto criterion = [&](const ErrorMetrics& e) {
    return options.criterion == SelectionCriterion::mape ? e.mape_percent : e.rmse;
  };
  AutoSelection out;
  out.weighting = weighting;
  std::vector<char> used(pool.cols, 0);
  double current = std::numeric_limits<double>::infinity();
  {
    // The intercept alone: the mean of each fold's training rows.
    auto mean_cv = cross_validate(
        pool.select_columns({}), y, plan,
        [](const DesignMatrix&, const std::vector<double>& t, const DesignMatrix& test) {
          double m = std::accumulate(t.begin(), t.end(), 0.0) / double(t.size());
          return std::vector<double>(test.rows, m);
        });
    current = criterion(mean_cv.pooled);
  }
  size_t limit = options.max_features ? options.max_features : pool.cols;
  // Every fold must have more training rows than features + intercept: the pool (19 hinges per
  // column) may hold more candidates than a fold has rows.
  for (const auto& split : plan.splits) {
    size_t rows = 0;
    for (uint32_t b : split.train_blocks)
      rows += size_t(std::count(plan.block_of_row.begin(), plan.block_of_row.end(), b));
    limit = std::min(limit, rows >= 2 ? rows - 2 : size_t(0));
  }
  while (out.selected.size() < limit) {
    SelectionStep step;
    size_t best = pool.cols;
    double best_error = std::numeric_limits<double>::infinity();
    ErrorMetrics best_metrics;
    for (size_t c = 0; c < pool.cols; ++c) {
      if (used[c]) continue;
      if (variance_inflation(pool, out.selected, c) > options.vif_limit) {
        step.rejected_for_vif.push_back(pool.names[c]);
        continue;
      }
      auto trial = out.selected;
      trial.push_back(c);
      auto result = cv_of(trial, true);
      double e = criterion(result.pooled);
      if (e < best_error) best_error = e, best = c, best_metrics = result.pooled;
    }
    if (best == pool.cols || !(best_error < current * (1 - options.tolerance))) break;
    used[best] = 1;
    out.selected.push_back(best);
    current = best_error;
    out.selected_cv = best_metrics;
    step.added = pool.names[best];
    step.cv_error = best_error;
    out.steps.push_back(std::move(step));
  }
  out.baseline_cv = cv_of(raw_columns, false).pooled;
  out.baseline_kept =
      out.selected.empty() || !(criterion(out.selected_cv) < criterion(out.baseline_cv));
  out.final_columns = out.baseline_kept ? raw_columns : out.selected;
  return out;
}

bool looks_like_output(const std::string& column) {
  return column.ends_with("_power") || column.ends_with("_watts") ||
         column.starts_with("predicted_") || column.starts_with("lower_") ||
         column.starts_with("upper_") || column == "timestamp" || column == "time_s" ||
         column == "out_of_range";
}

std::vector<FeatureSpec> default_candidates(const Dataset& data, const std::string& target,
                                            const std::vector<std::string>& exclude,
                                            std::vector<std::string>& notes) {
  std::vector<FeatureSpec> candidates;
  for (const auto& name : data.names()) {
    if (name == target || looks_like_output(name) ||
        std::find(exclude.begin(), exclude.end(), name) != exclude.end())
      continue;
    if (is_constant(data.column(name))) {
      notes.push_back(fmt::format("column '{}' is constant: not a candidate", name));
      continue;
    }
    candidates.push_back(raw_feature(name));
  }
  return candidates;
}

}  // namespace pmc
