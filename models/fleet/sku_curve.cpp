#include "models/fleet/sku_curve.h"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <tuple>

#include "events/text/catalog_csv.h"
#include "events/text/text.h"

namespace pmc {
namespace {

constexpr std::array<std::string_view, 9> kFactsColumns = {"cpu_key",     "cpu_name", "tdp_w",
                                                           "cores",       "base_ghz", "turbo_ghz",
                                                           "launch_year", "source",   "l3_mb"};

const SkuCurveModel::Level& checked_level(const SkuCurveModel::Level& l, size_t features,
                                          const std::string& origin) {
  if (l.coefficients.size() != features)
    throw std::runtime_error(fmt::format("{}: expected {} coefficients per level, found {}", origin,
                                         features, l.coefficients.size()));
  return l;
}

std::array<SkuCurveModel::Level, kPowerCurvePoints> read_levels(const nlohmann::json& j,
                                                                size_t features,
                                                                const std::string& origin) {
  if (!j.is_array() || j.size() != kPowerCurvePoints)
    throw std::runtime_error(fmt::format("{}: expected 'levels' to be an array of {} levels",
                                         origin, kPowerCurvePoints));
  std::array<SkuCurveModel::Level, kPowerCurvePoints> out;
  for (size_t i = 0; i < kPowerCurvePoints; ++i) {
    out[i].intercept = j[i].at("intercept").get<double>();
    out[i].coefficients = j[i].at("coefficients").get<std::vector<double>>();
    checked_level(out[i], features, origin);
  }
  return out;
}

std::array<double, kPowerCurvePoints> read_points(const nlohmann::json& j, const char* name,
                                                  const std::string& origin) {
  auto v = j.at(name).get<std::vector<double>>();
  if (v.size() != kPowerCurvePoints)
    throw std::runtime_error(
        fmt::format("{}: expected '{}' to hold {} values", origin, name, kPowerCurvePoints));
  std::array<double, kPowerCurvePoints> out{};
  std::copy(v.begin(), v.end(), out.begin());
  return out;
}

// nullopt when the CPU fact the feature needs is unknown (the estimate then falls back to the
// cores method).
std::optional<double> feature_value(const std::string& name, const ServerSpecs& s,
                                    const CpuFacts* cpu) {
  if (name == "ln_memory_gb") return std::log(s.memory_gb);
  if (name == "ln_cores") return std::log(double(s.cores));
  if (name == "ln_chips") return std::log(double(s.chips));
  if (name == "ln_total_tdp_w" || name == "ln_base_ghz") {
    if (cpu == nullptr) return std::nullopt;
    if (name == "ln_total_tdp_w") return std::log(s.chips * cpu->tdp_w);
    if (cpu->base_ghz && *cpu->base_ghz > 0) return std::log(*cpu->base_ghz);
    return std::nullopt;
  }
  throw std::invalid_argument("unknown sku-curve feature '" + name + "'");
}

// The feature values of `m` for a server, or nullopt when one of them is unknown.
std::optional<std::vector<double>> feature_values(const SkuCurveModel::Method& m,
                                                  const ServerSpecs& s, const CpuFacts* cpu) {
  std::vector<double> x;
  for (const auto& f : m.features) {
    auto v = feature_value(f, s, cpu);
    if (!v) return std::nullopt;
    x.push_back(*v);
  }
  return x;
}

std::vector<std::string> missing_features(const SkuCurveModel::Method& m, const ServerSpecs& s,
                                          const CpuFacts* cpu) {
  std::vector<std::string> out;
  for (const auto& f : m.features)
    if (!feature_value(f, s, cpu)) out.push_back(f);
  return out;
}

// The text before a comma, without [...] remarks: "AMD EPYC 7601 2.20 GHz, Dell SKU [338-BNCG]"
// (SPECpower_ssj2008, 2019) is an EPYC 7601.
std::string without_remarks(std::string_view cpu_name) {
  std::string out;
  int depth = 0;
  for (char c : cpu_name) {
    if (c == '[') ++depth;
    if (depth == 0 && c == ',') break;
    if (depth == 0) out += c;
    if (c == ']' && depth > 0) --depth;
  }
  return out;
}

std::optional<double> parse_number(std::string_view text) {
  text = trim(text);
  if (text.empty()) return std::nullopt;
  double v = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc() || end != text.data() + text.size() || !std::isfinite(v))
    return std::nullopt;
  return v;
}

}  // namespace

