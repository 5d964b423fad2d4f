// pmcmodel calibrate: run the embedded workload suite over thread counts (and frequency caps
// where cpufreq allows), sample counters and power every 100 ms, write the training dataset and
// fit the watts, IPC and CPI-stack models that what was counted allows. The run and the dataset's
// text are engine/workloads/calibrate.h, the fits models/calibration/; here are the options, the
// progress line, the files and the report.
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <optional>
#include <string_view>

#include <fmt/format.h>

#include "cli/commands.h"
#include "cli/failsafe.h"
#include "cli/model_report.h"
#include "cli/option_checks.h"
#include "cli/output.h"
#include "engine/power/energy_accounting.h"
#include "engine/session/machine.h"
#include "engine/system/self_exe.h"
#include "engine/workloads/calibrate.h"
#include "events/names/resolver.h"
#include "models/calibration/calibration_models.h"
#include "models/fit/dataset.h"

namespace pmc::cli {
namespace {

using Clock = std::chrono::steady_clock;

struct CalibrateOptions {
  CalibrationRequest request;
  std::string out_data = "calibration.csv";
  std::string out;
};

void show_progress(size_t index, size_t count, const CalibrationStep& s, double left_s) {
  std::fprintf(stderr, "\r\033[K[%zu/%zu] %s, %d thread%s%s, %.0f s left", index + 1, count,
               s.workload.c_str(), s.threads, s.threads == 1 ? "" : "s",
               s.khz ? fmt::format(", max {} MHz", s.khz / 1000).c_str() : "",
               std::max(0.0, left_s));
  std::fflush(stderr);
}

std::string model_file(const std::string& out, const std::string& target) {
  std::string stem = out;
  if (stem.size() > 5 && stem.compare(stem.size() - 5, 5, ".json") == 0)
    stem.resize(stem.size() - 5);
  return stem + "." + target + ".json";
}

// Per workload, the share of its cycles the CPI stack gives to the base and to each miss level.
std::string format_stall_shares(const CpiStack& stack, const Dataset& data,
                                const std::string& cycles) {
  std::string out = fmt::format("CPI stack: base CPI {:.3g}", stack.base_cpi);
  for (size_t l = 0; l < stack.levels.size(); ++l)
    out += fmt::format(", {:.3g} cycles per {}", stack.penalty_cycles[l], stack.levels[l]);
  out += fmt::format("\n  {:<14} {:>6} {:>8}", "workload", "rows", "base");
  for (const auto& l : stack.levels) out += fmt::format(" {:>28}", l);
  out += fmt::format(" {:>12}\n", "unexplained");
  for (const auto& g : stall_shares_by_group(stack, data.column(cycles), data.labels("workload"))) {
    out += fmt::format("  {:<14} {:>6} {:>7.1f}%", g.group, g.rows, 100 * g.base_share);
    for (double s : g.level_share) out += fmt::format(" {:>27.1f}%", 100 * s);
    out += fmt::format(" {:>11.1f}%\n", 100 * g.unexplained_share);
  }
  return out;
}

// The report's fits: each model's CV report and file, the CPI stack per workload, what was not
// fitted and why.
std::string report_models(const CalibrationModels& models, const Dataset& data,
                          const CalibrateOptions& o) {
  std::string report;
  if (!models.cv_how.empty()) report += fmt::format("cv plan: {}\n", models.cv_how);
  for (const auto& f : models.fitted) {
    report += fmt::format("\n{}:\n", f.what);
    report += format_fit_report(f.outcome.model, f.outcome.cv, data.origin());
    if (!o.out.empty()) {
      auto file = model_file(o.out, f.target);
      write_file_atomically(file, model_to_json(f.outcome.model));
      report += fmt::format("wrote {}\n", file);
    }
  }
  if (models.cpi_stack) {
    report += "\n" + format_stall_shares(*models.cpi_stack, data, models.cycles_column);
    for (const auto& f : models.fitted)
      if (f.target == "cpi") report += format_stall_comparison(f.outcome.model.stall_check);
  }
  if (models.fitted.empty()) report += "\nno model could be fitted from what was counted here\n";
  if (!models.not_fitted.empty()) {
    report += "models not fitted:\n";
    for (const auto& n : models.not_fitted) report += "  " + n + "\n";
  }
  if (!models.fitted.empty() && o.out.empty())
    report += "(no --out: the models were not written)\n";
  return report;
}

// What was run, counted and written, and the notes, as the report's first lines.
std::string format_run_summary(const CalibrateOptions& o, const CalibrationResult& result,
                               double elapsed_s) {
  const CalibrationRequest& r = o.request;
  const CalibrationColumns& c = result.columns;
  // What the rows hold, from the steps that ran (fewer than planned when the run was interrupted
  // or --seconds ran out); the notes say what was asked for and left out, and why.
  size_t run = result.run.steps_run, planned = result.steps.size();
  std::string steps = run < planned ? fmt::format("{} of {}", run, planned) : std::to_string(run);
  std::string report = fmt::format(
      "calibrate: {} rows ({} ms intervals) from {} step{} (workloads {}; threads {}) in {:.1f} "
      "s\n",
      result.rows, r.interval_ms, steps, planned == 1 ? "" : "s",
      fmt::join(result.workloads_in_rows, ","), fmt::join(result.threads_in_rows, ","), elapsed_s);
  report += fmt::format("counted: {}\n", fmt::join(c.event_columns, ", "));
  if (!c.uncounted.empty())
    report += fmt::format("not counted: {}\n", fmt::join(c.uncounted, "; "));
  if (!result.power_method.empty())
    report +=
        fmt::format("power: {} ({})\n", result.power_method,
                    c.domains.empty() ? std::string("no reading in any interval: see the notes")
                                      : fmt::format("{}", fmt::join(c.domains, ", ")));
  if (!c.gpu_columns.empty()) {
    std::vector<std::string> columns;
    for (const auto& g : c.gpu_columns) columns.push_back(g.column);
    report += fmt::format("gpus: {}\n", fmt::join(columns, ", "));
  }
  for (const auto& n : result.notes) report += "note: " + n + "\n";
  for (const auto& n : result.power_notes) report += "note: " + n + "\n";
  report += o.out_data == "-" ? std::string("wrote the dataset to stdout\n")
                              : fmt::format("wrote {}\n", o.out_data);
  return report;
}

// The `#` lines before the header, without the '#' (as Dataset::preview_csv gives a file's):
// the machine identity the dataset carries.
std::vector<std::string> header_comments(std::string_view csv) {
  std::vector<std::string> out;
  for (size_t pos = 0; pos < csv.size() && csv[pos] == '#';) {
    size_t end = std::min(csv.find('\n', pos), csv.size());
    std::string_view line = csv.substr(pos + 1, end - pos - 1);
    while (!line.empty() && line.front() == ' ') line.remove_prefix(1);
    out.emplace_back(line);
    pos = end + 1;
  }
  return out;
}

// Fits, each on the dataset's text as written, read as `fit` reads the file (its FILE:LINE in
// any refusal): with --out-data - there is no file to read back.
std::string fit_written_dataset(const CalibrateOptions& o, const CalibrationResult& result) {
  std::string origin = o.out_data == "-" ? "<stdout>" : o.out_data;
  Dataset data = Dataset::parse_csv(result.csv, origin, {{"workload"}, {}});
  ModelIdentity identity{machine_from_comments(header_comments(result.csv), origin),
                         o.request.created_at};
  return report_models(fit_calibration_models(data, result.columns, identity, result.context), data,
                       o);
}

// The suite, with a progress line on a terminal. Errors in the request and the power options are
// usage errors, as the options' own checks are.
CalibrationResult run_suite(const SysRoot& root, const MachineInfo& machine,
                            const CalibrationRequest& request) {
  bool tty = isatty(STDERR_FILENO) != 0;
  CalibrationResult result;
  try {
    result = calibrate(root, machine, request, tty ? CalibrationProgress(show_progress) : nullptr);
  } catch (const ResolveError& e) {
    throw CommandError(e.what());
  } catch (const EnergyError& e) {
    throw CommandError(e.what());
  }
  if (tty) std::fputs("\r\033[K", stderr);
  return result;
}

int run_calibrate(CalibrateOptions o) {
  auto started = Clock::now();
  SysRoot root = SysRoot::from_env();
  MachineInfo machine = read_machine_info(root);
  try {
    complete_calibration_request(o.request, std::max(1, machine.logical_cpus));
  } catch (const CalibrationRequestError& e) {
    throw CommandError(e.what());
  }
  // Outputs are checked before the suite runs, not found unwritable minutes later.
  check_output_path(o.out_data);
  if (!o.out.empty()) check_output_path(model_file(o.out, "ipc"));
  o.request.created_at = utc_now_iso8601();
  o.request.executable = self_executable_or("pmcmodel");

  CalibrationResult result = run_suite(root, machine, o.request);
  if (result.rows == 0)
    throw CommandError(
        fmt::format(
            "no complete interval was measured ({} steps, --seconds {:g}): no dataset written",
            result.steps.size(), o.request.seconds),
        ExitStatus::environment);
  write_file_atomically(o.out_data, result.csv);

  double elapsed_s = std::chrono::duration<double>(Clock::now() - started).count();
  std::string report = format_run_summary(o, result, elapsed_s);
  report += fit_written_dataset(o, result);
  // With --out-data -, stdout is the dataset's: the report goes to stderr (as fit --out - does).
  std::fputs(report.c_str(), o.out_data == "-" ? stderr : stdout);
  // Interrupted: the dataset and models are written, then pmcmodel dies of the signal, as measure
  // without a command does (perf stat's re-raise), so that a script sent ^C stops.
  if (result.run.interrupted_by) defer_signal(*result.run.interrupted_by);
  return 0;
}

}  // namespace

Runner add_calibrate(CLI::App& app) {
  auto o = std::make_shared<CalibrateOptions>();
  auto* cmd = app.add_subcommand(
      "calibrate",
      "Run the workload suite, write a training dataset and fit this machine's models");
  cmd->add_option("--seconds", o->request.seconds, "Bound on the whole run (default 60)")
      ->check(CLI::Range(0.5, 86400.0));
  cmd->add_option("--threads", o->request.threads,
                  "Thread counts, e.g. 1,2,4 (default 1 … logical CPUs)")
      ->delimiter(',')
      ->allow_extra_args(false)
      ->check(CLI::Range(1, 4096));
  cmd->add_option("--workloads", o->request.workloads,
                  "Workloads to run (default the suite, see 'pmcmodel workload --list')")
      ->delimiter(',')
      ->allow_extra_args(false);
  cmd->add_option("--out-data", o->out_data,
                  "Training dataset CSV to write (default calibration.csv; - for stdout, the "
                  "report then goes to stderr)")
      ->check(not_empty("a file name, or - for stdout"));
  cmd->add_option("--out", o->out,
                  "Model files: MODEL.json gives MODEL.<target>.json per fitted model "
                  "(package_watts, ipc, cpi)")
      ->check(not_empty("a file name"));
  cmd->add_option("--power-source", o->request.power_source,
                  "auto (perf power PMU, then powercap), perf, powercap, papi, none")
      ->check(CLI::IsMember({"auto", "perf", "powercap", "papi", "none"}));
  cmd->add_option("--power-from", o->request.power_from,
                  "Power from a wall meter's log FILE, or ipmi")
      ->check(not_empty("a meter log file, or ipmi"));
  cmd->add_option("--gpus", o->request.gpus,
                  "GPUs whose watts, utilisation, clocks and temperature the dataset records "
                  "(NVIDIA's through NVML, then AMD's through AMD SMI): all (the default), none, "
                  "or indices \"0,2\", \"0-3\"");
  cmd->add_option("--interval-ms", o->request.interval_ms, "Sampling interval (default 100)")
      ->check(CLI::Range(10, 10000));
  cmd->footer(
      "Examples:\n"
      "  pmcmodel calibrate --seconds 120 --out-data calib.csv --out model.json\n"
      "  pmcmodel calibrate --threads 1,4,8 --power-from meter.csv --out model.json\n"
      "Exit 0 when the dataset was written, even if some models could not be fitted (the report "
      "says which and why).");
  return [o] {
    try {
      return run_calibrate(*o);
    } catch (const CommandError&) {
      throw;
    } catch (const std::runtime_error& e) {
      throw CommandError(e.what(), ExitStatus::environment);
    }
  };
}

}  // namespace pmc::cli
