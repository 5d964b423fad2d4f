#include "models/shipped/shipped_tables.h"

#include <cmath>
#include <cstring>
#include <optional>
#include <string>
#include <vector>

#include "events/text/catalog_csv.h"

namespace pmc {
namespace {

// A row as the generator writes it: an absent number is NaN (the tables' numbers are finite),
// an absent whole number -1.
struct SkuRow {
  const char* id;
  const char* vendor;
  const char* cpu_model;
  const char* cpu_key;
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
  const char* price_source;
  const char* power_source;
};

struct FactsRow {
  const char* key;
  const char* name;
  double tdp_w;
  int cores;
  double base_ghz;
  double turbo_ghz;
  int launch_year;
  const char* source;
};

#include "shipped_tables_data.inc"

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
    s.id = r.id;
    s.vendor = r.vendor;
    s.cpu_model = r.cpu_model;
    s.cpu_key = r.cpu_key;
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
    s.price_source = r.price_source;
    s.power_source = r.power_source;
  }
  return skus;
}

std::vector<CpuFacts> shipped_facts() {
  std::vector<CpuFacts> facts;
  facts.reserve(std::size(kFactsRows));
  for (const FactsRow& r : kFactsRows) {
    CpuFacts& f = facts.emplace_back();
    f.key = r.key;
    f.name = r.name;
    f.tdp_w = r.tdp_w;
    f.cores = whole(r.cores);
    f.base_ghz = number(r.base_ghz);
    f.turbo_ghz = number(r.turbo_ghz);
    f.launch_year = whole(r.launch_year);
    f.source = r.source;
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

SkuCatalog load_sku_catalog(const std::filesystem::path& file) {
  std::string text = read_catalog_file(file);
  if (is_shipped_sku_catalog(text)) return SkuCatalog::from_checked(shipped_skus(), file.string());
  return SkuCatalog::parse(text, file.string());
}

CpuFactsTable load_cpu_facts(const std::filesystem::path& file) {
  std::string text = read_catalog_file(file);
  if (is_shipped_cpu_facts(text)) return CpuFactsTable::from_checked(shipped_facts());
  return CpuFactsTable::parse(text, file.string());
}

}  // namespace pmc
