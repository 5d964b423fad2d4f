// pmcmodel fit: fit one column of any CSV table on features of its other columns, with a
// cross-validated error report, into a model file.
#include <cstdio>
#include <memory>

#include <fmt/format.h>

#include "cli/commands.h"
#include "cli/model_report.h"
#include "cli/option_checks.h"
#include "cli/output.h"
#include "models/fit/fit_dataset.h"

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

// The request the options make: the solver, the CV plan asked for, the features or their pool.
FitRequest fit_request(const FitOptions& o) {
  FitRequest r;
  r.target = o.target;
  if (o.features != "auto") r.features = parse_feature_list(o.features);
  if (o.features == "auto" && !o.candidates.empty())
    r.candidates = parse_feature_list(o.candidates);
  r.exclude = o.exclude;
  if (o.model == "ridge") r.solver.kind = SolverKind::ridge;
  if (o.model == "nnls") r.solver.kind = SolverKind::nnls;
  if (o.model == "elastic") r.solver.kind = SolverKind::elastic_net;
  r.solver.lambda = o.lambda;
  r.solver.alpha = o.alpha;
  r.solver.nnls.nonnegative_intercept = o.nonnegative_intercept;
  if (o.cv == "kfold") r.cv.method = CvChoice::kfold;
  if (o.cv == "time-ordered") r.cv.method = CvChoice::time_ordered;
  if (o.cv == "grouped") r.cv.method = CvChoice::grouped;
  r.cv.group_by = o.group_by;
  r.cv.folds = o.folds;
  r.cv.gap = o.cv_gap;
  r.vif_limit = o.vif_limit;
  r.band_by = o.band_by;
  r.band_edges = o.band_edges;
  r.band_min_rows = o.band_min_rows;
  return r;
}

