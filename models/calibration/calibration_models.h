#pragma once
// The models calibrate fits on its dataset, as far as what was counted allows: watts of each
// power domain (forward selection over the event rates), IPC (over per-instruction rates) and the
// CPI stack (NNLS over cache misses per instruction, checked against the stall counters), each
// cross-validated leaving one workload out.
#include <optional>
#include <string>
#include <vector>

#include "models/calibration/calibration_dataset.h"
#include "models/fit/fit_table.h"
#include "models/fit/solvers.h"

namespace pmc {

struct CalibrationFit {
  std::string what;    // "watts of package-0", "IPC", "CPI stack (cache stalls)"
  std::string target;  // the dataset column: package_0_watts, ipc, cpi
  FitOutcome outcome;
};

struct CalibrationModels {
  std::string cv_how;  // the CV plan in words; empty when the rows cannot be cross-validated
  std::vector<CalibrationFit> fitted;
  std::vector<std::string> not_fitted;  // "what: why" per model that could not be fitted
  // The CPI stack fitted per level (for its per-workload shares), with the cycles column.
  std::optional<CpiStack> cpi_stack;
  std::string cycles_column;
};

// Why models could not be fitted, as the run knows it: `no_watts` when no power domain was read
// (the power source's reason), `no_hardware` when cycles could not be counted (empty otherwise).
struct CalibrationContext {
  std::string no_watts;
  std::string no_hardware;
};

// The CV plan of a calibration dataset (choose_cv_plan): leave one workload out when there are two
// or more, else k-fold (at most 5 folds). `how` says which. Throws when the rows cannot be split.
CvPlan calibration_plan(const Dataset& data, std::string& how);

// Fits what `columns` allows on `data` (the dataset as written and read back, so a refusal names
// its FILE:LINE). A model that cannot be fitted is a not_fitted line, never an exception.
CalibrationModels fit_calibration_models(const Dataset& data, const CalibrationColumns& columns,
                                         const ModelIdentity& identity,
                                         const CalibrationContext& context);

}  // namespace pmc
