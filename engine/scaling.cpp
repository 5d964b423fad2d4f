#include "scaling.h"

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

}  // namespace pmc
