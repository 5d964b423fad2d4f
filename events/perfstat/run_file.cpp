#include "events/perfstat/run_file.h"

#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include "events/document/measurement_io.h"
#include "events/metrics/derived_metrics.h"
#include "events/perfstat/import_perfstat.h"
#include "events/text/json_guard.h"

namespace pmc {

RunFile read_run_file(std::string_view text, const std::string& path) {
  using nlohmann::json;
  RunFile run;
  // Nesting, duplicate keys and numbers outside a double are refused before any parser runs.
  size_t first = text.find_first_not_of(" \t\r\n");
  if (first < text.size() && text[first] == '{')
    if (auto problem = find_json_problem(text))
      throw RunFileError(fmt::format("{}:{}: {}", path, problem->line, problem->what));
  json doc = json::parse(text.begin(), text.end(), nullptr, false);
  if (!doc.is_discarded() && doc.is_object() && doc.contains("schema")) {
    try {
      run.measurement = measurement_from_json(text, path);
    } catch (const FormatError& e) {
      throw RunFileError(e.what());
    }
    if (doc.contains("workload")) {
      if (!doc["workload"].is_string())
        throw RunFileError(path + ":1: \"workload\" must be a string naming the workload");
      run.workload = doc["workload"].get<std::string>();
    }
    return run;
  }
  try {
    run.measurement = import_perf_stat(text, path).measurement;
  } catch (const ImportError& e) {
    throw RunFileError(fmt::format("{} (neither a {} document nor a perf stat recording)", e.what(),
                                   kMeasurementSchema));
  }
  run.measurement.metrics = derive_metrics(run.measurement.events, run.measurement.duration_s);
  return run;
}

}  // namespace pmc
