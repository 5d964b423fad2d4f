#include "models/calibration/calibration_models.h"

#include <algorithm>
#include <set>

#include <fmt/format.h>

#include "models/fit/cv_choice.h"

namespace pmc {
namespace {

bool non_constant(const Dataset& data, const std::string& column) {
  return !is_constant(data.column(column));
}

class Fitter {
 public:
  Fitter(const Dataset& data, const CvPlan* plan, const ModelIdentity& identity,
         CalibrationModels& out)
      : data_(data), plan_(plan), identity_(identity), out_(out) {}

  // Forward selection over `candidates` when `select`, else every candidate.
  void fit(const std::string& what, const std::string& target,
           const std::vector<FeatureSpec>& candidates, const SolverOptions& solver, bool select) {
    if (plan_ == nullptr) return;
    try {
      auto outcome = fit_table(data_, target, select ? std::vector<FeatureSpec>{} : candidates,
                               candidates, solver, *plan_, {}, identity_);
      out_.fitted.push_back({what, target, std::move(outcome)});
    } catch (const std::exception& e) {
      out_.not_fitted.push_back(fmt::format("{} ({}): {}", what, target, e.what()));
    }
  }

 private:
  const Dataset& data_;
  const CvPlan* plan_;
  const ModelIdentity& identity_;
  CalibrationModels& out_;
};

void fit_cpi_stack_model(const Dataset& data, const CalibrationColumns& c,
                         const std::vector<FeatureSpec>& misses, Fitter& fitter,
                         CalibrationModels& out) {
  SolverOptions nnls;
  nnls.kind = SolverKind::nnls;
  nnls.nnls.nonnegative_intercept = true;
  fitter.fit("CPI stack (cache stalls)", "cpi", misses, nnls, false);
  if (out.fitted.empty() || out.fitted.back().target != "cpi") return;
  auto& model = out.fitted.back().outcome.model;
  model.stall_check = stall_check(model, data, data.labels("workload"));
  std::vector<std::string> levels;
  for (const auto& f : misses) levels.push_back(f.a);
  const std::string& cyc = c.event_columns[size_t(c.cycles)];
  const std::string& ins = c.event_columns[size_t(c.instructions)];
  try {
    out.cpi_stack = fit_cpi_stack(data, cyc, ins, levels);
    out.cycles_column = cyc;
  } catch (const std::exception& e) {
    out.not_fitted.push_back(std::string("CPI stack per workload: ") + e.what());
  }
}

// IPC over every per-instruction rate; the CPI stack over the cache misses per instruction (L1
// and LLC loads, else the generic cache-misses).
void fit_ipc_models(const Dataset& data, const CalibrationColumns& c, Fitter& fitter,
                    CalibrationModels& out) {
  const std::string& ins = c.event_columns[size_t(c.instructions)];
  const std::string& cyc = c.event_columns[size_t(c.cycles)];
  std::vector<FeatureSpec> per_instruction, misses;
  for (const auto& col : c.event_columns) {
    if (col == ins || col == cyc || col == "task_clock_per_s" || !non_constant(data, col)) continue;
    FeatureSpec f{col.substr(0, col.size() - 6) + "_per_instruction", FeatureOp::ratio, col, ins};
    per_instruction.push_back(f);
    if (col == "l1_dcache_load_misses_per_s" || col == "llc_load_misses_per_s") misses.push_back(f);
  }
  if (misses.empty())
    for (const auto& f : per_instruction)
      if (f.a == "cache_misses_per_s") misses.push_back(f);
  fitter.fit("IPC", "ipc", per_instruction, {}, true);
  if (misses.empty()) {
    out.not_fitted.push_back(
        "CPI stack (cache stalls): no cache-miss event was counted (L1-dcache-load-misses, "
        "LLC-load-misses or cache-misses)");
    return;
  }
  fit_cpi_stack_model(data, c, misses, fitter, out);
}

// Each GPU's watts over its own readings where any of them varied: the temperature and its rise
// when both did (a GPU is a thermal RC, P ≈ (T - T0)/R + C dT/dt: on the H200 recordings that
// shape's error on later kernels stayed near its CV error, while utilisation and clocks took PCIe
// copies for compute; docs/MODELS.md), else forward selection over the readings that varied.
// calibrate's workloads run on the CPUs, so on most runs nothing varies, and the GPU's model is
// fitted with `fit` on rows of GPU work.
void fit_gpu_models(const Dataset& data, const CalibrationColumns& c, Fitter& fitter,
                    CalibrationModels& out) {
  auto suffix = [](const CalibrationColumns::GpuColumn& g) {
    return std::string(kGpuQuantities[g.quantity].suffix);
  };
  std::set<std::string> gpus;
  for (const auto& g : c.gpu_columns)
    if (suffix(g) == "watts") gpus.insert(g.domain);
  for (const auto& gpu : gpus) {
    std::string target;
    std::vector<FeatureSpec> inputs, thermal;
    for (const auto& g : c.gpu_columns) {
      if (g.domain != gpu) continue;
      if (suffix(g) == "watts") {
        target = g.column;
      } else if (non_constant(data, g.column)) {
        inputs.push_back(raw_feature(g.column));
        if (suffix(g) == "temperature_c" || suffix(g) == "temperature_rise_c_per_s")
          thermal.push_back(inputs.back());
      }
    }
    if (inputs.empty()) {
      out.not_fitted.push_back(fmt::format(
          "watts of {} ({}): its utilisation, clocks and temperature did not vary during "
          "calibration (the suite runs on the CPUs); fit it with `pmcmodel fit --target {}` on "
          "rows of GPU work",
          gpu, target, target));
      continue;
    }
    if (thermal.size() == 2)
      fitter.fit("watts of " + gpu, target, thermal, {}, false);
    else
      fitter.fit("watts of " + gpu, target, inputs, {}, true);
  }
}

}  // namespace

CvPlan calibration_plan(const Dataset& data, std::string& how) {
  CvRequest request;
  request.method = CvChoice::kfold;
  request.group_by = "workload";
  request.few_groups_ignored = true;
  request.max_folds = 5;
  return choose_cv_plan(data, request, how);
}

CalibrationModels fit_calibration_models(const Dataset& data, const CalibrationColumns& c,
                                         const ModelIdentity& identity,
                                         const CalibrationContext& context) {
  CalibrationModels out;
  std::optional<CvPlan> plan;
  try {
    plan = calibration_plan(data, out.cv_how);
  } catch (const std::exception& e) {
    out.cv_how.clear();
    out.not_fitted.push_back(
        fmt::format("every model: {} rows cannot be cross-validated ({})", data.rows(), e.what()));
  }
  Fitter fitter(data, plan ? &*plan : nullptr, identity, out);

  std::vector<FeatureSpec> rates;
  for (const auto& col : c.event_columns)
    if (non_constant(data, col)) rates.push_back(raw_feature(col));
  if (c.domains.empty())
    out.not_fitted.push_back(fmt::format(
        "watts: {}; watts need RAPL (the perf power PMU or powercap, readable) or --power-from "
        "FILE|ipmi",
        context.no_watts));
  for (const auto& d : c.domains) fitter.fit("watts of " + d, watts_column(d), rates, {}, true);
  fit_gpu_models(data, c, fitter, out);

  if (!c.has_ipc()) {
    out.not_fitted.push_back("IPC: needs cycles and instructions, which were not counted" +
                             context.no_hardware);
    out.not_fitted.push_back(
        "CPI stack (cache stalls): needs cycles, instructions and cache-miss events, which were "
        "not counted" +
        context.no_hardware);
    return out;
  }
  fit_ipc_models(data, c, fitter, out);
  return out;
}

}  // namespace pmc
