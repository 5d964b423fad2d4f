#include "models/fit/fit_dataset.h"

#include <algorithm>
#include <cctype>
#include <set>
#include <stdexcept>

#include <fmt/format.h>

namespace pmc {
namespace {

// The pooled model's per-band sub-models by `band_by` (fit_bands), fitted as `constrained` says
// when the auto pool's selection is the model; a band's rows are grouped only when they hold two
// groups.
void fit_request_bands(const Dataset& data, const FitRequest& request, const std::string& band_by,
                       const ModelIdentity& identity, Model& pooled,
                       const std::optional<ConstrainedFit>& constrained) {
  CvRequest band_request = request.cv;
  band_request.few_groups_ignored = true;
  band_request.min_train_rows = pooled.terms.size() + 2;
  auto plan_for_band = [&](const Dataset& sub) {
    std::string how;
    return choose_cv_plan(sub, band_request, how);
  };
  fit_bands(data, request.target, band_by, request.band_edges, request.band_min_rows,
            request.solver, identity, plan_for_band, pooled, constrained);
}

// The selected columns less the constrained terms that the ≥ 0 bound holds at 0 (they add
// nothing), refitted until no more is dropped; `dropped` gets their names.
std::vector<size_t> drop_terms_held_at_zero(std::vector<size_t> cols, const CandidatePool& pool,
                                            const DesignMatrix& px, const std::vector<double>& y,
                                            FitWeighting weighting,
                                            std::vector<std::string>& dropped) {
  for (bool changed = true; changed;) {
    std::vector<char> mask;
    for (size_t c : cols) mask.push_back(pool.nonnegative[c]);
    Fit f = fit_sign_constrained(px.select_columns(cols), y, mask, weighting);
    std::vector<size_t> kept;
    for (size_t i = 0; i < cols.size(); ++i)
      if (!(mask[i] && f.coefficients[i] == 0)) kept.push_back(cols[i]);
    changed = kept.size() != cols.size() && !kept.empty();
    if (changed) {
      for (size_t c : cols)
        if (std::find(kept.begin(), kept.end(), c) == kept.end())
          dropped.push_back(pool.specs[c].name);
      cols = kept;
    }
  }
  return cols;
}

// --features auto with the default pool (auto_features.h). The final fit is the unconstrained
// least-squares fit, with its standard errors, unless a bound is still active.
FitOutcome fit_auto(const Dataset& data, const FitRequest& request,
                    const std::vector<FeatureSpec>& raw_candidates, const CvPlan& plan,
                    const ModelIdentity& identity, AutoFeaturesReport& report) {
  if (raw_candidates.empty())
    throw std::runtime_error(
        fmt::format("{}: no candidate features for '{}'", data.where_header(), request.target));
  std::vector<std::string> columns;
  for (const auto& c : raw_candidates) columns.push_back(c.a);
  CandidatePool pool = expand_candidates(data, columns);
  // The pool may hold more candidates than there are rows (19 hinges per column): it is never
  // fitted whole. The baseline on the raw columns must have fewer columns than rows; the
  // selection stops before a fold would have too few (select_auto).
  std::vector<FeatureSpec> raw_specs;
  for (size_t c : pool.raw) raw_specs.push_back(pool.specs[c]);
  (void)design_matrix(data, raw_specs);
  DesignMatrix px = evaluate_features(data, pool.specs);
  const auto& y = data.column(request.target);
  report.candidates = pool.specs.size();
  report.columns = columns.size();
  report.raw_columns = pool.raw.size();
  report.options.vif_limit = request.vif_limit;
  report.options.criterion = SelectionCriterion::mape;
  report.selection = select_auto(px, pool.nonnegative, pool.raw, y, plan, report.options);
  const AutoSelection& sel = report.selection;

  const FitWeighting how = sel.baseline_kept ? FitWeighting::none : sel.weighting;
  std::vector<size_t> cols =
      sel.baseline_kept
          ? sel.final_columns
          : drop_terms_held_at_zero(sel.final_columns, pool, px, y, how, report.dropped_at_bound);
  std::vector<char> mask;
  for (size_t c : cols) mask.push_back(sel.baseline_kept ? 0 : pool.nonnegative[c]);
  std::vector<FeatureSpec> chosen;
  for (size_t c : cols) chosen.push_back(pool.specs[c]);
  DesignMatrix x = px.select_columns(cols);
  Fit constrained = fit_sign_constrained(x, y, mask, how);
  bool bound_active = false;
  for (size_t i = 0; i < cols.size(); ++i)
    bound_active |= mask[i] && constrained.coefficients[i] == 0;
  // Plain least squares (with standard errors) where it is the same fit: no weights, no bound.
  Fit fit = bound_active || how != FitWeighting::none ? constrained : fit_ols(x, y);
  FitOutcome out;
  out.cv = cross_validate(
      x, y, plan,
      clipping_predictor([mask, how](const DesignMatrix& tx, const std::vector<double>& ty) {
        return fit_sign_constrained(tx, ty, mask, how);
      }));
  out.model =
      make_model(data, request.target, chosen, x, y, fit, out.cv, out.cv.folds.size(), identity);
  out.model.clip_out_of_range = true;
  // A selection judged by relative error (every target value > 0) treats errors as growing with
  // the prediction, so the interval is relative too (a fixed width in watts would be too wide at
  // idle and too narrow at full load) — also when the plain baseline, fitted unweighted, is kept:
  // its errors scale with the power as the selection's do.
  if (sel.weighting == FitWeighting::relative)
    out.model.interval = relative_residual_interval(y, out.cv.predictions);
  // Its bands are fitted as it was: the selection's weights and bounds, or the kept baseline's
  // unweighted, unbounded fit with the same relative interval.
  out.constrained = ConstrainedFit{how, mask, sel.weighting == FitWeighting::relative};
  out.selected = true;
  return out;
}

bool names_frequency(const std::string& column) {
  std::string lower = column;
  for (char& c : lower) c = char(std::tolower(static_cast<unsigned char>(c)));
  return lower.find("freq") != std::string::npos;
}

// The first non-constant column other than the target whose name holds "freq": its bands are
// tried, and kept in `model` when, cross-validated on the pooled model's own plan
// (banded_cv_on_plan), their MAPE is below the pooled model's on the same rows.
std::optional<FrequencyBandTrial> try_frequency_bands(const Dataset& data,
                                                      const FitRequest& request,
                                                      const ModelIdentity& identity,
                                                      const CvPlan& plan, const CvResult& pooled_cv,
                                                      Model& model,
                                                      const ConstrainedFit& constrained) {
  for (const auto& name : data.names()) {
    if (name == request.target || !names_frequency(name)) continue;
    if (is_constant(data.column(name))) continue;
    FrequencyBandTrial trial;
    trial.column = name;
    Model banded = model;
    ErrorMetrics banded_cv;
    try {
      fit_request_bands(data, request, name, identity, banded, constrained);
      banded_cv =
          banded_cv_on_plan(data, request.target, banded, plan, pooled_cv.predictions, constrained);
    } catch (const std::exception& e) {
      trial.not_tried_reason = e.what();
      return trial;
    }
    trial.tried = true;
    trial.banded_mape_percent = banded_cv.mape_percent;
    trial.pooled_mape_percent = pooled_cv.pooled.mape_percent;
    trial.kept = banded.band_cv.n > 0 && trial.banded_mape_percent < trial.pooled_mape_percent;
    if (trial.kept) model = std::move(banded);
    return trial;
  }
  return std::nullopt;
}

}  // namespace

bool auto_pool(const FitRequest& request) {
  return request.features.empty() && request.candidates.empty() &&
         request.solver.kind == SolverKind::ols;
}

void check_fit_request(const FitRequest& request) {
  for (const auto* list : {&request.features, &request.candidates}) {
    const char* option = list == &request.features ? "--features" : "--candidates";
    std::set<std::string> names;
    for (const auto& f : *list) {
      if (!names.insert(f.name).second)
        throw std::invalid_argument(fmt::format(
            "{}: '{}' is named twice: each feature needs its own name (NAME=… names one)", option,
            f.name));
      for (const auto& c : input_columns(f))
        if (c == request.target)
          throw std::invalid_argument(fmt::format(
              "{} {}: the column '{}' is the target: a model cannot take its target as an input",
              option, f.name, c));
    }
  }
}

CsvOptions fit_csv_options(const FitRequest& request, const CsvPreview& preview) {
  check_fit_request(request);
  const std::string& group_by = request.cv.group_by;
  CsvOptions csv;
  std::set<std::string> needed = {request.target};
  for (const auto& list : {request.features, request.candidates})
    for (const auto& f : list)
      for (const auto& c : input_columns(f)) needed.insert(c);
  csv.required_columns.assign(needed.begin(), needed.end());
  if (!request.band_by.empty()) {
    if (request.band_by == request.target)
      throw std::invalid_argument("--band-by " + request.band_by + ": the column is the target");
    if (request.band_by == group_by)
      throw std::invalid_argument("--band-by and --group-by name the same column");
    needed.insert(request.band_by);
    csv.required_columns.push_back(request.band_by);
  }
  if (!group_by.empty()) {
    csv.required_columns.push_back(group_by);
    if (needed.count(group_by))
      throw std::invalid_argument("--group-by " + group_by +
                                  ": the column is also a feature or the target");
  }
  bool every_column_a_candidate = request.features.empty() && request.candidates.empty();
  for (size_t i = 0; i < preview.names.size(); ++i) {
    const auto& name = preview.names[i];
    if (needed.count(name)) continue;
    // A numeric timestamp stays a number: the rows are sorted by it for time-ordered CV.
    if (name == "timestamp" && preview.numeric_in_first_row[i]) continue;
    // Stall counters stay numbers too: a CPI-stack model is compared with them.
    if (is_stall_counter_column(name) && preview.numeric_in_first_row[i]) continue;
    bool excluded =
        std::find(request.exclude.begin(), request.exclude.end(), name) != request.exclude.end();
    bool text = name == group_by || excluded || !preview.numeric_in_first_row[i] ||
                !every_column_a_candidate;
    if (text) csv.string_columns.push_back(name);
  }
  return csv;
}

FitResult fit_dataset(Dataset data, const FitRequest& request, const ModelIdentity& identity) {
  check_fit_request(request);
  // The features' refusals (a constant column, fewer rows than features) come before the CV's.
  if (!request.features.empty()) (void)design_matrix(data, request.features);
  const std::string& group_by = request.cv.group_by;
  if (data.has_column("timestamp") && group_by.empty()) data = data.sorted_by("timestamp");
  if (request.cv.method == CvChoice::grouped && group_by.empty())
    throw std::invalid_argument("--cv grouped needs --group-by COLUMN");
  bool pool = auto_pool(request);
  FitResult result;
  std::vector<FeatureSpec> candidates = request.candidates;
  if (request.features.empty() && candidates.empty())
    candidates = default_candidates(data, request.target, request.exclude, result.notes);
  if (group_by.empty() && request.cv.method == CvChoice::automatic && data.has_labels("timestamp"))
    result.notes.push_back(
        "column 'timestamp' is text, not seconds: the rows are not sorted by it and the automatic "
        "plan is shuffled k-fold (Unix seconds would make it time-ordered)");
  FitRequest asked = request;
  asked.cv.gap_by_default = pool;
  // Every training set must have more rows than the fit has coefficients: the given features, the
  // auto pool's baseline on every candidate column, or forward selection's first feature.
  size_t fitted_features = !request.features.empty() ? request.features.size()
                           : pool                    ? std::max<size_t>(candidates.size(), 1)
                                                     : 1;
  asked.cv.min_train_rows = fitted_features + 2;
  CvPlan plan = choose_cv_plan(data, asked.cv, result.cv_plan);
  result.selection_options.vif_limit = request.vif_limit;
  FitOutcome outcome;
  if (pool) {
    result.auto_features.emplace();
    outcome = fit_auto(data, asked, candidates, plan, identity, *result.auto_features);
  } else {
    outcome = fit_table(data, request.target, request.features, candidates, request.solver, plan,
                        result.selection_options, identity);
    if (outcome.selected) result.selection = outcome.selection;
  }
  std::vector<std::string> no_groups;
  outcome.model.stall_check =
      stall_check(outcome.model, data, group_by.empty() ? no_groups : data.labels(group_by));

  if (!request.band_by.empty()) {
    fit_request_bands(data, asked, request.band_by, identity, outcome.model, outcome.constrained);
    result.banded = true;
  }
  if (pool && request.band_by.empty() && outcome.constrained) {
    result.frequency_bands = try_frequency_bands(data, asked, identity, plan, outcome.cv,
                                                 outcome.model, *outcome.constrained);
    result.banded = result.frequency_bands && result.frequency_bands->kept;
  }
  result.model = std::move(outcome.model);
  result.cv = std::move(outcome.cv);
  return result;
}

}  // namespace pmc
