#pragma once
// `pmcmodel calibrate` as one call: the request's defaults from this machine, the events the
// dataset counts, the machine's power source (engine/power/energy_accounting.h, as measure reads
// it), the steps that fit in --seconds at each frequency setting the caps allow, their run, and
// the dataset's columns and CSV text. Writing the files and fitting the models on the written
// dataset are the caller's (models/calibration/calibration_models.h).
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "engine/workloads/calibration_suite.h"
#include "events/document/measurement.h"
#include "events/names/sysroot.h"
#include "models/calibration/calibration_dataset.h"
#include "models/calibration/calibration_models.h"

namespace pmc {

struct CalibrationRequest {
  double seconds = 60;                 // bound on the whole run; 95 % of it for the steps
  std::vector<int> threads;            // empty: 1 … the machine's logical CPUs
  std::vector<std::string> workloads;  // empty: the suite (suite_workloads())
  std::string power_source = "auto";   // auto | perf | powercap | papi | none
  std::string power_from;              // a meter log FILE, or "ipmi"
  std::string gpus = "all";            // the GPUs whose columns the dataset records (--gpus)
  int interval_ms = 100;
  std::string executable = "pmcmodel";  // the binary that runs `workload NAME` (self)
  std::string created_at;               // the dataset's created_at (ISO 8601)
};

// A request that names what does not exist (an unknown workload) or cannot give a row: the
// message is one line.
struct CalibrationRequestError : std::invalid_argument {
  using std::invalid_argument::invalid_argument;
};

// Defaults for `cpus` logical CPUs: thread counts 1 … cpus when none are given, sorted and
// distinct; the suite's workloads when none are given, each once in the order first given.
// Throws CalibrationRequestError for a workload that does not exist, and for an interval_ms too
// long for the steps that `seconds` allows to measure one interval.
void complete_calibration_request(CalibrationRequest& request, int cpus);

struct CalibrationResult {
  std::vector<CalibrationStep> steps;  // as planned for --seconds
  CalibrationRun run;
  CalibrationColumns columns;
  std::string csv;  // the dataset, with the machine's identity in its comments
  size_t rows = 0;
  // The events' notes (stall counters missing), the frequency's, the plan's, then the run's.
  std::vector<std::string> notes;
  // What the dataset's rows hold, in the order asked for: the workloads and thread counts that
  // ran and have at least one complete interval.
  std::vector<std::string> workloads_in_rows;
  std::vector<int> threads_in_rows;
  std::string power_method;  // the power source's method; empty without one
  // How the power source was chosen, then its notes after the run (a meter log that does not
  // cover every interval).
  std::vector<std::string> power_notes;
  CalibrationContext context;  // why a model may not be fitted: no watts, no hardware
};

// Runs the completed `request` on `machine` (read_machine_info of `root`); `progress` (may be
// empty) before each step. rows is 0 when no complete interval was measured. Throws ResolveError
// when the dataset's events cannot be resolved, EnergyError for a power source that cannot be
// chosen (a malformed meter log) — both before anything runs — and std::runtime_error when a
// workload fails.
CalibrationResult calibrate(const SysRoot& root, const MachineInfo& machine,
                            const CalibrationRequest& request, const CalibrationProgress& progress);

}  // namespace pmc
