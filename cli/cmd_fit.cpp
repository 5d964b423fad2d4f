// pmcmodel fit: fit one column of any CSV table on features of its other columns, with a
// cross-validated error report, into a model file.
#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <memory>
#include <set>

#include <fmt/format.h>

#include "cli/commands.h"
#include "cli/model_report.h"
#include "cli/output.h"
#include "models/fit/auto_features.h"
#include "models/fit/cv_choice.h"
#include "models/fit/dataset.h"
#include "models/fit/fit_table.h"

namespace pmc::cli {
namespace {

struct FitOptions {
  std::string data;
  std::string target;
  std::string features = "auto";
  std::string candidates;
  std::vector<std::string> exclude;
  std::string model = "linear";
  std::string group_by;
  std::string cv = "auto";
  size_t folds = 0;
  double lambda = -1;
  double alpha = 0.5;
  double vif_limit = 10;
  bool nonnegative_intercept = false;
  std::string band_by;
  std::vector<double> band_edges;
  size_t band_min_rows = 0;
  long cv_gap = -1;  // rows left out before each time-ordered test block; < 0: automatic
  std::string out;
};

SolverOptions solver_of(const FitOptions& o) {
  SolverOptions s;
  if (o.model == "linear") s.kind = SolverKind::ols;
  if (o.model == "ridge") s.kind = SolverKind::ridge;
  if (o.model == "nnls") s.kind = SolverKind::nnls;
  if (o.model == "elastic") s.kind = SolverKind::elastic_net;
  s.lambda = o.lambda;
  s.alpha = o.alpha;
  s.nnls.nonnegative_intercept = o.nonnegative_intercept;
  return s;
}

// The CV plan --cv, --group-by, --folds and --cv-gap ask for (choose_cv_plan); rows are sorted by
// `timestamp` when the table has one, for time-ordered CV.
CvRequest cv_request(const FitOptions& o) {
  if (o.cv == "grouped" && o.group_by.empty())
    throw CommandError("--cv grouped needs --group-by COLUMN");
  CvRequest request;
  if (o.cv == "kfold") request.method = CvChoice::kfold;
  if (o.cv == "time-ordered") request.method = CvChoice::time_ordered;
  if (o.cv == "grouped") request.method = CvChoice::grouped;
  request.group_by = o.group_by;
  request.folds = o.folds;
  request.gap = o.cv_gap;
  // --features auto (default pool) leaves a gap before each time-ordered test block.
  request.gap_by_default = o.features == "auto" && o.candidates.empty() && o.model == "linear";
  return request;
}

// fit_bands (models/fit/fit_table.h) with --band-by's options, and its report: per band its
// rows and sub-model, or why the pooled model predicts it.
void fit_bands(const FitOptions& o, const Dataset& data, const SolverOptions& solver,
               const ModelIdentity& identity, Model& pooled, std::string& report) {
  // A band's rows are grouped only when they hold two groups.
  CvRequest band_request = cv_request(o);
  band_request.few_groups_ignored = true;
  auto plan_for_band = [&](const Dataset& sub) {
    std::string how;
    return choose_cv_plan(sub, band_request, how);
  };
  try {
    pmc::fit_bands(data, o.target, o.band_by, o.band_edges, o.band_min_rows, solver, identity,
                   plan_for_band, pooled);
  } catch (const std::invalid_argument& e) {
    throw CommandError(e.what());
  }
  report +=
      fmt::format("bands by {} (edges {}; a band needs {} rows):\n", o.band_by,
                  pooled.band_edges.empty() ? std::string("none")
                                            : fmt::format("{}", fmt::join(pooled.band_edges, ", ")),
                  pooled.band_min_rows);
  for (const auto& band : pooled.bands) {
    std::string label = band_label(band);
    if (band.model) {
      report += fmt::format("  band {:<20} {:>6} rows  intercept {:<12.6g}", label, band.rows,
                            band.model->intercept);
      for (const auto& t : band.model->terms)
        report += fmt::format(" {} {:.6g}", t.spec.name, t.coefficient);
      report += fmt::format("\n    held-out {}\n", format_errors(band.model->cv.errors));
    } else {
      report += fmt::format("  band {:<20} {:>6} rows  {}\n", label, band.rows, band.reason);
    }
  }
  if (pooled.band_cv.n > 0)
    report += fmt::format(
        "banded, held-out over the fitted bands: {}\npooled, held-out:          "
        "              {}\n",
        format_errors(pooled.band_cv), format_errors(pooled.cv.errors));
}

// --features auto with the default pool: √, log1p and hinge candidates of every input column,
// activity terms ≥ 0, clipped folds, and the plain linear baseline kept when the selection is not
// better on the same plan (auto_features.h).
FitOutcome fit_auto(const Dataset& data, const std::string& target,
                    const std::vector<FeatureSpec>& raw_candidates, const CvPlan& plan,
                    SelectionOptions selection, const ModelIdentity& identity,
                    std::string& report) {
  if (raw_candidates.empty())
    throw std::runtime_error(
        fmt::format("{}: no candidate features for '{}'", data.where_header(), target));
  std::vector<std::string> columns;
  for (const auto& c : raw_candidates) columns.push_back(c.a);
  CandidatePool pool = expand_candidates(data, columns);
  DesignMatrix px = design_matrix(data, pool.specs);
  const auto& y = data.column(target);
  selection.criterion = SelectionCriterion::mape;
  AutoSelection sel = select_auto(px, pool.nonnegative, pool.raw, y, plan, selection);

  report += fmt::format(
      "auto features: {} candidates from {} columns (each column, sqrt and log1p of columns ≥ 0, "
      "hinges at its 25/50/75% quantiles); activity terms kept ≥ 0; held-out features clipped "
      "to each fold's training range; forward selection by CV MAPE (VIF ≤ {:g}, stop below {:g}% "
      "improvement)\n",
      pool.specs.size(), columns.size(), selection.vif_limit, selection.tolerance * 100);
  for (const auto& step : sel.steps) {
    report += fmt::format("  + {:<40} CV MAPE {:.3f}%", step.added, step.cv_error);
    if (!step.rejected_for_vif.empty())
      report += fmt::format("   ({} rejected for VIF)", step.rejected_for_vif.size());
    report += "\n";
  }
  report += fmt::format(
      "selected features: CV MAPE {:.2f}% (RMSE {:.4g}); plain linear baseline (OLS on the {} raw "
      "columns, same plan, clipped): CV MAPE {:.2f}% (RMSE {:.4g}) -> {}\n",
      sel.selected_cv.mape_percent, sel.selected_cv.rmse, pool.raw.size(),
      sel.baseline_cv.mape_percent, sel.baseline_cv.rmse,
      sel.baseline_kept ? "the baseline is kept (the selection is not better)"
                        : "the selection is kept");

  // The final fit: a constrained term that the bound holds at 0 adds nothing and is dropped; the
  // rest is then the unconstrained least-squares fit (no bound is active), with its standard
  // errors.
  std::vector<size_t> cols = sel.final_columns;
  std::vector<char> mask;
  for (bool changed = true; changed && !sel.baseline_kept;) {
    mask.clear();
    for (size_t c : cols) mask.push_back(pool.nonnegative[c]);
    Fit f = fit_sign_constrained(px.select_columns(cols), y, mask);
    std::vector<size_t> kept;
    for (size_t i = 0; i < cols.size(); ++i)
      if (!(mask[i] && f.coefficients[i] == 0)) kept.push_back(cols[i]);
    changed = kept.size() != cols.size() && !kept.empty();
    if (changed) {
      for (size_t i = 0; i < cols.size(); ++i)
        if (std::find(kept.begin(), kept.end(), cols[i]) == kept.end())
          report += fmt::format("note: {} dropped: its coefficient is held at 0 by the ≥ 0 bound\n",
                                pool.specs[cols[i]].name);
      cols = kept;
    }
  }
  mask.clear();
  for (size_t c : cols) mask.push_back(sel.baseline_kept ? 0 : pool.nonnegative[c]);
  std::vector<FeatureSpec> chosen;
  for (size_t c : cols) chosen.push_back(pool.specs[c]);
  DesignMatrix x = px.select_columns(cols);
  Fit constrained = fit_sign_constrained(x, y, mask);
  bool bound_active = false;
  for (size_t i = 0; i < cols.size(); ++i)
    bound_active |= mask[i] && constrained.coefficients[i] == 0;
  Fit fit = bound_active ? constrained : fit_ols(x, y);
  FitOutcome out;
  out.cv = cross_validate(
      x, y, plan, clipping_predictor([mask](const DesignMatrix& tx, const std::vector<double>& ty) {
        return fit_sign_constrained(tx, ty, mask);
      }));
  out.model = make_model(target, chosen, x, y, fit, out.cv, out.cv.folds.size(), identity);
  out.model.clip_out_of_range = true;
  out.selected = true;
  return out;
}

// How the CSV is read: which columns must be numbers (the target, the features' inputs,
// --band-by) and which are text (labels, --group-by, anything not numeric in the first row).
CsvOptions csv_options(const FitOptions& o, const CsvPreview& preview, bool auto_features,
                       const std::vector<FeatureSpec>& features,
                       const std::vector<FeatureSpec>& candidates) {
  CsvOptions csv;
  std::set<std::string> needed = {o.target};
  for (const auto& list : {features, candidates})
    for (const auto& f : list)
      for (const auto& c : input_columns(f)) needed.insert(c);
  csv.required_columns.assign(needed.begin(), needed.end());
  if (!o.band_by.empty()) {
    if (o.band_by == o.target)
      throw CommandError("--band-by " + o.band_by + ": the column is the target");
    if (o.band_by == o.group_by)
      throw CommandError("--band-by and --group-by name the same column");
    needed.insert(o.band_by);
    csv.required_columns.push_back(o.band_by);
  }
  if (!o.group_by.empty()) {
    csv.required_columns.push_back(o.group_by);
    if (needed.count(o.group_by))
      throw CommandError("--group-by " + o.group_by +
                         ": the column is also a feature or the target");
  }
  for (size_t i = 0; i < preview.names.size(); ++i) {
    const auto& name = preview.names[i];
    if (needed.count(name)) continue;
    // A numeric timestamp stays a number: the rows are sorted by it for time-ordered CV.
    if (name == "timestamp" && preview.numeric_in_first_row[i]) continue;
    // Stall counters stay numbers too: a CPI-stack model is compared with them.
    if (is_stall_counter_column(name) && preview.numeric_in_first_row[i]) continue;
    bool text = name == o.group_by || !preview.numeric_in_first_row[i] ||
                (!auto_features || !o.candidates.empty());
    if (text) csv.string_columns.push_back(name);
  }
  return csv;
}

// --features auto with a frequency column: one model per frequency band (as SmartWatts fits),
// kept when its held-out error beats the pooled model's.
void try_frequency_bands(const FitOptions& o, const Dataset& data, const ModelIdentity& identity,
                         Model& model, std::string& band_report) {
  for (const auto& name : data.names()) {
    std::string lower = name;
    for (char& c : lower) c = char(std::tolower(static_cast<unsigned char>(c)));
    if (name == o.target || lower.find("freq") == std::string::npos) continue;
    if (is_constant(data.column(name))) continue;
    FitOptions banded = o;
    banded.band_by = name;
    Model trial = model;
    std::string trial_report;
    try {
      fit_bands(banded, data, solver_of(banded), identity, trial, trial_report);
    } catch (const std::exception& e) {
      band_report += fmt::format("note: bands by {} not tried: {}\n", name, e.what());
      return;
    }
    bool better = trial.band_cv.n > 0 && trial.band_cv.mape_percent < model.cv.errors.mape_percent;
    band_report +=
        fmt::format("bands by {}: held-out MAPE {:.2f}% against the pooled model's {:.2f}%: {}\n",
                    name, trial.band_cv.mape_percent, model.cv.errors.mape_percent,
                    better ? "kept" : "not kept (no better)");
    if (better) {
      band_report += trial_report;
      model = std::move(trial);
    }
    return;
  }
}

int run_fit(const FitOptions& o) {
  if (o.band_by.empty() && (!o.band_edges.empty() || o.band_min_rows))
    throw CommandError("--band-edges and --band-min-rows need --band-by COLUMN");
  check_output_path(o.out);
  auto preview = Dataset::preview_csv(o.data);
  bool auto_features = o.features == "auto";
  std::vector<FeatureSpec> features, candidates;
  if (!auto_features) features = parse_feature_list(o.features);
  if (auto_features && !o.candidates.empty()) candidates = parse_feature_list(o.candidates);
  Dataset data =
      Dataset::load_csv(o.data, csv_options(o, preview, auto_features, features, candidates));
  // The features' refusals (a constant column, fewer rows than features) come before the CV's.
  if (!features.empty()) (void)design_matrix(data, features);
  std::string how;
  if (data.has_column("timestamp") && o.group_by.empty()) data = data.sorted_by("timestamp");
  CvPlan plan = choose_cv_plan(data, cv_request(o), how);

  std::vector<std::string> notes;
  if (auto_features && candidates.empty())
    candidates = default_candidates(data, o.target, o.exclude, notes);
  SelectionOptions selection;
  selection.vif_limit = o.vif_limit;
  ModelIdentity identity{machine_from_comments(preview.comments, o.data), utc_now_iso8601()};
  bool auto_pool = auto_features && o.candidates.empty() && o.model == "linear";
  std::string auto_report;
  auto outcome = auto_pool
                     ? fit_auto(data, o.target, candidates, plan, selection, identity, auto_report)
                     : fit_table(data, o.target, features, candidates, solver_of(o), plan,
                                 selection, identity);
  std::vector<std::string> no_groups;
  outcome.model.stall_check =
      stall_check(outcome.model, data, o.group_by.empty() ? no_groups : data.labels(o.group_by));

  std::string band_report;
  if (!o.band_by.empty()) fit_bands(o, data, solver_of(o), identity, outcome.model, band_report);
  if (auto_pool && o.band_by.empty())
    try_frequency_bands(o, data, identity, outcome.model, band_report);

  std::string report;
  for (const auto& n : notes) report += "note: " + n + "\n";
  report += fmt::format("cv plan: {}\n", how);
  if (outcome.selected && !auto_pool) report += format_selection(outcome.selection, selection);
  report += auto_report;
  report += format_fit_report(outcome.model, outcome.cv, o.data);
  report += format_stall_comparison(outcome.model.stall_check);
  report += band_report;
  write_file_atomically(o.out, model_to_json(outcome.model));
  report += fmt::format("wrote {}\n", o.out);
  std::fputs(report.c_str(), stdout);
  return 0;
}

}  // namespace

Runner add_fit(CLI::App& app) {
  auto o = std::make_shared<FitOptions>();
  auto* cmd = app.add_subcommand(
      "fit", "Fit a model of one column of a CSV table, with cross-validated error");
  cmd->add_option("--data", o->data, "CSV table with a header (calibrate's dataset or any other)")
      ->required();
  cmd->add_option("--target", o->target, "Column to predict, e.g. package_watts")->required();
  cmd->add_option(
      "--features", o->features,
      "Comma-separated features: columns or transforms (rate(a,b), ratio(a,b), product(a,b), "
      "square(a), hinge(a,knot), log1p(a), name=…, …*scale), or 'auto' (forward selection)");
  cmd->add_option("--candidates", o->candidates,
                  "With --features auto: the pool to select from (default: every numeric column)");
  cmd->add_option("--exclude", o->exclude, "With --features auto: columns that are not candidates")
      ->delimiter(',');
  cmd->add_option("--model", o->model, "linear (OLS by QR), ridge, nnls or elastic")
      ->check(CLI::IsMember({"linear", "ridge", "nnls", "elastic"}));
  cmd->add_option("--group-by", o->group_by,
                  "Text column for leave-one-group-out CV (e.g. workload)");
  cmd->add_option(
         "--cv", o->cv,
         "auto (time-ordered with a timestamp column, else k-fold), kfold, time-ordered, grouped")
      ->check(CLI::IsMember({"auto", "kfold", "time-ordered", "grouped"}));
  cmd->add_option("--folds", o->folds,
                  "Folds (k-fold, default 10) or blocks (time-ordered, default 5)")
      ->check(CLI::Range(2, 1000));
  cmd->add_option("--lambda", o->lambda, "ridge/elastic: penalty (default: chosen by 5-fold CV)")
      ->check(CLI::NonNegativeNumber);
  cmd->add_option("--alpha", o->alpha, "elastic: L1 share, 0 (ridge) … 1 (lasso); default 0.5")
      ->check(CLI::Range(0.0, 1.0));
  cmd->add_option("--vif-limit", o->vif_limit,
                  "With --features auto: largest variance inflation factor (default 10)")
      ->check(CLI::Range(1.0, 1e12));
  cmd->add_flag("--nonnegative-intercept", o->nonnegative_intercept,
                "nnls: constrain the intercept to ≥ 0 too");
  cmd->add_option("--band-by", o->band_by,
                  "Numeric column (e.g. frequency_mhz): one sub-model per band of its values, "
                  "besides the pooled model");
  cmd->add_option("--band-edges", o->band_edges,
                  "With --band-by: increasing edges a,b,… between bands (default: one band per "
                  "distinct value when ≤ 8, else 4 quantile bands)")
      ->delimiter(',');
  cmd->add_option("--band-min-rows", o->band_min_rows,
                  "With --band-by: fewest rows a band is fitted with (default max(10, 5 × "
                  "(features + 1))); smaller bands use the pooled model")
      ->check(CLI::Range(size_t(3), size_t(100000000)));
  cmd->add_option("--cv-gap", o->cv_gap,
                  "Time-ordered CV: rows left out before each test block (default: 1% of the rows "
                  "with --features auto, else 0)")
      ->check(CLI::Range(0L, 100000000L));
  cmd->add_option("--out", o->out, "Model file to write (pmcmodel.model/1)")->required();
  cmd->footer(
      "Examples:\n"
      "  pmcmodel fit --data calib.csv --target package_watts --features auto --group-by workload "
      "--out pkg.json\n"
      "  pmcmodel fit --data kepler.csv --target package_power --features "
      "cpu_cycles,cpu_instructions,cache_miss --out ols.json\n"
      "  pmcmodel fit --data kepler.csv --target dram_power --features "
      "'log1p(cpu_cycles),ratio(cpu_cycles,bpf_cpu_time_us)' --model nnls --out dram.json\n"
      "Bad input (a non-numeric cell, a missing column, a constant feature, fewer rows than "
      "features)\n"
      "is one line FILE:LINE: what was expected, exit 2, and no model file.");
  return [o] {
    try {
      return run_fit(*o);
    } catch (const CommandError&) {
      throw;
    } catch (const std::runtime_error& e) {
      throw CommandError(e.what());
    } catch (const std::invalid_argument& e) {
      throw CommandError(e.what());
    }
  };
}

}  // namespace pmc::cli
