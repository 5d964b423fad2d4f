#include "engine/session/measure_metrics.h"

#include <stdexcept>

#include "engine/session/machine.h"
#include "events/metrics/metric_set.h"

namespace pmc {

std::optional<MeasureMetrics> open_measure_metrics(const std::filesystem::path& dir,
                                                   const MeasureMetricsRequest& request,
                                                   const SysRoot& root, bool hardware_available) {
  check_metric_paths(request.user_paths);
  MachineInfo machine = read_machine_info(root);
  bool asked = !request.names.empty() || !request.cpu_model.empty() || !request.user_paths.empty();
  // The CPU's own file (several hundred metrics, all on core counters) is of no use without a
  // hardware PMU unless something was asked for: its parse was most of measure's start-up on a VM.
  MachineInfo for_file = machine;
  std::string cpu_file;
  if (!hardware_available && !asked) {
    cpu_file = metric_file_for_cpu(machine.vendor, machine.family, machine.model, machine.pmus,
                                   machine.stepping);
    for_file.vendor.clear();
  }
  std::optional<LoadedMetrics> loaded;
  try {
    loaded = load_metrics(dir, request.cpu_model, for_file, request.user_paths,
                          machine_runtime_params(root));
  } catch (const std::runtime_error&) {
    if (asked) throw;
    return std::nullopt;
  }
  if (!cpu_file.empty() && cpu_file != "generic.json")
    loaded->notes.push_back("no hardware PMU: this CPU's metric file (" + cpu_file +
                            ") is not loaded, since none of its metrics can be counted here (-m "
                            "or --cpu loads it)");
  return MeasureMetrics(std::move(*loaded), request.names,
                        machine_literals(machine, root, request.system_wide, request.cpu_list),
                        machine_counter_model(machine, root), hardware_available);
}

}  // namespace pmc
