#pragma once
// Derived metrics: the metric engine (metric_set.h) applied to a measurement's counts, and perf
// stat's generic ratios from the built-in generic.json.
#include <memory>
#include <string>
#include <vector>

#include "events/document/measurement.h"
#include "events/metrics/metric_set.h"

namespace pmc {

// perf stat's generic ratios, as data/metrics/generic.json defines them (the built-in copy,
// MetricSet::builtin_generic): ipc, cpi, ghz, cpus_utilized, branch_miss_rate, cache_miss_rate,
// each present only when all of its inputs were counted, without origin. A zero denominator
// gives NaN with its reason, as the metric engine keeps it and perf prints "nan" (an interval's
// are as_interval_metrics(), without the reason). Rates are fractions (unit "ratio").
std::vector<Metric> derive_metrics(const std::vector<EventCount>& events, double duration_s);

// The groups `measure` shows without -m, and the groups `import` derives.
std::vector<std::string> default_metric_groups();  // ipc, branch, cache, topdown, TopdownL1
std::vector<std::string> import_metric_groups();   // the above plus stalls and memory

// The entries of `wanted` (metric names or groups) that `set` has, in order.
std::vector<std::string> available_selection(const MetricSet& set,
                                             const std::vector<std::string>& wanted);

struct ComputedMetrics {
  // With a value (NaN included, with its reason), in the set's order, each with the origin of
  // the formula that gave it.
  std::vector<Metric> metrics;
  std::vector<MetricResult> absent;  // selected, without a value: its absence says why
};

// Evaluates `selection` on `events`. Event names are matched as perf's metric evaluation does
// (clocks in ns, duration_time in s); a modifier the counts carry ("instructions:u") is dropped
// when the bare name was not counted, as perf stat still derives its ratios for :u events.
// Events of a core PMU named in the event ("armv8_pmuv3_1/cycles/", "cpu_core/instructions/")
// form one more evaluation per PMU whose metrics are named "<pmu>/<metric>" (plain "<metric>"
// when only one core PMU counted anything); a metric file's per-PMU metric (Unit "cpu_atom")
// is named "<pmu>/<metric>" too.
ComputedMetrics compute_metrics(const MetricSet& set, const std::vector<std::string>& selection,
                                const std::vector<EventCount>& events, double duration_s,
                                const Literals& literals = {});

// The same for metrics already chosen with MetricSet::select(), for evaluation per interval.
ComputedMetrics compute_selected_metrics(const MetricSet& set, const std::vector<size_t>& selected,
                                         const std::vector<EventCount>& events, double duration_s,
                                         const Literals& literals = {});

// Evaluates one selection on interval after interval (import of -I recordings, measure -I),
// with the results of compute_selected_metrics(). The event tables are built from an interval's
// layout (event names, PMUs, units, statuses) and, while the next interval has the same layout,
// only their values are updated: building them was two thirds of the per-interval cost.
class IntervalMetricEvaluator {
 public:
  IntervalMetricEvaluator(const MetricSet& set, std::vector<size_t> selected,
                          Literals literals = {});
  ~IntervalMetricEvaluator();
  IntervalMetricEvaluator(IntervalMetricEvaluator&&) noexcept;
  // Whether the metrics carry their Metric::note (why NaN, the formula's file and line): the
  // run's do; an interval's are written without (as_interval_metrics), and making notes for
  // every interval of a long recording only to drop them cost an allocation per metric.
  enum class Notes { kept, left_out };
  ComputedMetrics evaluate(const std::vector<EventCount>& events, double duration_s,
                           Notes notes = Notes::kept);
  // evaluate()'s metrics into `out`, whose strings are reused: what a writer formatting
  // interval after interval needs, without the reasons of the absent ones.
  void evaluate_into(const std::vector<EventCount>& events, double duration_s,
                     std::vector<Metric>& out);
  const std::vector<size_t>& selected() const { return selected_; }

 private:
  struct View;
  bool same_layout(const std::vector<EventCount>& events) const;
  void build(const std::vector<EventCount>& events, double duration_s);
  void update_views(const std::vector<EventCount>& events, double duration_s);

  const MetricSet& set_;
  std::vector<size_t> selected_;
  Literals literals_;
  std::vector<EventCount> layout_;  // names, PMUs, units and statuses the views were built for
  std::vector<std::unique_ptr<View>> views_;  // the run's own, then one per core PMU counting
  bool one_pmu_ = false;
  size_t first_aggregate_view_ = 0;  // views_ from here are the recording's aggregates'
  bool built_ = false;
  bool built_with_duration_ = false;
  std::vector<std::string> names_;  // display names of selected_ in the run's own view
  std::vector<std::optional<double>> values_;
};

// perf computes each metric it printed from the counts of the group it printed it beside
// (reported[]'s Metric::group). Where `events` hold an event in several groups
// (EventCount::group), each of `metrics` that perf printed (same name in `reported`, with a
// group) is evaluated again with its group's counts in place of the other groups' (an event the
// group lacks keeps its last count, as the evaluation without groups takes it). `reasons`: a NaN
// gets its reason (a run's metrics), or none (an interval's). `selected` are the metrics'
// indices in `set`, as for compute_selected_metrics().
void evaluate_in_printed_groups(const MetricSet& set, const std::vector<size_t>& selected,
                                const std::vector<EventCount>& events, double duration_s,
                                const std::vector<Metric>& reported, const Literals& literals,
                                std::vector<Metric>& metrics, bool reasons);

// One group's evaluation for PrintedGroupEvaluator and OwnGroupEvaluator (derived_metrics.cpp).
struct GroupEvaluation;

// evaluate_in_printed_groups for interval after interval (an -I recording of perf stat -M): what
// it works out from the layout of an interval (which metric perf printed beside which group,
// which events each group holds, the selected metrics each group's evaluation needs, its
// evaluator's event tables) is kept while the next interval has the same layout, so that an
// interval costs the evaluation of each group's own metrics on its counts. Evaluating every
// selected metric again for each group, with event tables built anew from copies of the events,
// made the groups most of an -M recording's import.
class PrintedGroupEvaluator {
 public:
  PrintedGroupEvaluator(const MetricSet& set, std::vector<size_t> selected, Literals literals = {});
  ~PrintedGroupEvaluator();
  PrintedGroupEvaluator(PrintedGroupEvaluator&&) noexcept;
  // What evaluate_in_printed_groups(set, selected, events, duration_s, reported, literals,
  // metrics, reasons) does.
  void evaluate(const std::vector<EventCount>& events, double duration_s,
                const std::vector<Metric>& reported, std::vector<Metric>& metrics, bool reasons);