const std::array<std::string_view, 7> kSpecsColumns = {
    "CPU Description",    "Chips",         "# Cores",          "# Cores Per Chip",
    "# Threads Per Core", "Processor MHz", "Total Memory (GB)"};

CpuFactsTable CpuFactsTable::load(const std::filesystem::path& file) {
  return parse(read_catalog_file(file), file.string());
}

CpuFactsTable CpuFactsTable::parse(std::string_view text, const std::string& origin) {
  CpuFactsTable table;
  CatalogTable csv(origin, kFactsColumns);
  csv.parse(text, [&](const CatalogRow& row) {
    CpuFacts f;
    f.key = std::string(row.text(0));
    f.name = std::string(row.text(1));
    f.tdp_w = row.number(2);
    if (!(f.tdp_w > 0)) row.fail("expected a positive TDP in column 'tdp_w'");
    f.cores = row.optional_whole_number(3);
    f.base_ghz = row.optional_number(4);
    f.turbo_ghz = row.optional_number(5);
    f.launch_year = row.optional_whole_number(6);
    f.source = std::string(row.text(7));
    f.l3_mb = row.optional_number(8);
    if (f.l3_mb && !(*f.l3_mb > 0)) row.fail("expected a positive L3 size in column 'l3_mb'");
    if (!table.by_key_.emplace(f.key, table.facts_.size()).second)
      row.fail(fmt::format("duplicate cpu_key '{}'", f.key));
    table.facts_.push_back(std::move(f));
  });
  return table;
}

CpuFactsTable CpuFactsTable::from_checked(std::vector<CpuFacts> facts) {
  CpuFactsTable table;
  table.facts_ = std::move(facts);
  table.by_key_.reserve(table.facts_.size());
  for (size_t i = 0; i < table.facts_.size(); ++i) table.by_key_.emplace(table.facts_[i].key, i);
  return table;
}

const CpuFacts* CpuFactsTable::find(std::string_view cpu_name) const {
  auto at = [&](const std::string& key) -> const CpuFacts* {
    if (key.empty()) return nullptr;
    auto it = by_key_.find(key);
    return it == by_key_.end() ? nullptr : &facts_[it->second];
  };
  std::string key = cpu_model_key(cpu_name);
  if (const CpuFacts* f = at(key)) return f;
  key = cpu_model_key(without_remarks(cpu_name));
  if (const CpuFacts* f = at(key)) return f;
  // A Xeon's M or L variant (8276M, 8276L) addresses more memory with the TDP and clocks of the
  // plain model; the tables lack some of them.
  size_t n = key.size();
  if (n >= 2 && (key[n - 1] == 'm' || key[n - 1] == 'l') &&
      std::isdigit(static_cast<unsigned char>(key[n - 2])))
    return at(key.substr(0, n - 1));
  return nullptr;
}

SkuCurveModel SkuCurveModel::load(const std::filesystem::path& file) {
  return parse(read_catalog_file(file), file.string());
}

