// pmcmodel calibrate: run the embedded workload suite over thread counts (and frequency caps
// where cpufreq allows), sample counters and power every 100 ms, write the training dataset and
// fit the watts, IPC and CPI-stack models that what was counted allows.
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <set>

#include <fmt/format.h>

#include "engine/workloads/calibration.h"
#include "cli/commands.h"
#include "models/fit/dataset.h"
#include "engine/session/machine.h"
#include "cli/model_report.h"
#include "cli/output.h"
#include "engine/counting/perf_event.h"
#include "engine/power/power_source.h"
#include "events/names/resolver.h"
#include "engine/session/session.h"
#include "engine/workloads/workloads.h"

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

struct Step {
  std::string workload;
  int threads = 1;
  int khz = 0;  // 0: frequency not set
};

struct Sample {
  double timestamp = 0;
  std::string workload;
  int threads = 0;
  int khz = 0;
  double duration_s = 0;
  std::vector<std::optional<double>> values;  // per event, nullopt when not counted
  std::map<std::string, double> watts;        // per power domain
};

// Events of the dataset: the software events always; with a hardware PMU the events the IPC and
// CPI-stack models need (cycles, instructions, branch and cache misses at L1 and the LLC).
std::vector<std::string> calibration_events(bool hardware) {
  std::vector<std::string> names = {"task-clock", "context-switches", "cpu-migrations",
                                    "page-faults"};
  if (hardware)
    for (const char* hw :
         {"cycles", "instructions", "branches", "branch-misses", "cache-references", "cache-misses",
          "L1-dcache-load-misses", "LLC-load-misses"})
      names.emplace_back(hw);
  return names;
}

// The CPU's stall counters (CYCLE_ACTIVITY.STALLS_*, Intel from Skylake on), to check the CPI
// stack against: each is added when libpfm4 knows it for this CPU, so other CPUs calibrate
// without them. Each is its own group, so one the kernel refuses costs no other event.
void add_stall_counters(const EventResolver& resolver, std::vector<EventGroup>& groups,
                        std::vector<std::string>& notes) {
  std::vector<std::string> unknown;
  for (const auto& c : stall_counters()) {
    try {
      for (auto& g : resolver.resolve_list(c.event)) groups.push_back(std::move(g));
    } catch (const ResolveError&) {
      unknown.emplace_back(c.event);
    }
  }
  if (!unknown.empty())
    notes.push_back(fmt::format(
        "stall counters not on this CPU ({}): the CPI stack is not checked against them",
        fmt::join(unknown, ", ")));
}

std::string self_exe() {
  std::error_code ec;
  auto p = std::filesystem::read_symlink("/proc/self/exe", ec);
  return ec ? "pmcmodel" : p.string();
}

// Fewer steps when --seconds cannot give each at least `min_step` s: thread counts first shrink to
// the smallest and the largest, then the suite is cut from its end.
std::vector<Step> plan_steps(const CalibrateOptions& o, const std::vector<int>& khz, double budget,
                             double min_step, std::vector<std::string>& notes) {
  auto build = [&](const std::vector<int>& threads, size_t workloads) {
    std::vector<Step> steps;
    for (int f : khz)
      for (size_t w = 0; w < workloads; ++w)
        for (int t : threads) steps.push_back({o.workloads[w], t, f});
    return steps;
  };
  auto steps = build(o.threads, o.workloads.size());
  size_t fit = size_t(std::max(1.0, std::floor(budget / min_step)));
  if (steps.size() <= fit) return steps;
  std::vector<int> threads = {o.threads.front()};
  if (o.threads.size() > 1) threads.push_back(o.threads.back());
  size_t workloads = o.workloads.size();
  while (build(threads, workloads).size() > fit && threads.size() > 1) threads.pop_back();
  while (build(threads, workloads).size() > fit && workloads > 1) --workloads;
  auto cut = build(threads, workloads);
  std::string left;
  for (size_t w = workloads; w < o.workloads.size(); ++w)
    left += (left.empty() ? "" : ", ") + o.workloads[w];
  notes.push_back(fmt::format(
      "--seconds {:g} allows {} steps of at least {:g} s, not {}: ran thread counts {} and {}",
      o.seconds, cut.size(), min_step, steps.size(), fmt::join(threads, ","),
      left.empty() ? "every workload" : "left out " + left));
  if (cut.size() > fit) cut.resize(fit);
  return cut;
}

