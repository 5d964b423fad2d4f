#pragma once
// The metric engine's wiring for `measure -m NAME --cpu MODEL` and `import --cpu MODEL`: the
// data directory's metric files (events/metrics/metric_schedule.h) with their errors as
// CommandError.
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "engine/session/measure_metrics.h"
#include "events/metrics/metric_literals.h"
#include "events/metrics/metric_schedule.h"
#include "events/names/sysroot.h"

namespace pmc::cli {

// The shipped metric files: metrics/ of the data directory (engine/system/data_dir.h).
std::filesystem::path metrics_dir();

// pmc::load_metrics from metrics_dir() and the --metrics `user_paths`, '?' metrics made per
// `runtime` value (--literal ?=N). Throws CommandError for a --cpu name that no file covers, a
// bad --metrics path or a file that does not load.
LoadedMetrics load_metrics(const std::string& cpu_model, const MachineInfo& machine,
                           const std::vector<std::filesystem::path>& user_paths = {},
                           const RuntimeParamCounts& runtime = {});

// The metrics of `measure`: -m's names (empty: the default groups) from the files for --cpu or
// this machine and --metrics. Without -m, --cpu and --metrics, nullopt when the metric files
// cannot be loaded (measure then keeps derive_metrics); otherwise a CommandError.
std::optional<MeasureMetrics> make_measure_metrics(const MeasureMetricsRequest& request,
                                                   const SysRoot& root, bool hardware_available);

// --literal NAME=VALUE settings; a CommandError for one that is not.
std::vector<LiteralSetting> parse_literal_settings(const std::vector<std::string>& texts);

// --metrics paths, checked (they exist, each a file or a directory); a CommandError otherwise.
std::vector<std::filesystem::path> metric_paths(const std::vector<std::string>& texts);

}  // namespace pmc::cli
