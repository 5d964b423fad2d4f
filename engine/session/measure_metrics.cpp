#include "engine/session/measure_metrics.h"

#include <stdexcept>

#include "engine/session/machine.h"

namespace pmc {

std::optional<MeasureMetrics> open_measure_metrics(const std::filesystem::path& dir,
                                                   const MeasureMetricsRequest& request,
                                                   const SysRoot& root, bool hardware_available) {
  check_metric_paths(request.user_paths);
  MachineInfo machine = read_machine_info(root);
  std::optional<LoadedMetrics> loaded;
  try {
    loaded = load_metrics(dir, request.cpu_model, machine, request.user_paths);
  } catch (const std::runtime_error&) {
    if (!request.names.empty() || !request.cpu_model.empty() || !request.user_paths.empty()) throw;
    return std::nullopt;
  }
  return MeasureMetrics(std::move(*loaded), request.names,
                        machine_literals(machine, root, request.system_wide, request.cpu_list),
                        machine_counter_model(machine, root), hardware_available);
}

}  // namespace pmc
