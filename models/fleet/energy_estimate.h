#pragma once
// Energy where no meter was read, and a command's share where one was: pure arithmetic on a power
// curve, CPU times and a measured energy. docs/energy.md gives the formulas with their reasons.
#include <array>
#include <optional>
#include <string>
#include <utility>

#include "models/fleet/power_curve.h"
#include "models/fleet/sku_catalog.h"

namespace pmc {

// Relative half-widths of the estimates (judgements stated in docs/energy.md): a SKU's published
// curve is wall power under SPECpower's ssj2008 load (or Teads' model of a cloud host), not this
// workload; a TDP curve knows neither the platform beyond the CPU nor how far the CPU runs
// from its TDP. A curve the sku-curve model gave carries the model's held-out half-widths
// instead (Sku::modelled_uncertainty), measured, not judged.
inline constexpr double kSkuCurveUncertainty = 0.3;
inline constexpr double kTdpCurveUncertainty = 0.5;

// Watts of this machine at utilisation 0, 0.1, …, 1, and what they stand for.
struct EstimateCurve {
  // "estimated:sku-curve:<sku id>", "estimated:sku-curve:model:<cpu key>" or "estimated:tdp"
  std::string method;
  std::string domain;  // "wall" for a SKU curve (measured at the wall), "package" for TDP
  std::array<double, kPowerCurvePoints> watts{};
  // Relative half-width at each load point: one stated figure at every point, or the sku-curve
  // model's held-out half-width at that point.
  std::array<double, kPowerCurvePoints> uncertainty{};
  std::string basis;  // one sentence: where the curve came from and how it was scaled

  // The half-width at `utilisation`, interpolated between the points as the watts are.
  double uncertainty_at(double utilisation) const;
};

// The share of `sku` a machine with `logical_cpus` CPUs is: logical_cpus / sku.threads when it
// has fewer (a VM on such a host), else 1. Its power curve and its price are scaled by it: a
// cloud provider's list price, like Teads' power figures, is proportional to the vCPUs within an
// instance family (aws-c5.large 0.085 USD/h = 3.06 × 2/72 of aws-c5.18xlarge).
double sku_share(const Sku& sku, int logical_cpus);

// The SKU's curve scaled by this machine's share of it (sku_share). A published curve is
// "estimated:sku-curve:<sku id>" with kSkuCurveUncertainty; a modelled one (with_model_curves)
// "estimated:<its power_source>" with its modelled_uncertainty.
EstimateCurve sku_estimate_curve(const Sku& sku, int logical_cpus);

// Median TDP per hardware thread (tdp_w × sockets / threads) over the SPECpower rows that give a
// TDP; throws std::invalid_argument when there is none.
double median_tdp_per_thread_w(const SkuCatalog& catalog);

// tdp_curve_from_specpower over `tdp_w`, or, without one, median_tdp_per_thread_w × logical_cpus.
EstimateCurve tdp_estimate_curve(const SkuCatalog& catalog, int logical_cpus,
                                 std::optional<double> tdp_w = std::nullopt);

// Lowest and highest idle / 100%-load ratio of the catalog's SPECpower rows.
std::pair<double, double> idle_fraction_range(const SkuCatalog& catalog);

// What a machine-wide energy reading is split by.
struct ShareBasis {
  double window_s = 0;                 // T
  double command_cpu_s = 0;            // c: the command's CPU time (task-clock, or user + sys)
  double machine_busy_cpu_s = 0;       // B: every task's CPU time (/proc/stat); taken as ≥ c
  int logical_cpus = 1;                // N
  double machine_utilisation() const;  // max(B, c) / (N·T), clamped to [0, 1]
};

// The command's joules of `machine_joules` drawn over the window with idle power `idle_watts`:
// its CPU-time share of the active energy plus its share of idle,
//   (E − P_idle·T)·c/max(B, c) + P_idle·T·c/(N·T),
// with E − P_idle·T taken as ≥ 0. Zero when c is 0.
double command_share_joules(double machine_joules, double idle_watts, const ShareBasis& basis);

// Idle power of a machine that averaged `average_watts` at utilisation U, under the linear model
// P(U) = P_max·(f + (1 − f)·U) with idle fraction f = P(0)/P(1): P_idle = f·P̄/(f + (1 − f)·U).
double idle_watts_from_average(double average_watts, double utilisation, double idle_fraction);

// Derived figures. g_per_kwh × joules / 3.6e6; price_per_hour × duration / 3600; joules × 1e9 /
// instructions.
double co2_grams(double joules, double g_per_kwh);
double cost_usd(double price_per_hour_usd, double duration_s);
double nanojoules_per_instruction(double joules, double instructions);

}  // namespace pmc
