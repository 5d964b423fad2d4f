#include "events/metrics/metric_literals.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>

#include <fmt/format.h>

#include "events/metrics/metric_set.h"
#include "events/text/text.h"

namespace pmc {
namespace {

std::string literal_key(std::string_view name) {
  if (!name.empty() && name.front() == '#') name.remove_prefix(1);
  std::string out(name);
  for (auto& c : out) c = char(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

const char* source_name(LiteralSource source) {
  switch (source) {
    case LiteralSource::assumed:
      return "assumed";
    case LiteralSource::cpu_model:
      return "--cpu";
    case LiteralSource::recording:
      return "the recording";
    case LiteralSource::given:
      return "--literal";
  }
  return "";
}

}  // namespace

const std::vector<std::string>& perf_literal_names() {
  static const std::vector<std::string> names = {
      "smt_on",       "num_cpus",  "num_cpus_online", "num_cores",       "num_dies",
      "num_packages", "core_wide", "slots",           "system_tsc_freq", "has_pmem"};
  return names;
}

LiteralSetting parse_literal_setting(std::string_view text) {
  auto fail = [&](std::string_view why) {
    throw LiteralSettingError(fmt::format("--literal {}: {}", text, why));
  };
  auto eq = text.find('=');
  if (eq == std::string_view::npos) fail("expected NAME=VALUE, e.g. smt_on=1");
  LiteralSetting setting;
  setting.name = literal_key(trim(text.substr(0, eq)));
  const auto& names = perf_literal_names();
  bool runtime = setting.name == kRuntimeParamName;
  if (!runtime && std::find(names.begin(), names.end(), setting.name) == names.end())
    fail(fmt::format("unknown literal (perf's are #{}, and ? for the runtime parameter)",
                     join(names, ", #")));
  auto value = trim(text.substr(eq + 1));
  const char* end = value.data() + value.size();
  auto [ptr, ec] = std::from_chars(value.data(), end, setting.value);
  if (value.empty() || ec != std::errc() || ptr != end || !std::isfinite(setting.value))
    fail("expected a number after '='");
  if (runtime && !(setting.value >= 1 && setting.value <= kMaxRuntimeParam &&
                   setting.value == std::floor(setting.value)))
    fail(fmt::format("expected a whole number of runtime values from 1 to {}", kMaxRuntimeParam));
  return setting;
}

RuntimeParamCounts runtime_param_counts(const std::vector<LiteralSetting>& given) {
  RuntimeParamCounts counts;
  for (const auto& setting : given) {
    if (setting.name != kRuntimeParamName) continue;
    counts.per_chip = counts.per_core = int(setting.value);
    counts.source = fmt::format("--literal ?={}", counts.per_chip);
  }
  return counts;
}

void LiteralLayers::set(LiteralSource source, std::string_view name, double value,
                        std::string why) {
  std::string key = literal_key(name);
  for (auto& e : entries_) {
    if (e.name != key) continue;
    if (source >= e.source) e = Entry{key, value, source, std::move(why)};
    return;
  }
  entries_.push_back(Entry{key, value, source, std::move(why)});
}

std::optional<double> LiteralLayers::find(std::string_view name) const {
  std::string key = literal_key(name);
  for (const auto& e : entries_)
    if (e.name == key) return e.value;
  return std::nullopt;
}

Literals LiteralLayers::literals() const {
  Literals out;
  for (const auto& e : entries_) out.set(e.name, e.value);
  return out;
}

std::string LiteralLayers::describe() const {
  std::vector<std::string> parts;
  for (const auto& e : entries_)
    parts.push_back(fmt::format("#{} = {} ({}{}{})", e.name, e.value, source_name(e.source),
                                e.why.empty() ? "" : ": ", e.why));
  return join(parts, ", ");
}

bool reads_literal(const MetricSet& set, std::string_view name) {
  std::string key = literal_key(name);
  auto reads = [&](const Expr& e) {
    auto names = e.literals();
    return std::find(names.begin(), names.end(), key) != names.end();
  };
  return std::any_of(set.metrics().begin(), set.metrics().end(), [&](const MetricDef& def) {
    return reads(def.expr) || (def.threshold && reads(*def.threshold));
  });
}

std::optional<double> cpu_family_slots(std::string_view cpu_model) {
  std::string file = metric_file_for_name(cpu_model);
  // Skylake-family cores allocate 4 µops a cycle, Sunny/Willow/Cypress Cove 5, Golden and
  // Raptor Cove 6; Zen 4 dispatches 6, Zen 5 8 (perf's amdzen4/5 total_dispatch_slots).
  if (file == "skylake.json" || file == "skylakex.json" || file == "cascadelake.json") return 4;
  if (file == "icelake.json" || file == "icelakex.json" || file == "tigerlake.json" ||
      file == "rocketlake.json")
    return 5;
  if (file == "sapphirerapids.json" || file == "emeraldrapids.json" || file == "alderlake.json")
    return 6;
  if (file == "zen4.json") return 6;
  if (file == "zen5.json") return 8;
  // Neoverse: the slots of perf's top-down formulas (the PMU's caps/slots, PMMIR_EL1.SLOTS).
  // N2 5 (Linux v6.4 arm64/arm/neoverse-n2-v2/metrics.json corrects N2's STALL_SLOT counts
  // `if (#slots - 5)`); V1 8 (arm64/arm/neoverse-v1/metrics.json writes `CPU_CYCLES * 8` in
  // frontend_bound and bad_speculation); V2 8 (Arm's Neoverse V2 Telemetry Specification,
  // Total_SLOTS = CPU_CYCLES × 8: learn.arm.com learning path "topdown-compare"). SBSA's
  // formulas (neoverse.json) have no width of their own: it is the implementation's.
  if (file == "neoverse-n2.json") return 5;
  if (file == "neoverse-v1.json" || file == "neoverse-v2.json") return 8;
  return std::nullopt;
}

}  // namespace pmc
