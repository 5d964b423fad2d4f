#pragma once
// Watts at a CPU utilisation: from a SKU's published power curve (`catalog:<sku>`), or, for a
// machine the catalog lacks, from its TDP (`tdp-fallback`).
#include <array>
#include <span>
#include <string>

#include "models/fleet/sku_catalog.h"

namespace pmc {

// Piecewise-linear interpolation over the 11 published points (0 = idle, 0.1, …, 1.0): exactly the
// published watts at those loads, clamped outside [0, 1]. NaN utilisation gives NaN.
double watts_at_load(const std::array<double, kPowerCurvePoints>& watts, double utilisation);
double watts_at_load(const Sku& sku, double utilisation);

// The TDP fallback: watts = idle_fraction × TDP + (1 − idle_fraction) × TDP × utilisation.
struct TdpCurve {
  double tdp_w = 0;          // of the whole machine (sockets × TDP per package)
  double idle_fraction = 0;  // share of the TDP drawn at idle
  std::string idle_fraction_source;
};

// Clamped to [0, 1] like the catalog curve; NaN gives NaN.
double watts_at_load(const TdpCurve& curve, double utilisation);

// Median of idle / 100%-load watts over `skus` (the middle two averaged for an even count);
// throws std::invalid_argument for none.
double median_idle_fraction(std::span<const Sku> skus);

// A TdpCurve whose idle fraction is the median idle / 100%-load ratio of the catalog's SPECpower
// results (power_source "spec-power-ssj2008"), with that stated as its source. Throws
// std::invalid_argument when the catalog has no SPECpower rows or tdp_w is not positive.
TdpCurve tdp_curve_from_specpower(const SkuCatalog& catalog, double tdp_w);

}  // namespace pmc
