#pragma once
// The metric engine as `measure -m NAME --cpu MODEL` and `import --cpu MODEL` use it: which
// metric files apply, which events the chosen metrics need and how they are grouped, and the
// metrics of the counts (with the reason for each one that cannot be computed).
#include <filesystem>
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>
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
  // "generic.json", then the CPU's file when there is one, then each --metrics path
  std::vector<std::string> files;
  std::vector<std::string> notes;  // what was not found and what was used instead
  // (group, metric name): a metric a --metrics file replaced stays in the groups the replaced
  // definition had (perf's tma_* are in TopdownL1, pmcmodel's also in topdown).
  std::vector<std::pair<std::string, std::string>> kept_groups = {};
};

// generic.json plus the CPU's file from `dir` (the data directory's metrics/; empty when there is
// none): the one `cpu_model` names (--cpu), else the one for `machine` (vendor, family, model,
// PMUs), else none; then the `user_paths` of --metrics in order (load_metric_path), each adding
// to what was loaded before and replacing a metric of the same name and Unit. Without
// dir/generic.json the built-in copy stands in, with a note. Throws MetricChoiceError for a --cpu
// name that no file covers (listing the names that work) or a --metrics path that gives nothing,
// and std::runtime_error for a file that does not load. The metrics with perf's runtime
// parameter '?' are made once per value `runtime` gives (MetricSet::instantiate_runtime), with a
// note.
LoadedMetrics load_metrics(const std::filesystem::path& dir, const std::string& cpu_model,
                           const MachineInfo& machine,
                           const std::vector<std::filesystem::path>& user_paths = {},
                           const RuntimeParamCounts& runtime = {});

// A --metrics path: a directory is read as perf's tools/perf/pmu-events/arch/<arch>/<cpu>/ or a
// folder of Intel perfmon files: every *.json in it (not its subdirectories), in name order.
// Entries with EventName/EventCode define events, entries with MetricName/MetricExpr metrics; a
// file of perfmon's {"Header", "Events": [...]} form gives its events; a file with neither is
// skipped with a note in `notes`. A file path is one metric file. Throws MetricChoiceError
// "--metrics PATH: why" for a path that does not exist, is neither a file nor a directory, or a
// directory with no events or metrics in any *.json; std::runtime_error "FILE:LINE: …" for a
// file that does not parse.
MetricSet load_metric_path(const std::filesystem::path& path, std::vector<std::string>& notes);

// Checks --metrics paths without reading them (they exist, each a file or a directory), so that
// a command refuses a mistyped one before it runs anything: throws MetricChoiceError.
void check_metric_paths(const std::vector<std::filesystem::path>& paths);

// The entries of -m (`wanted`: metric names and MetricGroup entries, without regard to case) as
// MetricSet::select() takes them, a group's kept_groups metrics added by name. `Default` stands
// for the groups measure shows without -m (default_metric_groups) that the set has, plus the
// files' own `Default` group (perf's MetricGroup "Default") where they have one. Throws
// MetricChoiceError "-m NAME: …" for a name that is neither a metric nor a group, listing some of
// the groups the set has and the files.
std::vector<std::string> resolve_metric_selection(const LoadedMetrics& metrics,
                                                  const std::vector<std::string>& wanted);

// The entries of `groups` the set has (available_selection), with their kept_groups metrics.
std::vector<std::string> default_selection(const LoadedMetrics& metrics,
                                           const std::vector<std::string>& groups);

// The MetricGroup entries of `set`, each once (first spelling), in file order.
std::vector<std::string> metric_groups(const MetricSet& set);

// Events the metric engine supplies itself rather than a counter (duration_time); `key` is a
// canonical_event_name().
bool supplied_without_counter(const std::string& key);

// The names a resolver may know a metric file's event by: perf's spelling, then libpfm4's
// ("INST_RETIRED.ANY" is "INST_RETIRED:ANY" there), then the core PMU's sysfs alias
// ("cpu/topdown-retiring/").
std::vector<std::string> resolver_spellings(const std::string& spelling);

// Whether `set` derives any top-down (tma_*) metric from the run's counts of `m` (its intervals
// aside), with import's selection (import_metric_groups) and `literals`.
bool derives_topdown(const Measurement& m, const MetricSet& set, const Literals& literals = {});

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

  // The metrics of an interval's counts; a metric whose events are counted in several groups
  // (EventCount::group) from those of its own group (evaluate_in_own_groups), as perf does.
  std::vector<Metric> evaluate(const std::vector<EventCount>& events, double duration_s) const;

  // The final metrics of `m` (each from its own group's counts, as evaluate()), its not-supported
  // rows for events that could not be named, and a note per metric that could not be computed.
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
  // The events each of selected_ reads (metric_event_keys), to find the group it was scheduled
  // in where an event is counted in several (evaluate_in_own_groups).
  std::vector<std::vector<std::string>> event_keys_;
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
  // The metrics of an event counted in several groups, from their own group's counts, with the
  // plan of which group kept between intervals.
  mutable std::optional<OwnGroupEvaluator> own_groups_;
};

}  // namespace pmc
