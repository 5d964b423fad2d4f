#include "engine/workloads/calibration_suite.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <map>
#include <memory>

#include <fmt/format.h>

#include "engine/counting/perf_event.h"
#include "engine/session/session.h"
#include "models/fit/stall_comparison.h"

namespace pmc {
namespace {

using Clock = std::chrono::steady_clock;

double epoch_seconds() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

// The run's state across steps: samples so far, the frequency cap in force, and how much
// starting and reaping a workload costs beyond its own seconds.
class SuiteRunner {
 public:
  SuiteRunner(const SysRoot& root, const std::vector<EventGroup>& groups, EnergyRecorder* energy,
              const FrequencyControl& freq, const CalibrationRunOptions& options)
      : root_(root), groups_(groups), energy_(energy), freq_(freq), options_(options) {}

  void run_step(const CalibrationStep& step, double step_s, CalibrationRun& out) {
    auto step_start = Clock::now();
    set_cap(step.khz);
    RunOptions run;
    run.argv = {options_.executable,
                "workload",
                step.workload,
                "--threads",
                std::to_string(step.threads),
                "--seconds",
                fmt::format("{:.3f}", step_s)};
    run.interval_ms = options_.interval_ms;
    if (sampled()) {
      run.sample_ms = energy_->sample_ms();
      run.on_sample = [this] { energy_->sample(); };
      read_watts(out);  // energy between steps belongs to no row
      read_gpus(out);
    }
    auto counters = make_perf_event_counters(groups_, root_);
    RunResult r = run_counted(*counters, run, [&](Interval& iv) { add_sample(step, iv, out); });
    double spent = std::chrono::duration<double>(Clock::now() - step_start).count();
    overhead_s_ = 0.5 * overhead_s_ + 0.5 * std::max(0.0, spent - step_s);
    ++out.steps_run;
    // A workload that a signal to pmcmodel ended (^C reaches it as well, or the session passes
    // the signal on) did not fail: the run stops with the intervals measured so far.
    if (r.interrupted_by) {
      out.interrupted_by = r.interrupted_by;
      out.notes.push_back("interrupted by " + signal_name(*r.interrupted_by) +
                          ": the dataset has the steps run so far");
    } else if (r.exit_status.value_or(0) != 0) {
      throw std::runtime_error(
          fmt::format("workload {} exited with status {}", step.workload, *r.exit_status));
    }
    if (out.events.empty()) {
      for (const auto& e : r.events)
        out.events.push_back(
            {e.name, e.counted(), e.reason.empty() ? std::string(to_string(e.status)) : e.reason});
      for (const auto& n : counters->notes()) out.notes.push_back(n);
    }
  }

  double overhead_s() const { return overhead_s_; }
  size_t partial() const { return partial_; }
  void release_cap() { cap_.reset(); }

 private:
  void set_cap(int khz) {
    if (khz == cap_khz_) return;
    cap_.reset();
    if (khz) cap_ = std::make_unique<FrequencyCap>(root_, freq_, khz);
    cap_khz_ = khz;
  }

  void add_sample(const CalibrationStep& step, const Interval& iv, CalibrationRun& out) {
    CalibrationSample s;
    s.timestamp = epoch_seconds();
    s.workload = step.workload;
    s.threads = step.threads;
    s.khz = step.khz;
    s.duration_s = iv.duration_s;
    for (const auto& e : iv.events)
      s.values.push_back(e.counted() ? std::optional<double>(e.value) : std::nullopt);
    if (sampled()) {  // over the sources' own windows, which end here
      s.watts = read_watts(out);
      s.gpus = read_gpus(out);
    }
    if (iv.duration_s < 0.5 * options_.interval_ms / 1000.0) {
      ++partial_;  // the short tail at the command's end: too noisy a rate to train on
      return;
    }
    out.samples.push_back(std::move(s));
  }

  bool sampled() const { return energy_ != nullptr && energy_->sample_ms() > 0; }

  // Each domain's average watts since the previous read; a failed read's note once in the run's.
  std::map<std::string, double> read_watts(CalibrationRun& out) {
    std::vector<std::string> notes;
    std::map<std::string, double> watts;
    for (const auto& e : energy_->read_machine_interval(notes)) watts[e.domain] = e.average_watts;
    for (auto& n : notes)
      if (std::find(out.notes.begin(), out.notes.end(), n) == out.notes.end())
        out.notes.push_back(std::move(n));
    return watts;
  }

