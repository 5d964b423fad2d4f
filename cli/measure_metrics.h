#pragma once
// The metric engine's wiring for `measure -m NAME --cpu MODEL` and `import --cpu MODEL`: the
// data directory's metric files (events/metrics/metric_schedule.h) with their errors as
// CommandError.
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "events/metrics/metric_schedule.h"
#include "events/names/sysroot.h"

namespace pmc::cli {

// The shipped metric files: metrics/ of the data directory (engine/system/data_dir.h).
std::filesystem::path metrics_dir();

// pmc::load_metrics from metrics_dir(). Throws CommandError for a --cpu name that no file covers
// or a file that does not load.
LoadedMetrics load_metrics(const std::string& cpu_model, const MachineInfo& machine);

// The metrics of `measure`: -m's names (empty: the default groups) from the files for --cpu or
// this machine. Without -m and --cpu, nullopt when the metric files cannot be loaded (measure
// then keeps derive_metrics); otherwise a CommandError.
std::optional<MeasureMetrics> make_measure_metrics(const std::vector<std::string>& names,
                                                   const std::string& cpu_model,
                                                   const SysRoot& root, bool hardware_available);

}  // namespace pmc::cli
