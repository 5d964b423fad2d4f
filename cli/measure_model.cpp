#include "cli/measure_model.h"

#include <fmt/format.h>

#include "cli/commands.h"

namespace pmc::cli {

std::vector<MeasureModel> load_measure_models(const std::vector<std::string>& paths) {
  std::vector<MeasureModel> out;
  for (const auto& path : paths) {
    try {
      out.push_back({path, read_model(path)});
    } catch (const std::exception& e) {
      throw CommandError(fmt::format("--model {}", e.what()));
    }
  }
  return out;
}

}  // namespace pmc::cli
