#include "models/fleet/sku_catalog.h"

#include <fmt/format.h>

#include <algorithm>
#include <stdexcept>

#include "events/text/catalog_csv.h"

namespace pmc {

const std::array<std::string_view, 26> kSkuColumns = {
    "id",           "vendor",      "cpu_model", "sockets",    "cores",    "threads",
    "base_ghz",     "turbo_ghz",   "tdp_w",     "idle_w",     "load10_w", "load20_w",
    "load30_w",     "load40_w",    "load50_w",  "load60_w",   "load70_w", "load80_w",
    "load90_w",     "load100_w",   "memory_gb", "mem_bw_gbs", "llc_mb",   "price_per_hour_usd",
    "price_source", "power_source"};

namespace {

enum Column : size_t {
  kId,
  kVendor,
  kCpuModel,
  kSockets,
  kCores,
  kThreads,
  kBaseGhz,
  kTurboGhz,
  kTdpW,
  kIdleW,
  kLoad100W = kIdleW + kPowerCurvePoints - 1,
  kMemoryGb,
  kMemBwGbs,
  kLlcMb,
  kPrice,
  kPriceSource,
  kPowerSource,
  kColumnCount
};
static_assert(kColumnCount == kSkuColumns.size());

void replace_all(std::string& s, std::string_view what, std::string_view with) {
  for (size_t at = s.find(what); at != std::string::npos; at = s.find(what, at + with.size()))
    s.replace(at, what.size(), with);
}

bool is_digit(char c) {
  return c >= '0' && c <= '9';
}
bool is_space(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

// Blanks every "(…)" (an unclosed one runs to the end).
void blank_parentheses(std::string& s) {
  for (size_t open = s.find('('); open != std::string::npos; open = s.find('(', open)) {
    size_t close = s.find(')', open);
    size_t end = close == std::string::npos ? s.size() : close + 1;
    s.replace(open, end - open, " ");
  }
}

// Blanks clock figures: digits, an optional decimal part, optional spaces, then "ghz" or "mhz".
void blank_clocks(std::string& s) {
  size_t i = 0;
  while (i < s.size()) {
    if (!is_digit(s[i])) {
      ++i;
      continue;
    }
    size_t integer_end = i;
    while (integer_end < s.size() && is_digit(s[integer_end])) ++integer_end;
    size_t j = integer_end;
    if (j + 1 < s.size() && s[j] == '.' && is_digit(s[j + 1])) {
      ++j;
      while (j < s.size() && is_digit(s[j])) ++j;
    }
    size_t k = j;
    while (k < s.size() && is_space(s[k])) ++k;
    std::string_view unit = std::string_view(s).substr(k, 3);
    if (unit == "ghz" || unit == "mhz") {
      s.replace(i, k + 3 - i, " ");
      ++i;
    } else {
      i = integer_end;
    }
  }
}

bool dropped_word(std::string_view w) {
  static constexpr std::string_view kDropped[] = {"intel",     "amd", "xeon", "cpu",
                                                  "processor", "ghz", "mhz"};
  return std::find(std::begin(kDropped), std::end(kDropped), w) != std::end(kDropped) ||
         w.ends_with("-core");
}

void check_ghz(const CatalogRow& row, size_t column, const std::optional<double>& ghz) {
  if (ghz && !(*ghz > 0 && *ghz < 10))
    row.fail(fmt::format("expected {} in GHz between 0 and 10 (exclusive), found {}",
                         row.name(column), row.raw(column)));
}

void check_positive(const CatalogRow& row, size_t column, const std::optional<double>& value,
                    std::string_view unit) {
  if (value && !(*value > 0))
    row.fail(fmt::format("expected {} to be positive {}, found {}", row.name(column), unit,
                         row.raw(column)));
}

Sku read_sku(const CatalogRow& row) {
  Sku s;
  s.id = row.text(kId);
  s.vendor = row.text(kVendor);
  s.cpu_model = row.text(kCpuModel);
  s.sockets = row.optional_whole_number(kSockets);
  if (s.sockets && *s.sockets < 1)
    row.fail(fmt::format("expected sockets to be 1 or more, found {}", *s.sockets));
  s.cores = row.whole_number(kCores);
  if (s.cores < 1) row.fail(fmt::format("expected cores to be 1 or more, found {}", s.cores));
  s.threads = row.whole_number(kThreads);
  if (s.threads < s.cores)
    row.fail(fmt::format("expected threads ({}) to be at least cores ({})", s.threads, s.cores));
  s.base_ghz = row.optional_number(kBaseGhz);
  check_ghz(row, kBaseGhz, s.base_ghz);
  s.turbo_ghz = row.optional_number(kTurboGhz);
  check_ghz(row, kTurboGhz, s.turbo_ghz);
  s.tdp_w = row.optional_number(kTdpW);
  check_positive(row, kTdpW, s.tdp_w, "watts");
  s.memory_gb = row.optional_number(kMemoryGb);
  check_positive(row, kMemoryGb, s.memory_gb, "GB");
  bool no_curve = true;
  for (size_t i = 0; i < kPowerCurvePoints; ++i) no_curve = no_curve && row.raw(kIdleW + i).empty();
  if (no_curve && !(s.sockets && *s.sockets <= s.cores && s.memory_gb))
    row.fail(
        "expected a power curve (idle_w to load100_w) or, without one, sockets (at most cores) "
        "and memory_gb for the sku-curve model to estimate it from");
  for (size_t i = 0; i < kPowerCurvePoints && !no_curve; ++i) {
    s.watts[i] = row.number(kIdleW + i);
    check_positive(row, kIdleW + i, s.watts[i], "watts");
    if (i > 0 && s.watts[i] < s.watts[i - 1])
      row.fail(fmt::format("{} {} is below {} {}: the power curve must not decrease",
                           row.name(kIdleW + i), row.raw(kIdleW + i), row.name(kIdleW + i - 1),
                           row.raw(kIdleW + i - 1)));
  }
  s.mem_bw_gbs = row.optional_number(kMemBwGbs);
  check_positive(row, kMemBwGbs, s.mem_bw_gbs, "GB/s");
  s.llc_mb = row.optional_number(kLlcMb);
  check_positive(row, kLlcMb, s.llc_mb, "MB");
  s.price_per_hour_usd = row.optional_number(kPrice);
  if (s.price_per_hour_usd && !(*s.price_per_hour_usd >= 0))
    row.fail(fmt::format("expected price_per_hour_usd to be 0 or more, found {}", row.raw(kPrice)));
  s.price_source = row.raw(kPriceSource);
  if (s.price_per_hour_usd && s.price_source.empty())
    row.fail(fmt::format("expected a price_source for the price {}", row.raw(kPrice)));
  s.power_source = row.text(kPowerSource);
  return s;
}

// Whether `candidate` is a better answer to match_cpu_model than `current` (both share a key).
bool better_match(const Sku& candidate, const Sku& current) {
  if (candidate.sockets.has_value() != current.sockets.has_value())
    return candidate.sockets.has_value();
  if (candidate.sockets) return false;  // whole servers: the first in file order
  return candidate.threads > current.threads;
}

}  // namespace

std::string cpu_model_key(std::string_view cpu_model) {
  std::string s(cpu_model);
  for (char& c : s)
    if (c >= 'A' && c <= 'Z') c = char(c - 'A' + 'a');
  for (std::string_view mark : {"(r)", "(tm)", "\xC2\xAE", "\xE2\x84\xA2"})
    replace_all(s, mark, " ");
  if (size_t at = s.find('@'); at != std::string::npos) s.resize(at);
  blank_parentheses(s);
  blank_clocks(s);
  std::string key;
  size_t i = 0;
  while (i < s.size()) {
    while (i < s.size() && (is_space(s[i]) || s[i] == ',')) ++i;
    size_t end = i;
    while (end < s.size() && !is_space(s[end]) && s[end] != ',') ++end;
    std::string_view word = std::string_view(s).substr(i, end - i);
    if (!word.empty() && !dropped_word(word)) key += word;
    i = end;
  }
  return std::any_of(key.begin(), key.end(), is_digit) ? key : std::string();
}

SkuCatalog SkuCatalog::load(const std::filesystem::path& file) {
  return parse(read_catalog_file(file), file.string());
}

SkuCatalog SkuCatalog::parse(std::string_view text, const std::string& origin) {
  SkuCatalog catalog;
  catalog.origin_ = origin;
  CatalogTable table(origin, kSkuColumns);
  std::vector<size_t> line_of;  // each SKU's line, for the duplicate's message
  catalog.by_id_.reserve(1024);
  table.parse(text, [&](const CatalogRow& row) {
    Sku sku = read_sku(row);
    auto [at, inserted] = catalog.by_id_.emplace(sku.id, catalog.skus_.size());
    if (!inserted)
      row.fail(fmt::format("duplicate id '{}' (first on line {})", sku.id, line_of[at->second]));
    line_of.push_back(row.line());
    catalog.skus_.push_back(std::move(sku));
  });
  if (catalog.skus_.empty()) table.fail(1, "expected at least one SKU row after the header");
  for (Sku& sku : catalog.skus_) sku.cpu_key = cpu_model_key(sku.cpu_model);
  catalog.index_cpu_keys();
  return catalog;
}

SkuCatalog SkuCatalog::from_checked(std::vector<Sku> skus, std::string origin) {
  SkuCatalog catalog;
  catalog.origin_ = std::move(origin);
  catalog.skus_ = std::move(skus);
  catalog.by_id_.reserve(catalog.skus_.size());
  for (size_t i = 0; i < catalog.skus_.size(); ++i) catalog.by_id_.emplace(catalog.skus_[i].id, i);
  catalog.index_cpu_keys();
  return catalog;
}

void SkuCatalog::index_cpu_keys() {
  for (size_t i = 0; i < skus_.size(); ++i) {
    const Sku& sku = skus_[i];
    if (sku.cpu_key.empty()) continue;
    auto [at, inserted] = by_cpu_key_.emplace(sku.cpu_key, i);
    if (!inserted && better_match(skus_[i], skus_[at->second])) at->second = i;
  }
}

const Sku* SkuCatalog::find(std::string_view id) const {
  auto it = by_id_.find(id);
  return it == by_id_.end() ? nullptr : &skus_[it->second];
}

const Sku* SkuCatalog::match_cpu_model(std::string_view cpu_model_string) const {
  std::string key = cpu_model_key(cpu_model_string);
  if (key.empty()) return nullptr;
  auto it = by_cpu_key_.find(key);
  return it == by_cpu_key_.end() ? nullptr : &skus_[it->second];
}

}  // namespace pmc
