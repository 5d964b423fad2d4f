#include "models/shipped/shipped_tables.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <optional>
#include <string>
#include <vector>

#include "events/text/input_file.h"

namespace pmc {
namespace {

// A text of a row: where it is in kPool and how long. Rows hold no pointers, so the tables are
// constants that the loader does not relocate (and copy) at every start.
struct Text {
  uint32_t at;
  uint32_t size;
};

// A row as the generator writes it: an absent number is NaN (the tables' numbers are finite),
// an absent whole number -1.
struct SkuRow {
  Text id;
  Text vendor;
  Text cpu_model;
  Text cpu_key;
  int sockets;
  int cores;
  int threads;
  double base_ghz;
  double turbo_ghz;
  double tdp_w;
  double watts[kPowerCurvePoints];
  double memory_gb;
  double mem_bw_gbs;
  double llc_mb;
  double price_per_hour_usd;
  Text price_source;
  Text power_source;
};

struct FactsRow {
  Text key;
  Text name;
  double tdp_w;
  int cores;
  double base_ghz;
  double turbo_ghz;
  int launch_year;
  Text source;
  double l3_mb;
};

#include "shipped_tables_data.inc"

std::string text(Text t) {
  return std::string(kPool + t.at, t.size);
}

std::optional<double> number(double v) {
  return std::isnan(v) ? std::nullopt : std::optional<double>(v);
}

std::optional<int> whole(int v) {
  return v < 0 ? std::nullopt : std::optional<int>(v);
}

bool same_bytes(std::string_view text, const char* bytes, size_t size) {
  return text.size() == size && std::memcmp(text.data(), bytes, size) == 0;
}

std::vector<Sku> shipped_skus() {
  std::vector<Sku> skus;
  skus.reserve(std::size(kSkuRows));
  for (const SkuRow& r : kSkuRows) {
    Sku& s = skus.emplace_back();
    s.id = text(r.id);
    s.vendor = text(r.vendor);
    s.cpu_model = text(r.cpu_model);
    s.cpu_key = text(r.cpu_key);
    s.sockets = whole(r.sockets);
    s.cores = r.cores;
    s.threads = r.threads;
    s.base_ghz = number(r.base_ghz);
    s.turbo_ghz = number(r.turbo_ghz);
    s.tdp_w = number(r.tdp_w);
    for (size_t i = 0; i < kPowerCurvePoints; ++i) s.watts[i] = r.watts[i];
    s.memory_gb = number(r.memory_gb);
    s.mem_bw_gbs = number(r.mem_bw_gbs);
    s.llc_mb = number(r.llc_mb);
    s.price_per_hour_usd = number(r.price_per_hour_usd);
    s.price_source = text(r.price_source);
    s.power_source = text(r.power_source);
  }
  return skus;
}

std::vector<CpuFacts> shipped_facts() {
  std::vector<CpuFacts> facts;
  facts.reserve(std::size(kFactsRows));
  for (const FactsRow& r : kFactsRows) {
    CpuFacts& f = facts.emplace_back();
    f.key = text(r.key);
    f.name = text(r.name);
    f.tdp_w = r.tdp_w;
    f.cores = whole(r.cores);
    f.base_ghz = number(r.base_ghz);
    f.turbo_ghz = number(r.turbo_ghz);
    f.launch_year = whole(r.launch_year);
    f.source = text(r.source);
    f.l3_mb = number(r.l3_mb);
  }
  return facts;
}

}  // namespace

bool is_shipped_sku_catalog(std::string_view text) {
  return same_bytes(text, kSkusCsv, sizeof(kSkusCsv) - 1);
}

bool is_shipped_cpu_facts(std::string_view text) {
  return same_bytes(text, kFactsCsv, sizeof(kFactsCsv) - 1);
}

CpuFactsTable load_cpu_facts(const std::filesystem::path& file) {
  if (file_holds(file.string(), {kFactsCsv, sizeof(kFactsCsv) - 1}))
    return CpuFactsTable::from_checked(shipped_facts());
  return CpuFactsTable::load(file);
}

SkuCatalog load_sku_catalog(const std::filesystem::path& file,
                            const std::filesystem::path& model_dir) {
  SkuCatalog catalog = file_holds(file.string(), {kSkusCsv, sizeof(kSkusCsv) - 1})
                           ? SkuCatalog::from_checked(shipped_skus(), file.string())
                           : SkuCatalog::load(file);
  const auto& skus = catalog.skus();
  if (std::all_of(skus.begin(), skus.end(), [](const Sku& s) { return s.has_curve(); }))
    return catalog;
  auto dir = model_dir.empty() ? file.parent_path() : model_dir;
  try {
    auto model = SkuCurveModel::load(dir / "sku_curve.json");
    return with_model_curves(catalog, model, load_cpu_facts(dir / "cpu_facts.csv"));
  } catch (const std::exception& e) {
    throw std::runtime_error(fmt::format(
        "{}: rows without a power curve need the sku-curve model: {}", file.string(), e.what()));
  }
}

}  // namespace pmc
