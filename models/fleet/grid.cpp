#include "models/fleet/grid.h"

#include <fmt/format.h>

#include <algorithm>
#include <stdexcept>

#include "events/text/catalog_csv.h"

namespace pmc {

const std::array<std::string_view, 5> kGridColumns = {"region", "provider", "country",
                                                      "g_co2e_per_kwh", "source"};

namespace {

enum Column : size_t { kRegion, kProvider, kCountry, kGrams, kSource };

// Lifecycle emissions of coal-fired generation are about 820 gCO2e/kWh (IPCC AR5 WG3 Annex III,
// median; its range reaches about 1000), so no grid average exceeds 2000: a larger figure is
// in other units (lb/MWh, or kg converted twice).
constexpr double kMaxGramsPerKwh = 2000;

bool is_iso3(std::string_view s) {
  return s.size() == 3 &&
         std::all_of(s.begin(), s.end(), [](char c) { return c >= 'A' && c <= 'Z'; });
}

GridIntensity read_entry(const CatalogRow& row) {
  GridIntensity g;
  g.region = row.text(kRegion);
  g.provider = row.text(kProvider);
  g.country = row.text(kCountry);
  if (!is_iso3(g.country))
    row.fail(
        fmt::format("expected country to be an ISO-3 code such as FRA, found '{}'", g.country));
  g.g_per_kwh = row.number(kGrams);
  if (!(g.g_per_kwh >= 0 && g.g_per_kwh <= kMaxGramsPerKwh))
    row.fail(fmt::format("expected g_co2e_per_kwh in grams CO2e per kWh (0 to {}), found {}",
                         kMaxGramsPerKwh, row.raw(kGrams)));
  g.source = row.text(kSource);
  return g;
}

}  // namespace

GridTable GridTable::load(const std::filesystem::path& file) {
  return parse(read_catalog_file(file), file.string());
}

GridTable GridTable::parse(std::string_view text, const std::string& origin) {
  GridTable grid;
  grid.origin_ = origin;
  CatalogTable table(origin, kGridColumns);
  std::map<std::string, size_t, std::less<>> line_of_region;
  table.parse(text, [&](const CatalogRow& row) {
    GridIntensity g = read_entry(row);
    auto [at, inserted] = line_of_region.emplace(g.region, row.line());
    if (!inserted)
      row.fail(fmt::format("duplicate region '{}' (first on line {})", g.region, at->second));
    grid.by_region_.emplace(g.region, grid.entries_.size());
    grid.entries_.push_back(std::move(g));
  });
  if (grid.entries_.empty()) table.fail(1, "expected at least one region row after the header");
  return grid;
}

const GridIntensity* GridTable::find(std::string_view region) const {
  auto it = by_region_.find(region);
  return it == by_region_.end() ? nullptr : &entries_[it->second];
}

std::optional<double> GridTable::g_per_kwh(std::string_view region) const {
  const GridIntensity* g = find(region);
  return g ? std::optional<double>(g->g_per_kwh) : std::nullopt;
}

}  // namespace pmc
