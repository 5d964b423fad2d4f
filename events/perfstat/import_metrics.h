#pragma once
// The metrics of an imported perf stat recording: the metric engine's (events/metrics) on the
// run and on each interval with import's selection (import_metric_groups), spread over threads
// for a long recording; perf stat's generic ratios (derive_metrics) when there are no metric
// files; and, for a document whose intervals are written as they are evaluated, the run's metrics
// alone and which metrics each interval takes.
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "events/document/measurement.h"
#include "events/metrics/metric_schedule.h"

namespace pmc {

// The metric engine on the run and on every interval (apply_metric_engine), the intervals cut
// into shares that `threads` threads take in turn (several per thread, so that a thread slowed by
// another process on its CPU does fewer): each share is a Measurement with the run's own events,
// so each works out the same per-interval selection from the run as apply_metric_engine does on
// the whole, and the intervals come back in order. The metrics are those of one call.
void derive_metrics_in_parallel(Measurement& m, const MetricSet& set,
                                const std::vector<std::string>& selection, unsigned threads);

// The run's metrics of an import whose intervals' metrics are left to the writer: with metric
// files, their notes and the metric engine's run metrics on `selection` (none when it is empty);
// without (null), perf stat's generic ratios and a note that no metric files were found under
// `metrics_dir`.
void derive_run_metrics(Measurement& m, const LoadedMetrics* metrics,
                        const std::vector<std::string>& selection, const std::string& metrics_dir);

// How an imported document's intervals get their metrics.
struct ImportMetricsPlan {
  // The intervals' metrics are left to the writer, which evaluates every interval as it formats
  // it: the metric engine on `per_interval` (indices into the set) or, without metric files,
  // derive_metrics.
  bool deferred = false;
  std::vector<size_t> per_interval;
};

// import's metrics of `m` with `metrics` (null: no metric files): `defer` leaves the intervals'
// metrics to the writer when there are intervals (every selected metric on every interval, as a
// streamed import must, since it writes the intervals before the run's pruning is known);
// otherwise the run and every interval get theirs here, on `threads` threads.
ImportMetricsPlan derive_import_metrics(Measurement& m, const LoadedMetrics* metrics, bool defer,
                                        unsigned threads, const std::string& metrics_dir);

// Without --cpu: the metric files the recording's events show, when `given` derives no top-down
// from it (infer_metric_files, whose note on `m` says which and why); `load` reads a --cpu name's
// files. nullopt when `cpu_model` is given or nothing better is found.
std::optional<LoadedMetrics> infer_import_metrics(
    Measurement& m, const std::string& cpu_model, const LoadedMetrics* given,
    const std::function<LoadedMetrics(const std::string& cpu)>& load);

}  // namespace pmc
