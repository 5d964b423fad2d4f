// pmcmodel report: the human table of a stored measurement document.
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <memory>
#include <sstream>

#include "cli/commands.h"
#include "cli/measure_metrics.h"
#include "cli/output.h"
#include "events/document/measurement_io.h"
#include "events/perfstat/import_metrics.h"
#include "events/text/input_file.h"

namespace pmc::cli {
namespace {

struct ReportOptions {
  std::string path;
  std::vector<std::string> metric_names;   // -m
  std::vector<std::string> metric_paths;   // --metrics
  std::vector<std::string> literal_texts;  // --literal
  bool rederive() const {
    return !metric_names.empty() || !metric_paths.empty() || !literal_texts.empty();
  }
};

int run_report(const ReportOptions& o) {
  // Options are checked before the document is read.
  auto paths = metric_paths(o.metric_paths);
  auto literals = parse_literal_settings(o.literal_texts);
  // Refuses a directory, FIFO or device before reading, and a file over the input limit.
  std::string text = read_input_file(o.path);
  Measurement m;
  try {
    m = measurement_from_json(text, o.path);
  } catch (const FormatError& e) {
    throw CommandError(e.what());
  }
  if (o.rederive()) {
    // The document's machine (a measure document names it) chooses the CPU's file.
    auto metrics = load_metrics("", m.machine, paths, runtime_param_counts(literals));
    try {
      rederive_metrics(m, metrics, o.metric_names, literals);
    } catch (const std::runtime_error& e) {
      throw CommandError(e.what());
    }
  }
  std::fputs(format_table(m).c_str(), stdout);
  return 0;
}

}  // namespace

Runner add_report(CLI::App& app) {
  auto o = std::make_shared<ReportOptions>();
  auto* cmd = app.add_subcommand("report", "Print the table of a measurement document (JSON)");
  cmd->add_option("file", o->path, "Measurement document written by measure --json or import")
      ->required();
  cmd->add_option("-m", o->metric_names,
                  "Derive these metrics or groups again from the document's events (ipc, "
                  "topdown, perf's TopdownL1, Default…)")
      ->delimiter(',')
      ->allow_extra_args(false);
  cmd->add_option("--metrics", o->metric_paths,
                  "Metric files to add to generic.json (perf's pmu-events/arch/<arch>/<cpu>/ "
                  "directory, Intel perfmon files, one file; repeatable): metrics derived again")
      ->allow_extra_args(false);
  cmd->add_option("--literal", o->literal_texts,
                  "A #literal of the formulas, NAME=VALUE (repeatable): metrics derived again")
      ->allow_extra_args(false);
  cmd->footer(
      "Examples:\n  pmcmodel measure --json run.json -- ./app && pmcmodel report run.json\n"
      "  pmcmodel report run.json -m TopdownL1 --metrics linux/tools/perf/pmu-events/arch/x86/"
      "skylake");
  return [o] { return run_report(*o); };
}

}  // namespace pmc::cli
