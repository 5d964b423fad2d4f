#include "engine/session/measure_metrics.h"

#include <stdexcept>

#include "engine/session/machine.h"

namespace pmc {

std::optional<MeasureMetrics> open_measure_metrics(const std::filesystem::path& dir,
                                                   const std::vector<std::string>& names,
                                                   const std::string& cpu_model,
                                                   const SysRoot& root, bool hardware_available) {
  MachineInfo machine = read_machine_info(root);
  std::optional<LoadedMetrics> loaded;
  try {
    loaded = load_metrics(dir, cpu_model, machine);
  } catch (const std::runtime_error&) {
    if (!names.empty() || !cpu_model.empty()) throw;
    return std::nullopt;
  }
  return MeasureMetrics(std::move(*loaded), names, machine_literals(machine, root),
                        machine_counter_model(machine, root), hardware_available);
}

}  // namespace pmc
