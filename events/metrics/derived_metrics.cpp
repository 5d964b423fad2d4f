#include "events/metrics/derived_metrics.h"

#include "events/document/aggregate_id.h"
#include "events/names/generic_events.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <initializer_list>
#include <map>
#include <memory>
#include <optional>
#include <string_view>

namespace pmc {

std::vector<Metric> derive_metrics(const std::vector<EventCount>& events, double duration_s) {
  static const std::vector<std::string> kRatios = {
      "ipc", "cpi", "ghz", "cpus_utilized", "branch_miss_rate", "cache_miss_rate"};
  auto out = compute_metrics(MetricSet::builtin_generic(), kRatios, events, duration_s).metrics;
  // One built-in file: no origin to tell apart. A NaN keeps its reason, as the engine's do.
  for (auto& metric : out) {
    if (!metric.note.has_value()) continue;
    metric.note.set().origin.reset();
    if (!metric.note->reason) metric.note.reset();
  }
  return out;
}

// TopdownL1 is perf's name for the level-1 top-down group: a metric file given with --metrics
// replaces the shipped tma_* metrics with definitions in perf's groups only.
std::vector<std::string> default_metric_groups() {
  return {"ipc", "branch", "cache", "topdown", "TopdownL1"};
}

std::vector<std::string> import_metric_groups() {
  return {"ipc", "branch", "cache", "stalls", "topdown", "TopdownL1", "memory"};
}

std::vector<std::string> available_selection(const MetricSet& set,
                                             const std::vector<std::string>& wanted) {
  std::vector<std::string> out;
  for (const auto& name : wanted) {
    try {
      (void)set.select({name});
      out.push_back(name);
    } catch (const std::runtime_error&) {
    }
  }
  return out;
}

namespace {

// "P" of "P/event/" when P is a core PMU (counts cycles and instructions of its CPUs); empty for
// the default "cpu" PMU, software events and off-core PMUs (power, msr, uncore).
std::string core_pmu_of(std::string_view name) {
  auto slash = name.find('/');
  if (slash == std::string_view::npos || slash == 0) return {};
  if (name.find('/', slash + 1) == std::string_view::npos) return {};  // "S0-D0-C1/cycles"
  std::string pmu(name.substr(0, slash));
  if (pmu == "cpu" || is_off_core_event(name) || is_aggregate_id(pmu)) return {};
  return pmu;
}

// "CPU3" of "CPU3/cycles" or "CPU3/msr/tsc/", an imported -A, --per-core, --per-socket… row:
// perf prints such a row's metrics from that aggregate's own counts. Empty for other names.
std::string_view aggregate_of(std::string_view name) {
  auto slash = name.find('/');
  if (slash == std::string_view::npos || slash == 0) return {};
  std::string_view prefix = name.substr(0, slash);
  return is_aggregate_id(prefix) ? prefix : std::string_view();
}

// The event inside "P/event/mods": "event" (modifiers kept as ":mods").
std::string strip_pmu(std::string_view name) {
  auto slash = name.find('/');
  auto close = name.find('/', slash + 1);
  std::string inner(name.substr(slash + 1, close - slash - 1));
  std::string_view mods = name.substr(close + 1);
  if (!mods.empty()) inner += ":" + std::string(mods);
  return inner;
}

// perf's modifier letters after the last ':' of a name without a PMU ("u" of "cycles:u"); ""
// for a name without them, nullopt where the suffix is not modifiers (a tracepoint's
// "sched:sched_switch", a libpfm4 unit mask "INST_RETIRED:ANY_P").
std::optional<std::string_view> modifier_suffix(std::string_view name) {
  auto colon = name.rfind(':');
  if (colon == std::string_view::npos) return std::string_view();
  std::string_view letters = name.substr(colon + 1);
  if (colon == 0 || letters.empty() ||
      letters.find_first_not_of("ukhGHpPSDIWe") != std::string_view::npos)
    return std::nullopt;
  return letters;
}

// Whether the counts' events, bare-named, were all counted at the same privilege levels. perf
// stat never forms a ratio of events whose modifiers differ (stat-shadow.c find_stat: "Ignore
// evsels with mismatched modifiers"): instructions:u over cycles is not an IPC. Events off the
// core PMU (software, perf's tool events, uncore) are left out, as measure counts task-clock
// beside any -e list.
bool one_modifier_context(const std::vector<EventCount>& events) {
  std::optional<std::string_view> context;
  for (const EventCount& e : events) {
    if (e.name.find('/') != std::string::npos || e.name == "duration_time") continue;
    auto letters = modifier_suffix(e.name);
    if (!letters) continue;
    std::string_view base = e.name;
    if (!letters->empty()) base.remove_suffix(letters->size() + 1);
    auto generic = find_generic_event(base);
    if ((generic && !is_hardware_type(generic->type)) || is_off_core_event(base)) continue;
    if (context && *context != *letters) return false;
    context = letters;
  }
  return true;
}

// Counts as the metric engine reads them: an event counted only with modifiers
// ("task-clock:u") is also known by its bare name, converted like the bare event would be,
// when every event was counted with the same modifiers (one_modifier_context). `bindings`
// index `events`.
EventValues values_of(const std::vector<EventCount>& events, double duration_s,
                      std::vector<EventValues::Binding>& bindings) {
  if (!one_modifier_context(events)) return EventValues::from_counts(events, duration_s, bindings);
  auto base_of = [](const std::string& name) {
    if (name.find('/') != std::string::npos) return std::string();
    auto colon = name.find(':');
    return colon == std::string::npos || colon == 0 ? std::string() : name.substr(0, colon);
  };
  std::vector<EventCount> bare_named;
  std::vector<size_t> origin;  // bare_named[n + k] is events[origin[k]]
  for (size_t i = 0; i < events.size(); ++i) {
    std::string bare = base_of(events[i].name);
    if (bare.empty()) continue;
    bool counted_bare = std::any_of(events.begin(), events.end(), [&](const EventCount& other) {
      return canonical_event_name(other.name) == canonical_event_name(bare);
    });
    if (counted_bare) continue;
    bare_named.push_back(events[i]);
    bare_named.back().name = bare;
    origin.push_back(i);
  }
  if (bare_named.empty()) return EventValues::from_counts(events, duration_s, bindings);
  bare_named.insert(bare_named.begin(), events.begin(), events.end());
  auto values = EventValues::from_counts(bare_named, duration_s, bindings);
  for (auto& b : bindings)
    if (b.count != EventValues::kDuration && b.count >= events.size())
      b.count = origin[b.count - events.size()];
  return values;
}

// A metric's value for the document: NaN keeps its reason; the formula's origin is the file's
// name and line ("skylake.json:12"), its directory being the reader's business.
Metric document_metric(std::string name, const MetricResult& r,
                       IntervalMetricEvaluator::Notes notes) {
  Metric m{std::move(name), *r.value, r.unit};
  if (notes == IntervalMetricEvaluator::Notes::left_out) return m;
  if (std::isnan(m.value) && !r.reason.empty()) m.note.set().reason = r.reason;
  std::string_view origin = r.origin;
  if (auto slash = origin.rfind('/'); slash != std::string_view::npos) {
    // data/metrics/earlier/ holds formulas of earlier perf releases under the CPU file's own
    // name: "earlier/neoverse-n2.json:3" tells them from "neoverse-n2.json:3".
    constexpr std::string_view kEarlier = "/earlier";
    bool earlier = origin.substr(0, slash).ends_with(kEarlier);
    origin.remove_prefix(slash + 1 - (earlier ? kEarlier.size() : 0));
  }
  if (!origin.empty()) m.note.set().origin = std::string(origin);
  return m;
}

std::string display_name(const MetricResult& r, const std::string& view) {
  if (!view.empty()) return view + "/" + r.name;
  if (!r.pmu.empty()) return r.pmu + "/" + r.name;
  return r.name;
}

}  // namespace

struct IntervalMetricEvaluator::View {
  std::string pmu;  // empty for the run's own view
  EventValues values;
  std::vector<EventValues::Binding> bindings;  // counts index the evaluated events
  std::vector<EventValues::Entry*> entries;
  SymbolLookupCache lookups;  // of `values`, made again with the view
};

IntervalMetricEvaluator::IntervalMetricEvaluator(const MetricSet& set, std::vector<size_t> selected,
                                                 Literals literals)
    : set_(set), selected_(std::move(selected)), literals_(std::move(literals)) {}

IntervalMetricEvaluator::~IntervalMetricEvaluator() = default;
IntervalMetricEvaluator::IntervalMetricEvaluator(IntervalMetricEvaluator&&) noexcept = default;

bool IntervalMetricEvaluator::same_layout(const std::vector<EventCount>& events) const {
  if (!built_ || events.size() != layout_.size()) return false;
  for (size_t i = 0; i < events.size(); ++i) {
    const auto& a = events[i];
    const auto& b = layout_[i];
    if (a.status != b.status || a.unit_scale != b.unit_scale || a.name != b.name ||
        a.pmu != b.pmu || a.unit != b.unit)
      return false;
  }
  return true;
}

void IntervalMetricEvaluator::build(const std::vector<EventCount>& events, double duration_s) {
  views_.clear();
  layout_.clear();
  for (const auto& e : events) {
    EventCount shape;
    shape.name = e.name;
    shape.pmu = e.pmu;
    shape.unit = e.unit;
    shape.unit_scale = e.unit_scale;
    shape.status = e.status;
    layout_.push_back(std::move(shape));
  }
  auto add_view = [&](std::string pmu, const std::vector<EventCount>& view_events,
                      const std::vector<size_t>& origin) {
    auto view = std::make_unique<View>();
    view->pmu = std::move(pmu);
    view->values = values_of(view_events, duration_s, view->bindings);
    for (auto& b : view->bindings)
      if (b.count != EventValues::kDuration) b.count = origin[b.count];
    view->entries = view->values.entries_of(view->bindings);
    views_.push_back(std::move(view));
  };
  std::vector<size_t> identity(events.size());
  for (size_t i = 0; i < events.size(); ++i) identity[i] = i;
  add_view({}, events, identity);
  std::vector<std::string> pmus;
  for (const auto& e : events) {
    std::string pmu = core_pmu_of(e.name);
    if (!pmu.empty() && e.counted() && std::find(pmus.begin(), pmus.end(), pmu) == pmus.end())
      pmus.push_back(pmu);
  }
  one_pmu_ = pmus.size() == 1;
  for (const auto& pmu : pmus) {
    // The PMU's events under their bare names, beside the events no core PMU counts.
    std::vector<EventCount> view;
    std::vector<size_t> origin;
    for (size_t i = 0; i < events.size(); ++i) {
      const auto& e = events[i];
      std::string owner = core_pmu_of(e.name);
      if (owner == pmu) {
        EventCount bare = e;
        bare.name = strip_pmu(e.name);
        bare.pmu.clear();
        view.push_back(std::move(bare));
        origin.push_back(i);
      } else if (owner.empty() && is_off_core_event(e.name.substr(0, e.name.find(':')))) {
        view.push_back(e);
        origin.push_back(i);
      }
    }
    add_view(pmu, view, origin);
  }
  // One view per aggregate of the recording's rows, its events under the names without the
  // aggregate ("CPU3/task-clock" → "task-clock"): CPU3's cpus_utilized is CPU3's task-clock over
  // the time, as perf printed it beside that row, not the total's.
  std::vector<std::string_view> aggregates;
  for (const auto& e : events) {
    std::string_view a = aggregate_of(e.name);
    if (!a.empty() && e.counted() &&
        std::find(aggregates.begin(), aggregates.end(), a) == aggregates.end())
      aggregates.push_back(a);
  }
  first_aggregate_view_ = views_.size();
  for (std::string_view a : aggregates) {
    std::vector<EventCount> view;
    std::vector<size_t> origin;
    for (size_t i = 0; i < events.size(); ++i) {
      if (aggregate_of(events[i].name) != a) continue;
      EventCount own = events[i];
      own.name = events[i].name.substr(a.size() + 1);
      view.push_back(std::move(own));
      origin.push_back(i);
    }
    add_view(std::string(a), view, origin);
  }
  built_ = true;
  built_with_duration_ = duration_s > 0;
}

ComputedMetrics IntervalMetricEvaluator::evaluate(const std::vector<EventCount>& events,
                                                  double duration_s, Notes notes) {
  ComputedMetrics out;
  if (selected_.empty()) return out;
  update_views(events, duration_s);
  auto results = set_.evaluate_selected(selected_, views_[0]->values, literals_);
  for (auto& r : results) {
    if (r.value)
      out.metrics.push_back(document_metric(display_name(r, {}), r, notes));
    else
      out.absent.push_back(std::move(r));
  }
  // With one core PMU counting (an Arm SoC whose other cluster stayed idle) its metrics are the
  // run's and keep their plain names.
  for (size_t v = 1; v < views_.size(); ++v) {
    const std::string& pmu = views_[v]->pmu;
    bool aggregate = v >= first_aggregate_view_;
    for (const auto& r : set_.evaluate_selected(selected_, views_[v]->values, literals_)) {
      if (!r.pmu.empty() || !r.value) continue;
      if (aggregate) {
        // An aggregate's metric is its own, beside the run's of the same name.
        if (!std::isnan(*r.value))
          out.metrics.push_back(document_metric(pmu + "/" + r.name, r, notes));
        continue;
      }
      std::string name = display_name(r, one_pmu_ ? std::string() : pmu);
      bool known = std::any_of(out.metrics.begin(), out.metrics.end(),
                               [&](const Metric& m) { return m.name == name; });
      if (known) continue;  // computed without the PMU's events (cpus_utilized)
      out.metrics.push_back(document_metric(name, r, notes));
      // The metric exists for this PMU: its absence without one is no longer news.
      out.absent.erase(
          std::remove_if(out.absent.begin(), out.absent.end(),
                         [&](const MetricResult& a) { return a.name == r.name && a.pmu.empty(); }),
          out.absent.end());
    }
  }
  return out;
}

void IntervalMetricEvaluator::update_views(const std::vector<EventCount>& events,
                                           double duration_s) {
  if (same_layout(events) && built_with_duration_ == (duration_s > 0)) {
    for (auto& view : views_)
      EventValues::update(view->bindings, view->entries, events, duration_s);
  } else {
    build(events, duration_s);
  }
}

void IntervalMetricEvaluator::evaluate_into(const std::vector<EventCount>& events,
                                            double duration_s, std::vector<Metric>& out) {
  if (selected_.empty()) {
    out.clear();
    return;
  }
  update_views(events, duration_s);
  if (views_.size() > 1) {  // per-PMU views: evaluate() merges their names
    out = evaluate(events, duration_s, Notes::left_out).metrics;
    return;
  }
  if (names_.size() != selected_.size()) {
    names_.clear();
    for (size_t i : selected_) {
      const auto& def = set_.metrics()[i];
      names_.push_back(def.pmu.empty() ? def.name : def.pmu + "/" + def.name);
    }
  }
  set_.evaluate_values(selected_, views_[0]->values, literals_, values_, &views_[0]->lookups);
  size_t n = 0;
  for (size_t k = 0; k < selected_.size(); ++k) {
    if (!values_[k]) continue;
    if (n == out.size()) out.emplace_back();
    Metric& m = out[n++];
    m.name = names_[k];  // assigning the same text again reuses the string's storage
    m.value = *values_[k];
    m.unit = set_.metrics()[selected_[k]].unit;
  }
  out.resize(n);
}

std::vector<Metric> as_interval_metrics(std::vector<Metric> metrics) {
  for (auto& m : metrics) {
    m.note.reset();
  }
  return metrics;
}

ComputedMetrics compute_selected_metrics(const MetricSet& set, const std::vector<size_t>& selected,
                                         const std::vector<EventCount>& events, double duration_s,
                                         const Literals& literals) {
  return IntervalMetricEvaluator(set, selected, literals).evaluate(events, duration_s);
}

ComputedMetrics compute_metrics(const MetricSet& set, const std::vector<std::string>& selection,
                                const std::vector<EventCount>& events, double duration_s,
                                const Literals& literals) {
  if (selection.empty()) return {};
  return compute_selected_metrics(set, set.select(selection), events, duration_s, literals);
}

namespace {

// Evaluates metrics[k] again, for each k of in_group[g], with group g's counts in place of the
// other groups' (placed last: the evaluation keeps the last count of a name; an event the group
// lacks keeps its last count).
void evaluate_with_group_counts(const MetricSet& set, const std::vector<size_t>& selected,
                                const std::vector<EventCount>& events, double duration_s,
                                const Literals& literals,
                                const std::map<int, std::vector<size_t>>& in_group,
                                std::vector<Metric>& metrics, bool reasons) {
  std::vector<EventCount> ordered;
  for (const auto& [group, indices] : in_group) {
    ordered.clear();
    for (const auto& e : events)
      if (e.group != group) ordered.push_back(e);
    for (const auto& e : events)
      if (e.group == group) ordered.push_back(e);
    auto again = compute_selected_metrics(set, selected, ordered, duration_s, literals).metrics;
    for (size_t k : indices) {
      auto found = std::find_if(again.begin(), again.end(),
                                [&](const Metric& m) { return m.name == metrics[k].name; });
      if (found == again.end()) continue;
      metrics[k].value = found->value;
      if (reasons && std::isnan(found->value) && found->note->reason)
        metrics[k].note.set().reason = found->note->reason;
      else if (metrics[k].note.has_value())
        metrics[k].note.set().reason.reset();
    }
  }
}

bool any_group(const std::vector<EventCount>& events) {
  return std::any_of(events.begin(), events.end(),
                     [](const EventCount& e) { return e.group.has_value(); });
}

// group → indices into `metrics` of the metrics perf printed beside that group.
std::map<int, std::vector<size_t>> printed_groups(const std::vector<Metric>& reported,
                                                  const std::vector<Metric>& metrics) {
  std::map<int, std::vector<size_t>> printed_in;
  for (size_t k = 0; k < metrics.size(); ++k) {
    auto perf = std::find_if(reported.begin(), reported.end(), [&](const Metric& r) {
      // The import names perf's Arm and AMD level-1 rows ("frontend_bound") tma_*: the metric
      // of perf's own name was printed from that row's group too.
      return r.group.has_value() &&
             (r.name == metrics[k].name ||
              (r.name.starts_with("tma_") && r.name.substr(4) == metrics[k].name));
    });
    if (perf != reported.end()) printed_in[*perf->group].push_back(k);
  }
  return printed_in;
}

// "tma_retiring" of "cpu_core/tma_retiring" or "S0-D0-C1/tma_retiring".
std::string_view base_name(std::string_view name) {
  auto slash = name.rfind('/');
  return slash == std::string_view::npos ? name : name.substr(slash + 1);
}

}  // namespace

void evaluate_in_printed_groups(const MetricSet& set, const std::vector<size_t>& selected,
                                const std::vector<EventCount>& events, double duration_s,
                                const std::vector<Metric>& reported, const Literals& literals,
                                std::vector<Metric>& metrics, bool reasons) {
  if (selected.empty() || reported.empty() || !any_group(events)) return;
  evaluate_with_group_counts(set, selected, events, duration_s, literals,
                             printed_groups(reported, metrics), metrics, reasons);
}

// One group's evaluation: its events placed last (`order` indexes the interval's events), and
// the selected metrics to take from it.
struct GroupEvaluation {
  std::vector<size_t> metrics;  // indices into the interval's metrics
  std::vector<size_t> order;
  std::vector<EventCount> ordered;
  IntervalMetricEvaluator evaluator;
  GroupEvaluation(const MetricSet& set, std::vector<size_t> selected, const Literals& literals)
      : evaluator(set, std::move(selected), literals) {}
};

namespace {

// The evaluation of `group`'s counts for metrics[k], k in `indices`: only the selected metrics of
// their names (a metric's value does not depend on which others are evaluated with it).
std::unique_ptr<GroupEvaluation> plan_group(const MetricSet& set,
                                            const std::vector<size_t>& selected,
                                            const Literals& literals,
                                            const std::vector<EventCount>& events, int group,
                                            std::vector<size_t> indices,
                                            const std::vector<Metric>& metrics) {
  std::vector<size_t> needed;
  for (size_t j : selected) {
    const auto& name = set.metrics()[j].name;
    if (std::any_of(indices.begin(), indices.end(),
                    [&](size_t k) { return base_name(metrics[k].name) == name; }))
      needed.push_back(j);
  }
  auto g = std::make_unique<GroupEvaluation>(set, std::move(needed), literals);
  g->metrics = std::move(indices);
  for (size_t i = 0; i < events.size(); ++i)
    if (events[i].group != group) g->order.push_back(i);
  for (size_t i = 0; i < events.size(); ++i)
    if (events[i].group == group) g->order.push_back(i);
  return g;
}

// What evaluate_with_group_counts does, with the groups' plans kept.
void evaluate_groups(std::vector<std::unique_ptr<GroupEvaluation>>& groups,
                     const std::vector<EventCount>& events, double duration_s,
                     std::vector<Metric>& metrics, bool reasons) {
  auto notes =
      reasons ? IntervalMetricEvaluator::Notes::kept : IntervalMetricEvaluator::Notes::left_out;
  for (auto& g : groups) {
    // Assigning an event over the one of the last interval reuses its strings' storage.
    g->ordered.resize(g->order.size());
    for (size_t i = 0; i < g->order.size(); ++i) g->ordered[i] = events[g->order[i]];
    auto again = g->evaluator.evaluate(g->ordered, duration_s, notes).metrics;
    for (size_t k : g->metrics) {
      auto found = std::find_if(again.begin(), again.end(),
                                [&](const Metric& m) { return m.name == metrics[k].name; });
      if (found == again.end()) continue;
      metrics[k].value = found->value;
      if (reasons && std::isnan(found->value) && found->note.has_value() && found->note->reason)
        metrics[k].note.set().reason = found->note->reason;
      else if (metrics[k].note.has_value())
        metrics[k].note.set().reason.reset();
    }
  }
}

}  // namespace

PrintedGroupEvaluator::PrintedGroupEvaluator(const MetricSet& set, std::vector<size_t> selected,
                                             Literals literals)
    : set_(set), selected_(std::move(selected)), literals_(std::move(literals)) {}

PrintedGroupEvaluator::~PrintedGroupEvaluator() = default;
PrintedGroupEvaluator::PrintedGroupEvaluator(PrintedGroupEvaluator&&) noexcept = default;

bool PrintedGroupEvaluator::same_layout(const std::vector<EventCount>& events,
                                        const std::vector<Metric>& reported,
                                        const std::vector<Metric>& metrics) const {
  if (!planned_ || events.size() != event_groups_.size() || reported.size() != reported_.size() ||
      metrics.size() != metric_names_.size())
    return false;
  for (size_t i = 0; i < events.size(); ++i)
    if (events[i].group != event_groups_[i]) return false;
  for (size_t i = 0; i < reported.size(); ++i)
    if (reported[i].group != reported_[i].second || reported[i].name != reported_[i].first)
      return false;
  for (size_t i = 0; i < metrics.size(); ++i)
    if (metrics[i].name != metric_names_[i]) return false;
  return true;
}

void PrintedGroupEvaluator::plan(const std::vector<EventCount>& events,
                                 const std::vector<Metric>& reported,
                                 const std::vector<Metric>& metrics) {
  groups_.clear();
  event_groups_.clear();
  for (const auto& e : events) event_groups_.push_back(e.group);
  reported_.clear();
  for (const auto& r : reported) reported_.emplace_back(r.name, r.group);
  metric_names_.clear();
  for (const auto& m : metrics) metric_names_.push_back(m.name);
  planned_ = true;
  if (!any_group(events)) return;
  for (auto& [group, indices] : printed_groups(reported, metrics))
    groups_.push_back(
        plan_group(set_, selected_, literals_, events, group, std::move(indices), metrics));
}

void PrintedGroupEvaluator::evaluate(const std::vector<EventCount>& events, double duration_s,
                                     const std::vector<Metric>& reported,
                                     std::vector<Metric>& metrics, bool reasons) {
  if (selected_.empty() || reported.empty()) return;
  if (!same_layout(events, reported, metrics)) plan(events, reported, metrics);
  evaluate_groups(groups_, events, duration_s, metrics, reasons);
}

std::vector<std::vector<std::string>> metric_event_keys(const MetricSet& set,
                                                        const std::vector<size_t>& selected,
                                                        const Literals& literals) {
  auto out = set.events_by_selected(selected, literals);
  for (auto& events : out)
    for (auto& e : events) e = canonical_event_name(e);
  return out;
}

namespace {

// group → indices into `metrics` of the metrics that read an event counted in several groups,
// each under the group it was scheduled in (evaluate_in_own_groups).
std::map<int, std::vector<size_t>> own_groups(
    const MetricSet& set, const std::vector<size_t>& selected,
    const std::vector<std::vector<std::string>>& event_keys, const std::vector<EventCount>& events,
    const std::vector<Metric>& metrics) {
  // The groups each event was counted in, by its canonical name.
  std::map<std::string, std::vector<int>> groups_of;
  std::vector<int> groups;
  for (const auto& e : events) {
    if (!e.group || !e.counted()) continue;
    auto& of = groups_of[canonical_event_name(e.name)];
    if (std::find(of.begin(), of.end(), *e.group) == of.end()) of.push_back(*e.group);
    if (std::find(groups.begin(), groups.end(), *e.group) == groups.end())
      groups.push_back(*e.group);
  }
  std::sort(groups.begin(), groups.end());
  auto keys_of = [&](const Metric& metric) -> const std::vector<std::string>* {
    for (size_t j = 0; j < selected.size() && j < event_keys.size(); ++j) {
      const auto& def = set.metrics()[selected[j]];
      if (metric.name == def.name ||
          (metric.name.size() > def.name.size() && metric.name.ends_with("/" + def.name)))
        return &event_keys[j];
    }
    return nullptr;
  };
  std::map<int, std::vector<size_t>> own;
  for (size_t k = 0; k < metrics.size(); ++k) {
    const auto* keys = keys_of(metrics[k]);
    if (!keys) continue;
    bool repeated = std::any_of(keys->begin(), keys->end(), [&](const std::string& key) {
      auto it = groups_of.find(key);
      return it != groups_of.end() && it->second.size() > 1;
    });
    if (!repeated) continue;
    // The group holding the most of its events, the first of those: where plan_event_groups
    // placed the metric (it joins the first group that holds them all or has room for them).
    int best = -1;
    size_t best_held = 0;
    for (int g : groups) {
      size_t held = size_t(std::count_if(keys->begin(), keys->end(), [&](const std::string& key) {
        auto it = groups_of.find(key);
        return it != groups_of.end() &&
               std::find(it->second.begin(), it->second.end(), g) != it->second.end();
      }));
      if (held > best_held) {
        best = g;
        best_held = held;
      }
    }
    if (best >= 0) own[best].push_back(k);
  }
  return own;
}

}  // namespace

void evaluate_in_own_groups(const MetricSet& set, const std::vector<size_t>& selected,
                            const std::vector<std::vector<std::string>>& event_keys,
                            const std::vector<EventCount>& events, double duration_s,
                            const Literals& literals, std::vector<Metric>& metrics, bool reasons) {
  if (selected.empty() || !any_group(events)) return;
  auto own = own_groups(set, selected, event_keys, events, metrics);
  for (const auto& [group, indices] : own)
    for (size_t k : indices) metrics[k].group = group;
  evaluate_with_group_counts(set, selected, events, duration_s, literals, own, metrics, reasons);
}

OwnGroupEvaluator::OwnGroupEvaluator(const MetricSet& set, std::vector<size_t> selected,
                                     std::vector<std::vector<std::string>> event_keys,
                                     Literals literals)
    : set_(set),
      selected_(std::move(selected)),
      event_keys_(std::move(event_keys)),
      literals_(std::move(literals)) {}

OwnGroupEvaluator::~OwnGroupEvaluator() = default;
OwnGroupEvaluator::OwnGroupEvaluator(OwnGroupEvaluator&&) noexcept = default;

bool OwnGroupEvaluator::same_layout(const std::vector<EventCount>& events,
                                    const std::vector<Metric>& metrics) const {
  if (!planned_ || events.size() != events_.size() || metrics.size() != metric_names_.size())
    return false;
  for (size_t i = 0; i < events.size(); ++i)
    if (events[i].group != events_[i].group || events[i].counted() != events_[i].counted ||
        events[i].name != events_[i].name)
      return false;
  for (size_t i = 0; i < metrics.size(); ++i)
    if (metrics[i].name != metric_names_[i]) return false;
  return true;
}

void OwnGroupEvaluator::plan(const std::vector<EventCount>& events,
                             const std::vector<Metric>& metrics) {
  groups_.clear();
  own_.clear();
  events_.clear();
  for (const auto& e : events) events_.push_back({e.name, e.group, e.counted()});
  metric_names_.clear();
  for (const auto& m : metrics) metric_names_.push_back(m.name);
  planned_ = true;
  if (!any_group(events)) return;
  for (auto& [group, indices] : own_groups(set_, selected_, event_keys_, events, metrics)) {
    for (size_t k : indices) own_.emplace_back(k, group);
    groups_.push_back(
        plan_group(set_, selected_, literals_, events, group, std::move(indices), metrics));
  }
}

void OwnGroupEvaluator::evaluate(const std::vector<EventCount>& events, double duration_s,
                                 std::vector<Metric>& metrics, bool reasons) {
  if (selected_.empty()) return;
  if (!same_layout(events, metrics)) plan(events, metrics);
  for (const auto& [k, group] : own_) metrics[k].group = group;
  evaluate_groups(groups_, events, duration_s, metrics, reasons);
}

MetricPlan plan_metric_engine(const Measurement& m, const MetricSet& set,
                              const std::vector<std::string>& selection, const Literals& literals) {
  MetricPlan plan;
  if (selection.empty()) return plan;
  auto selected = set.select(selection);
  auto run = compute_selected_metrics(set, selected, m.events, m.duration_s, literals);
  plan.run = std::move(run.metrics);
  evaluate_in_printed_groups(set, selected, m.events, m.duration_s, m.reported, literals, plan.run,
                             true);
  // Every event of an interval is among the run's events, so a metric the run lacks for an event
  // it cannot count is lacking in every interval, and so is one whose event the run's totals never
  // had on a counter (no interval did either): only the others are evaluated per interval (a long
  // -I recording has tens of thousands).
  auto in_no_interval = [](MetricAbsence absence) {
    return lacks_event_for_good(absence) || absence == MetricAbsence::event_not_counted;
  };
  for (size_t i : selected) {
    const auto& def = set.metrics()[i];
    bool never = std::any_of(run.absent.begin(), run.absent.end(), [&](const MetricResult& r) {
      return r.name == def.name && r.pmu == def.pmu && in_no_interval(r.absence);
    });
    if (!never) plan.per_interval.push_back(i);
  }
  return plan;
}

void apply_metric_engine(Measurement& m, const MetricSet& set,
                         const std::vector<std::string>& selection, const Literals& literals) {
  if (selection.empty()) return;
  auto plan = plan_metric_engine(m, set, selection, literals);
  m.metrics = std::move(plan.run);
  if (m.intervals.empty()) return;
  IntervalMetricEvaluator evaluator(set, plan.per_interval, literals);
  PrintedGroupEvaluator groups(set, plan.per_interval, literals);
  for (auto& iv : m.intervals) {
    iv.metrics =
        evaluator.evaluate(iv.events, metric_seconds(iv), IntervalMetricEvaluator::Notes::left_out)
            .metrics;
    groups.evaluate(iv.events, metric_seconds(iv), iv.reported, iv.metrics, false);
  }
}

}  // namespace pmc
