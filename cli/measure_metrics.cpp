#include "cli/measure_metrics.h"

#include <stdexcept>

#include "cli/commands.h"
#include "engine/session/measure_metrics.h"
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
  try {
    return open_measure_metrics(metrics_dir(), names, cpu_model, root, hardware_available);
  } catch (const std::runtime_error& e) {
    throw CommandError(e.what());
  }
}

}  // namespace pmc::cli
