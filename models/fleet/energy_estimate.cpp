#include "models/fleet/energy_estimate.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <vector>

namespace pmc {
namespace {

constexpr std::string_view kSpecPowerSource = "spec-power-ssj2008";

double median(std::vector<double> values) {
  std::sort(values.begin(), values.end());
  size_t mid = values.size() / 2;
  return values.size() % 2 ? values[mid] : (values[mid - 1] + values[mid]) / 2;
}

}  // namespace

double EstimateCurve::uncertainty_at(double utilisation) const {
  return watts_at_load(uncertainty, utilisation);
}

double sku_share(const Sku& sku, int logical_cpus) {
  if (sku.threads > 0 && logical_cpus > 0 && logical_cpus < sku.threads)
    return double(logical_cpus) / double(sku.threads);
  return 1;
}

EstimateCurve sku_estimate_curve(const Sku& sku, int logical_cpus) {
  EstimateCurve c;
  c.domain = "wall";
  if (sku.modelled_uncertainty) {
    c.method = "estimated:" + sku.power_source;
    c.uncertainty = *sku.modelled_uncertainty;
  } else {
    c.method = "estimated:sku-curve:" + sku.id;
    c.uncertainty.fill(kSkuCurveUncertainty);
  }
  double scale = sku_share(sku, logical_cpus);
  for (size_t i = 0; i < kPowerCurvePoints; ++i) c.watts[i] = sku.watts[i] * scale;
  if (sku.modelled_uncertainty)
    c.basis = fmt::format(
        "sku-curve model's curve of SKU {} ({}, no published curve: {:.1f} W idle to {:.1f} W at "
        "100% load, ±{:.0f}% to ±{:.0f}% from the model's held-out errors)",
        sku.id, sku.cpu_model, sku.watts.front(), sku.watts.back(), 100 * c.uncertainty.front(),
        100 * c.uncertainty.back());
  else
    c.basis = fmt::format("power curve of SKU {} ({}, {} W idle to {} W at 100% load, {})", sku.id,
                          sku.cpu_model, sku.watts.front(), sku.watts.back(), sku.power_source);
  if (scale != 1)
    c.basis +=
        fmt::format(", scaled by this machine's {} of its {} threads", logical_cpus, sku.threads);
  return c;
}

double median_tdp_per_thread_w(const SkuCatalog& catalog) {
  std::vector<double> per_thread;
  for (const Sku& s : catalog.skus())
    if (s.power_source == kSpecPowerSource && s.tdp_w && s.sockets && s.threads > 0)
      per_thread.push_back(*s.tdp_w * *s.sockets / s.threads);
  if (per_thread.empty())
    throw std::invalid_argument(catalog.origin() + " has no SPECpower rows with a TDP");
  return median(std::move(per_thread));
}

EstimateCurve tdp_estimate_curve(const SkuCatalog& catalog, int logical_cpus,
                                 std::optional<double> tdp_w) {
  int cpus = std::max(1, logical_cpus);
  double tdp = tdp_w ? *tdp_w : median_tdp_per_thread_w(catalog) * cpus;
  TdpCurve curve = tdp_curve_from_specpower(catalog, tdp);
  EstimateCurve c;
  c.method = "estimated:tdp";
  c.domain = "package";
  c.uncertainty.fill(kTdpCurveUncertainty);
  for (size_t i = 0; i < kPowerCurvePoints; ++i)
    c.watts[i] = watts_at_load(curve, double(i) / double(kPowerCurvePoints - 1));
  c.basis = tdp_w ? fmt::format("TDP {:.1f} W", tdp)
                  : fmt::format(
                        "TDP {:.1f} W = {} logical CPUs × {:.3f} W, the median TDP per "
                        "thread of the SPECpower rows of {}",
                        tdp, cpus, tdp / cpus, catalog.origin());
  c.basis +=
      fmt::format("; idle at {:.3f} of TDP ({})", curve.idle_fraction, curve.idle_fraction_source);
  return c;
}

std::pair<double, double> idle_fraction_range(const SkuCatalog& catalog) {
  double lo = INFINITY, hi = -INFINITY;
  for (const Sku& s : catalog.skus()) {
    if (s.power_source != kSpecPowerSource || !s.has_curve() || s.modelled_uncertainty) continue;
    double f = s.watts.front() / s.watts.back();
    lo = std::min(lo, f);
    hi = std::max(hi, f);
  }
  if (lo > hi) throw std::invalid_argument(catalog.origin() + " has no SPECpower rows");
  return {lo, hi};
}

double ShareBasis::machine_utilisation() const {
  if (!(window_s > 0) || logical_cpus < 1) return 0;
  double busy = std::max(machine_busy_cpu_s, command_cpu_s);
  return std::clamp(busy / (logical_cpus * window_s), 0.0, 1.0);
}

double command_share_joules(double machine_joules, double idle_watts, const ShareBasis& b) {
  if (!(b.command_cpu_s > 0) || !(b.window_s > 0) || b.logical_cpus < 1) return 0;
  double busy = std::max(b.machine_busy_cpu_s, b.command_cpu_s);
  double idle_j = std::min(idle_watts * b.window_s, machine_joules);
  double active_j = std::max(0.0, machine_joules - idle_j);
  return active_j * (b.command_cpu_s / busy) +
         idle_j * b.command_cpu_s / (b.logical_cpus * b.window_s);
}

double idle_watts_from_average(double average_watts, double utilisation, double f) {
  double u = std::clamp(utilisation, 0.0, 1.0);
  return f * average_watts / (f + (1 - f) * u);
}

double co2_grams(double joules, double g_per_kwh) {
  return joules / 3.6e6 * g_per_kwh;
}

double cost_usd(double price_per_hour_usd, double duration_s) {
  return price_per_hour_usd * duration_s / 3600;
}

double nanojoules_per_instruction(double joules, double instructions) {
  return instructions > 0 ? joules * 1e9 / instructions : 0;
}

}  // namespace pmc
