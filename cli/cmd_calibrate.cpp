// pmcmodel calibrate: run the embedded workload suite over thread counts (and frequency caps
// where cpufreq allows), sample counters and power every 100 ms, write the training dataset and
// fit the watts, IPC and CPI-stack models that what was counted allows. The run is
// engine/workloads/calibration_suite.h, the dataset and the fits models/calibration/.
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <optional>

#include <fmt/format.h>

#include "cli/commands.h"
#include "cli/model_report.h"
#include "cli/output.h"
#include "engine/counting/perf_event.h"
#include "engine/power/power_source.h"
#include "engine/session/machine.h"
#include "engine/workloads/calibration_suite.h"
#include "engine/workloads/workloads.h"
#include "events/names/resolver.h"
#include "models/calibration/calibration_models.h"
#include "models/fit/dataset.h"

namespace pmc::cli {
namespace {

using Clock = std::chrono::steady_clock;

struct CalibrateOptions {
  double seconds = 60;
  std::vector<int> threads;
  std::vector<std::string> workloads;
  std::string out_data = "calibration.csv";
  std::string out;
  std::string power_source = "auto";
  std::string power_from;
  int interval_ms = 100;
};

std::string self_exe() {
  std::error_code ec;
  auto p = std::filesystem::read_symlink("/proc/self/exe", ec);
  return ec ? "pmcmodel" : p.string();
}

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

// --threads and --workloads with their defaults, checked before anything runs.
void complete_options(CalibrateOptions& o, int cpus) {
  if (o.threads.empty())
    for (int t = 1; t <= cpus; ++t) o.threads.push_back(t);
  std::sort(o.threads.begin(), o.threads.end());
  o.threads.erase(std::unique(o.threads.begin(), o.threads.end()), o.threads.end());
  if (o.workloads.empty()) o.workloads = suite_workloads();
  auto known = workload_names();
  for (const auto& w : o.workloads)
    if (std::find(known.begin(), known.end(), w) == known.end())
      throw CommandError(fmt::format("--workloads: unknown workload '{}' (expected one of: {})", w,
                                     fmt::join(known, ", ")));
}

std::vector<std::pair<std::string, std::string>> identity_of(const MachineInfo& m) {
  return {{"hostname", m.hostname},
          {"cpu_model", m.cpu_model},
          {"vendor", m.vendor},
          {"family", std::to_string(m.family)},
          {"model", std::to_string(m.model)},
          {"logical_cpus", std::to_string(m.logical_cpus)},
          {"kernel_release", m.kernel_release}};
}

// The report's fits: each model's CV report and file, the CPI stack per workload, what was not
// fitted and why.
std::string report_models(const CalibrationModels& models, const Dataset& data,
                          const CalibrateOptions& o) {
  std::string report;
  if (!models.cv_how.empty()) report += fmt::format("cv plan: {}\n", models.cv_how);
  for (const auto& f : models.fitted) {
    report += fmt::format("\n{}:\n", f.what);
    report += format_fit_report(f.outcome.model, f.outcome.cv, o.out_data);
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

// calibrate's events; with hardware counters, the stall counters this CPU has besides.
std::vector<EventGroup> resolve_calibration_events(const EventResolver& resolver, bool hardware,
                                                   std::vector<std::string>& notes) {
  std::vector<EventGroup> groups;
  try {
    groups = resolver.resolve_list(fmt::format("{}", fmt::join(calibration_events(hardware), ",")));
  } catch (const ResolveError& e) {
    throw CommandError(e.what());
  }
  if (hardware) add_stall_counters(resolver, groups, notes);
  return groups;
}

PowerChoice start_power_source(const SysRoot& root, const CalibrateOptions& o) {
  PowerChoice power;
  try {
    power = choose_power_source(root, o.power_source, o.power_from);
  } catch (const std::runtime_error& e) {
    throw CommandError(e.what());
  }
  if (power.source) power.source->start();
  return power;
}

// The suite as planned for --seconds and as run.
struct SuiteRun {
  std::vector<CalibrationStep> steps;
  CalibrationRun run;
};

// Plans the steps that fit in --seconds (at each frequency setting when the caps can be written)
// and runs them, with a progress line on a terminal.
SuiteRun run_suite(const SysRoot& root, const CalibrateOptions& o, int cpus,
                   const std::vector<EventGroup>& groups, PowerSource* power,
                   std::vector<std::string>& notes) {
  FrequencyControl freq = probe_frequency_control(root, cpus);
  if (!freq.available) notes.push_back("frequency not varied: " + freq.reason);
  // Keep 5% of --seconds for writing and fitting.
  CalibrationRunOptions run_options{self_exe(), o.seconds * 0.95, o.interval_ms, o.seconds};
  double min_step = std::max(0.25, 2.5 * o.interval_ms / 1000.0);
  SuiteRun suite;
  suite.steps = plan_calibration_steps(
      {o.seconds, o.threads, o.workloads, freq.available ? freq.settings_khz : std::vector<int>{0}},
      run_options.budget_s, min_step, notes);
  bool tty = isatty(STDERR_FILENO) != 0;
  suite.run = run_calibration(root, groups, power, freq, suite.steps, run_options,
                              tty ? CalibrationProgress(show_progress) : nullptr);
  if (tty) std::fputs("\r\033[K", stderr);
  notes.insert(notes.end(), suite.run.notes.begin(), suite.run.notes.end());
  return suite;
}

// What was run, counted and written, and the notes, as the report's first lines.
std::string format_run_summary(const CalibrateOptions& o, size_t rows, size_t steps,
                               double elapsed_s, const CalibrationColumns& c,
                               const PowerChoice& power, std::vector<std::string>& notes) {
  std::string report = fmt::format(
      "calibrate: {} rows ({} ms intervals) from {} steps ({} workloads, threads {}) in {:.1f} s\n",
      rows, o.interval_ms, steps, o.workloads.size(), fmt::join(o.threads, ","), elapsed_s);
  report += fmt::format("counted: {}\n", fmt::join(c.event_columns, ", "));
  if (!c.uncounted.empty())
    report += fmt::format("not counted: {}\n", fmt::join(c.uncounted, "; "));
  if (power.source)
    report += fmt::format("power: {} ({})\n", power.source->method(), fmt::join(c.domains, ", "));
  for (const auto& n : power.notes) notes.push_back(n);
  for (const auto& n : notes) report += "note: " + n + "\n";
  report += fmt::format("wrote {}\n", o.out_data);
  return report;
}

// Fits, each on the dataset as written (its FILE:LINE in any refusal), and their report.
std::string fit_written_dataset(const CalibrateOptions& o, const CalibrationColumns& c,
                                const std::string& created_at, const PowerChoice& power,
                                int hw_errno) {
  Dataset data = Dataset::load_csv(o.out_data, {{"workload"}, {}});
  ModelIdentity identity{
      machine_from_comments(Dataset::preview_csv(o.out_data).comments, o.out_data), created_at};
  CalibrationContext context;
  context.no_watts = power.source ? "the power source gave no domain"
                                  : "no power source (" + power.reason_if_none + ")";
  if (hw_errno != 0)
    context.no_hardware = fmt::format(
        " (no hardware counters here: perf_event_open of cycles failed with errno {})", hw_errno);
  return report_models(fit_calibration_models(data, c, identity, context), data, o);
}

int run_calibrate(CalibrateOptions o) {
  auto started = Clock::now();
  SysRoot root = SysRoot::from_env();
  MachineInfo machine = read_machine_info(root);
  int cpus = std::max(1, machine.logical_cpus);
  complete_options(o, cpus);
  // Outputs are checked before the suite runs, not found unwritable minutes later.
  check_output_path(o.out_data);
  if (!o.out.empty()) check_output_path(model_file(o.out, "ipc"));
  std::vector<std::string> notes;
  std::string created_at = utc_now_iso8601();

  int hw_errno = probe_hardware_counters();
  EventResolver resolver(root);
  std::vector<EventGroup> groups = resolve_calibration_events(resolver, hw_errno == 0, notes);
  PowerChoice power = start_power_source(root, o);
  SuiteRun suite = run_suite(root, o, cpus, groups, power.source.get(), notes);

  CalibrationColumns c = calibration_columns(suite.run.events, suite.run.samples);
  size_t rows = 0;
  std::string text =
      calibration_csv(suite.run.samples, c, identity_of(machine), created_at, o.interval_ms, rows);
  if (rows == 0)
    throw CommandError(
        fmt::format(
            "no complete interval was measured ({} steps, --seconds {:g}): no dataset written",
            suite.steps.size(), o.seconds),
        ExitStatus::environment);
  write_file_atomically(o.out_data, text);

  double elapsed_s = std::chrono::duration<double>(Clock::now() - started).count();
  std::string report = format_run_summary(o, rows, suite.steps.size(), elapsed_s, c, power, notes);
  report += fit_written_dataset(o, c, created_at, power, hw_errno);
  std::fputs(report.c_str(), stdout);
  return 0;
}

}  // namespace

Runner add_calibrate(CLI::App& app) {
  auto o = std::make_shared<CalibrateOptions>();
  auto* cmd = app.add_subcommand(
      "calibrate",
      "Run the workload suite, write a training dataset and fit this machine's models");
  cmd->add_option("--seconds", o->seconds, "Bound on the whole run (default 60)")
      ->check(CLI::Range(0.5, 86400.0));
  cmd->add_option("--threads", o->threads, "Thread counts, e.g. 1,2,4 (default 1 … logical CPUs)")
      ->delimiter(',')
      ->check(CLI::Range(1, 4096));
  cmd->add_option("--workloads", o->workloads,
                  "Workloads to run (default the suite, see 'pmcmodel workload --list')")
      ->delimiter(',');
  cmd->add_option("--out-data", o->out_data,
                  "Training dataset CSV to write (default calibration.csv)");
  cmd->add_option("--out", o->out,
                  "Model files: MODEL.json gives MODEL.<target>.json per fitted model "
                  "(package_watts, ipc, cpi)");
  cmd->add_option("--power-source", o->power_source,
                  "auto (perf power PMU, then powercap), perf, powercap, papi, none")
      ->check(CLI::IsMember({"auto", "perf", "powercap", "papi", "none"}));
  cmd->add_option("--power-from", o->power_from, "Power from a wall meter's log FILE, or ipmi");
  cmd->add_option("--interval-ms", o->interval_ms, "Sampling interval (default 100)")
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