void show_progress(size_t index, size_t count, const Step& s, double left_s) {
  std::fprintf(stderr, "\r\033[K[%zu/%zu] %s, %d thread%s%s, %.0f s left", index + 1, count,
               s.workload.c_str(), s.threads, s.threads == 1 ? "" : "s",
               s.khz ? fmt::format(", max {} MHz", s.khz / 1000).c_str() : "",
               std::max(0.0, left_s));
  std::fflush(stderr);
}

struct Columns {
  std::vector<size_t> events;  // indices of events that have a column
  std::vector<std::string> event_columns;
  std::vector<std::string> event_names;
  std::vector<std::string> domains;
  int cycles = -1, instructions = -1;  // index into events/event_columns
};

std::string csv_text(const std::vector<Sample>& samples, const Columns& c,
                     const MachineInfo& machine, const CalibrateOptions& o,
                     const std::string& created_at, size_t& rows) {
  std::string out = "# pmcmodel calibrate dataset (docs/formats.md): one row per interval\n";
  out += fmt::format("# machine.hostname={}\n# machine.cpu_model={}\n# machine.vendor={}\n",
                     machine.hostname, machine.cpu_model, machine.vendor);
  out += fmt::format(
      "# machine.family={}\n# machine.model={}\n# machine.logical_cpus={}\n# "
      "machine.kernel_release={}\n",
      machine.family, machine.model, machine.logical_cpus, machine.kernel_release);
  out += fmt::format("# created_at={}\n# interval_ms={}\n", created_at, o.interval_ms);
  for (size_t i = 0; i < c.events.size(); ++i)
    out += fmt::format("# event.{}={}\n", c.event_columns[i], c.event_names[i]);
  out += "timestamp,workload,threads,frequency_mhz,interval_s";
  for (const auto& name : c.event_columns) out += "," + name;
  bool ipc = c.cycles >= 0 && c.instructions >= 0;
  if (ipc) out += ",ipc,cpi";
  for (const auto& d : c.domains) out += "," + watts_column(d);
  out += "\n";
  rows = 0;
  for (const auto& s : samples) {
    bool complete = std::all_of(c.events.begin(), c.events.end(),
                                [&](size_t e) { return s.values[e].has_value(); });
    for (const auto& d : c.domains) complete &= s.watts.count(d) > 0;
    if (!complete) continue;
    out += fmt::format("{:.3f},{},{},{},{}", s.timestamp, s.workload, s.threads, s.khz / 1000,
                       s.duration_s);
    for (size_t e : c.events) out += fmt::format(",{}", *s.values[e] / s.duration_s);
    if (ipc) {
      double cyc = *s.values[c.events[size_t(c.cycles)]],
             ins = *s.values[c.events[size_t(c.instructions)]];
      out += fmt::format(",{},{}", cyc > 0 ? ins / cyc : 0.0, ins > 0 ? cyc / ins : 0.0);
    }
    for (const auto& d : c.domains) out += fmt::format(",{}", s.watts.at(d));
    out += "\n";
    ++rows;
  }
  return out;
}

struct Fitted {
  std::string what;
  std::string file;
  FitOutcome outcome;
};

bool non_constant(const Dataset& data, const std::string& column) {
  const auto& v = data.column(column);
  return std::any_of(v.begin(), v.end(), [&](double x) { return x != v.front(); });
}

