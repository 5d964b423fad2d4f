#include "models/calibration/model_estimates.h"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>

#include "models/calibration/calibration_dataset.h"

namespace pmc {
namespace {

bool ends_with(const std::string& s, std::string_view suffix) {
  return s.size() >= suffix.size() &&
         s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

const EventCount* counted(const std::vector<EventCount>& events, std::string_view name) {
  for (const auto& e : events)
    if (e.name == name && e.counted()) return &e;
  return nullptr;
}

// What a model's estimate is made from and added to: a whole run, or one interval (which has no
// notes of its own: what an interval would note, the run notes once).
struct EstimateSite {
  const std::vector<EventCount>& events;
  double duration_s;
  std::vector<Metric>& metrics;
  std::vector<EnergyReading>& energy;
  std::vector<std::string>* notes;
  void note(std::string text) const {
    if (notes != nullptr) notes->push_back(std::move(text));
  }
};

Dataset row_of(const std::vector<EventCount>& events, const std::vector<EnergyReading>& energy,
               double d) {
  Dataset row("measurement");
  row.add_column("interval_s", {d});
  for (const auto& e : events)
    if (e.counted() && d > 0) row.add_column(rate_column(e.name), {e.value / d});
  const auto* cycles = counted(events, "cycles");
  const auto* instructions = counted(events, "instructions");
  if (cycles && instructions && cycles->value > 0 && instructions->value > 0) {
    row.add_column("ipc", {instructions->value / cycles->value});
    row.add_column("cpi", {cycles->value / instructions->value});
  }
  for (const auto& e : energy)
    if (classify_method(e.method) == MethodKind::measured && d > 0)
      row.add_column(watts_column(e.domain), {e.joules / d});
  return row;
}

void add_cpi_stack(const MeasureModel& mm, const Dataset& row, const EstimateSite& m) {
  const auto* cycles = counted(m.events, "cycles");
  const auto* instructions = counted(m.events, "instructions");
  std::string label = "model:" + mm.path;
  m.metrics.push_back({label + ":base_cpi", mm.model.intercept, "cycles/insn"});
  for (const auto& t : mm.model.terms) {
    double per_insn = t.coefficient * evaluate_feature(t.spec, row)[0];
    m.metrics.push_back({label + ":stall_cpi:" + t.spec.name, per_insn, "cycles/insn"});
    if (instructions != nullptr && cycles != nullptr && cycles->value > 0) {
      m.metrics.push_back(
          {label + ":stall_cycles:" + t.spec.name, per_insn * instructions->value, "cycles"});
      m.metrics.push_back({label + ":stall_share:" + t.spec.name,
                           per_insn * instructions->value / cycles->value, "ratio"});
    }
  }
}

}  // namespace

std::string watts_domain(const std::string& target) {
  for (std::string_view suffix : {"_watts", "_power"})
    if (ends_with(target, suffix)) return target.substr(0, target.size() - suffix.size());
  return "";
}

Dataset measurement_row(const Measurement& m) {
  return row_of(m.events, m.energy, m.duration_s);
}

namespace {

void estimate(const std::vector<MeasureModel>& models, const EstimateSite& m) {
  if (models.empty()) return;
  Dataset row = row_of(m.events, m.energy, m.duration_s);
  for (const auto& mm : models) {
    std::string label = "model:" + mm.path;
    std::vector<std::string> missing;
    for (const auto& t : mm.model.terms)
      for (const auto& c : input_columns(t.spec))
        if (!row.has_column(c) && std::find(missing.begin(), missing.end(), c) == missing.end())
          missing.push_back(c);
    if (!missing.empty()) {
      std::string hint;
      if (mm.model.machine.contains("events") && mm.model.machine["events"].is_object())
        for (const auto& c : missing)
          if (mm.model.machine["events"].contains(c))
            hint += (hint.empty() ? "" : ",") + mm.model.machine["events"][c].get<std::string>();
      m.note(fmt::format("{}: not applied: it needs {}, which this measurement did not count{}",
                         label, fmt::join(missing, ", "),
                         hint.empty() ? "" : " (count them with -e " + hint + ")"));
      continue;
    }
    Prediction p;
    try {
      p = predict(mm.model, row);
    } catch (const std::exception& e) {
      m.note(fmt::format("{}: not applied: {}", label, e.what()));
      continue;
    }
    if (!p.band_note.empty()) {
      m.note(fmt::format("{}: {}", label, p.band_note));
    } else if (!p.band.empty() && p.band[0] < 0) {
      size_t b = band_index(mm.model.band_edges, row.column(mm.model.band_column)[0]);
      m.note(fmt::format("{}: band {} of {}: {}", label, b, mm.model.band_column,
                         mm.model.bands[b].reason));
    }
    double value = p.value[0];
    std::string domain = watts_domain(mm.model.target);
    if (!domain.empty()) {
      EnergyReading r;
      r.domain = domain;
      r.average_watts = value;
      r.joules = value * m.duration_s;
      r.method = label;
      // The 90% interval's wider side, relative to the estimate.
      r.uncertainty = value != 0
                          ? std::max(std::fabs(p.lower[0] - value), std::fabs(p.upper[0] - value)) /
                                std::fabs(value)
                          : 0;
      m.energy.push_back(r);
    }
    m.metrics.push_back({label + ":" + mm.model.target, value, domain.empty() ? "" : "W"});
    if (mm.model.target == "cpi") add_cpi_stack(mm, row, m);
    if (p.out_of_range[0]) {
      std::vector<std::string> outside;
      for (size_t i = 0; i < mm.model.terms.size(); ++i)
        if (p.out_of_range_by_term[i]) outside.push_back(mm.model.terms[i].spec.name);
      for (size_t i = 0; i < p.out_of_range_by_input.size(); ++i)
        if (p.out_of_range_by_input[i] &&
            std::find(outside.begin(), outside.end(), mm.model.inputs[i].column) == outside.end())
          outside.push_back(mm.model.inputs[i].column);
      m.note(fmt::format("{}: {} outside the training range ({}): the estimate is an extrapolation",
                         label, mm.model.target, fmt::join(outside, ", ")));
    }
  }
}

}  // namespace

void add_model_estimates(const std::vector<MeasureModel>& models, Measurement& m) {
  estimate(models, {m.events, m.duration_s, m.metrics, m.energy, &m.notes});
}

void add_interval_model_estimates(const std::vector<MeasureModel>& models, Interval& iv) {
  estimate(models, {iv.events, iv.duration_s, iv.metrics, iv.energy, nullptr});
}

}  // namespace pmc
