#include "models/fit/cross_validation.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <stdexcept>
#include <unordered_map>

namespace pmc {
namespace {

// splitmix64 (Steele, Lea, Flood 2014): the same shuffle for a seed on every platform, which
// std::shuffle with std::uniform_int_distribution does not promise.
uint64_t splitmix64(uint64_t& state) {
  uint64_t z = (state += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

std::vector<uint32_t> all_but(uint32_t blocks, uint32_t skip) {
  std::vector<uint32_t> out;
  for (uint32_t b = 0; b < blocks; ++b)
    if (b != skip) out.push_back(b);
  return out;
}

std::vector<size_t> rows_in(const CvPlan& plan, const std::vector<uint32_t>& blocks) {
  std::vector<char> wanted(plan.blocks(), 0);
  for (auto b : blocks) wanted.at(b) = 1;
  std::vector<size_t> out;
  for (size_t r = 0; r < plan.rows(); ++r)
    if (wanted[plan.block_of_row[r]]) out.push_back(r);
  return out;
}

// Consecutive blocks of near-equal size.
std::vector<uint32_t> contiguous_blocks(size_t rows, size_t blocks) {
  std::vector<uint32_t> out(rows);
  for (size_t r = 0; r < rows; ++r) out[r] = uint32_t(r * blocks / rows);
  return out;
}

}  // namespace

const char* to_string(CvMethod method) {
  switch (method) {
    case CvMethod::kfold: return "kfold";
    case CvMethod::time_ordered: return "time_ordered";
    case CvMethod::grouped: return "grouped";
    case CvMethod::holdout: return "holdout";
  }
  return "kfold";
}

std::vector<size_t> CvPlan::test_rows(size_t split) const { return rows_in(*this, {splits.at(split).test_block}); }
std::vector<size_t> CvPlan::train_rows(size_t split) const { return rows_in(*this, splits.at(split).train_blocks); }

CvPlan kfold_plan(size_t rows, size_t folds, uint64_t seed) {
  if (folds < 2 || rows < folds)
    throw std::invalid_argument(fmt::format("k-fold CV needs 2 ≤ k ≤ rows (k = {}, rows = {})", folds, rows));
  std::vector<size_t> perm(rows);
  std::iota(perm.begin(), perm.end(), 0);
  uint64_t state = seed;
  for (size_t i = rows; i > 1; --i) std::swap(perm[i - 1], perm[splitmix64(state) % i]);
  CvPlan plan;
  plan.method = CvMethod::kfold;
  plan.block_of_row.resize(rows);
  for (size_t i = 0; i < rows; ++i) plan.block_of_row[perm[i]] = uint32_t(i * folds / rows);
  for (uint32_t f = 0; f < folds; ++f) {
    plan.block_names.push_back(fmt::format("fold {}", f + 1));
    plan.splits.push_back({f, all_but(uint32_t(folds), f)});
  }
  return plan;
}

CvPlan time_ordered_plan(size_t rows, size_t blocks) {
  if (blocks < 2 || rows < blocks)
    throw std::invalid_argument(fmt::format("time-ordered CV needs 2 ≤ blocks ≤ rows (blocks = {}, rows = {})",
                                            blocks, rows));
  CvPlan plan;
  plan.method = CvMethod::time_ordered;
  plan.block_of_row = contiguous_blocks(rows, blocks);
  for (uint32_t b = 0; b < blocks; ++b) plan.block_names.push_back(fmt::format("block {}", b + 1));
  for (uint32_t f = 1; f < blocks; ++f) {
    CvSplit s{f, {}};
    for (uint32_t b = 0; b < f; ++b) s.train_blocks.push_back(b);
    plan.splits.push_back(std::move(s));
  }
  return plan;
}

CvPlan grouped_plan(const std::vector<std::string>& group_of_row) {
  CvPlan plan;
  plan.method = CvMethod::grouped;
  std::unordered_map<std::string, uint32_t> index;
  for (const auto& g : group_of_row) {
    auto [it, inserted] = index.emplace(g, uint32_t(plan.block_names.size()));
    if (inserted) plan.block_names.push_back(g);
    plan.block_of_row.push_back(it->second);
  }
  if (plan.blocks() < 2)
    throw std::invalid_argument(fmt::format("grouped CV needs at least two groups, found {}", plan.blocks()));
  for (uint32_t g = 0; g < plan.blocks(); ++g) plan.splits.push_back({g, all_but(uint32_t(plan.blocks()), g)});
  return plan;
}

CvPlan holdout_plan(size_t rows, double test_fraction) {
  size_t test = size_t(std::llround(double(rows) * test_fraction));
  if (!(test_fraction > 0 && test_fraction < 1) || test == 0 || test >= rows)
    throw std::invalid_argument(fmt::format("hold-out needs rows on both sides (rows = {}, fraction = {})", rows,
                                            test_fraction));
  CvPlan plan;
  plan.method = CvMethod::holdout;
  plan.block_of_row.assign(rows, 0);
  std::fill(plan.block_of_row.end() - ptrdiff_t(test), plan.block_of_row.end(), 1);
  plan.block_names = {"earlier", "later"};
  plan.splits.push_back({1, {0}});
  return plan;
}

ErrorMetrics error_metrics(const std::vector<double>& actual, const std::vector<double>& predicted) {
  if (actual.size() != predicted.size()) throw std::invalid_argument("error_metrics: sizes differ");
  ErrorMetrics m;
  m.n = actual.size();
  if (m.n == 0) return m;
  double mean = std::accumulate(actual.begin(), actual.end(), 0.0) / double(m.n);
  double sse = 0, sst = 0, ape = 0;
  size_t ape_n = 0;
  std::vector<double> abs_err(m.n);
  for (size_t i = 0; i < m.n; ++i) {
    double e = actual[i] - predicted[i];
    abs_err[i] = std::abs(e);
    sse += e * e;
    sst += (actual[i] - mean) * (actual[i] - mean);
    if (actual[i] != 0) {
      ape += std::abs(e / actual[i]);
      ++ape_n;
    }
  }
  m.mape_percent = ape_n ? 100 * ape / double(ape_n) : std::numeric_limits<double>::quiet_NaN();
  m.rmse = std::sqrt(sse / double(m.n));
  m.medae = quantile(std::move(abs_err), 0.5);
  m.r2 = sst > 0 ? 1 - sse / sst : std::numeric_limits<double>::quiet_NaN();
  return m;
}

CvResult cross_validate(const DesignMatrix& x, const std::vector<double>& y, const CvPlan& plan,
                        const FoldPredictor& predictor) {
  if (x.rows != y.size() || plan.rows() != y.size())
    throw std::invalid_argument(fmt::format("cross_validate: {} rows of features, {} targets, plan for {} rows",
                                            x.rows, y.size(), plan.rows()));
  CvResult result;
  result.method = plan.method;
  result.predictions.assign(y.size(), std::numeric_limits<double>::quiet_NaN());
  for (size_t s = 0; s < plan.splits.size(); ++s) {
    auto train = plan.train_rows(s);
    auto test = plan.test_rows(s);
    if (train.empty() || test.empty()) continue;
    std::vector<double> train_y(train.size()), test_y(test.size());
    for (size_t i = 0; i < train.size(); ++i) train_y[i] = y[train[i]];
    for (size_t i = 0; i < test.size(); ++i) test_y[i] = y[test[i]];
    auto predicted = predictor(x.select_rows(train), train_y, x.select_rows(test));
    if (predicted.size() != test.size()) throw std::logic_error("cross_validate: predictor returned a wrong count");
    for (size_t i = 0; i < test.size(); ++i) result.predictions[test[i]] = predicted[i];
    result.folds.push_back({plan.block_names[plan.splits[s].test_block], train.size(), error_metrics(test_y, predicted)});
  }
  std::vector<double> actual, predicted;
  for (size_t r = 0; r < y.size(); ++r) {
    if (std::isnan(result.predictions[r])) continue;
    actual.push_back(y[r]);
    predicted.push_back(result.predictions[r]);
    result.residuals.push_back(y[r] - result.predictions[r]);
  }
  result.pooled = error_metrics(actual, predicted);
  return result;
}

double quantile(std::vector<double> values, double q) {
  if (values.empty()) return std::numeric_limits<double>::quiet_NaN();
  std::sort(values.begin(), values.end());
  double h = std::clamp(q, 0.0, 1.0) * double(values.size() - 1);
  size_t lo = size_t(std::floor(h));
  size_t hi = std::min(lo + 1, values.size() - 1);
  return values[lo] + (h - double(lo)) * (values[hi] - values[lo]);
}

ResidualInterval residual_interval(std::vector<double> residuals, double level) {
  if (!(level > 0 && level < 1)) throw std::invalid_argument("residual_interval: level must be in (0, 1)");
  ResidualInterval iv;
  iv.level = level;
  std::sort(residuals.begin(), residuals.end());
  iv.lower = quantile(residuals, (1 - level) / 2);
  iv.upper = quantile(std::move(residuals), (1 + level) / 2);
  return iv;
}

ResidualInterval relative_residual_interval(const std::vector<double>& actual,
                                            const std::vector<double>& predicted, double level) {
  if (actual.size() != predicted.size())
    throw std::invalid_argument("relative_residual_interval: sizes disagree");
  std::vector<double> relative;
  for (size_t r = 0; r < actual.size(); ++r)
    if (std::isfinite(predicted[r]) && predicted[r] != 0)
      relative.push_back((actual[r] - predicted[r]) / std::abs(predicted[r]));
  if (relative.empty())
    throw std::invalid_argument("relative_residual_interval: no row with a non-zero prediction");
  ResidualInterval iv = residual_interval(std::move(relative), level);
  iv.relative = true;
  return iv;
}

double interval_lower(const ResidualInterval& interval, double prediction) {
  return prediction + (interval.relative ? std::abs(prediction) : 1.0) * interval.lower;
}

double interval_upper(const ResidualInterval& interval, double prediction) {
  return prediction + (interval.relative ? std::abs(prediction) : 1.0) * interval.upper;
}

}  // namespace pmc
