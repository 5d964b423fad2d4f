#pragma once
// The SKU catalog (data/skus.csv): servers with a published SPECpower_ssj2008 power curve and cloud
// instance types with Teads' power figures and a list price. data/SOURCES.md says where every
// column comes from; scripts/build-catalog regenerates the file.
#include <array>
#include <cstddef>
#include <filesystem>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "events/text/text_map.h"

namespace pmc {

// Wall watts are given at idle and at 10%, 20%, …, 100% load: 11 points.
inline constexpr size_t kPowerCurvePoints = 11;

struct Sku {
  std::string id;              // "specpower-<row>-<system>" or "aws-<instance type>"
  std::string vendor;          // system vendor, or the cloud provider
  std::string cpu_model;       // e.g. "Intel Xeon X5670"
  std::string cpu_key;         // cpu_model_key(cpu_model), empty when it has none
  std::optional<int> sockets;  // absent for a cloud instance (a share of a host)
  int cores = 0;
  int threads = 0;
  std::optional<double> base_ghz;
  std::optional<double> turbo_ghz;
  std::optional<double> tdp_w;  // of one CPU package
  // idle, 10%, …, 100% load; all 0 for a row that publishes none until with_model_curves
  // (models/fleet/sku_curve.h) gives it the sku-curve model's
  std::array<double, kPowerCurvePoints> watts{};
  std::optional<double> memory_gb;
  std::optional<double> mem_bw_gbs;  // peak memory bandwidth of one CPU package
  std::optional<double> llc_mb;      // last-level cache of one CPU package
  std::optional<double> price_per_hour_usd;
  std::string price_source;  // e.g. "aws-list-2023-11"; empty without a price
  std::string power_source;  // e.g. "spec-power-ssj2008"
  // Set when the sku-curve model gave the curve: its relative 90 % half-width at each load point,
  // from the model's held-out errors. Absent for a published curve.
  std::optional<std::array<double, kPowerCurvePoints>> modelled_uncertainty;

  bool has_curve() const { return watts.back() > 0; }
  bool operator==(const Sku&) const = default;
};

// The column names of data/skus.csv, in order.
extern const std::array<std::string_view, 26> kSkuColumns;

// The key CPU names are matched by: lower case, trademarks, clock figures ("@ 2.50GHz"), remarks in
// parentheses, core counts ("64-Core"), "CPU"/"Processor", vendor names and "Xeon" dropped, spaces
// removed: "Intel(R) Xeon(R) Gold 6248 CPU @ 2.50GHz" → "gold6248". Empty when no model number is
// left ("Intel Xeon" names a family, not a CPU). scripts/build-catalog uses the same rules.
std::string cpu_model_key(std::string_view cpu_model);

class SkuCatalog {
 public:
  // Throws std::runtime_error "FILE:LINE: what was expected" for the first bad row: wrong header
  // or field count, unterminated quote, text in a number column, watts not positive, a power curve
  // that decreases from idle to 100% (a row may leave all 11 curve columns empty when it gives
  // sockets ≤ cores and memory_gb, the sku-curve model's inputs), cores < 1, threads < cores,
  // sockets < 1, GHz outside (0, 10), a negative price or one without its source, a duplicate id,
  // no rows.
  static SkuCatalog load(const std::filesystem::path& file);
  static SkuCatalog parse(std::string_view text, const std::string& origin);
  // Rows that parse() has already checked (models/shipped: the build's parse of data/skus.csv),
  // indexed as parse() indexes them.
  static SkuCatalog from_checked(std::vector<Sku> skus, std::string origin);

  const std::string& origin() const { return origin_; }
  const std::vector<Sku>& skus() const { return skus_; }
  const Sku* find(std::string_view id) const;

  // The SKU whose CPU has the same cpu_model_key as `cpu_model_string` (e.g. /proc/cpuinfo's model
  // name). Whole servers (rows with a socket count) are preferred, in file order; otherwise the
  // cloud instance with the most threads (the largest share of the host). nullptr when none
  // matches.
  const Sku* match_cpu_model(std::string_view cpu_model_string) const;

 private:
  void index_cpu_keys();

  std::string origin_;
  std::vector<Sku> skus_;
  TextMap<size_t> by_id_;
  TextMap<size_t> by_cpu_key_;
};

}  // namespace pmc