  // Each GPU's average watts and activity since the previous read.
  std::map<std::string, GpuSample> read_gpus(CalibrationRun& out) {
    std::vector<std::string> notes;
    auto interval = energy_->read_gpu_interval(notes);
    std::map<std::string, GpuSample> gpus;
    for (const auto& a : interval.activity) {
      GpuSample& g = gpus[a.domain];
      g.util_pct = a.util_pct;
      g.memory_util_pct = a.memory_util_pct;
      g.sm_clock_mhz = a.sm_clock_mhz;
      g.memory_clock_mhz = a.memory_clock_mhz;
      g.temperature_c = a.temperature_c;
      g.temperature_rise_c_per_s = a.temperature_rise_c_per_s;
    }
    for (const auto& e : interval.energy) gpus[e.domain].watts = e.average_watts;
    for (auto& n : notes)
      if (std::find(out.notes.begin(), out.notes.end(), n) == out.notes.end())
        out.notes.push_back(std::move(n));
    return gpus;
  }

  const SysRoot& root_;
  const std::vector<EventGroup>& groups_;
  EnergyRecorder* energy_;
  const FrequencyControl& freq_;
  const CalibrationRunOptions& options_;
  std::unique_ptr<FrequencyCap> cap_;
  int cap_khz_ = 0;
  double overhead_s_ = 0.05;
  size_t partial_ = 0;
};

}  // namespace

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

std::vector<CalibrationStep> plan_calibration_steps(const CalibrationPlanInput& in, double budget,
                                                    double min_step,
                                                    std::vector<std::string>& notes) {
  auto build = [&](const std::vector<int>& threads, size_t workloads) {
    std::vector<CalibrationStep> steps;
    for (int f : in.khz)
      for (size_t w = 0; w < workloads; ++w)
        for (int t : threads) steps.push_back({in.workloads[w], t, f});
    return steps;
  };
  auto steps = build(in.threads, in.workloads.size());
  size_t fit = size_t(std::max(1.0, std::floor(budget / min_step)));
  if (steps.size() <= fit) return steps;
  std::vector<int> threads = {in.threads.front()};
  if (in.threads.size() > 1) threads.push_back(in.threads.back());
  size_t workloads = in.workloads.size();
  while (build(threads, workloads).size() > fit && threads.size() > 1) threads.pop_back();
  while (build(threads, workloads).size() > fit && workloads > 1) --workloads;
  auto cut = build(threads, workloads);
  std::string left;
  for (size_t w = workloads; w < in.workloads.size(); ++w)
    left += (left.empty() ? "" : ", ") + in.workloads[w];
  notes.push_back(fmt::format(
      "--seconds {:g} allows {} steps of at least {:g} s, not {}: ran thread counts {} and {}",
      in.seconds, cut.size(), min_step, steps.size(), fmt::join(threads, ","),
      left.empty() ? "every workload" : "left out " + left));
  if (cut.size() > fit) cut.resize(fit);
  return cut;
}

CalibrationRun run_calibration(const SysRoot& root, const std::vector<EventGroup>& groups,
                               EnergyRecorder* energy, const FrequencyControl& freq,
                               const std::vector<CalibrationStep>& steps,
                               const CalibrationRunOptions& options,
                               const CalibrationProgress& progress) {
  CalibrationRun out;
  SuiteRunner runner(root, groups, energy, freq, options);
  auto deadline = Clock::now() + std::chrono::duration_cast<Clock::duration>(
                                     std::chrono::duration<double>(options.budget_s));
  for (size_t i = 0; i < steps.size() && !out.interrupted_by; ++i) {
    double left = std::chrono::duration<double>(deadline - Clock::now()).count();
    double step_s = left / double(steps.size() - i) - runner.overhead_s();
    if (step_s < 0.05) {
      out.notes.push_back(fmt::format("{} of {} steps not run: --seconds {:g} ran out",
                                      steps.size() - i, steps.size(), options.seconds));
      break;
    }
    if (progress) progress(i, steps.size(), steps[i], left);
    runner.run_step(steps[i], step_s, out);
  }
  runner.release_cap();
  if (runner.partial())
    out.notes.push_back(
        fmt::format("{} partial intervals shorter than {} ms (a command's last) left out",
                    runner.partial(), options.interval_ms / 2));
  return out;
}

}  // namespace pmc
