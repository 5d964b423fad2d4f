#pragma once
// The sku-curve model's 90 % half-widths recomputed from the held-out results themselves
// (tests/data/models/specpower_holdout_specs.csv: the 67 SPECpower results published from 2021 on,
// with their published watts), so that tests of the uncertainty an estimate carries do not copy
// the figure from the model file or from pmcmodel's output.
#include <algorithm>
#include <array>
#include <cmath>
#include <string>
#include <vector>

#include "events/text/catalog_csv.h"
#include "models/fleet/sku_curve.h"

namespace pmc::test {

// Linear interpolation between order statistics (h = (n − 1)·q), as scripts/build-sku-curve.
inline double holdout_quantile(std::vector<double> v, double q) {
  std::sort(v.begin(), v.end());
  double h = double(v.size() - 1) * q;
  size_t lo = size_t(std::floor(h));
  size_t hi = std::min(lo + 1, v.size() - 1);
  return v[lo] + (h - lo) * (v[hi] - v[lo]);
}

// At each load point, (e^q95 − e^q05) / 2 of ln(published / estimate) over the held-out results,
// the estimates those of the hold-out fit (SkuCurveModel::holdout_model: fitted on 2015-2020 only).
inline std::array<double, kPowerCurvePoints> holdout_half_widths(const std::string& data_dir) {
  auto model = SkuCurveModel::load(data_dir + "/sku_curve.json").holdout_model();
  auto cpus = CpuFactsTable::load(data_dir + "/cpu_facts.csv");
  auto table = read_specs_csv(
      read_catalog_file(std::string(PMC_TEST_DATA) + "/models/specpower_holdout_specs.csv"),
      "holdout");
  size_t idle_col = 0;
  while (table.columns.at(idle_col) != "actual_idle") ++idle_col;
  std::array<std::vector<double>, kPowerCurvePoints> residuals;
  for (const auto& row : table.rows) {
    auto e = model.estimate(*row.specs, cpus);
    for (size_t i = 0; i < kPowerCurvePoints; ++i)
      residuals[i].push_back(std::log(std::stod(row.fields.at(idle_col + i)) / e.watts[i]));
  }
  std::array<double, kPowerCurvePoints> out{};
  for (size_t i = 0; i < kPowerCurvePoints; ++i)
    out[i] = (std::exp(holdout_quantile(residuals[i], 0.95)) -
              std::exp(holdout_quantile(residuals[i], 0.05))) /
             2;
  return out;
}

}  // namespace pmc::test
