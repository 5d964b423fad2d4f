#include "models/fleet/power_curve.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <vector>

namespace pmc {
namespace {

constexpr std::string_view kSpecPowerSource = "spec-power-ssj2008";

// Loads written as decimals (0.7) are not exact in binary: 0.7 × 10 may land a rounding step off 7.
// Positions this close to a published point take its watts exactly.
constexpr double kSnap = 1e-9;

double idle_fraction(const Sku& s) {
  return s.watts.front() / s.watts.back();
}

double median(std::vector<double> values) {
  if (values.empty()) throw std::invalid_argument("median of no values");
  std::sort(values.begin(), values.end());
  size_t mid = values.size() / 2;
  return values.size() % 2 ? values[mid] : (values[mid - 1] + values[mid]) / 2;
}

}  // namespace

double watts_at_load(const std::array<double, kPowerCurvePoints>& watts, double utilisation) {
  if (std::isnan(utilisation)) return utilisation;
  constexpr double kSteps = kPowerCurvePoints - 1;
  double position = std::clamp(utilisation, 0.0, 1.0) * kSteps;
  double nearest = std::round(position);
  if (std::abs(position - nearest) < kSnap) return watts[size_t(nearest)];
  size_t below = std::min(size_t(position), kPowerCurvePoints - 2);
  double fraction = position - double(below);
  return watts[below] + (watts[below + 1] - watts[below]) * fraction;
}

double watts_at_load(const Sku& sku, double utilisation) {
  return watts_at_load(sku.watts, utilisation);
}

double watts_at_load(const TdpCurve& curve, double utilisation) {
  if (std::isnan(utilisation)) return utilisation;
  double u = std::clamp(utilisation, 0.0, 1.0);
  return curve.idle_fraction * curve.tdp_w + (1 - curve.idle_fraction) * curve.tdp_w * u;
}

double median_idle_fraction(std::span<const Sku> skus) {
  std::vector<double> ratios;
  ratios.reserve(skus.size());
  for (const Sku& s : skus) ratios.push_back(idle_fraction(s));
  return median(std::move(ratios));
}

TdpCurve tdp_curve_from_specpower(const SkuCatalog& catalog, double tdp_w) {
  if (!(tdp_w > 0))
    throw std::invalid_argument(fmt::format("TDP must be positive watts, not {}", tdp_w));
  std::vector<double> ratios;
  for (const Sku& s : catalog.skus())
    if (s.power_source == kSpecPowerSource && s.has_curve() && !s.modelled_uncertainty)
      ratios.push_back(idle_fraction(s));
  if (ratios.empty())
    throw std::invalid_argument(
        fmt::format("{} has no SPECpower rows to take an idle fraction from", catalog.origin()));
  TdpCurve curve;
  curve.tdp_w = tdp_w;
  curve.idle_fraction_source =
      fmt::format("median idle/100%-load watts of {} SPECpower_ssj2008 results in {}",
                  ratios.size(), catalog.origin());
  curve.idle_fraction = median(std::move(ratios));
  return curve;
}

}  // namespace pmc