// Per band its rows and sub-model, or why the pooled model predicts it.
std::string format_bands(const Model& pooled) {
  std::string report =
      fmt::format("bands by {} (edges {}; a band needs {} rows):\n", pooled.band_column,
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
  return report;
}

// The auto pool's candidates, selection steps, the comparison with the linear baseline and the
// terms the ≥ 0 bound dropped.
std::string format_auto_features(const AutoFeaturesReport& a) {
  const AutoSelection& sel = a.selection;
  std::string report = fmt::format(
      "auto features: {} candidates from {} columns (each column, sqrt and log1p of columns ≥ 0, "
      "hinges at its 5%, 10%, …, 95% quantiles, ratios of columns ≥ 0); activity terms kept ≥ 0; "
      "{}; held-out features clipped to each fold's training range; forward selection by CV MAPE "
      "(VIF ≤ {:g}, stop below {:g}% improvement)\n",
      a.candidates, a.columns,
      sel.weighting == FitWeighting::relative
          ? "fitted by relative error (weights 1/y²)"
          : "fitted by least squares (a target value ≤ 0 rules out relative error)",
      a.options.vif_limit, a.options.tolerance * 100);
  for (const auto& step : sel.steps) {
    report += fmt::format("  + {:<40} CV MAPE {:.3f}%", step.added, step.cv_error);
    if (!step.rejected_for_vif.empty())
      report += fmt::format("   ({} rejected for VIF)", step.rejected_for_vif.size());
    report += "\n";
  }
  report += fmt::format(
      "selected features: CV MAPE {:.2f}% (RMSE {:.4g}); plain linear baseline (OLS on the {} raw "
      "columns, same plan, clipped): CV MAPE {:.2f}% (RMSE {:.4g}) -> {}\n",
      sel.selected_cv.mape_percent, sel.selected_cv.rmse, a.raw_columns,
      sel.baseline_cv.mape_percent, sel.baseline_cv.rmse,
      sel.baseline_kept ? "the baseline is kept (the selection is not better)"
                        : "the selection is kept");
  for (const auto& name : a.dropped_at_bound)
    report +=
        fmt::format("note: {} dropped: its coefficient is held at 0 by the ≥ 0 bound\n", name);
  return report;
}

// Whether bands by a frequency column were tried, and kept.
std::string format_frequency_trial(const FrequencyBandTrial& t) {
  if (!t.tried)
    return fmt::format("note: bands by {} not tried: {}\n", t.column, t.not_tried_reason);
  return fmt::format(
      "bands by {}: held-out MAPE {:.2f}% against the pooled model's {:.2f}% (same CV plan): {}\n",
      t.column, t.banded_mape_percent, t.pooled_mape_percent,
      t.kept ? "kept" : "not kept (no better)");
}

std::string format_fit(const FitResult& fit, const std::string& data_origin) {
  std::string report;
  for (const auto& n : fit.notes) report += "note: " + n + "\n";
  report += fmt::format("cv plan: {}\n", fit.cv_plan);
  if (fit.selection) report += format_selection(*fit.selection, fit.selection_options);
  if (fit.auto_features) report += format_auto_features(*fit.auto_features);
  report += format_fit_report(fit.model, fit.cv, data_origin);
  report += format_stall_comparison(fit.model.stall_check);
  if (fit.frequency_bands) report += format_frequency_trial(*fit.frequency_bands);
  if (fit.banded) report += format_bands(fit.model);
  return report;
}

// Options that the rest of the request would leave without effect are refused, not ignored.
void check_option_combinations(const FitOptions& o) {
  if (o.band_by.empty() && (!o.band_edges.empty() || o.band_min_rows))
    throw CommandError("--band-edges and --band-min-rows need --band-by COLUMN");
  if (o.lambda >= 0 && o.model != "ridge" && o.model != "elastic")
    throw CommandError(fmt::format(
        "--lambda: --model {} has no penalty (only ridge and elastic have one)", o.model));
  if (o.nonnegative_intercept && o.model != "nnls")
    throw CommandError(fmt::format(
        "--nonnegative-intercept: --model {} has no bounds (only nnls bounds its coefficients)",
        o.model));
  if (!o.group_by.empty() && (o.cv == "kfold" || o.cv == "time-ordered" || o.folds))
    throw CommandError(
        fmt::format("--group-by {}: CV leaves one group out, so {} has no effect: drop one of them",
                    o.group_by, o.folds ? "--folds" : "--cv " + o.cv));
  if (o.cv_gap >= 0 && (o.cv == "kfold" || !o.group_by.empty()))
    throw CommandError(
        fmt::format("--cv-gap: only time-ordered CV leaves a gap, and {} is not time-ordered",
                    o.group_by.empty() ? "--cv kfold" : "--group-by " + o.group_by));
}

int run_fit(const FitOptions& o) {
  check_option_combinations(o);
  check_output_path(o.out);
  auto preview = Dataset::preview_csv(o.data);
  FitRequest request = fit_request(o);
  Dataset data = Dataset::load_csv(o.data, fit_csv_options(request, preview));
  ModelIdentity identity{machine_from_comments(preview.comments, o.data), utc_now_iso8601()};
  FitResult fit = fit_dataset(std::move(data), request, identity);
  std::string report = format_fit(fit, o.data);
  write_file_atomically(o.out, model_to_json(fit.model));
  // With --out -, stdout holds the model alone, so that it parses as JSON: the report goes to
  // stderr.
  bool model_on_stdout = o.out == "-";
  if (!model_on_stdout) report += fmt::format("wrote {}\n", o.out);
  std::fputs(report.c_str(), model_on_stdout ? stderr : stdout);
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
      ->delimiter(',')
      ->allow_extra_args(false);
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
      ->check(non_negative_number());
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
      ->delimiter(',')
      ->allow_extra_args(false);
  cmd->add_option("--band-min-rows", o->band_min_rows,
                  "With --band-by: fewest rows a band is fitted with (default max(10, 5 × "
                  "(features + 1))); smaller bands use the pooled model")
      ->check(CLI::Range(size_t(3), size_t(100000000)));
  cmd->add_option("--cv-gap", o->cv_gap,
                  "Time-ordered CV: rows left out before each test block (default: 1% of the rows "
                  "with --features auto, else 0)")
      ->check(CLI::Range(0L, 100000000L));
  cmd->add_option("--out", o->out,
                  "Model file to write (pmcmodel.model/1); - writes it to stdout and the report "
                  "to stderr")
      ->required();
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
