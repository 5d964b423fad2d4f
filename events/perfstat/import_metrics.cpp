#include "events/perfstat/import_metrics.h"

#include <algorithm>
#include <iterator>

#include "events/metrics/derived_metrics.h"
#include "events/perfstat/metric_cpu.h"
#include "events/text/ordered_parallel.h"

namespace pmc {

void derive_metrics_in_parallel(Measurement& m, const MetricSet& set,
                                const std::vector<std::string>& selection, unsigned threads) {
  constexpr size_t kMinIntervalsPerShare = 1024;  // below that a share costs more than it saves
  constexpr size_t kSharesPerThread = 4;
  size_t shares = std::min<size_t>(size_t(threads) * kSharesPerThread,
                                   m.intervals.size() / kMinIntervalsPerShare);
  if (threads <= 1 || shares <= 1) {
    apply_metric_engine(m, set, selection);
    return;
  }
  std::vector<Interval> intervals = std::move(m.intervals);
  m.intervals.clear();
  size_t share = intervals.size() / shares;
  OrderedParallel<Measurement> work(
      threads, shares,
      [&](size_t, Measurement& part, unsigned) { apply_metric_engine(part, set, selection); },
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
      part.duration_s = m.duration_s;
      part.intervals.assign(std::make_move_iterator(begin), std::make_move_iterator(end));
    });
  }
  work.finish();
}

void derive_run_metrics(Measurement& m, const LoadedMetrics* metrics,
                        const std::vector<std::string>& selection, const std::string& metrics_dir) {
  if (metrics) {
    m.notes.insert(m.notes.end(), metrics->notes.begin(), metrics->notes.end());
    if (!selection.empty()) m.metrics = plan_metric_engine(m, metrics->set, selection).run;
    return;
  }
  m.metrics = derive_metrics(m.events, m.duration_s);
  m.notes.push_back("metric files not found under " + metrics_dir +
                    ": only perf stat's generic ratios were derived");
}

ImportMetricsPlan derive_import_metrics(Measurement& m, const LoadedMetrics* metrics, bool defer,
                                        unsigned threads, const std::string& metrics_dir) {
  ImportMetricsPlan plan;
  plan.deferred = defer && !m.intervals.empty();
  std::vector<std::string> selection;
  if (metrics) selection = available_selection(metrics->set, import_metric_groups());
  if (plan.deferred) {
    if (metrics) plan.per_interval = metrics->set.select(selection);
    derive_run_metrics(m, metrics, selection, metrics_dir);
  } else if (metrics) {
    m.notes.insert(m.notes.end(), metrics->notes.begin(), metrics->notes.end());
    derive_metrics_in_parallel(m, metrics->set, selection, threads);
  } else {
    derive_run_metrics(m, metrics, selection, metrics_dir);
    for (auto& iv : m.intervals) iv.metrics = derive_metrics(iv.events, iv.duration_s);
  }
  return plan;
}

std::optional<LoadedMetrics> infer_import_metrics(
    Measurement& m, const std::string& cpu_model, const LoadedMetrics* given,
    const std::function<LoadedMetrics(const std::string& cpu)>& load) {
  if (!cpu_model.empty()) return std::nullopt;
  return infer_metric_files(m, given, load);
}

}  // namespace pmc