 private:
  bool same_layout(const std::vector<EventCount>& events, const std::vector<Metric>& reported,
                   const std::vector<Metric>& metrics) const;
  void plan(const std::vector<EventCount>& events, const std::vector<Metric>& reported,
            const std::vector<Metric>& metrics);

  const MetricSet& set_;
  std::vector<size_t> selected_;
  Literals literals_;
  bool planned_ = false;
  // The layout the groups were planned for.
  std::vector<SmallOptional<int32_t>> event_groups_;
  std::vector<std::pair<std::string, SmallOptional<int32_t>>> reported_;
  std::vector<std::string> metric_names_;
  std::vector<std::unique_ptr<GroupEvaluation>> groups_;
};

// The canonical names (canonical_event_name) of the events each of `selected` reads, as
// evaluate_in_own_groups takes them.
std::vector<std::vector<std::string>> metric_event_keys(const MetricSet& set,
                                                        const std::vector<size_t>& selected,
                                                        const Literals& literals = {});

// measure's counterpart of evaluate_in_printed_groups, as perf stat evaluates each metric of -M:
// where `events` hold an event in several groups (EventCount::group: plan_event_groups keeps each
// metric's events in one group, so an event that metrics of different groups read is counted in
// each), each of `metrics` that reads such an event is evaluated again with the counts of its own
// group, the group holding the most of its events (the first of those: where plan_event_groups
// placed it, since a metric joins the first group that holds its events or has room for them),
// and gets that group in Metric::group. `event_keys` are metric_event_keys(set, selected);
// `reasons` as for evaluate_in_printed_groups.
void evaluate_in_own_groups(const MetricSet& set, const std::vector<size_t>& selected,
                            const std::vector<std::vector<std::string>>& event_keys,
                            const std::vector<EventCount>& events, double duration_s,
                            const Literals& literals, std::vector<Metric>& metrics, bool reasons);

// evaluate_in_own_groups for interval after interval (measure -I of -M metrics), as
// PrintedGroupEvaluator does for an import: which group each metric was scheduled in, each group's
// event order and an evaluator of its metrics are kept while the intervals' events (names, groups,
// statuses) and metrics repeat.
class OwnGroupEvaluator {
 public:
  OwnGroupEvaluator(const MetricSet& set, std::vector<size_t> selected,
                    std::vector<std::vector<std::string>> event_keys, Literals literals = {});
  ~OwnGroupEvaluator();
  OwnGroupEvaluator(OwnGroupEvaluator&&) noexcept;
  // What evaluate_in_own_groups(set, selected, event_keys, events, duration_s, literals, metrics,
  // reasons) does.
  void evaluate(const std::vector<EventCount>& events, double duration_s,
                std::vector<Metric>& metrics, bool reasons);

 private:
  bool same_layout(const std::vector<EventCount>& events, const std::vector<Metric>& metrics) const;
  void plan(const std::vector<EventCount>& events, const std::vector<Metric>& metrics);

  const MetricSet& set_;
  std::vector<size_t> selected_;
  std::vector<std::vector<std::string>> event_keys_;
  Literals literals_;
  bool planned_ = false;
  // The layout the groups were planned for.
  struct EventShape {
    std::string name;
    SmallOptional<int32_t> group;
    bool counted = false;
  };
  std::vector<EventShape> events_;
  std::vector<std::string> metric_names_;
  std::vector<std::pair<size_t, int>> own_;  // a metric's index in the interval's, its group
  std::vector<std::unique_ptr<GroupEvaluation>> groups_;
};

// What apply_metric_engine works out from the run: its metrics, and the selected metrics worth
// evaluating per interval (those the run lacks for an event never counted are left out), for an
// IntervalMetricEvaluator.
struct MetricPlan {
  std::vector<Metric> run;
  std::vector<size_t> per_interval;
};
MetricPlan plan_metric_engine(const Measurement& m, const MetricSet& set,
                              const std::vector<std::string>& selection,
                              const Literals& literals = {});

// The metrics as an interval's are written: without Metric::origin and Metric::reason (the
// run's metrics name the formulas; an interval's NaN is "nan": true alone, as the streamed
// import, which evaluates values only, writes it).
std::vector<Metric> as_interval_metrics(std::vector<Metric> metrics);

// Replaces the metrics of `m` and of each of its intervals with compute_metrics() of its counts,
// keeping reported[] as it is. The run's metrics say which formula gave each (Metric::origin),
// the intervals' do not (as_interval_metrics).
void apply_metric_engine(Measurement& m, const MetricSet& set,
                         const std::vector<std::string>& selection, const Literals& literals = {});

}  // namespace pmc