CvPlan calibration_plan(const Dataset& data, std::string& how) {
  const auto& w = data.labels("workload");
  if (std::set<std::string>(w.begin(), w.end()).size() >= 2) {
    how = "grouped by workload (leave one workload out)";
    return grouped_plan(w);
  }
  size_t folds = std::min<size_t>(5, data.rows() / 2);
  how = fmt::format("k-fold, {} folds", folds);
  return kfold_plan(data.rows(), folds, 1);
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

int run_calibrate(CalibrateOptions o) {
  auto started = Clock::now();
  SysRoot root = SysRoot::from_env();
  MachineInfo machine = read_machine_info(root);
  int cpus = std::max(1, machine.logical_cpus);
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
  std::vector<std::string> notes, not_fitted;
  std::string created_at = utc_now_iso8601();

  int hw_errno = probe_hardware_counters();
  auto event_names = calibration_events(hw_errno == 0);
  EventResolver resolver(root);
  std::vector<EventGroup> groups;
  try {
    groups = resolver.resolve_list(fmt::format("{}", fmt::join(event_names, ",")));
  } catch (const ResolveError& e) {
    throw CommandError(e.what(), 1);
  }
  if (hw_errno == 0) add_stall_counters(resolver, groups, notes);

  PowerChoice power;
  try {
    power = choose_power_source(root, o.power_source, o.power_from);
  } catch (const std::runtime_error& e) {
    throw CommandError(e.what());
  }
  if (power.source) power.source->start();

  FrequencyControl freq = probe_frequency_control(root, cpus);
  std::vector<int> khz = freq.available ? freq.settings_khz : std::vector<int>{0};
  if (!freq.available) notes.push_back("frequency not varied: " + freq.reason);

  // Keep 5% of --seconds for writing and fitting.
  double budget = o.seconds * 0.95;
  double min_step = std::max(0.25, 2.5 * o.interval_ms / 1000.0);
  auto steps = plan_steps(o, khz, budget, min_step, notes);
  bool tty = isatty(STDERR_FILENO) != 0;
  auto deadline =
      started + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(budget));

  std::vector<Sample> samples;
  std::vector<EventCount> last_events;
  size_t partial = 0;
  std::optional<int> interrupted;
  std::unique_ptr<FrequencyCap> cap;
  int cap_khz = 0;
  double overhead_s = 0.05;
  for (size_t i = 0; i < steps.size() && !interrupted; ++i) {
    const auto& step = steps[i];
    auto step_start = Clock::now();
    double left = std::chrono::duration<double>(deadline - step_start).count();
    double step_s = left / double(steps.size() - i) - overhead_s;
    if (step_s < 0.05) {
      notes.push_back(fmt::format("{} of {} steps not run: --seconds {:g} ran out",
                                  steps.size() - i, steps.size(), o.seconds));
      break;
    }
    if (tty) show_progress(i, steps.size(), step, left);
    if (step.khz != cap_khz) {
      cap.reset();
      if (step.khz) cap = std::make_unique<FrequencyCap>(root, freq, step.khz);
      cap_khz = step.khz;
    }
    RunOptions run;
    run.argv = {self_exe(),
                "workload",
                step.workload,
                "--threads",
                std::to_string(step.threads),
                "--seconds",
                fmt::format("{:.3f}", step_s)};
    run.interval_ms = o.interval_ms;
    if (power.source) {
      run.sample_ms = 100;
      run.on_sample = [&] { power.source->sample(); };
      power.source->read_interval();  // energy between steps belongs to no row
    }
    auto counters = make_perf_event_counters(groups, root);
    RunResult r;
    try {
      r = run_counted(*counters, run, [&](Interval& iv) {
        Sample s;
        s.timestamp =
            std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch())
                .count();
        s.workload = step.workload;
        s.threads = step.threads;
        s.khz = step.khz;
        s.duration_s = iv.duration_s;
        for (const auto& e : iv.events)
          s.values.push_back(e.counted() ? std::optional<double>(e.value) : std::nullopt);
        if (power.source)
          for (const auto& e : power.source->read_interval())
            s.watts[e.domain] = e.average_watts;  // over the source's own window, which ends here
        if (iv.duration_s < 0.5 * o.interval_ms / 1000.0) {
          ++partial;  // the short tail at the command's end: too noisy a rate to train on
          return;
        }
        samples.push_back(std::move(s));
      });
    } catch (const ExecError& e) {
      throw CommandError(e.what(), 1);
    }
    // Starting and reaping the process costs time beyond the step's own: learn how much.
    double spent = std::chrono::duration<double>(Clock::now() - step_start).count();
    overhead_s = 0.5 * overhead_s + 0.5 * std::max(0.0, spent - step_s);
    if (r.exit_status.value_or(0) != 0)
      throw CommandError(
          fmt::format("workload {} exited with status {}", step.workload, *r.exit_status), 1);
    if (r.interrupted_by) {
      interrupted = r.interrupted_by;
      notes.push_back("interrupted by " + signal_name(*r.interrupted_by) +
                      ": the dataset has the steps run so far");
    }
    if (last_events.empty()) {
      last_events = r.events;
      for (const auto& n : counters->notes()) notes.push_back(n);
    }
  }
  cap.reset();
  if (tty) std::fputs("\r\033[K", stderr);
  if (partial)
    notes.push_back(
        fmt::format("{} partial intervals shorter than {} ms (a command's last) left out", partial,
                    o.interval_ms / 2));

  Columns c;
  std::set<std::string> domains;
  for (const auto& s : samples)
    for (const auto& [d, w] : s.watts) domains.insert(d);
  c.domains.assign(domains.begin(), domains.end());
  std::vector<std::string> uncounted;
  for (size_t e = 0; e < last_events.size(); ++e) {
    const auto& ev = last_events[e];
    if (!ev.counted()) {
      uncounted.push_back(
          fmt::format("{} ({})", ev.name, ev.reason.empty() ? to_string(ev.status) : ev.reason));
      continue;
    }
    if (ev.name == "cycles") c.cycles = int(c.events.size());
    if (ev.name == "instructions") c.instructions = int(c.events.size());
    c.events.push_back(e);
    c.event_columns.push_back(rate_column(ev.name));
    c.event_names.push_back(ev.name);
  }
  size_t rows = 0;
  std::string text = csv_text(samples, c, machine, o, created_at, rows);
  if (rows == 0)
    throw CommandError(
        fmt::format(
            "no complete interval was measured ({} steps, --seconds {:g}): no dataset written",
            steps.size(), o.seconds),
        1);
  write_file_atomically(o.out_data, text);

  std::string report = fmt::format(
      "calibrate: {} rows ({} ms intervals) from {} steps ({} workloads, threads {}) in {:.1f} s\n",
      rows, o.interval_ms, steps.size(), o.workloads.size(), fmt::join(o.threads, ","),
      std::chrono::duration<double>(Clock::now() - started).count());
  report += fmt::format("counted: {}\n", fmt::join(c.event_columns, ", "));
  if (!uncounted.empty()) report += fmt::format("not counted: {}\n", fmt::join(uncounted, "; "));
  if (power.source)
    report += fmt::format("power: {} ({})\n", power.source->method(), fmt::join(c.domains, ", "));
  for (const auto& n : power.notes) notes.push_back(n);
  for (const auto& n : notes) report += "note: " + n + "\n";
  report += fmt::format("wrote {}\n", o.out_data);

  // Fits, each on the dataset as written (its FILE:LINE in any refusal).
  Dataset data = Dataset::load_csv(o.out_data, {{"workload"}, {}});
  std::string how;
  std::optional<CvPlan> plan;
  try {
    plan = calibration_plan(data, how);
  } catch (const std::exception& e) {
    not_fitted.push_back(
        fmt::format("every model: {} rows cannot be cross-validated ({})", data.rows(), e.what()));
  }
  ModelIdentity identity{
      machine_from_comments(Dataset::preview_csv(o.out_data).comments, o.out_data), created_at};
  std::vector<Fitted> fitted;
  auto fit_one = [&](const std::string& what, const std::string& target,
                     std::vector<FeatureSpec> candidates, const SolverOptions& solver,
                     bool select) {
    if (!plan) return;
    try {
      auto outcome = fit_table(data, target, select ? std::vector<FeatureSpec>{} : candidates,
                               candidates, solver, *plan, {}, identity);
      fitted.push_back({what, o.out.empty() ? "" : model_file(o.out, target), std::move(outcome)});
    } catch (const std::exception& e) {
      not_fitted.push_back(fmt::format("{} ({}): {}", what, target, e.what()));
    }
  };
  std::string stall_report;  // the CPI stack per workload, when it was fitted
  std::vector<FeatureSpec> rates;
  for (const auto& col : c.event_columns)
    if (non_constant(data, col)) rates.push_back(raw_feature(col));

  if (c.domains.empty()) {
    not_fitted.push_back(
        fmt::format("watts: {}; watts need RAPL (the perf power PMU or powercap, readable) or "
                    "--power-from FILE|ipmi",
                    power.source ? "the power source gave no domain"
                                 : "no power source (" + power.reason_if_none + ")"));
  }
  for (const auto& d : c.domains) fit_one("watts of " + d, watts_column(d), rates, {}, true);

  bool have_ipc = c.cycles >= 0 && c.instructions >= 0;
  std::string why_no_hw =
      hw_errno == 0
          ? ""
          : fmt::format(
                " (no hardware counters here: perf_event_open of cycles failed with errno {})",
                hw_errno);
  if (!have_ipc) {
    not_fitted.push_back("IPC: needs cycles and instructions, which were not counted" + why_no_hw);
    not_fitted.push_back(
        "CPI stack (cache stalls): needs cycles, instructions and cache-miss events, which were "
        "not counted" +
        why_no_hw);
  } else {
    const std::string ins = c.event_columns[size_t(c.instructions)],
                      cyc = c.event_columns[size_t(c.cycles)];
    std::vector<FeatureSpec> per_instruction, misses;
    for (const auto& col : c.event_columns) {
      if (col == ins || col == cyc || col == "task_clock_per_s" || !non_constant(data, col))
        continue;
      FeatureSpec f{col.substr(0, col.size() - 6) + "_per_instruction", FeatureOp::ratio, col, ins};
      per_instruction.push_back(f);
      if (col == "l1_dcache_load_misses_per_s" || col == "llc_load_misses_per_s")
        misses.push_back(f);
    }
    if (misses.empty())
      for (const auto& f : per_instruction)
        if (f.a == "cache_misses_per_s") misses.push_back(f);
    fit_one("IPC", "ipc", per_instruction, {}, true);
    if (misses.empty()) {
      not_fitted.push_back(
          "CPI stack (cache stalls): no cache-miss event was counted (L1-dcache-load-misses, "
          "LLC-load-misses or cache-misses)");
    } else {
      SolverOptions nnls;
      nnls.kind = SolverKind::nnls;
      nnls.nnls.nonnegative_intercept = true;
      fit_one("CPI stack (cache stalls)", "cpi", misses, nnls, false);
      if (!fitted.empty() && fitted.back().outcome.model.target == "cpi") {
        auto& model = fitted.back().outcome.model;
        model.stall_check = stall_check(model, data, data.labels("workload"));
        std::vector<std::string> levels;
        for (const auto& f : misses) levels.push_back(f.a);
        try {
          stall_report = format_stall_shares(fit_cpi_stack(data, cyc, ins, levels), data, cyc);
          stall_report += format_stall_comparison(model.stall_check);
        } catch (const std::exception& e) {
          not_fitted.push_back(std::string("CPI stack per workload: ") + e.what());
        }
      }
    }
  }

  if (plan) report += fmt::format("cv plan: {}\n", how);
  for (const auto& f : fitted) {
    report += fmt::format("\n{}:\n", f.what);
    report += format_fit_report(f.outcome.model, f.outcome.cv, o.out_data);
    if (!f.file.empty()) {
      write_file_atomically(f.file, model_to_json(f.outcome.model));
      report += fmt::format("wrote {}\n", f.file);
    }
  }
  if (!stall_report.empty()) report += "\n" + stall_report;
  if (fitted.empty()) report += "\nno model could be fitted from what was counted here\n";
  if (!not_fitted.empty()) {
    report += "models not fitted:\n";
    for (const auto& n : not_fitted) report += "  " + n + "\n";
  }
  if (!fitted.empty() && o.out.empty()) report += "(no --out: the models were not written)\n";
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
      throw CommandError(e.what(), 1);
    }
  };
}

}  // namespace pmc::cli
