#pragma once
// The metric engine as `measure -m NAME --cpu MODEL` and `import --cpu MODEL` use it: which
// metric files apply, which events the chosen metrics need and how they are grouped, and the
// metrics of the counts (with the reason for each one that cannot be computed).
#include <filesystem>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "events/document/measurement.h"
#include "events/metrics/derived_metrics.h"
#include "events/metrics/expr.h"
#include "events/metrics/metric_set.h"
#include "events/names/event_spec.h"
#include "events/names/resolver.h"

namespace pmc {

// A metric file or metric name that was asked for and does not exist: bad usage, not a fault of
// the machine.
struct MetricChoiceError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

struct LoadedMetrics {
  MetricSet set;
  std::vector<std::string> files;  // "generic.json", then the CPU's file when there is one
  std::vector<std::string> notes;  // what was not found and what was used instead
};

// generic.json plus the CPU's file from `dir` (the data directory's metrics/; empty when there is
// none): the one `cpu_model` names (--cpu), else the one for `machine` (vendor, family, model,
// PMUs), else none. Without dir/generic.json the built-in copy stands in, with a note. Throws
// MetricChoiceError for a --cpu name that no file covers (listing the names that work) and
// std::runtime_error for a file that does not load.
LoadedMetrics load_metrics(const std::filesystem::path& dir, const std::string& cpu_model,
                           const MachineInfo& machine);

// Events the metric engine supplies itself rather than a counter (duration_time); `key` is a
// canonical_event_name().
bool supplied_without_counter(const std::string& key);

// The names a resolver may know a metric file's event by: perf's spelling, then libpfm4's
// ("INST_RETIRED.ANY" is "INST_RETIRED:ANY" there), then the core PMU's sysfs alias
// ("cpu/topdown-retiring/").
std::vector<std::string> resolver_spellings(const std::string& spelling);

// Whether `set` derives any top-down (tma_*) metric from the run's counts of `m` (its intervals
// aside), with import's selection (import_metric_groups).
bool derives_topdown(const Measurement& m, const MetricSet& set);

class MeasureMetrics {
 public:
  // `names` are -m's metric names and groups; empty means the default groups the loaded files
  // have. Throws MetricChoiceError for a name that is neither a metric nor a group.
  // `counters` is this CPU's counter model (counter_model(): general-purpose counters per group,
  // which events take a fixed counter, one taken by the NMI watchdog).
  MeasureMetrics(LoadedMetrics metrics, std::vector<std::string> names, Literals literals,
                 CounterModel counters, bool hardware_available);

  // Appends groups counting the events the metrics need that `groups` does not count already,
  // planned with plan_event_groups (fixed counters free, each metric's events together). A
  // metric whose own events cannot all be named here also gets the events of the first formula
  // it replaced (MetricDef::replaced) that can, which evaluation falls back to.
  // Without -m, hardware events are asked for only when the machine has hardware counters and
  // events the resolver cannot name are left out; with -m, such an event is kept as a
  // not-supported row for finish(). Called once per run (-r): it starts afresh.
  void schedule(std::vector<EventGroup>& groups, const EventResolver& resolver);

  std::vector<Metric> evaluate(const std::vector<EventCount>& events, double duration_s) const;

  // The final metrics of `m`, its not-supported rows for events that could not be named, and
  // a note per metric that could not be computed.
  void finish(Measurement& m) const;

  const std::vector<std::string>& selection() const { return selection_; }

 private:
  // Adds to per_metric[k] (the events of selected_[k]) those of its replaced formula, where
  // its own cannot all be named by `resolver` and that one's can.
  void add_replaced_events(std::vector<std::vector<std::string>>& per_metric,
                           const EventResolver& resolver) const;
  LoadedMetrics metrics_;
  std::vector<std::string> selection_;
  std::vector<size_t> selected_;  // selection_ resolved by MetricSet::select()
  bool explicit_ = false;
  Literals literals_;
  CounterModel counters_;
  bool hardware_available_;
  std::vector<EventCount> unresolved_;
  bool skipped_hardware_ = false;
  // The selected metrics worth evaluating per interval, worked out at the first interval of a
  // run: a metric that needs an event the run does not have, or one the kernel refused
  // (not_supported, permission_denied: lacks_event_for_good), lacks it in every interval. -I 100
  // evaluates ten times a second, and on a machine without a PMU most of the default metrics are
  // such. After the first interval: the metrics that can have a value, with tables kept between
  // intervals.
  mutable std::optional<IntervalMetricEvaluator> per_interval_;
};

}  // namespace pmc
