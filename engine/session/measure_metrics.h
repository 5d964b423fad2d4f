#pragma once
// The metric engine of `measure -m NAME --cpu MODEL` on this machine: which metric files load
// (events/metrics/metric_schedule.h) and with which literals (#num_packages…) and counter model.
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "events/metrics/metric_schedule.h"
#include "events/names/sysroot.h"

namespace pmc {

// What measure asks of its metrics.
struct MeasureMetricsRequest {
  std::vector<std::string> names;                 // -m: metrics and groups; empty: the defaults
  std::string cpu_model;                          // --cpu; empty: this machine's file
  std::vector<std::filesystem::path> user_paths;  // --metrics: files and directories
  bool system_wide = false;                       // -a, -G: for #core_wide
  std::string cpu_list;                           // -C
};

// -m's `names` (empty: the default groups the files have) from the metric files in `dir` for
// `cpu_model`, or for this machine (read_machine_info of `root`) when it is empty, and the
// --metrics paths; the literals are this machine's (machine_literals). The default metrics are a
// convenience: without names, cpu_model and paths, files that do not load give nullopt (measure
// then keeps derive_metrics). Otherwise throws what load_metrics throws (std::runtime_error,
// MetricChoiceError for a --cpu no file covers or a bad --metrics path) and MetricChoiceError
// for a name that is neither a metric nor a group.
std::optional<MeasureMetrics> open_measure_metrics(const std::filesystem::path& dir,
                                                   const MeasureMetricsRequest& request,
                                                   const SysRoot& root, bool hardware_available);

}  // namespace pmc
