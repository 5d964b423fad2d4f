#include "engine/workloads/calibrate.h"

#include <algorithm>
#include <cmath>
#include <set>

#include <fmt/format.h>

#include "engine/counting/perf_event.h"
#include "engine/power/energy_accounting.h"
#include "engine/session/session.h"
#include "engine/workloads/workloads.h"
#include "events/names/resolver.h"

namespace pmc {
namespace {

// The steps get 95% of --seconds; the rest is kept for writing and fitting.
constexpr double kStepsShare = 0.95;
// What starting and reaping a workload adds to its seconds, at most, on a loaded 2-CPU VM.
constexpr double kStepOverheadS = 0.1;

double steps_budget_s(const CalibrationRequest& request) {
  return request.seconds * kStepsShare;
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

// The dataset's events; with hardware counters, the stall counters this CPU has besides.
std::vector<EventGroup> resolve_calibration_events(const SysRoot& root, bool hardware,
                                                   std::vector<std::string>& notes) {
  EventResolver resolver(root);
  std::vector<EventGroup> groups =
      resolver.resolve_list(fmt::format("{}", fmt::join(calibration_events(hardware), ",")));
  if (hardware) add_stall_counters(resolver, groups, notes);
  return groups;
}

// The machine's power source and the GPUs, read machine-wide: no estimate, no command share.
EnergySettings power_settings(const CalibrationRequest& request) {
  EnergySettings settings;
  settings.power_source = request.power_source;
  settings.power_from = request.power_from;
  settings.gpus = request.gpus;
  return settings;
}

// Plans the steps that fit in --seconds (at each frequency setting when the caps can be written)
// and runs them.
void run_suite(const SysRoot& root, int cpus, const CalibrationRequest& request,
               const std::vector<EventGroup>& groups, EnergyRecorder& energy,
               const CalibrationProgress& progress, CalibrationResult& out) {
  FrequencyControl freq = probe_frequency_control(root, cpus);
  if (!freq.available) out.notes.push_back("frequency not varied: " + freq.reason);
  CalibrationRunOptions options{request.executable, steps_budget_s(request), request.interval_ms,
                                request.seconds};
  double min_step = std::max(0.25, 2.5 * request.interval_ms / 1000.0);
  out.steps = plan_calibration_steps({request.seconds, request.threads, request.workloads,
                                      freq.available ? freq.settings_khz : std::vector<int>{0}},
                                     options.budget_s, min_step, out.notes);
  out.run = run_calibration(root, groups, &energy, freq, out.steps, options, progress);
  out.notes.insert(out.notes.end(), out.run.notes.begin(), out.run.notes.end());
}

CalibrationContext context_of(const EnergyRecorder& energy, int hw_errno) {
  CalibrationContext context;
  context.no_watts = !energy.machine_method().empty()
                         ? "the power source (" + energy.machine_method() +
                               ") gave no reading in any interval (the notes say why)"
                         : "no power source (" + energy.machine_reason_if_none() + ")";
  if (hw_errno != 0)
    context.no_hardware = fmt::format(
        " (no hardware counters here: perf_event_open of cycles failed with errno {})", hw_errno);
  return context;
}

// What the dataset's rows hold, and a note for each workload or thread count asked for that they
// do not (not planned within --seconds, or no complete interval), and for the intervals left out.
void describe_rows(const CalibrationRequest& request, CalibrationResult& out) {
  std::set<std::string> workloads;
  std::set<int> threads;
  size_t incomplete = 0, without_watts = 0;
  for (const auto& s : out.run.samples) {
    if (!complete_sample(s, out.columns)) {
      ++incomplete;
      for (const auto& d : out.columns.domains) {
        if (s.watts.count(d)) continue;
        ++without_watts;
        break;
      }
      continue;
    }
    workloads.insert(s.workload);
    threads.insert(s.threads);
  }
  if (incomplete > 0)
    out.notes.push_back(fmt::format(
        "{} of {} intervals are not in the dataset: they lack a column ({} of them the watts of "
        "a power domain)",
        incomplete, out.run.samples.size(), without_watts));
  // Why an asked-for workload or thread count has no row: its steps ran but left no complete
  // interval, they were planned but never started (the run was interrupted or --seconds ran out),
  // or the plan for --seconds left them out.
  auto run_end = out.steps.begin() + std::ptrdiff_t(std::min(out.run.steps_run, out.steps.size()));
  std::string not_started =
      out.run.interrupted_by
          ? "the run was interrupted (" + signal_name(*out.run.interrupted_by) + ") before "
          : std::string("--seconds ran out before ");
  struct Pronouns {
    const char *subject, *object, *possessive;
  };
  auto why_absent = [&](auto pred, Pronouns p) {
    if (std::any_of(out.steps.begin(), run_end, pred))
      return fmt::format("{} ran, but none of {} intervals has every column", p.subject,
                         p.possessive);
    if (std::any_of(run_end, out.steps.end(), pred))
      return fmt::format("{}{} ran", not_started, p.subject);
    return fmt::format("the plan for --seconds left {} out", p.object);
  };
  for (const auto& w : request.workloads) {
    if (workloads.count(w)) {
      out.workloads_in_rows.push_back(w);
      continue;
    }
    out.notes.push_back(
        fmt::format("workload {} is not in the dataset: {}", w,
                    why_absent([&](const CalibrationStep& s) { return s.workload == w; },
                               Pronouns{"it", "it", "its"})));
  }
  for (int t : request.threads) {
    if (threads.count(t)) {
      out.threads_in_rows.push_back(t);
      continue;
    }
    out.notes.push_back(
        fmt::format("{} thread{} not in the dataset: {}", t, t == 1 ? " is" : "s are",
                    why_absent([&](const CalibrationStep& s) { return s.threads == t; },
                               Pronouns{"they", "them", "their"})));
  }
}

}  // namespace

void complete_calibration_request(CalibrationRequest& r, int cpus) {
  if (r.threads.empty())
    for (int t = 1; t <= cpus; ++t) r.threads.push_back(t);
  std::sort(r.threads.begin(), r.threads.end());
  r.threads.erase(std::unique(r.threads.begin(), r.threads.end()), r.threads.end());
  if (r.workloads.empty()) r.workloads = suite_workloads();
  // A workload named twice runs once, in its first place (as a thread count given twice does).
  std::vector<std::string> distinct;
  for (auto& w : r.workloads)
    if (std::find(distinct.begin(), distinct.end(), w) == distinct.end())
      distinct.push_back(std::move(w));
  r.workloads = std::move(distinct);
  // A row needs an interval of at least half the period (a shorter one, a command's last, is
  // left out): when even one step of the whole budget cannot give one, the run would end in 'no
  // complete interval was measured' after its --seconds.
  double needed_s = r.interval_ms / 1000.0 / 2 + kStepOverheadS;
  if (double budget = steps_budget_s(r); budget < needed_s)
    throw CalibrationRequestError(fmt::format(
        "--interval-ms {} needs a step of at least {:g} s to measure one interval (half the "
        "period), more than the {:g} s of steps that --seconds {:g} allows: give --seconds {:g} "
        "or more, or a shorter --interval-ms",
        r.interval_ms, needed_s, budget, r.seconds, std::ceil(needed_s / kStepsShare * 10) / 10));
  auto known = workload_names();
  for (const auto& w : r.workloads)
    if (std::find(known.begin(), known.end(), w) == known.end())
      throw CalibrationRequestError(fmt::format(
          "--workloads: unknown workload '{}' (expected one of: {})", w, fmt::join(known, ", ")));
}

CalibrationResult calibrate(const SysRoot& root, const MachineInfo& machine,
                            const CalibrationRequest& request,
                            const CalibrationProgress& progress) {
  int cpus = std::max(1, machine.logical_cpus);
  CalibrationResult out;
  int hw_errno = probe_hardware_counters();
  std::vector<EventGroup> groups = resolve_calibration_events(root, hw_errno == 0, out.notes);
  EnergyRecorder energy(power_settings(request), root, machine, true);
  energy.begin_run();
  out.power_method = energy.machine_method();
  out.power_notes = energy.choice_notes();
  run_suite(root, cpus, request, groups, energy, progress, out);
  out.context = context_of(energy, hw_errno);

  out.columns = calibration_columns(out.run.events, out.run.samples);
  out.csv = calibration_csv(out.run.samples, out.columns, identity_of(machine), request.created_at,
                            request.interval_ms, out.rows);
  describe_rows(request, out);
  // The source's notes after the run: a meter log that does not cover some intervals says so.
  for (const auto& n : energy.machine_source_notes())
    if (std::find(out.power_notes.begin(), out.power_notes.end(), n) == out.power_notes.end())
      out.power_notes.push_back(n);
  return out;
}

}  // namespace pmc
