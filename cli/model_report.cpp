#include "cli/model_report.h"

#include <cmath>
#include <ctime>

#include <fmt/format.h>

namespace pmc::cli {
namespace {

std::string number(double v) {
  return std::isfinite(v) ? fmt::format("{:.6g}", v) : std::string("-");
}

}  // namespace

std::string format_errors(const ErrorMetrics& e) {
  return fmt::format("MAPE {:.2f}%  RMSE {:.4g}  MedAE {:.4g}  R² {:.4f}  ({} rows)",
                     e.mape_percent, e.rmse, e.medae, e.r2, e.n);
}

std::string format_fit_report(const Model& m, const CvResult& cv, const std::string& data_origin) {
  std::string out;
  out += fmt::format("fit: {} from {} ({} rows), solver {}", m.target, data_origin, m.training_rows,
                     m.solver);
  if (m.solver == "ridge" || m.solver == "elastic_net")
    out += fmt::format(" (lambda {:.3g}", m.lambda);
  if (m.solver == "elastic_net") out += fmt::format(", alpha {:g}", m.alpha);
  if (m.solver == "ridge" || m.solver == "elastic_net") out += ")";
  out += "\n";
  out += fmt::format("cross-validation: {}, {} splits, held-out {}\n", m.cv.method, m.cv.folds,
                     format_errors(m.cv.errors));
  out += fmt::format("  {:<24} {:>10} {:>9} {:>10} {:>10} {:>8}\n", "test block", "train rows",
                     "rows", "MAPE %", "RMSE", "R²");
  for (const auto& f : cv.folds)
    out += fmt::format("  {:<24} {:>10} {:>9} {:>10.2f} {:>10.4g} {:>8.4f}\n", f.test_block,
                       f.train_rows, f.errors.n, f.errors.mape_percent, f.errors.rmse, f.errors.r2);
  out += fmt::format("  {:<40} {:>14} {:>12} {:>12} {:>12}\n", "feature", "coefficient",
                     "std error", "train min", "train max");
  out += fmt::format("  {:<40} {:>14} {:>12}\n", "(intercept)", number(m.intercept),
                     number(m.intercept_se));
  for (const auto& t : m.terms) {
    std::string spelled = to_string(t.spec);
    std::string name = spelled == t.spec.name ? spelled : t.spec.name + "=" + spelled;
    out += fmt::format("  {:<40} {:>14} {:>12} {:>12} {:>12}\n", name, number(t.coefficient),
                       number(t.standard_error), number(t.train_min), number(t.train_max));
  }
  if (m.interval.relative)
    out += fmt::format(
        "{:g}% prediction interval: prediction × (1 {:+.2f}%) … (1 {:+.2f}%) (held-out relative "
        "residual quantiles)\n",
        m.interval.level * 100, m.interval.lower * 100, m.interval.upper * 100);
  else
    out += fmt::format(
        "{:g}% prediction interval: prediction {:+.4g} … {:+.4g} (held-out residual quantiles)\n",
        m.interval.level * 100, m.interval.lower, m.interval.upper);
  return out;
}

std::string format_stall_comparison(const StallComparison& s) {
  std::string out;
  if (!s.empty()) {
    out +=
        "CPI stack against the stall counters (shares of cycles; the model's side is the sum of "
        "its miss levels at and beyond the counter's level, since the counters nest):\n";
    out += fmt::format("  {:<14} {:>6} {:<38} {:>8} {:>9} {:>9} {:>9}\n", "group", "rows",
                       "counter", "model", "measured", "diff", "error");
    for (const auto& g : s.groups) {
      for (const auto& l : g.levels)
        out += fmt::format("  {:<14} {:>6} {:<38} {:>7.2f}% {:>8.2f}% {:>+8.2f}% {:>9}\n", g.group,
                           g.rows, l.counter, 100 * l.model_share, 100 * l.measured_share,
                           100 * l.difference,
                           std::isfinite(l.relative_error_percent)
                               ? fmt::format("{:+.1f}%", l.relative_error_percent)
                               : std::string("-"));
      for (size_t i = 0; i < s.reference.size() && i < g.reference_share.size(); ++i)
        out += fmt::format("  {:<14} {:>6} {:<38} {:>8} {:>8.2f}%   (for scale, not compared)\n",
                           g.group, g.rows, s.reference[i], "", 100 * g.reference_share[i]);
    }
  }
  for (const auto& n : s.notes) out += "note: " + n + "\n";
  return out;
}

std::string utc_now_iso8601() {
  std::time_t now = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&now, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

}  // namespace pmc::cli

namespace pmc::cli {

std::string format_selection(const SelectionResult& s, const SelectionOptions& options) {
  std::string out = fmt::format(
      "forward selection (VIF ≤ {:g}, stop below {:g}% improvement): intercept alone {:.4g}\n",
      options.vif_limit, options.tolerance * 100, s.baseline_error);
  for (const auto& step : s.steps) {
    out += fmt::format("  + {:<40} CV {:.4g}", step.added, step.cv_error);
    if (!step.rejected_for_vif.empty()) {
      out += "   rejected for VIF:";
      for (const auto& r : step.rejected_for_vif) out += " " + r;
    }
    out += "\n";
  }
  return out;
}

}  // namespace pmc::cli
