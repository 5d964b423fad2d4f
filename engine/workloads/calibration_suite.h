#pragma once
// calibrate's measuring half: which events the dataset counts, the steps (workload × threads ×
// frequency cap) that fit in the time given, and the run of those steps with counters and power
// sampled every interval. The dataset and the models are in models/calibration.
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "engine/power/energy_accounting.h"
#include "engine/workloads/calibration.h"
#include "events/document/measurement.h"
#include "events/names/resolver.h"
#include "models/calibration/calibration_dataset.h"

namespace pmc {

struct CalibrationStep {
  std::string workload;
  int threads = 1;
  int khz = 0;  // 0: frequency not set
};

// Events of the dataset: the software events always; with a hardware PMU the events the IPC and
// CPI-stack models need (cycles, instructions, branch and cache misses at L1 and the LLC).
std::vector<std::string> calibration_events(bool hardware);

// The CPU's stall counters (CYCLE_ACTIVITY.STALLS_*, Intel from Skylake on), to check the CPI
// stack against: each is added when the resolver knows it for this CPU, each its own group so
// one the kernel refuses costs no other event. A note names those this CPU lacks.
void add_stall_counters(const EventResolver& resolver, std::vector<EventGroup>& groups,
                        std::vector<std::string>& notes);

struct CalibrationPlanInput {
  double seconds = 60;       // --seconds, for the note
  std::vector<int> threads;  // sorted, distinct
  std::vector<std::string> workloads;
  std::vector<int> khz;  // frequency caps, {0} when not varied
};

// Every workload × thread count × frequency, or fewer steps when `budget` seconds cannot give
// each at least `min_step` s: thread counts first shrink to the smallest and the largest, then
// the suite is cut from its end (a note says what was left out).
std::vector<CalibrationStep> plan_calibration_steps(const CalibrationPlanInput& in, double budget,
                                                    double min_step,
                                                    std::vector<std::string>& notes);

struct CalibrationRunOptions {
  std::string executable;  // the pmcmodel binary that runs `workload NAME` (self)
  double budget_s = 57;    // wall time for every step together
  int interval_ms = 100;
  double seconds = 60;  // --seconds, for notes
};

struct CalibrationRun {
  std::vector<CalibrationSample> samples;
  std::vector<CalibrationEvent> events;  // of the first step, with their counted state
  size_t steps_run = 0;
  std::optional<int> interrupted_by;  // a signal that ended the run early
  std::vector<std::string> notes;
};

// Called before each step: its index, the step count, the step and the seconds left.
using CalibrationProgress =
    std::function<void(size_t index, size_t count, const CalibrationStep& step, double left_s)>;

// Runs `steps` one after another (each as `executable workload NAME --threads N --seconds S`),
// counting `groups` per interval and reading the machine's power through `energy` (may be null;
// begin_run() already called) at each interval's end, each domain's average watts over it, and
// each GPU's watts, utilisation, clocks and temperature over it;
// frequency caps through `freq`. Throws std::runtime_error when a workload cannot be started or
// exits with a non-zero status.
CalibrationRun run_calibration(const SysRoot& root, const std::vector<EventGroup>& groups,
                               EnergyRecorder* energy, const FrequencyControl& freq,
                               const std::vector<CalibrationStep>& steps,
                               const CalibrationRunOptions& options,
                               const CalibrationProgress& progress);

}  // namespace pmc
