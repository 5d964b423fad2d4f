#pragma once
// A calibrated model's estimates from a measurement's counts (`measure --model`, `serve --model`),
// labelled "model:<file>": watts as an energy[] entry, the CPI stack as stall-cycle metrics.
#include <string>
#include <vector>

#include "events/document/measurement.h"
#include "models/fit/dataset.h"
#include "models/fit/model_file.h"

namespace pmc {

struct MeasureModel {
  std::string path;  // as given: the label is "model:" + path
  Model model;
};

// The power domain a model's target is the watts of: "package_watts" → "package",
// "package_power" → "package"; empty when the target is not watts.
std::string watts_domain(const std::string& target);

// The one-row table a model sees for a measurement, named as calibrate names its dataset columns
// (calibration_dataset.h): `<event>_per_s` for every counted event (value / duration), `ipc` and
// `cpi` when cycles and instructions were counted, `<domain>_watts` for measured energy, and
// `interval_s` (the duration).
Dataset measurement_row(const Measurement& m);

// Appends each model's estimate. A model whose inputs this measurement lacks is not applied and a
// note says which columns were missing; inputs outside the training range are noted too.
void add_model_estimates(const std::vector<MeasureModel>& models, Measurement& m);

// The same for one interval of `measure -I` (its events are the interval's deltas, its duration
// the interval's): the estimates join the interval's metrics[] and energy[] under the run's names.
// Notes (inputs missing, extrapolation) are the run's alone, so an interval adds none.
void add_interval_model_estimates(const std::vector<MeasureModel>& models, Interval& iv);

}  // namespace pmc
