#include "engine/session/repeated_runs.h"

#include <cmath>

#include "engine/counting/scaling.h"
#include "engine/power/energy_accounting.h"

namespace pmc {

Measurement average_runs(const std::vector<Measurement>& runs) {
  Measurement m = runs.back();
  if (runs.size() == 1) return m;
  std::vector<std::vector<EventCount>> all;
  double duration = 0, user = 0, sys = 0;
  for (const auto& r : runs) {
    all.push_back(r.events);
    duration += r.duration_s;
    user += r.user_s;
    sys += r.sys_s;
  }
  double n = double(runs.size());
  m.events = combine_runs(all);
  for (size_t e = 0; e < m.events.size(); ++e) {
    if (!m.events[e].spread->stddev) continue;
    RunSpread& spread = m.events[e].spread.set();
    for (const auto& run : all) spread.run_values.push_back(run[e].value);
    spread.sem = *spread.stddev / std::sqrt(n);
  }
  m.duration_s = duration / n;
  // The spread of the elapsed times as perf prints it under -r: the mean's standard error.
  double squares = 0;
  for (const auto& r : runs)
    squares += (r.duration_s - m.duration_s) * (r.duration_s - m.duration_s);
  m.duration_sem_s = std::sqrt(squares / (n - 1) / n);
  m.user_s = user / n;
  m.sys_s = sys / n;
  m.runs = int(runs.size());
  m.start_time = runs.front().start_time;
  std::vector<std::vector<EnergyReading>> energies;
  energies.reserve(runs.size());
  for (const auto& r : runs) energies.push_back(r.energy);
  m.energy = average_energy(energies);
  return m;
}

std::optional<std::string> nothing_counted(const Measurement& m) {
  if (m.events.empty()) return std::nullopt;
  for (const auto& e : m.events)
    if (e.counted()) return std::nullopt;
  const EventCount& first = m.events.front();
  return first.name + ": " + to_string(first.status) + " — " + first.reason;
}

}  // namespace pmc
