#include "models/fit/fit_table.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <memory>
#include <stdexcept>

#include <fmt/format.h>

namespace pmc {

FitOutcome fit_table(const Dataset& data, const std::string& target,
                     const std::vector<FeatureSpec>& features,
                     const std::vector<FeatureSpec>& candidates, const SolverOptions& solver,
                     const CvPlan& plan, const SelectionOptions& selection,
                     const ModelIdentity& identity) {
  FitOutcome out;
  const auto& y = data.column(target);
  std::vector<FeatureSpec> chosen = features;
  if (chosen.empty()) {
    if (candidates.empty())
      throw std::runtime_error(
          fmt::format("{}: no candidate features for '{}'", data.where_header(), target));
    SelectionOptions options = selection;
    options.solver = solver;
    out.selection = forward_select(design_matrix(data, candidates), y, plan, options);
    out.selected = true;
    for (auto c : out.selection.selected) chosen.push_back(candidates[c]);
    if (chosen.empty())
      throw std::runtime_error(
          fmt::format("{}: forward selection found no candidate that lowers the CV error of '{}' "
                      "below the intercept alone",
                      data.where_header(), target));
  }
  DesignMatrix x = design_matrix(data, chosen);
  Fit fit = fit_with(x, y, solver);
  out.cv = cross_validate(x, y, plan, fold_predictor(solver));
  out.model = make_model(data, target, chosen, x, y, fit, out.cv, out.cv.folds.size(), identity);
  out.model.nonnegative_intercept =
      solver.kind == SolverKind::nnls && solver.nnls.nonnegative_intercept;
  return out;
}

StallComparison stall_check(const Model& m, const Dataset& data,
                            const std::vector<std::string>& group_of_row) {
  if (m.target != "cpi" || m.terms.empty() || !data.has_column("cpi")) return {};
  const std::string& ins = m.terms.front().spec.b;
  std::vector<std::string> misses;
  std::vector<double> penalty;
  for (const auto& t : m.terms) {
    if (t.spec.op != FeatureOp::ratio || t.spec.b != ins || !data.has_column(t.spec.a)) return {};
    misses.push_back(t.spec.a);
    // The feature is scale · miss / I, so its cycles are coefficient · scale · miss.
    penalty.push_back(t.coefficient * t.spec.scale);
  }
  if (!data.has_column(ins)) return {};
  const auto& cpi = data.column("cpi");
  const auto& instructions = data.column(ins);
  std::vector<double> cycles(data.rows());
  for (size_t r = 0; r < data.rows(); ++r) cycles[r] = cpi[r] * instructions[r];
  bool rates = ins.size() > 6 && ins.compare(ins.size() - 6, 6, "_per_s") == 0;
  return compare_stall_counters(data, misses, penalty, cycles, group_of_row, rates ? "_per_s" : "");
}

std::string band_label(const ModelBand& b) {
  auto bound = [](double v) { return std::isfinite(v) ? fmt::format("{:g}", v) : std::string(""); };
  if (!std::isfinite(b.lower)) return fmt::format("< {}", bound(b.upper));
  if (!std::isfinite(b.upper)) return fmt::format(">= {}", bound(b.lower));
  return fmt::format("[{}, {})", bound(b.lower), bound(b.upper));
}

namespace {

// `features` → `target` as the auto pool fits: sign-constrained, weighted, CV with clipping; a
// relative interval when the fit was weighted by relative error or `relative_interval` asks.
FitOutcome fit_constrained(const Dataset& data, const std::string& target,
                           const std::vector<FeatureSpec>& features,
                           const std::vector<char>& nonnegative, FitWeighting weighting,
                           bool relative_interval, const CvPlan& plan,
                           const ModelIdentity& identity) {
  const auto& y = data.column(target);
  DesignMatrix x = design_matrix(data, features);
  auto fitter = [nonnegative, weighting](const DesignMatrix& tx, const std::vector<double>& ty) {
    return fit_sign_constrained(tx, ty, nonnegative, weighting);
  };
  FitOutcome out;
  Fit fit = fitter(x, y);
  out.cv = cross_validate(x, y, plan, clipping_predictor(fitter));
  out.model = make_model(data, target, features, x, y, fit, out.cv, out.cv.folds.size(), identity);
  if ((weighting == FitWeighting::relative || relative_interval) && !relative_weights(y).empty())
    out.model.interval = relative_residual_interval(y, out.cv.predictions);
  return out;
}

// One band's sub-model, or its reason for having none. `actual`/`held_out` collect its held-out
// rows for the banded CV.
ModelBand fit_band(const Dataset& data, const std::string& target, const std::vector<size_t>& rows,
                   const std::vector<FeatureSpec>& features, const SolverOptions& solver,
                   const ModelIdentity& identity,
                   const std::function<CvPlan(const Dataset&)>& plan_for, const Model& pooled,
                   const std::optional<ConstrainedFit>& constrained, std::vector<double>& actual,
                   std::vector<double>& held_out) {
  ModelBand band;
  band.rows = rows.size();
  if (band.rows < pooled.band_min_rows) {
    band.reason = fmt::format("{} training rows, fewer than {}: the pooled model predicts it",
                              band.rows, pooled.band_min_rows);
    return band;
  }
  Dataset sub = data.select_rows(rows);
  std::vector<FeatureSpec> kept;
  std::vector<char> nonnegative;
  for (size_t i = 0; i < features.size(); ++i)
    if (!is_constant(evaluate_feature(features[i], sub))) {
      kept.push_back(features[i]);
      if (constrained) nonnegative.push_back(constrained->nonnegative.at(i));
    }
  try {
    CvPlan plan = plan_for(sub);
    if (kept.empty()) throw std::runtime_error("every feature is constant in the band");
    auto fitted = constrained
                      ? fit_constrained(sub, target, kept, nonnegative, constrained->weighting,
                                        constrained->relative_interval, plan, identity)
                      : fit_table(sub, target, kept, {}, solver, plan, {}, identity);
    const auto& y = data.column(target);
    for (size_t i = 0; i < fitted.cv.predictions.size(); ++i)
      if (std::isfinite(fitted.cv.predictions[i])) {
        actual.push_back(y[rows[i]]);
        held_out.push_back(fitted.cv.predictions[i]);
      }
    fitted.model.nonnegative_intercept = pooled.nonnegative_intercept;
    fitted.model.clip_out_of_range = pooled.clip_out_of_range;
    band.model = std::make_shared<Model>(std::move(fitted.model));
  } catch (const std::exception& e) {
    band.reason = fmt::format("not fitted ({}): the pooled model predicts it", e.what());
  }
  return band;
}

}  // namespace

void fit_bands(const Dataset& data, const std::string& target, const std::string& band_by,
               std::vector<double> edges, size_t min_rows, const SolverOptions& solver,
               const ModelIdentity& identity,
               const std::function<CvPlan(const Dataset& band_rows)>& plan_for, Model& pooled,
               const std::optional<ConstrainedFit>& constrained) {
  const auto& values = data.column(band_by);
  pooled.band_column = band_by;
  pooled.band_edges = edges.empty() ? default_band_edges(values) : std::move(edges);
  if (!std::is_sorted(pooled.band_edges.begin(), pooled.band_edges.end()) ||
      std::adjacent_find(pooled.band_edges.begin(), pooled.band_edges.end()) !=
          pooled.band_edges.end())
    throw std::invalid_argument("--band-edges: expected increasing values");
  std::vector<FeatureSpec> features;
  for (const auto& t : pooled.terms) features.push_back(t.spec);
  pooled.band_min_rows = min_rows ? min_rows : std::max<size_t>(10, 5 * (features.size() + 1));
  std::vector<std::vector<size_t>> rows(pooled.band_edges.size() + 1);
  for (size_t r = 0; r < data.rows(); ++r)
    rows[band_index(pooled.band_edges, values[r])].push_back(r);

  std::vector<double> actual, held_out;
  pooled.bands.clear();
  for (size_t b = 0; b < rows.size(); ++b) {
    ModelBand band = fit_band(data, target, rows[b], features, solver, identity, plan_for, pooled,
                              constrained, actual, held_out);
    band.lower = b == 0 ? -INFINITY : pooled.band_edges[b - 1];
    band.upper = b == pooled.band_edges.size() ? INFINITY : pooled.band_edges[b];
    pooled.bands.push_back(std::move(band));
  }
  if (!actual.empty()) pooled.band_cv = error_metrics(actual, held_out);
}

namespace {

// The rows of `band` among `rows`.
std::vector<size_t> rows_in_band(const std::vector<size_t>& rows, const std::vector<double>& values,
                                 const std::vector<double>& edges, size_t band) {
  std::vector<size_t> out;
  for (size_t r : rows)
    if (band_index(edges, values[r]) == band) out.push_back(r);
  return out;
}

// One band's held-out predictions for one split: its terms refitted on `train` as `constrained`
// says, `test` clipped to their range. Throws what fit_sign_constrained throws.
std::vector<double> band_fold(const Dataset& data, const std::vector<double>& y,
                              const Model& band_model, const Model& pooled,
                              const ConstrainedFit& constrained, const std::vector<size_t>& train,
                              const std::vector<size_t>& test) {
  std::vector<FeatureSpec> specs;
  std::vector<char> nonnegative;
  for (const auto& t : band_model.terms) {
    specs.push_back(t.spec);
    size_t i = 0;
    while (i < pooled.terms.size() && pooled.terms[i].spec.name != t.spec.name) ++i;
    nonnegative.push_back(i < constrained.nonnegative.size() ? constrained.nonnegative[i] : 0);
  }
  DesignMatrix x = evaluate_features(data, specs);
  std::vector<double> train_y;
  for (size_t r : train) train_y.push_back(y[r]);
  auto predictor = clipping_predictor([&](const DesignMatrix& tx, const std::vector<double>& ty) {
    return fit_sign_constrained(tx, ty, nonnegative, constrained.weighting);
  });
  return predictor(x.select_rows(train), train_y, x.select_rows(test));
}

}  // namespace

ErrorMetrics banded_cv_on_plan(const Dataset& data, const std::string& target, const Model& pooled,
                               const CvPlan& plan, const std::vector<double>& pooled_predictions,
                               const ConstrainedFit& constrained) {
  const auto& y = data.column(target);
  const auto& values = data.column(pooled.band_column);
  std::vector<double> held_out(y.size(), std::numeric_limits<double>::quiet_NaN());
  for (const auto& split : plan.splits) {
    std::vector<size_t> train, test;
    for (size_t r = 0; r < y.size(); ++r) {
      uint32_t b = plan.block_of_row[r];
      if (b == split.test_block) test.push_back(r);
      if (std::find(split.train_blocks.begin(), split.train_blocks.end(), b) !=
          split.train_blocks.end())
        train.push_back(r);
    }
    for (size_t r : test) held_out[r] = pooled_predictions.at(r);
    for (size_t band = 0; band < pooled.bands.size(); ++band) {
      const auto& model = pooled.bands[band].model;
      if (!model) continue;
      auto band_train = rows_in_band(train, values, pooled.band_edges, band);
      auto band_test = rows_in_band(test, values, pooled.band_edges, band);
      if (band_test.empty() || band_train.size() < pooled.band_min_rows) continue;
      try {
        auto p = band_fold(data, y, *model, pooled, constrained, band_train, band_test);
        for (size_t i = 0; i < band_test.size(); ++i) held_out[band_test[i]] = p[i];
      } catch (const std::runtime_error&) {
        // A fit refused in this split (too few rows for its terms): the pooled prediction stays.
      }
    }
  }
  std::vector<double> actual, predicted;
  for (size_t r = 0; r < y.size(); ++r)
    if (std::isfinite(held_out[r])) actual.push_back(y[r]), predicted.push_back(held_out[r]);
  return error_metrics(actual, predicted);
}

nlohmann::json machine_from_comments(const std::vector<std::string>& comments,
                                     const std::string& dataset) {
  nlohmann::json machine = nlohmann::json::object();
  for (const auto& c : comments) {
    auto eq = c.find('=');
    if (c.rfind("event.", 0) == 0 && eq != std::string::npos) {
      machine["events"][c.substr(6, eq - 6)] = c.substr(eq + 1);
      continue;
    }
    if (c.rfind("machine.", 0) != 0) continue;
    if (eq == std::string::npos) continue;
    machine[c.substr(8, eq - 8)] = c.substr(eq + 1);
  }
  machine["dataset"] = dataset;
  return machine;
}

}  // namespace pmc
