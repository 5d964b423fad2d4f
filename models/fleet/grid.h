#pragma once
// Carbon intensity of electricity (data/grid.csv): grams CO2e per kWh for cloud regions
// (mlco2/impact) and for countries (Boavizta's electrical mix, ISO-3 code as the region).
// data/SOURCES.md says where every figure comes from; scripts/build-catalog regenerates the file.
#include <array>
#include <filesystem>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace pmc {

struct GridIntensity {
  std::string region;    // "us-east-1", "europe-west1", "westeurope", or an ISO-3 code "FRA"
  std::string provider;  // "aws", "gcp", "azure", … or "country"
  std::string country;   // ISO-3 code
  double g_per_kwh = 0;  // grams CO2e per kWh
  std::string source;
};

// The column names of data/grid.csv, in order.
extern const std::array<std::string_view, 5> kGridColumns;

class GridTable {
 public:
  // Throws std::runtime_error "FILE:LINE: what was expected" for the first bad row: wrong header
  // or field count, unterminated quote, an empty region/provider/source, a country that is not
  // three capital letters, an intensity that is not a number in [0, 2000] g/kWh, a duplicate
  // region, no rows.
  static GridTable load(const std::filesystem::path& file);
  static GridTable parse(std::string_view text, const std::string& origin);

  const std::string& origin() const { return origin_; }
  const std::vector<GridIntensity>& entries() const { return entries_; }
  const GridIntensity* find(std::string_view region) const;
  std::optional<double> g_per_kwh(std::string_view region) const;

 private:
  std::string origin_;
  std::vector<GridIntensity> entries_;
  std::map<std::string, size_t, std::less<>> by_region_;
};

}  // namespace pmc
