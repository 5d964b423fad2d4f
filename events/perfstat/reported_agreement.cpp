#include "events/perfstat/reported_agreement.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <optional>
#include <string_view>

#include <fmt/format.h>

namespace pmc {
namespace {

constexpr std::array<std::string_view, 3> kHybridPmus = {"cpu_core", "cpu_atom", "cpu_lowpower"};

// "cpu_atom" of "cpu_atom/ipc"; empty for a metric of no hybrid PMU.
std::string_view hybrid_pmu_of(std::string_view metric) {
  for (auto pmu : kHybridPmus)
    if (metric.size() > pmu.size() && metric.starts_with(pmu) && metric[pmu.size()] == '/')
      return pmu;
  return {};
}

// A counted event "<pmu>/<name>/" (as perf prints hybrid events) or "<pmu>/<name>".
std::optional<double> hybrid_count(const Measurement& m, std::string_view pmu,
                                   std::string_view name) {
  auto slash = fmt::format("{}/{}/", pmu, name);
  for (const auto& e : m.events)
    if (e.counted() && (e.name == slash || e.name == slash.substr(0, slash.size() - 1)))
      return e.value;
  return std::nullopt;
}

// perf's ratios of two counts built into stat-shadow.c ("of all branches", "frontend cycles
// idle", "of all L1-dcache accesses"…), which it prints with two decimals of a percent
// ("%7.2f%%"). Every other percentage perf prints is a metric file's, with a ScaleUnit, printed
// with one decimal ("%8.1f", stat-shadow.c generic_metric): top-down and AMD's PipelineL1
// smt_contention alike ("0.0 %  smt_contention" is anything below 0.05 %).
constexpr std::array<std::string_view, 9> kTwoDecimalRatios = {
    "branch_miss_rate",    "cache_miss_rate", "frontend_stall_ratio",
    "backend_stall_ratio", "l1d_miss_ratio",  "l1i_miss_ratio",
    "llc_miss_ratio",      "dtlb_miss_ratio", "itlb_miss_ratio"};

// The decimals perf printed `perf` with, in its printed units (percent for ratios).
int printed_decimals(const Metric& perf) {
  if (perf.unit != "ratio") return 2;
  std::string_view base = perf.name;
  if (auto pmu = hybrid_pmu_of(base); !pmu.empty()) base.remove_prefix(pmu.size() + 1);
  if (auto slash = base.rfind('/'); slash != std::string_view::npos)
    base.remove_prefix(slash + 1);  // an aggregate's: "S0-D0-C0/tma_retiring"
  bool two = std::find(kTwoDecimalRatios.begin(), kTwoDecimalRatios.end(), base) !=
             kTwoDecimalRatios.end();
  return two ? 2 : 1;
}

// In perf's printed units: percent for ratios, with perf's decimals.
std::string printed_text(double value, const std::string& unit, int decimals) {
  return unit == "ratio" ? fmt::format("{:.{}f}%", value * 100, decimals)
                         : fmt::format("{:.4g}", value);
}

// The decimals of perf's value in percent (ratios): as printed where the recording showed them.
int shown_decimals(const Metric& perf) {
  if (!perf.decimals) return printed_decimals(perf);
  return std::max(*perf.decimals - (perf.unit == "ratio" ? 2 : 0), 0);
}

bool beyond_rounding(const Metric& ours, const Metric& perf) {
  if (perf.decimals) {
    // The precision perf printed this value with, read with it: old -M printed top-down as a
    // fraction with one decimal ("0.1 Retiring" is anything from 0.05 to 0.15).
    double half_digit = 0.5 * std::pow(10.0, -*perf.decimals);
    double tolerance = std::max(half_digit, 0.01 * std::abs(perf.value));
    return std::abs(ours.value - perf.value) > tolerance;
  }
  double scale = perf.unit == "ratio" ? 100 : 1;
  double half_digit = 0.5 * std::pow(10.0, -printed_decimals(perf));
  double tolerance = std::max(half_digit, 0.01 * std::abs(perf.value * scale));
  return std::abs(ours.value - perf.value) * scale > tolerance;
}

// perf's ratio metrics of two counts (stat-shadow.c), which a hybrid perf could take from two PMUs.
struct CountRatio {
  std::string_view metric, numerator, denominator;
};
constexpr std::array<CountRatio, 3> kCountRatios = {{
    {"ipc", "instructions", "cycles"},
    {"branch_miss_rate", "branch-misses", "branches"},
    {"cache_miss_rate", "cache-misses", "cache-references"},
}};

// "cpu_atom's instructions over cpu_core's cycles" when that mix of PMUs gives perf's value.
std::optional<std::string> mixed_pmus(const Measurement& m, std::string_view pmu,
                                      std::string_view base, const Metric& perf) {
  for (const auto& ratio : kCountRatios) {
    if (ratio.metric != base) continue;
    for (auto other : kHybridPmus) {
      if (other == pmu) continue;
      for (auto [top, bottom] : {std::pair{pmu, other}, std::pair{other, pmu}}) {
        auto n = hybrid_count(m, top, ratio.numerator);
        auto d = hybrid_count(m, bottom, ratio.denominator);
        if (!n || !d || *d <= 0) continue;
        if (!beyond_rounding(Metric{perf.name, *n / *d, perf.unit}, perf))
          return fmt::format("{}'s {} over {}'s {}", top, ratio.numerator, bottom,
                             ratio.denominator);
      }
    }
  }
  return std::nullopt;
}

std::string reason_for(const Measurement& m, const Metric& perf) {
  if (auto pmu = hybrid_pmu_of(perf.name); !pmu.empty()) {
    std::string_view base = std::string_view(perf.name).substr(pmu.size() + 1);
    if (auto mix = mixed_pmus(m, pmu, base, perf))
      return fmt::format(
          "perf's value is {} (some perf 6.4-dev builds mixed hybrid PMUs); pmcmodel takes "
          "every input from {}",
          *mix, pmu);
    return fmt::format(
        "pmcmodel takes every input from {} (some perf 6.4-dev builds mixed "
        "hybrid PMUs)",
        pmu);
  }
  if (m.runs > 1)
    return fmt::format(
        "with -r {}, perf before 6.2 printed each metric from the last run's counts beside the "
        "runs' mean counts; pmcmodel's is of the means",
        m.runs);
  return "the inputs perf used are not all in the recording";
}

}  // namespace

std::vector<std::string> reported_disagreements(const Measurement& m) {
  std::vector<std::string> notes;
  for (const auto& perf : m.reported) {
    auto ours = std::find_if(m.metrics.begin(), m.metrics.end(),
                             [&](const Metric& x) { return x.name == perf.name; });
    if (ours == m.metrics.end() || !std::isfinite(ours->value) || !std::isfinite(perf.value) ||
        !beyond_rounding(*ours, perf))
      continue;
    notes.push_back(
        fmt::format("{}: perf printed {}, pmcmodel derives {} from the counts: {}; "
                    "perf's value is kept in reported[]",
                    perf.name, printed_text(perf.value, perf.unit, shown_decimals(perf)),
                    printed_text(ours->value, ours->unit, 2), reason_for(m, perf)));
  }
  return notes;
}

void note_disagreements(Measurement& m) {
  auto notes = reported_disagreements(m);
  m.notes.insert(m.notes.end(), notes.begin(), notes.end());
}

}  // namespace pmc