SkuCurveModel SkuCurveModel::parse(std::string_view text, const std::string& origin) {
  SkuCurveModel model;
  try {
    auto j = nlohmann::json::parse(text);
    if (j.at("schema").get<std::string>() != "pmcmodel.sku_curve/1")
      throw std::runtime_error("expected schema 'pmcmodel.sku_curve/1'");
    model.trained_from_ = j.at("trained_on").at("published_from").get<std::string>();
    model.trained_to_ = j.at("trained_on").at("published_to").get<std::string>();
    for (const auto& m : j.at("methods")) {
      Method method;
      method.name = m.at("name").get<std::string>();
      method.features = m.at("features").get<std::vector<std::string>>();
      method.levels = read_levels(m.at("levels"), method.features.size(), origin);
      const auto& h = m.at("holdout");
      method.holdout.trained_before = h.at("trained_before").get<std::string>();
      method.holdout.train_rows = h.at("train_rows").get<size_t>();
      method.holdout.test_rows = h.at("test_rows").get<size_t>();
      method.holdout.levels = read_levels(h.at("levels"), method.features.size(), origin);
      method.holdout.mape_percent = read_points(h, "mape_percent", origin);
      method.holdout.log_residual_q05 = read_points(h, "log_residual_q05", origin);
      method.holdout.log_residual_q95 = read_points(h, "log_residual_q95", origin);
      model.methods_.push_back(std::move(method));
    }
  } catch (const nlohmann::json::exception& e) {
    throw std::runtime_error(
        fmt::format("{}: expected the sku-curve model ({})", origin, e.what()));
  } catch (const std::runtime_error& e) {
    std::string what = e.what();
    if (what.rfind(origin + ":", 0) == 0) throw;
    throw std::runtime_error(fmt::format("{}: {}", origin, what));
  }
  auto has = [&](std::string_view name) {
    return std::any_of(model.methods_.begin(), model.methods_.end(),
                       [&](const Method& m) { return m.name == name; });
  };
  if (!has("tdp") || !has("cores"))
    throw std::runtime_error(fmt::format("{}: expected the methods 'tdp' and 'cores'", origin));
  return model;
}

SkuCurveModel SkuCurveModel::holdout_model() const {
  SkuCurveModel out = *this;
  for (auto& m : out.methods_) m.levels = m.holdout.levels;
  return out;
}

double SkuCurveModel::Holdout::relative_half_width(size_t point) const {
  return (std::exp(log_residual_q95.at(point)) - std::exp(log_residual_q05.at(point))) / 2;
}

SkuCurveEstimate SkuCurveModel::estimate(const ServerSpecs& specs,
                                         const CpuFactsTable& cpus) const {
  if (specs.chips < 1) throw std::invalid_argument("expected at least one chip");
  if (specs.cores < specs.chips) throw std::invalid_argument("expected at least one core per chip");
  if (!(specs.memory_gb > 0)) throw std::invalid_argument("expected a positive memory size");
  const CpuFacts* cpu = cpus.find(specs.cpu);
  auto method = [&](std::string_view name) -> const Method& {
    auto it = std::find_if(methods_.begin(), methods_.end(),
                           [&](const Method& m) { return m.name == name; });
    if (it == methods_.end())
      throw std::invalid_argument("the model has no method " + std::string(name));
    return *it;
  };
  const Method* m = &method("tdp");
  auto x = cpu ? feature_values(*m, specs, cpu) : std::nullopt;
  if (!x) {
    m = &method("cores");
    x = feature_values(*m, specs, cpu);
    if (!x) throw std::invalid_argument("the cores method needs a CPU fact");
  }
  SkuCurveEstimate e;
  e.method_name = m->name;
  e.tdp_w = m->name == "tdp" ? cpu->tdp_w : 0;
  for (size_t i = 0; i < kPowerCurvePoints; ++i) {
    double log_w = m->levels[i].intercept;
    for (size_t k = 0; k < x->size(); ++k) log_w += m->levels[i].coefficients[k] * (*x)[k];
    e.watts[i] = std::exp(log_w);
    if (i > 0) e.watts[i] = std::max(e.watts[i], e.watts[i - 1]);  // a curve does not fall
  }
  const auto& h = m->holdout;
  e.idle_lower = e.watts[0] * std::exp(h.log_residual_q05[0]);
  e.idle_upper = e.watts[0] * std::exp(h.log_residual_q95[0]);
  e.watts_100_lower = e.watts.back() * std::exp(h.log_residual_q05.back());
  e.watts_100_upper = e.watts.back() * std::exp(h.log_residual_q95.back());
  for (size_t i = 0; i < kPowerCurvePoints; ++i)
    e.relative_half_width[i] = h.relative_half_width(i);
  if (m->name == "tdp")
    e.method =
        fmt::format("sku-curve:tdp ({} {:g} W per chip, {})", cpu->name, cpu->tdp_w, cpu->source);
  else if (cpu)
    e.method = fmt::format("sku-curve:cores ({} is in the CPU facts table without {})", cpu->name,
                           fmt::join(missing_features(method("tdp"), specs, cpu), ", "));
  else
    e.method = "sku-curve:cores (CPU not in the CPU facts table)";
  return e;
}

