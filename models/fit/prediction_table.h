#pragma once
// `pmcmodel predict` as computation: which columns of a table a model needs as numbers, and what
// its predictions on the table come to — the errors and the interval's coverage where the table
// has the target, the rows outside the training range, and which band predicted which rows. The
// caller reads the table and writes the rows.
#include <cstddef>
#include <optional>
#include <string>
#include <vector>

#include "models/fit/cross_validation.h"
#include "models/fit/dataset.h"
#include "models/fit/model_file.h"

namespace pmc {

// How a table is read for `model`: the inputs of its features (and of its bands' features) are
// required numbers; the target and the band column are numbers when present (without the band
// column the pooled model predicts every row), an empty target cell meaning "no target" (NaN);
// every other column is text.
struct PredictionColumns {
  CsvOptions csv;
  bool has_target = false;
};
PredictionColumns prediction_columns(const Model& model, const CsvPreview& preview);

// The errors of the predictions on rows that have the target, and how many rows the interval
// covers (lower ≤ y ≤ upper), inside and outside the training range. A row whose target cell is
// empty has no target: it is predicted, and left out of these.
struct PredictionCheck {
  ErrorMetrics errors;
  size_t rows = 0;            // rows with a target value
  size_t without_target = 0;  // rows whose target cell is empty
  size_t covered = 0;
  size_t out_of_range = 0;          // rows flagged out_of_range
  size_t out_of_range_covered = 0;  // of those, covered by the interval
};

// Per band of a banded model, the rows its own model predicted and those the pooled model did
// (the band had no model).
struct BandUse {
  std::vector<size_t> by_band_model;
  std::vector<size_t> by_pooled_model;
};

struct PredictionSummary {
  std::optional<PredictionCheck> check;  // when a row of the table has a target value
  size_t out_of_range_rows = 0;
  std::optional<BandUse> band_use;  // banded models whose rows could choose a band
};

// `p` is predict(model, data); `has_target` says whether data holds model.target.
PredictionSummary summarize_prediction(const Model& model, const Prediction& p, const Dataset& data,
                                       bool has_target);

}  // namespace pmc
