#include "models/fit/prediction_table.h"

#include <algorithm>
#include <cmath>
#include <set>

namespace pmc {
namespace {

bool has_column(const CsvPreview& preview, const std::string& name) {
  return std::find(preview.names.begin(), preview.names.end(), name) != preview.names.end();
}

// Over the rows that have a target value (an empty cell is NaN: no target for that row).
PredictionCheck check_against_target(const Model& model, const Prediction& p, const Dataset& data) {
  const auto& y = data.column(model.target);
  PredictionCheck c;
  std::vector<double> actual, predicted;
  for (size_t r = 0; r < data.rows(); ++r)
    if (!std::isnan(y[r])) actual.push_back(y[r]), predicted.push_back(p.value[r]);
  c.errors = error_metrics(actual, predicted);
  c.rows = actual.size();
  c.without_target = data.rows() - c.rows;
  for (size_t r = 0; r < data.rows(); ++r) {
    if (std::isnan(y[r])) continue;
    bool in = y[r] >= p.lower[r] && y[r] <= p.upper[r];
    c.covered += in;
    if (p.out_of_range[r]) ++c.out_of_range, c.out_of_range_covered += in;
  }
  return c;
}

BandUse band_use(const Model& model, const Prediction& p, const Dataset& data) {
  BandUse use;
  use.by_band_model.assign(model.bands.size(), 0);
  use.by_pooled_model.assign(model.bands.size(), 0);
  const auto& v = data.column(model.band_column);
  for (size_t r = 0; r < data.rows(); ++r) {
    size_t b = band_index(model.band_edges, v[r]);
    (p.band[r] >= 0 ? use.by_band_model : use.by_pooled_model)[b]++;
  }
  return use;
}

}  // namespace

PredictionColumns prediction_columns(const Model& model, const CsvPreview& preview) {
  std::set<std::string> needed;
  for (const auto& t : model.terms)
    for (const auto& c : input_columns(t.spec)) needed.insert(c);
  for (const auto& b : model.bands)
    if (b.model)
      for (const auto& t : b.model->terms)
        for (const auto& c : input_columns(t.spec)) needed.insert(c);
  bool has_band_column = !model.band_column.empty() && has_column(preview, model.band_column);
  PredictionColumns out;
  out.has_target = has_column(preview, model.target);
  out.csv.required_columns.assign(needed.begin(), needed.end());
  if (out.has_target && !needed.count(model.target)) {
    needed.insert(model.target);
    out.csv.empty_is_missing.push_back(model.target);
  }
  if (has_band_column) needed.insert(model.band_column);
  for (const auto& name : preview.names)
    if (!needed.count(name)) out.csv.string_columns.push_back(name);
  return out;
}

PredictionSummary summarize_prediction(const Model& model, const Prediction& p, const Dataset& data,
                                       bool has_target) {
  PredictionSummary s;
  if (has_target) {
    s.check = check_against_target(model, p, data);
    if (s.check->rows == 0) s.check.reset();
  }
  for (size_t r = 0; r < data.rows(); ++r) s.out_of_range_rows += p.out_of_range[r] != 0;
  if (!model.bands.empty() && p.band_note.empty()) s.band_use = band_use(model, p, data);
  return s;
}

}  // namespace pmc