std::optional<ServerSpecs> server_specs(const Sku& sku) {
  if (!sku.sockets || *sku.sockets < 1 || !sku.memory_gb || !(*sku.memory_gb > 0))
    return std::nullopt;
  return ServerSpecs{sku.cpu_model, *sku.sockets, sku.cores, *sku.memory_gb};
}

SkuCatalog with_model_curves(const SkuCatalog& catalog, const SkuCurveModel& model,
                             const CpuFactsTable& cpus) {
  std::vector<Sku> skus = catalog.skus();
  for (Sku& s : skus) {
    if (s.has_curve()) continue;
    auto specs = server_specs(s);
    if (!specs)
      throw std::invalid_argument(s.id +
                                  ": no power curve, and no sockets or memory_gb to model one");
    try {
      SkuCurveEstimate e = model.estimate(*specs, cpus);
      s.watts = e.watts;
      s.modelled_uncertainty = e.relative_half_width;
      s.power_source = "sku-curve:model:" + (s.cpu_key.empty() ? s.id : s.cpu_key);
    } catch (const std::invalid_argument& e) {
      throw std::invalid_argument(s.id + ": " + e.what());
    }
  }
  return SkuCatalog::from_checked(std::move(skus), catalog.origin());
}

namespace {

// The end of the CSV record that starts at `pos`: its first newline outside quotes (RFC 4180: a
// quoted field may hold line breaks), or the end of the text, with `newlines` counting those
// within it.
size_t record_end(std::string_view text, size_t pos, size_t& newlines) {
  bool quoted = false;
  newlines = 0;
  for (size_t i = pos; i < text.size(); ++i) {
    if (text[i] == '"') quoted = !quoted;  // a doubled quote toggles twice
    if (text[i] == '\n') {
      if (!quoted) return i;
      ++newlines;
    }
  }
  return text.size();
}

// The ranges a row must fall in: 16 times beyond those of the SPECpower results the model was
// fitted on (data/skus.csv: 1 to 8 chips, 2 to 224 cores, 4 to 1536 GB), a log-linear model's
// figures mean nothing (1e300 GB gave 1.4e138 W), and a count past them would overflow the int
// the estimate takes.
constexpr double kMaxChips = 128, kMaxCores = 3584, kMaxThreadsPerCore = 16;
constexpr double kMinMemoryGb = 0.25, kMaxMemoryGb = 24576;

// Why a row's counts and sizes are out of range, or empty when they are in it.
std::string out_of_range(double chips, double cores, double per_chip, double threads,
                         double memory) {
  for (auto [name, value, max] :
       {std::tuple{"Chips", chips, kMaxChips}, std::tuple{"# Cores", cores, kMaxCores},
        std::tuple{"# Cores Per Chip", per_chip, kMaxCores},
        std::tuple{"# Threads Per Core", threads, kMaxThreadsPerCore}})
    if (value > max)
      return fmt::format("'{}' is {}: out of range (expected at most {})", name, value, max);
  if (memory < kMinMemoryGb || memory > kMaxMemoryGb)
    return fmt::format("'Total Memory (GB)' is {}: out of range (expected {} to {})", memory,
                       kMinMemoryGb, kMaxMemoryGb);
  return "";
}

}  // namespace

