#include "cli/measure_metrics.h"

#include <stdexcept>

#include "cli/commands.h"
#include "engine/session/machine.h"
#include "engine/system/data_dir.h"

namespace pmc::cli {

std::filesystem::path metrics_dir() {
  return data_file("metrics");
}

LoadedMetrics load_metrics(const std::string& cpu_model, const MachineInfo& machine) {
  try {
    return pmc::load_metrics(metrics_dir(), cpu_model, machine);
  } catch (const std::runtime_error& e) {
    throw CommandError(e.what());
  }
}

std::optional<MeasureMetrics> make_measure_metrics(const std::vector<std::string>& names,
                                                   const std::string& cpu_model,
                                                   const SysRoot& root, bool hardware_available) {
  MachineInfo machine = read_machine_info(root);
  std::optional<LoadedMetrics> loaded;
  try {
    loaded = load_metrics(cpu_model, machine);
  } catch (const CommandError&) {
    // The default metrics are a convenience: without metric files measure keeps perf's
    // generic ratios. Asking for metrics or a CPU makes a missing file an error.
    if (!names.empty() || !cpu_model.empty()) throw;
    return std::nullopt;
  }
  try {
    return MeasureMetrics(std::move(*loaded), names, machine_literals(machine, root),
                          machine_counter_model(machine, root), hardware_available);
  } catch (const MetricChoiceError& e) {
    throw CommandError(e.what());
  }
}

}  // namespace pmc::cli
