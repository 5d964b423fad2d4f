#include "events/perfstat/import_metrics.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <iterator>
#include <map>
#include <set>

#include <fmt/format.h>

#include "events/metrics/derived_metrics.h"
#include "events/perfstat/metric_cpu.h"
#include "events/text/ordered_parallel.h"
#include "events/text/text.h"

namespace pmc {

void derive_metrics_in_parallel(Measurement& m, const MetricSet& set,
                                const std::vector<std::string>& selection, unsigned threads,
                                const Literals& literals) {
  constexpr size_t kMinIntervalsPerShare = 1024;  // below that a share costs more than it saves
  constexpr size_t kSharesPerThread = 4;
  size_t shares = std::min<size_t>(size_t(threads) * kSharesPerThread,
                                   m.intervals.size() / kMinIntervalsPerShare);
  if (threads <= 1 || shares <= 1) {
    apply_metric_engine(m, set, selection, literals);
    return;
  }
  std::vector<Interval> intervals = std::move(m.intervals);
  m.intervals.clear();
  size_t share = intervals.size() / shares;
  OrderedParallel<Measurement> work(
      threads, shares,
      [&](size_t, Measurement& part, unsigned) {
        apply_metric_engine(part, set, selection, literals);
      },
      [&](size_t index, Measurement& part) {
        if (index == 0) m.metrics = std::move(part.metrics);
        m.intervals.insert(m.intervals.end(), std::make_move_iterator(part.intervals.begin()),
                           std::make_move_iterator(part.intervals.end()));
      });
  for (size_t p = 0; p < shares; ++p) {
    auto begin = intervals.begin() + std::ptrdiff_t(share * p);
    auto end = p + 1 == shares ? intervals.end() : begin + std::ptrdiff_t(share);
    work.submit([&](Measurement& part) {
      part.events = m.events;
      part.reported = m.reported;
      part.duration_s = m.duration_s;
      part.intervals.assign(std::make_move_iterator(begin), std::make_move_iterator(end));
    });
  }
  work.finish();
}

void derive_run_metrics(Measurement& m, const LoadedMetrics* metrics,
                        const std::vector<std::string>& selection, const std::string& metrics_dir,
                        const Literals& literals) {
  if (metrics) {
    m.notes.insert(m.notes.end(), metrics->notes.begin(), metrics->notes.end());
    if (!selection.empty())
      m.metrics = plan_metric_engine(m, metrics->set, selection, literals).run;
    return;
  }
  m.metrics = derive_metrics(m.events, m.duration_s);
  m.notes.push_back("metric files not found under " + metrics_dir +
                    ": only perf stat's generic ratios were derived");
}

std::vector<std::string> import_selection(const LoadedMetrics& metrics,
                                          const std::vector<std::string>& wanted) {
  if (wanted.empty()) return default_selection(metrics, import_metric_groups());
  return resolve_metric_selection(metrics, wanted);
}

ImportMetricsPlan derive_import_metrics(Measurement& m, const LoadedMetrics* metrics, bool defer,
                                        unsigned threads, const std::string& metrics_dir,
                                        const std::vector<std::string>& wanted,
                                        const Literals& literals) {
  ImportMetricsPlan plan;
  plan.deferred = defer && !m.intervals.empty();
  std::vector<std::string> selection;
  if (metrics) selection = import_selection(*metrics, wanted);
  if (plan.deferred) {
    if (metrics && !selection.empty()) plan.per_interval = metrics->set.select(selection);
    derive_run_metrics(m, metrics, selection, metrics_dir, literals);
  } else if (metrics) {
    m.notes.insert(m.notes.end(), metrics->notes.begin(), metrics->notes.end());
    derive_metrics_in_parallel(m, metrics->set, selection, threads, literals);
  } else {
    derive_run_metrics(m, metrics, selection, metrics_dir);
    for (auto& iv : m.intervals)
      iv.metrics = as_interval_metrics(derive_metrics(iv.events, metric_seconds(iv)));
  }
  return plan;
}

std::optional<LoadedMetrics> infer_import_metrics(
    Measurement& m, const std::string& cpu_model, const LoadedMetrics* given,
    const std::function<LoadedMetrics(const std::string& cpu)>& load,
    const std::function<Literals(const std::string& cpu)>& literals,
    const std::vector<std::string>& wanted) {
  if (!cpu_model.empty()) return std::nullopt;
  bool given_has_wanted = true;
  if (given != nullptr && !wanted.empty()) {
    try {
      (void)resolve_metric_selection(*given, wanted);
    } catch (const std::runtime_error&) {
      given_has_wanted = false;
    }
  }
  return infer_metric_files(m, given, load, literals,
                            given_has_wanted ? std::vector<std::string>{} : wanted);
}

namespace {

std::string lowercase(std::string_view text) {
  std::string out(text);
  for (auto& c : out) c = char(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// The numbers of an aggregate prefix: "S0-D1-C3" → {'S',0},{'D',1},{'C',3}; "CPU3" → {'U',3}.
// Empty when the prefix is not one of perf's aggregation ids.
std::vector<std::pair<char, long>> aggregate_id(std::string_view prefix) {
  std::vector<std::pair<char, long>> out;
  auto number = [](std::string_view digits, long& value) {
    auto [ptr, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), value);
    return !digits.empty() && ec == std::errc() && ptr == digits.data() + digits.size();
  };
  long value = 0;
  if (prefix.starts_with("CPU")) {
    if (number(prefix.substr(3), value)) out.push_back({'U', value});
    return out;
  }
  const std::string_view kinds = "SDC";
  size_t at = 0;
  while (at < prefix.size() && out.size() < kinds.size()) {
    size_t dash = prefix.find('-', at);
    std::string_view part = prefix.substr(at, dash == std::string_view::npos ? dash : dash - at);
    if (part.empty() || part.front() != kinds[out.size()] || !number(part.substr(1), value))
      return {};
    out.push_back({part.front(), value});
    if (dash == std::string_view::npos) return out;
    at = dash + 1;
  }
  return {};
}

// N of perf's "aggregate of N CPUs" (the importer's reason on an aggregate row); 0 without it.
long aggregate_cpus(std::string_view reason) {
  constexpr std::string_view kPrefix = "aggregate of ";
  if (!reason.starts_with(kPrefix)) return 0;
  reason.remove_prefix(kPrefix.size());
  long n = 0;
  std::from_chars(reason.data(), reason.data() + reason.size(), n);
  return n;
}

// Per event name, the aggregation ids of its rows and the CPUs each stands for.
struct AggregateRows {
  std::map<std::vector<std::pair<char, long>>, long> cpus_of;  // id → N (0: not printed)
};

void add_topology_literals(const Measurement& m, LiteralLayers& layers) {
  std::map<std::string, AggregateRows> by_event;
  for (const auto& e : m.events) {
    auto slash = e.name.find('/');
    if (slash == std::string::npos) continue;
    auto id = aggregate_id(std::string_view(e.name).substr(0, slash));
    if (id.empty()) continue;
    by_event[e.name.substr(slash + 1)].cpus_of[id] = aggregate_cpus(e.reason);
  }
  // The event with the most rows: an uncore event shows one CPU (its cpumask's) in -A rows.
  // A hybrid core PMU's event (cpu_core/cycles/) shows only that PMU's CPUs: it tells SMT, not
  // how many CPUs there are.
  const AggregateRows* rows = nullptr;
  bool one_core_pmu = false;
  for (const auto& [name, r] : by_event) {
    if (rows != nullptr && r.cpus_of.size() <= rows->cpus_of.size()) continue;
    rows = &r;
    one_core_pmu = name.starts_with("cpu_core/") || name.starts_with("cpu_atom/") ||
                   name.starts_with("cpu_lowpower/");
  }
  if (rows == nullptr) return;
  const auto& first = rows->cpus_of.begin()->first;
  size_t depth = first.size();
  char kind = first.back().first;
  std::set<long> packages;
  std::set<std::pair<long, long>> dies;
  long cpus = 0;
  bool every_n = true, smt = false;
  for (const auto& [id, n] : rows->cpus_of) {
    if (id.size() != depth || id.back().first != kind) return;  // mixed forms: nothing sure
    if (kind != 'U') {
      packages.insert(id[0].second);
      if (depth >= 2) dies.insert({id[0].second, id[1].second});
    }
    every_n = every_n && n > 0;
    cpus += n;
    smt = smt || n > 1;
  }
  size_t count = rows->cpus_of.size();
  if (one_core_pmu) {
    if (kind == 'C' && smt)
      layers.set(LiteralSource::recording, "smt_on", 1,
                 "a core of the --per-core rows has two CPUs or more");
    return;
  }
  if (kind == 'U') {
    auto why = fmt::format("{} CPUs in the -A rows", count);
    layers.set(LiteralSource::recording, "num_cpus", double(count), why);
    layers.set(LiteralSource::recording, "num_cpus_online", double(count), why);
    return;
  }
  const char* mode = depth == 3 ? "--per-core" : depth == 2 ? "--per-die" : "--per-socket";
  layers.set(LiteralSource::recording, "num_packages", double(packages.size()),
             fmt::format("sockets of the {} rows", mode));
  if (depth >= 2)
    layers.set(LiteralSource::recording, "num_dies", double(dies.size()),
               fmt::format("dies of the {} rows", mode));
  if (depth == 3)
    layers.set(LiteralSource::recording, "num_cores", double(count),
               "cores of the --per-core rows");
  if (!every_n) return;
  auto why = fmt::format("CPUs of the {} rows", mode);
  layers.set(LiteralSource::recording, "num_cpus", double(cpus), why);
  layers.set(LiteralSource::recording, "num_cpus_online", double(cpus), why);
  if (depth == 3)
    layers.set(LiteralSource::recording, "smt_on", smt ? 1 : 0,
               smt ? "a core of the --per-core rows has two CPUs or more"
                   : "each core of the --per-core rows has one CPU");
}

// perf's all-CPUs system-wide target: -a without -C (the importer keeps a -C list as the
// target's command, "CPU(s) 1").
bool every_cpu_counted(const Measurement& m) {
  return m.target == MeasurementTarget::system_wide && m.command.empty();
}

}  // namespace

void add_recording_literals(const Measurement& m, LiteralLayers& layers) {
  if (m.machine.logical_cpus > 0)
    layers.set(LiteralSource::recording, "num_cpus", m.machine.logical_cpus,
               "the document's machine");
  if (every_cpu_counted(m)) add_topology_literals(m, layers);
  if (auto core = neoverse_in_recording(m); core && core->slots > 0)
    layers.set(LiteralSource::recording, "slots", core->slots, core->why);
  for (const auto& e : m.events) {
    if (!e.counted() || e.name.find('/') != std::string::npos) continue;
    std::string name = lowercase(e.name);
    if (name.find('.') != std::string::npos && name.ends_with("_any")) {
      layers.set(LiteralSource::recording, "smt_on", 1,
                 fmt::format("it counted {}, which perf's formulas read only with SMT on", e.name));
      break;
    }
  }
}

LiteralLayers import_literals(const Measurement& m, const std::string& cpu_model,
                              const std::vector<LiteralSetting>& given, const MetricSet* set) {
  LiteralLayers layers;
  for (const auto& setting : given)
    if (setting.name != kRuntimeParamName)  // a count of metric instances, not a #literal
      layers.set(LiteralSource::given, setting.name, setting.value, "");
  add_recording_literals(m, layers);
  if (!cpu_model.empty())
    if (auto slots = cpu_family_slots(cpu_model))
      layers.set(LiteralSource::cpu_model, "slots", *slots,
                 fmt::format("issue width of {}", cpu_model));
  if (!layers.has("smt_on") &&
      (!cpu_model.empty() || (set != nullptr && reads_literal(*set, "smt_on"))))
    layers.set(LiteralSource::assumed, "smt_on", 0,
               "the recording shows no sign of SMT; --literal smt_on=1 if it was on");
  if (!layers.has("core_wide")) {
    if (auto smt = layers.find("smt_on")) {
      bool system_wide = m.target == MeasurementTarget::system_wide;
      bool core_wide = system_wide && (*smt == 0 || every_cpu_counted(m));
      layers.set(LiteralSource::assumed, "core_wide", core_wide ? 1 : 0,
                 system_wide ? (core_wide ? "system-wide" : "system-wide on a -C list with SMT")
                             : "the recording does not show a system-wide run");
    }
  }
  if (!layers.has("num_cpus_online"))
    if (auto cpus = layers.find("num_cpus"))
      layers.set(LiteralSource::assumed, "num_cpus_online", *cpus, "#num_cpus");
  return layers;
}

void note_unknown_slots(Measurement& m, const MetricSet& set, const LiteralLayers& layers) {
  if (layers.has("slots") || !reads_literal(set, "slots")) return;
  m.notes.push_back(
      "#slots: the metric files' top-down formulas divide by the core's issue slots (the Arm "
      "PMU's caps/slots), which neither the recording nor --cpu gives (Neoverse N2 has 5, V1 "
      "and V2 8): the metrics that read it are left out; --cpu neoverse-n2|v1|v2 or --literal "
      "slots=N gives it");
}

void rederive_metrics(Measurement& m, const LoadedMetrics& metrics,
                      const std::vector<std::string>& wanted,
                      const std::vector<LiteralSetting>& given) {
  auto selection = import_selection(metrics, wanted);
  LiteralLayers layers = import_literals(m, "", given, &metrics.set);
  m.notes.insert(m.notes.end(), metrics.notes.begin(), metrics.notes.end());
  // Metrics the engine does not define (a measure document's joules_per_run, a model's
  // estimates) are not the counts' to derive again: they stay.
  std::set<std::string> defined;
  for (const auto& def : metrics.set.metrics()) defined.insert(lowercase(def.name));
  auto kept_of = [&](const std::vector<Metric>& metrics_before) {
    std::vector<Metric> kept;
    for (const auto& metric : metrics_before) {
      auto slash = metric.name.rfind('/');
      auto base = slash == std::string::npos ? metric.name : metric.name.substr(slash + 1);
      if (!defined.count(lowercase(base))) kept.push_back(metric);
    }
    return kept;
  };
  auto run_kept = kept_of(m.metrics);
  std::vector<std::vector<Metric>> intervals_kept;
  for (const auto& iv : m.intervals) intervals_kept.push_back(kept_of(iv.metrics));
  apply_metric_engine(m, metrics.set, selection, layers.literals());
  m.metrics.insert(m.metrics.end(), run_kept.begin(), run_kept.end());
  for (size_t i = 0; i < m.intervals.size(); ++i)
    m.intervals[i].metrics.insert(m.intervals[i].metrics.end(), intervals_kept[i].begin(),
                                  intervals_kept[i].end());
  m.notes.push_back("metrics derived again from the events with " + join(metrics.files, " + "));
  if (!layers.describe().empty()) m.notes.push_back("metric literals: " + layers.describe());
}

}  // namespace pmc
