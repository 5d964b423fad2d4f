#pragma once
// The metric engine as `measure -m NAME --cpu MODEL` and `import --cpu MODEL` use it: which
// metric files apply, which events the chosen metrics need and how they are grouped, and the
// metrics of the counts (with the reason for each one that cannot be computed).
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "events/document/measurement.h"
#include "events/metrics/derived_metrics.h"
#include "events/metrics/expr.h"
#include "events/metrics/metric_set.h"
#include "events/names/event_spec.h"
#include "events/names/resolver.h"
#include "events/names/sysroot.h"

namespace pmc::cli {

// The shipped metric files: metrics/ of the data directory (engine/system/data_dir.h).
std::filesystem::path metrics_dir();

struct LoadedMetrics {
  MetricSet set;
  std::vector<std::string> files;  // "generic.json", then the CPU's file when there is one
  std::vector<std::string> notes;  // what was not found and what was used instead
};

// generic.json plus the CPU's file: the one `cpu_model` names (--cpu), else the one for
// `machine` (vendor, family, model, PMUs), else none. Throws CommandError for a --cpu name
// that no file covers (listing the names that work) or a file that does not load.
LoadedMetrics load_metrics(const std::string& cpu_model, const MachineInfo& machine);

// #smt_on, #num_cpus, #num_packages and #slots of this machine, read through `root`.
Literals machine_literals(const MachineInfo& machine, const SysRoot& root);

class MeasureMetrics {
 public:
  // `names` are -m's metric names and groups; empty means the default groups the loaded files
  // have. Throws CommandError for a name that is neither a metric nor a group.
  // `counters` is this CPU's counter model (counter_model(): general-purpose counters per group,
  // which events take a fixed counter, one taken by the NMI watchdog).
  MeasureMetrics(LoadedMetrics metrics, std::vector<std::string> names, Literals literals,
                 CounterModel counters, bool hardware_available);

  // Appends groups counting the events the metrics need that `groups` does not count already,
  // planned with plan_event_groups (fixed counters free, each metric's events together).
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

// The metrics of `measure`: -m's names (empty: the default groups) from the files for --cpu or
// this machine. Without -m and --cpu, nullopt when the metric files cannot be loaded (measure
// then keeps derive_metrics); otherwise a CommandError.
std::optional<MeasureMetrics> make_measure_metrics(const std::vector<std::string>& names,
                                                   const std::string& cpu_model,
                                                   const SysRoot& root, bool hardware_available);

}  // namespace pmc::cli
