#pragma once
// `pmcmodel measure --model MODEL.json` and `serve --model`: the model files read before anything
// is measured; their estimates come from models/calibration/model_estimates.h.
#include <string>
#include <vector>

#include "models/calibration/model_estimates.h"

namespace pmc::cli {

// Reads every file before anything is measured; a bad file is a CommandError (exit 2).
std::vector<MeasureModel> load_measure_models(const std::vector<std::string>& paths);

}  // namespace pmc::cli
