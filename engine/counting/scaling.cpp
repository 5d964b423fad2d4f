#include "engine/counting/scaling.h"

#include <cmath>
#include <string>

namespace pmc {

std::optional<double> scale(const Reading& reading) {
  if (reading.time_running_ns == 0) return std::nullopt;
  if (reading.time_running_ns >= reading.time_enabled_ns) return double(reading.raw);
  // long double keeps 64-bit counts exact enough before the ratio is applied.
  return double(static_cast<long double>(reading.raw) * reading.time_enabled_ns /
                reading.time_running_ns);
}

Reading delta(const Reading& later, const Reading& earlier) {
  auto sub = [](uint64_t a, uint64_t b) { return a >= b ? a - b : 0; };
  return {sub(later.raw, earlier.raw), sub(later.time_enabled_ns, earlier.time_enabled_ns),
          sub(later.time_running_ns, earlier.time_running_ns)};
}

void apply_scale(EventCount& count, double unit_scale) {
  count.unit_scale = unit_scale;
  if (count.status == EventStatus::not_supported || count.status == EventStatus::permission_denied)
    return;
  auto scaled = scale({count.raw, count.time_enabled_ns, count.time_running_ns});
  if (!scaled) {
    count.status = EventStatus::not_counted;
    count.value = 0;
    if (count.reason.empty())
      count.reason = count.time_enabled_ns == 0
                         ? "never enabled (the target did not run)"
                         : "never scheduled on a counter (time_running is 0)";
    return;
  }
  count.status = EventStatus::counted;
  count.value = *scaled * unit_scale;
}

void add_copy(CopySum& total, const Reading& copy) {
  total.sum.raw += copy.raw;
  total.sum.time_enabled_ns += copy.time_enabled_ns;
  total.sum.time_running_ns += copy.time_running_ns;
  ++total.copies;
  if (copy.time_enabled_ns > 0) ++total.enabled;
  if (auto v = scale(copy)) {
    total.scaled += *v;
    ++total.ran;
  }
}

void add_copies(CopySum& total, const CopySum& more) {
  total.sum.raw += more.sum.raw;
  total.sum.time_enabled_ns += more.sum.time_enabled_ns;
  total.sum.time_running_ns += more.sum.time_running_ns;
  total.scaled += more.scaled;
  total.copies += more.copies;
  total.enabled += more.enabled;
  total.ran += more.ran;
}

void apply_copies(EventCount& count, const CopySum& copies, double unit_scale) {
  count.raw = copies.sum.raw;
  count.time_enabled_ns = copies.sum.time_enabled_ns;
  count.time_running_ns = copies.sum.time_running_ns;
  count.unit_scale = unit_scale;
  if (count.status == EventStatus::not_supported || count.status == EventStatus::permission_denied)
    return;
  if (copies.ran == 0) {
    apply_scale(count, unit_scale);  // time_running is 0: not_counted with its reason
    return;
  }
  count.status = EventStatus::counted;
  count.value = copies.scaled * unit_scale;
  if (copies.ran < copies.enabled) {
    std::string missing = std::to_string(copies.enabled - copies.ran) + " of " +
                          std::to_string(copies.enabled) +
                          " copies (CPUs or threads) never got a counter: the value adds the " +
                          std::to_string(copies.ran) + " that ran";
    count.reason =
        count.reason.empty() ? "partial: " + missing : count.reason + "; partial: " + missing;
  }
}

}  // namespace pmc

namespace pmc {

EventCount delta_count(const EventCount& later, const EventCount& earlier) {
  EventCount d = later;
  if (later.status == EventStatus::not_supported || later.status == EventStatus::permission_denied)
    return d;
  Reading r = delta({later.raw, later.time_enabled_ns, later.time_running_ns},
                    {earlier.raw, earlier.time_enabled_ns, earlier.time_running_ns});
  d.raw = r.raw;
  d.time_enabled_ns = r.time_enabled_ns;
  d.time_running_ns = r.time_running_ns;
  d.status = EventStatus::counted;
  d.reason = later.reason;
  // A per-task event's enabled time only advances while the command is on a CPU, and it counts
  // nothing while it is off. An open event (enabled before) whose enabled time did not move in
  // this interval saw a command that did not run (sleeping, or not yet scheduled): the count is
  // exactly 0, not unknown. perf stat -I prints <not counted> there; a 0 is what happened.
  bool was_open = later.status == EventStatus::counted || later.time_enabled_ns > 0;
  if (was_open && r.time_enabled_ns == 0 && r.raw == 0) {
    d.unit_scale = later.unit_scale;
    d.value = 0;
    d.reason.clear();
    return d;
  }
  apply_scale(d, later.unit_scale);
  if (d.status == EventStatus::not_counted && r.time_enabled_ns > 0)
    d.reason = "not on a counter during this interval";
  return d;
}

std::vector<EventCount> combine_runs(const std::vector<std::vector<EventCount>>& runs) {
  if (runs.empty()) return {};
  std::vector<EventCount> out = runs.front();
  for (size_t e = 0; e < out.size(); ++e) {
    bool all_counted = true;
    double sum = 0;
    long double raw_sum = 0, enabled_sum = 0, running_sum = 0;
    for (const auto& run : runs) {
      if (e >= run.size() || !run[e].counted()) {
        if (all_counted && e < run.size() && out[e].counted()) {
          out[e].status = run[e].status;
          out[e].reason = run[e].reason;
        }
        all_counted = false;
        continue;
      }
      sum += run[e].value;
      raw_sum += run[e].raw;
      enabled_sum += run[e].time_enabled_ns;
      running_sum += run[e].time_running_ns;
    }
    if (!all_counted) continue;
    double n = double(runs.size());
    double mean = sum / n;
    double sq = 0;
    for (const auto& run : runs) sq += (run[e].value - mean) * (run[e].value - mean);
    out[e].value = mean;
    out[e].raw = uint64_t(raw_sum / n + 0.5L);
    out[e].time_enabled_ns = uint64_t(enabled_sum / n + 0.5L);
    out[e].time_running_ns = uint64_t(running_sum / n + 0.5L);
    out[e].spread.set().stddev = runs.size() > 1 ? std::sqrt(sq / (n - 1)) : 0.0;
  }
  return out;
}

}  // namespace pmc
