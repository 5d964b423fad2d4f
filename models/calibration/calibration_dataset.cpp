#include "models/calibration/calibration_dataset.h"

#include <algorithm>
#include <set>

#include <fmt/format.h>

namespace pmc {
namespace {

// Lower case; each run of characters other than a-z and 0-9 between kept ones becomes one '_'.
std::string sanitize(std::string_view name) {
  std::string out;
  bool pending = false;
  for (char c : name) {
    char l = (c >= 'A' && c <= 'Z') ? char(c - 'A' + 'a') : c;
    bool keep = (l >= 'a' && l <= 'z') || (l >= '0' && l <= '9');
    if (!keep) {
      pending = !out.empty();
      continue;
    }
    if (pending) out += '_';
    pending = false;
    out += l;
  }
  return out.empty() ? "event" : out;
}

}  // namespace

const GpuQuantity kGpuQuantities[7] = {
    {"watts", &GpuSample::watts},
    {"util_pct", &GpuSample::util_pct},
    {"memory_util_pct", &GpuSample::memory_util_pct},
    {"sm_clock_mhz", &GpuSample::sm_clock_mhz},
    {"memory_clock_mhz", &GpuSample::memory_clock_mhz},
    {"temperature_c", &GpuSample::temperature_c},
    {"temperature_rise_c_per_s", &GpuSample::temperature_rise_c_per_s},
};

namespace {

std::optional<double> gpu_value(const CalibrationSample& s,
                                const CalibrationColumns::GpuColumn& g) {
  auto it = s.gpus.find(g.domain);
  if (it == s.gpus.end()) return std::nullopt;
  return it->second.*kGpuQuantities[g.quantity].value;
}

}  // namespace

std::string rate_column(std::string_view event_name) {
  return sanitize(event_name) + "_per_s";
}
std::string watts_column(std::string_view domain) {
  return sanitize(domain) + "_watts";
}

CalibrationColumns calibration_columns(const std::vector<CalibrationEvent>& events,
                                       const std::vector<CalibrationSample>& samples) {
  CalibrationColumns c;
  std::set<std::string> domains;
  for (const auto& s : samples)
    for (const auto& [d, w] : s.watts) domains.insert(d);
  c.domains.assign(domains.begin(), domains.end());
  std::set<std::pair<std::string, size_t>> gpu;
  for (const auto& s : samples)
    for (const auto& [d, g] : s.gpus)
      for (size_t q = 0; q < std::size(kGpuQuantities); ++q)
        if ((g.*kGpuQuantities[q].value).has_value()) gpu.emplace(d, q);
  for (const auto& [d, q] : gpu)
    c.gpu_columns.push_back({d, sanitize(d) + "_" + kGpuQuantities[q].suffix, q});
  for (size_t e = 0; e < events.size(); ++e) {
    const auto& ev = events[e];
    if (!ev.counted) {
      c.uncounted.push_back(fmt::format("{} ({})", ev.name, ev.reason));
      continue;
    }
    if (ev.name == "cycles") c.cycles = int(c.events.size());
    if (ev.name == "instructions") c.instructions = int(c.events.size());
    c.events.push_back(e);
    c.event_columns.push_back(rate_column(ev.name));
    c.event_names.push_back(ev.name);
  }
  return c;
}

bool complete_sample(const CalibrationSample& s, const CalibrationColumns& c) {
  bool complete = std::all_of(c.events.begin(), c.events.end(),
                              [&](size_t e) { return s.values[e].has_value(); });
  for (const auto& d : c.domains) complete &= s.watts.count(d) > 0;
  for (const auto& g : c.gpu_columns) complete &= gpu_value(s, g).has_value();
  return complete;
}

std::string calibration_csv(const std::vector<CalibrationSample>& samples,
                            const CalibrationColumns& c,
                            const std::vector<std::pair<std::string, std::string>>& identity,
                            const std::string& created_at, int interval_ms, size_t& rows) {
  std::string out = "# pmcmodel calibrate dataset (docs/formats.md): one row per interval\n";
  for (const auto& [key, value] : identity) out += fmt::format("# machine.{}={}\n", key, value);
  out += fmt::format("# created_at={}\n# interval_ms={}\n", created_at, interval_ms);
  for (size_t i = 0; i < c.events.size(); ++i)
    out += fmt::format("# event.{}={}\n", c.event_columns[i], c.event_names[i]);
  out += "timestamp,workload,threads,frequency_mhz,interval_s";
  for (const auto& name : c.event_columns) out += "," + name;
  if (c.has_ipc()) out += ",ipc,cpi";
  for (const auto& d : c.domains) out += "," + watts_column(d);
  for (const auto& g : c.gpu_columns) out += "," + g.column;
  out += "\n";
  rows = 0;
  for (const auto& s : samples) {
    if (!complete_sample(s, c)) continue;
    out += fmt::format("{:.3f},{},{},{},{}", s.timestamp, s.workload, s.threads, s.khz / 1000,
                       s.duration_s);
    for (size_t e : c.events) out += fmt::format(",{}", *s.values[e] / s.duration_s);
    if (c.has_ipc()) {
      double cyc = *s.values[c.events[size_t(c.cycles)]],
             ins = *s.values[c.events[size_t(c.instructions)]];
      out += fmt::format(",{},{}", cyc > 0 ? ins / cyc : 0.0, ins > 0 ? cyc / ins : 0.0);
    }
    for (const auto& d : c.domains) out += fmt::format(",{}", s.watts.at(d));
    for (const auto& g : c.gpu_columns) out += fmt::format(",{}", *gpu_value(s, g));
    out += "\n";
    ++rows;
  }
  return out;
}

}  // namespace pmc
