#include "events/perfstat/reported_agreement.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <optional>
#include <set>
#include <string_view>

#include <fmt/format.h>

#include "events/metrics/derived_metrics.h"
#include "events/metrics/expr.h"
#include "events/perfstat/import_perfstat_common.h"

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

bool beyond_rounding(const Metric& ours, const Metric& perf,
                     const InputRounding* rounding = nullptr) {
  if (perf.decimals) {
    // The precision perf printed this value with, read with it: old -M printed top-down as a
    // fraction with one decimal ("0.1 Retiring" is anything from 0.05 to 0.15).
    double half_digit = 0.5 * std::pow(10.0, -*perf.decimals);
    double tolerance = std::max(half_digit, 0.01 * std::abs(perf.value));
    if (rounding != nullptr) {
      auto it = rounding->find(ours.name);
      double inputs = it == rounding->end() ? 0 : it->second;
      tolerance = half_digit * (1 + 1e-9) + inputs;
    }
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

// Half a unit of the last digit of `value` as perf printed it, at most `max_decimals` decimals:
// the fewest decimals that give the value (a count is printed as an integer, a clock in msec with
// two decimals in text and -x, six in -j).
double printed_half_unit(double value, int max_decimals) {
  double unit = 1;
  for (int d = 0; d < max_decimals; ++d, unit /= 10) {
    double scaled = value / unit;
    if (std::abs(scaled - std::round(scaled)) <= 1e-6 * std::max(1.0, std::abs(scaled)))
      return unit / 2;
  }
  return unit / 2;
}

}  // namespace

namespace {

// The selected metrics perf printed with their decimals shown: only those are compared with it.
std::vector<size_t> printed_with_decimals(const std::vector<Metric>& reported, const MetricSet& set,
                                          const std::vector<size_t>& selected) {
  std::vector<size_t> compared;
  for (size_t j : selected) {
    const auto& name = set.metrics()[j].name;
    bool printed = std::any_of(reported.begin(), reported.end(), [&](const Metric& r) {
      auto slash = r.name.rfind('/');
      std::string_view base = slash == std::string::npos
                                  ? std::string_view(r.name)
                                  : std::string_view(r.name).substr(slash + 1);
      return r.decimals && base == name;
    });
    if (printed) compared.push_back(j);
  }
  return compared;
}

// input_rounding's work for one set of compared metrics, on the run's counts or an interval's:
// the evaluators are kept, so that intervals of the same layout reuse their plans.
class RoundingEvaluator {
 public:
  RoundingEvaluator(const MetricSet& set, std::vector<size_t> compared, const Literals& literals)
      : compared_(std::move(compared)),
        evaluator_(set, compared_, literals),
        groups_(set, compared_, literals) {
    for (const auto& events : set.events_by_selected(compared_, literals))
      for (const auto& e : events) read_keys_.insert(canonical_event_name(e));
  }
  const std::vector<size_t>& compared() const { return compared_; }

  InputRounding of(const std::vector<EventCount>& counts, double duration_s, bool has_duration,
                   const std::vector<Metric>& reported) {
    InputRounding out;
    auto base = evaluate(counts, duration_s, reported);
    auto add = [&](const std::vector<Metric>& shifted) {
      for (size_t k = 0; k < shifted.size() && k < base.size(); ++k)
        if (shifted[k].name == base[k].name && std::isfinite(shifted[k].value) &&
            std::isfinite(base[k].value))
          out[base[k].name] += std::abs(shifted[k].value - base[k].value) / 2;
    };
    // The layout stays that of the counts, so each evaluation only updates their values.
    std::vector<EventCount> events = counts;
    const auto& kinds = kinds_of(events);
    // The inputs that the compared metrics do not name, and the elapsed time, are moved all at
    // once first, each by its own multiple of its half unit (so that two effects do not cancel):
    // only when that moves a metric is each of them moved on its own. A long recording's
    // intervals cost an evaluation per input they read, not per input they hold (042.csv: 4 of
    // 16 counts, and no time).
    double duration_half = has_duration && duration_s > 0 ? printed_half_unit(duration_s, 9) : 0;
    bool others_matter = moved_by_others(events, kinds, duration_s, duration_half, reported, base);
    for (size_t i = 0; i < events.size(); ++i) {
      if (kinds[i] == Kind::skipped || (kinds[i] == Kind::other && !others_matter)) continue;
      double value = events[i].value;
      double half = printed_half_unit(value, 6);
      for (double sign : {-1.0, 1.0}) {
        events[i].value = value + sign * half;
        add(evaluate(events, duration_s, reported));
      }
      events[i].value = value;
    }
    if (duration_half > 0 && others_matter)
      for (double sign : {-1.0, 1.0})
        add(evaluate(events, duration_s + sign * duration_half, reported));
    return out;
  }

 private:
  // A count the compared metrics name, one they do not, or one not moved: not counted, or a row
  // of one CPU, core or socket ("CPU3/cycles", "S0-D0-C1/cycles"), since the run's metrics are
  // of the totals, which the recording holds beside them.
  enum class Kind : char { read, other, skipped };

  // Per count of `events`, kept while the names and statuses stay those of the last call.
  const std::vector<Kind>& kinds_of(const std::vector<EventCount>& events) {
    bool same = layout_.size() == events.size();
    for (size_t i = 0; same && i < events.size(); ++i)
      same = layout_[i].first == events[i].name && layout_[i].second == events[i].counted();
    if (same) return kinds_;
    layout_.clear();
    kinds_.clear();
    for (const auto& e : events) {
      layout_.emplace_back(e.name, e.counted());
      auto slash = e.name.find('/');
      if (!e.counted() || (slash != std::string::npos &&
                           perfstat::is_aggregate_id(std::string_view(e.name).substr(0, slash)))) {
        kinds_.push_back(Kind::skipped);
        continue;
      }
      kinds_.push_back(names_read(e.name) ? Kind::read : Kind::other);
    }
    return kinds_;
  }

  // Whether the compared metrics name `name`, as it stands or as a PMU's "cpu_core/cycles/".
  bool names_read(std::string_view name) const {
    if (read_keys_.count(canonical_event_name(name)) != 0) return true;
    auto slash = name.find('/');
    if (slash == std::string_view::npos) return false;
    std::string_view inner = name.substr(slash + 1);
    if (inner.ends_with('/')) inner.remove_suffix(1);
    return read_keys_.count(canonical_event_name(inner)) != 0;
  }

  bool moved_by_others(std::vector<EventCount>& events, const std::vector<Kind>& kinds,
                       double duration_s, double duration_half, const std::vector<Metric>& reported,
                       const std::vector<Metric>& base) {
    std::vector<size_t> others;
    for (size_t i = 0; i < events.size(); ++i)
      if (kinds[i] == Kind::other) others.push_back(i);
    if (others.empty() && duration_half == 0) return false;
    std::vector<double> values;
    for (size_t i : others) values.push_back(events[i].value);
    bool moved = false;
    for (double sign : {-1.0, 1.0}) {
      for (size_t k = 0; k < others.size(); ++k) {
        double multiple = 1 + 0.6180339887 * double(k + 1);
        events[others[k]].value = values[k] + sign * multiple * printed_half_unit(values[k], 6);
      }
      auto shifted = evaluate(events, duration_s + sign * duration_half, reported);
      for (size_t k = 0; k < shifted.size() && k < base.size() && !moved; ++k) {
        double a = shifted[k].value, b = base[k].value;
        moved = std::isfinite(a) != std::isfinite(b) || (std::isfinite(a) && a != b);
      }
    }
    for (size_t k = 0; k < others.size(); ++k) events[others[k]].value = values[k];
    return moved;
  }

  std::vector<Metric> evaluate(const std::vector<EventCount>& events, double duration_s,
                               const std::vector<Metric>& reported) {
    auto metrics =
        evaluator_.evaluate(events, duration_s, IntervalMetricEvaluator::Notes::left_out).metrics;
    groups_.evaluate(events, duration_s, reported, metrics, false);
    return metrics;
  }

  std::vector<size_t> compared_;
  IntervalMetricEvaluator evaluator_;
  PrintedGroupEvaluator groups_;
  std::set<std::string, std::less<>> read_keys_;      // canonical names the compared metrics read
  std::vector<std::pair<std::string, bool>> layout_;  // names and counted() kinds_ is for
  std::vector<Kind> kinds_;
};

}  // namespace

InputRounding input_rounding(const Measurement& m, const MetricSet& set,
                             const std::vector<size_t>& selected, const Literals& literals) {
  auto compared = printed_with_decimals(m.reported, set, selected);
  if (compared.empty()) return {};
  return RoundingEvaluator(set, std::move(compared), literals)
      .of(m.events, m.duration_s, m.has_duration, m.reported);
}

std::vector<std::string> reported_disagreements(const Measurement& m,
                                                const InputRounding* rounding) {
  std::vector<std::string> notes;
  for (const auto& perf : m.reported) {
    auto ours = std::find_if(m.metrics.begin(), m.metrics.end(),
                             [&](const Metric& x) { return x.name == perf.name; });
    if (ours == m.metrics.end() || !std::isfinite(ours->value) || !std::isfinite(perf.value) ||
        !beyond_rounding(*ours, perf, rounding))
      continue;
    notes.push_back(
        fmt::format("{}: perf printed {}, pmcmodel derives {} from the counts: {}; "
                    "perf's value is kept in reported[]",
                    perf.name, printed_text(perf.value, perf.unit, shown_decimals(perf)),
                    printed_text(ours->value, ours->unit, 2), reason_for(m, perf)));
  }
  return notes;
}

namespace {

// Why an interval's value differs, where the recording shows it; the run's -r reason does not
// apply (perf refuses -r with -I) and its hybrid mix is checked on the run's counts only.
std::string interval_reason(const Metric& perf) {
  if (auto pmu = hybrid_pmu_of(perf.name); !pmu.empty())
    return fmt::format(
        "pmcmodel takes every input from {} (some perf 6.4-dev builds mixed hybrid PMUs)", pmu);
  return "perf's formula or inputs are not pmcmodel's (the metric file's formula, or events the "
         "recording lacks)";
}

// A difference of two values of `unit`: percentage points for ratios.
std::string difference_text(double difference, const std::string& unit) {
  if (unit == "ratio") return fmt::format("{:.2f} points", difference * 100);
  return unit.empty() ? fmt::format("{:.4g}", difference)
                      : fmt::format("{:.4g} {}", difference, unit);
}

}  // namespace

struct IntervalAgreement::Rounding {
  RoundingEvaluator evaluator;
  // The first interval whose inputs' rounding was worked out, for the layout it had: its counts
  // and that rounding, which bound a later interval's (estimated()).
  std::vector<std::string> names;
  std::vector<double> counts;
  InputRounding rounding;

  // A bound on the inputs' rounding of `iv` from the reference's: each metric's, times four and
  // times the most any count of `iv` is smaller than the reference's (first order, a count's
  // half unit moves a ratio of counts by about the ratio over that count). nullopt without a
  // reference of the same layout.
  std::optional<InputRounding> estimated(const Interval& iv) const {
    if (names.empty() || names.size() != iv.events.size()) return std::nullopt;
    double shrink = 1;
    for (size_t i = 0; i < names.size(); ++i) {
      const auto& e = iv.events[i];
      if (e.name != names[i]) return std::nullopt;
      if (!e.counted() || !(counts[i] > 0)) continue;
      if (!(std::abs(e.value) > 0)) return std::nullopt;
      shrink = std::max(shrink, counts[i] / std::abs(e.value));
    }
    if (!std::isfinite(shrink)) return std::nullopt;
    InputRounding out = rounding;
    for (auto& [name, value] : out) value *= 4 * shrink;
    return out;
  }
};

IntervalAgreement::IntervalAgreement(const MetricSet* set, std::vector<size_t> selected,
                                     Literals literals)
    : set_(set), selected_(std::move(selected)), literals_(std::move(literals)) {}
IntervalAgreement::~IntervalAgreement() = default;
IntervalAgreement::IntervalAgreement(IntervalAgreement&&) noexcept = default;
IntervalAgreement& IntervalAgreement::operator=(IntervalAgreement&&) noexcept = default;

void IntervalAgreement::add(const Interval& iv, const std::vector<Metric>& ours) {
  // The inputs' rounding only widens the half digit perf printed, so it is worked out (an
  // evaluation per input the metrics read) only for an interval with a value beyond that, and
  // only where a bound from an earlier interval's does not already put the value beyond it: a
  // long recording whose intervals all disagree by far costs the evaluations of one.
  const InputRounding none;
  std::optional<InputRounding> rounding;
  std::optional<std::optional<InputRounding>> bound;
  auto inputs_rounding = [&]() -> const InputRounding& {
    if (rounding) return *rounding;
    auto compared = printed_with_decimals(iv.reported, *set_, selected_);
    if (compared.empty()) return rounding.emplace();
    if (!rounding_ || rounding_->evaluator.compared() != compared)
      rounding_ = std::make_unique<Rounding>(
          Rounding{RoundingEvaluator(*set_, compared, literals_), {}, {}, {}});
    rounding.emplace(rounding_->evaluator.of(iv.events, metric_seconds(iv), true, iv.reported));
    if (rounding_->names.empty()) {
      for (const auto& e : iv.events) {
        rounding_->names.push_back(e.name);
        rounding_->counts.push_back(e.counted() ? e.value : 0);
      }
      rounding_->rounding = *rounding;
    }
    return *rounding;
  };
  auto beyond_inputs = [&](const Metric& mine, const Metric& perf) {
    if (!rounding) {
      if (!bound) {
        auto compared = printed_with_decimals(iv.reported, *set_, selected_);
        bound.emplace(rounding_ && rounding_->evaluator.compared() == compared
                          ? rounding_->estimated(iv)
                          : std::nullopt);
      }
      if (*bound && beyond_rounding(mine, perf, &**bound)) return true;
    }
    return beyond_rounding(mine, perf, &inputs_rounding());
  };
  for (const auto& perf : iv.reported) {
    auto mine = std::find_if(ours.begin(), ours.end(),
                             [&](const Metric& x) { return x.name == perf.name; });
    if (mine == ours.end() || !std::isfinite(mine->value) || !std::isfinite(perf.value)) continue;
    Tally& tally = tallies_[perf.name];
    ++tally.compared;
    bool beyond = set_ == nullptr
                      ? beyond_rounding(*mine, perf)
                      : beyond_rounding(*mine, perf, &none) && beyond_inputs(*mine, perf);
    if (!beyond) continue;
    ++tally.disagreeing;
    double difference = std::abs(mine->value - perf.value);
    if (difference > tally.largest || (difference == tally.largest && iv.time_s < tally.time_s)) {
      tally.largest = difference;
      tally.time_s = iv.time_s;
      tally.perf = perf;
      tally.ours = mine->value;
    }
  }
}

void IntervalAgreement::merge(const IntervalAgreement& other) {
  for (const auto& [name, theirs] : other.tallies_) {
    Tally& tally = tallies_[name];
    tally.compared += theirs.compared;
    tally.disagreeing += theirs.disagreeing;
    if (theirs.largest > tally.largest ||
        (theirs.largest == tally.largest && theirs.time_s < tally.time_s)) {
      tally.largest = theirs.largest;
      tally.time_s = theirs.time_s;
      tally.perf = theirs.perf;
      tally.ours = theirs.ours;
    }
  }
}

std::vector<std::string> IntervalAgreement::notes() const {
  std::vector<std::string> out;
  for (const auto& [name, tally] : tallies_) {
    if (tally.disagreeing == 0) continue;
    const Metric& perf = tally.perf;
    out.push_back(fmt::format(
        "{}: in {} of {} intervals perf printed a value that differs from pmcmodel's, derived "
        "from the interval's counts, by more than perf's rounding; the largest difference is {} "
        "at {} s (perf printed {}, pmcmodel derives {}): {}; perf's values are kept in "
        "intervals[].reported[]",
        name, tally.disagreeing, tally.compared, difference_text(tally.largest, perf.unit),
        tally.time_s, printed_text(perf.value, perf.unit, shown_decimals(perf)),
        printed_text(tally.ours, perf.unit, 2), interval_reason(perf)));
  }
  return out;
}

void note_disagreements(Measurement& m, const MetricSet* set,
                        const std::vector<std::string>& selection, const Literals& literals) {
  std::vector<size_t> selected;
  if (set != nullptr && !selection.empty()) selected = set->select(selection);
  std::optional<InputRounding> rounding;
  if (set != nullptr) rounding = input_rounding(m, *set, selected, literals);
  auto notes = reported_disagreements(m, rounding ? &*rounding : nullptr);
  m.notes.insert(m.notes.end(), notes.begin(), notes.end());
  IntervalAgreement intervals(set, std::move(selected), literals);
  for (const auto& iv : m.intervals)
    if (!iv.reported.empty()) intervals.add(iv, iv.metrics);
  notes = intervals.notes();
  m.notes.insert(m.notes.end(), notes.begin(), notes.end());
}

}  // namespace pmc