SpecsTable read_specs_csv(std::string_view text, const std::string& origin) {
  SpecsTable table;
  table.origin = origin;
  size_t pos = 0, line_no = 0;
  std::array<size_t, kSpecsColumns.size()> at{};
  size_t published = SIZE_MAX;
  bool header = false;
  while (pos < text.size()) {
    size_t inner_newlines = 0;
    size_t end = record_end(text, pos, inner_newlines);
    std::string_view line = text.substr(pos, end - pos);
    pos = end + 1;
    ++line_no;  // the record's first line, for its messages
    size_t first_line = line_no;
    line_no += inner_newlines;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (trim(line).empty()) continue;
    auto fields = split_csv_line(line);
    if (!fields)
      throw std::runtime_error(fmt::format("{}:{}: unterminated quote", origin, first_line));
    if (!header) {
      header = true;
      if (!fields->empty() && fields->front().rfind("\xEF\xBB\xBF", 0) == 0)
        fields->front().erase(0, 3);  // a byte order mark
      for (auto& f : *fields) f = std::string(trim(f));
      table.columns = *fields;
      for (size_t c = 0; c < kSpecsColumns.size(); ++c) {
        auto it = std::find(fields->begin(), fields->end(), kSpecsColumns[c]);
        if (it == fields->end())
          throw std::runtime_error(
              fmt::format("{}:{}: expected a column '{}' (SPEC's result table names: {})", origin,
                          first_line, kSpecsColumns[c], fmt::join(kSpecsColumns, ", ")));
        at[c] = size_t(it - fields->begin());
      }
      if (auto it = std::find(fields->begin(), fields->end(), "Published"); it != fields->end())
        published = size_t(it - fields->begin());
      continue;
    }
    if (fields->size() != table.columns.size())
      throw std::runtime_error(fmt::format("{}:{}: expected {} fields as in the header, found {}",
                                           origin, first_line, table.columns.size(),
                                           fields->size()));
    SpecsRow row;
    row.line = first_line;
    row.fields = *fields;
    auto number = [&](size_t c, std::string& reason) -> std::optional<double> {
      auto v = parse_number(row.fields[at[c]]);
      if (!v && reason.empty())
        reason =
            fmt::format("'{}' is '{}', expected a number", kSpecsColumns[c], row.fields[at[c]]);
      return v;
    };
    std::string reason;
    std::string cpu(trim(row.fields[at[0]]));
    if (cpu.empty()) reason = "'CPU Description' is empty";
    auto chips = number(1, reason), cores = number(2, reason), per_chip = number(3, reason),
         threads = number(4, reason), mhz = number(5, reason), memory = number(6, reason);
    auto whole = [](std::optional<double> v) { return v && *v >= 1 && *v == std::floor(*v); };
    if (reason.empty()) {
      if (!whole(chips) || !whole(cores) || !whole(per_chip) || !whole(threads))
        reason =
            "'Chips', '# Cores', '# Cores Per Chip' and '# Threads Per Core' must be whole "
            "numbers of at least 1";
      else if (*cores != *chips * *per_chip)
        reason = fmt::format("'# Cores' is {:g}, but 'Chips' × '# Cores Per Chip' is {:g}", *cores,
                             *chips * *per_chip);
      else if (!(*mhz > 0))
        reason = "'Processor MHz' must be positive";
      else if (!(*memory > 0))
        reason = "'Total Memory (GB)' must be positive";
      else
        reason = out_of_range(*chips, *cores, *per_chip, *threads, *memory);
    }
    (void)published;
    if (reason.empty())
      row.specs = ServerSpecs{cpu, int(*chips), int(*cores), *memory};
    else
      row.reason = reason;
    table.rows.push_back(std::move(row));
  }
  if (!header)
    throw std::runtime_error(
        fmt::format("{}:1: expected a header line, found an empty file", origin));
  return table;
}

}  // namespace pmc
