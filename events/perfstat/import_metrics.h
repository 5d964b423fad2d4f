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
#include "events/metrics/metric_literals.h"
#include "events/metrics/metric_schedule.h"

namespace pmc {

// The metric engine on the run and on every interval (apply_metric_engine), the intervals cut
// into shares that `threads` threads take in turn (several per thread, so that a thread slowed by
// another process on its CPU does fewer): each share is a Measurement with the run's own events,
// so each works out the same per-interval selection from the run as apply_metric_engine does on
// the whole, and the intervals come back in order. The metrics are those of one call.
void derive_metrics_in_parallel(Measurement& m, const MetricSet& set,
                                const std::vector<std::string>& selection, unsigned threads,
                                const Literals& literals = {});

// The run's metrics of an import whose intervals' metrics are left to the writer: with metric
// files, their notes and the metric engine's run metrics on `selection` (none when it is empty);
// without (null), perf stat's generic ratios and a note that no metric files were found under
// `metrics_dir`.
void derive_run_metrics(Measurement& m, const LoadedMetrics* metrics,
                        const std::vector<std::string>& selection, const std::string& metrics_dir,
                        const Literals& literals = {});

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
// otherwise the run and every interval get theirs here, on `threads` threads. `selection` is -m's
// (resolve_metric_selection); empty: import's groups (import_metric_groups) that the files have.
ImportMetricsPlan derive_import_metrics(Measurement& m, const LoadedMetrics* metrics, bool defer,
                                        unsigned threads, const std::string& metrics_dir,
                                        const std::vector<std::string>& selection = {},
                                        const Literals& literals = {});

// The metrics an import derives: -m's `wanted` (empty: import's groups the files have).
std::vector<std::string> import_selection(const LoadedMetrics& metrics,
                                          const std::vector<std::string>& wanted);

// Without --cpu: the metric files the recording's events show, when `given` derives no top-down
// from it (infer_metric_files, whose note on `m` says which and why); `load` reads a --cpu name's
// files and `literals` gives the literals for a CPU name ("" for `given`'s). nullopt when
// `cpu_model` is given or nothing better is found. `wanted` (-m's names): where `given` lacks
// one of them, the files of the CPU the events show are chosen when they have them all.
std::optional<LoadedMetrics> infer_import_metrics(
    Measurement& m, const std::string& cpu_model, const LoadedMetrics* given,
    const std::function<LoadedMetrics(const std::string& cpu)>& load,
    const std::function<Literals(const std::string& cpu)>& literals = {},
    const std::vector<std::string>& wanted = {});

// The literals a recording (or a measurement document) shows, as perf would have had them on
// its machine; each is set only where the recording tells it:
// - a document's machine: #num_cpus (its logical CPUs).
// - a system-wide recording of every CPU (no -C list): with -A rows (`CPU3/…`), #num_cpus and
//   #num_cpus_online (the CPUs of the event that shows the most: uncore events show one);
//   with --per-core rows (`S0-D0-C1/…`, perf's "aggregate of N CPUs"), #num_cores, #num_dies,
//   #num_packages, #num_cpus (the sum of N) and #smt_on (1 when a core has two CPUs or more);
//   with --per-die or --per-socket rows, #num_dies and #num_packages, and #num_cpus.
// - a counted Intel `*_ANY` event (CPU_CLK_UNHALTED.THREAD_ANY, INT_MISC.RECOVERY_CYCLES_ANY),
//   which perf's formulas read only with SMT on: #smt_on = 1.
// - an Arm recording whose Neoverse core shows (neoverse_in_recording: a PMU name, perf -v's
//   CPUID, the slots perf's printed backend_bound gives): #slots.
void add_recording_literals(const Measurement& m, LiteralLayers& layers);

// A note on `m` where `set` reads #slots and `layers` has no value for it (SBSA's formulas, --cpu
// sbsa, on a recording that does not show its core): the top-down metrics that read it are left
// out, and what would give it.
void note_unknown_slots(Measurement& m, const MetricSet& set, const LiteralLayers& layers);

// report -m/--metrics/--literal: the metrics of `m` and of its intervals derived again from their
// events with `metrics` (reported[] kept): -m's `wanted` (empty: import's groups), with the
// literals of import_literals(m, "", given); metrics the set does not define (joules_per_run, a
// model's estimates) are kept after them; notes say which files and literals.
void rederive_metrics(Measurement& m, const LoadedMetrics& metrics,
                      const std::vector<std::string>& wanted,
                      const std::vector<LiteralSetting>& given);

// import's (and report's) literals for `m`: `given` (--literal), the recording
// (add_recording_literals), `cpu_model`'s family (--cpu, or the CPU the recording's events show;
// empty for none: #slots, cpu_family_slots) and, with a CPU family or metric files (`set`, may be
// null) that read #smt_on, #smt_on assumed 0 where nothing gives it (the per-thread formulas,
// which need no `*_ANY` events); the strongest source of each wins: --literal > recording > --cpu
// > assumed. #core_wide then follows perf's rule (tools/perf/util/smt.c core_wide) where #smt_on
// is known: 0 unless the recording is system-wide; 1 with SMT off or with every CPU counted (no
// -C list); 0 for a -C list with SMT. #num_cpus_online is #num_cpus where only that is known.
LiteralLayers import_literals(const Measurement& m, const std::string& cpu_model,
                              const std::vector<LiteralSetting>& given,
                              const MetricSet* set = nullptr);

}  // namespace pmc
