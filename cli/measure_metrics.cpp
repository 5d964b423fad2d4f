#include "cli/measure_metrics.h"

#include <stdexcept>

#include "cli/commands.h"
#include "engine/session/measure_metrics.h"
#include "engine/system/data_dir.h"

namespace pmc::cli {

std::filesystem::path metrics_dir() {
  return data_file("metrics");
}

LoadedMetrics load_metrics(const std::string& cpu_model, const MachineInfo& machine,
                           const std::vector<std::filesystem::path>& user_paths,
                           const RuntimeParamCounts& runtime) {
  try {
    return pmc::load_metrics(metrics_dir(), cpu_model, machine, user_paths, runtime);
  } catch (const std::runtime_error& e) {
    throw CommandError(e.what());
  }
}

std::optional<MeasureMetrics> make_measure_metrics(const MeasureMetricsRequest& request,
                                                   const SysRoot& root, bool hardware_available) {
  try {
    return open_measure_metrics(metrics_dir(), request, root, hardware_available);
  } catch (const std::runtime_error& e) {
    throw CommandError(e.what());
  }
}

std::vector<LiteralSetting> parse_literal_settings(const std::vector<std::string>& texts) {
  std::vector<LiteralSetting> out;
  try {
    for (const auto& text : texts) out.push_back(parse_literal_setting(text));
  } catch (const LiteralSettingError& e) {
    throw CommandError(e.what());
  }
  return out;
}

std::vector<std::filesystem::path> metric_paths(const std::vector<std::string>& texts) {
  std::vector<std::filesystem::path> out(texts.begin(), texts.end());
  try {
    check_metric_paths(out);
  } catch (const std::runtime_error& e) {
    throw CommandError(e.what());
  }
  return out;
}

}  // namespace pmc::cli
