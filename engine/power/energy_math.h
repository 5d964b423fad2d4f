#pragma once
// Pure arithmetic on energy readings: counter deltas across a wrap, and the energy a wall meter's
// samples imply over a time window. No I/O; table-tested in tests/engine/test_energy_math.cpp.
#include <cstdint>
#include <optional>
#include <span>

namespace pmc {

// The energy a counter advanced from `before` to `now` when it wraps to 0 past `range`:
// (now - before) mod range. powercap's energy_uj wraps at max_energy_range_uj (Linux
// Documentation/power/powercap/powercap.rst); a wrap is only seen if the counter is read at least
// once per range, which is why sources are sampled every ≤ 100 ms. range == 0 means "does not
// wrap" (a 64-bit perf count): then a counter that went backwards gives nullopt, as does a
// reading above a non-zero range (not from this counter).
std::optional<uint64_t> wrapped_delta(uint64_t before, uint64_t now, uint64_t range);

// One row of a meter log: unix seconds, and watts (instantaneous power) or joules (a cumulative
// energy counter), depending on the log's kind. Rows are sorted by time, times distinct.
struct MeterSample {
  double time_s = 0;
  double value = 0;
};
enum class MeterKind { watts, joules };

// Energy over the part of [begin_s, end_s] that the samples span.
struct MeterEnergy {
  double joules = 0;     // over the covered part only
  double covered_s = 0;  // length of [max(begin, first), min(end, last)]
  double coverage = 0;   // covered_s / (end_s - begin_s), in [0, 1]; 1 for an empty window inside
  // The longest time between two consecutive samples whose span meets the covered part: what
  // the meter did between them is the straight line's guess.
  double longest_gap_s = 0;
};

// Watts: integral of the piecewise-linear curve through the samples (trapezoids, cut at the window
// edges). Joules: the cumulative counter interpolated linearly at the covered part's edges,
// end minus start. nullopt when fewer than two samples or the window and the samples do not
// overlap in a span of positive length (an empty window inside the samples gives 0 J, coverage 1).
std::optional<MeterEnergy> integrate_meter(std::span<const MeterSample> samples, MeterKind kind,
                                           double begin_s, double end_s);

// The energy of the whole window estimated from a partly covered one: the covered part's average
// power over the whole window, with the uncovered fraction as the relative uncertainty (the
// uncovered part could have drawn anything from 0 to twice that average), plus one sample period
// (the longest gap) over the window, as for every sampled power (NVML's instant power,
// docs/energy.md): a 0.3 s run between two readings of a meter that logs every 2 s is the line
// between them, not a measurement of the run. At most 1.
struct WindowEstimate {
  double joules = 0;
  double uncertainty = 0;  // relative half-width: 1 - coverage + longest_gap_s / window_s
};
WindowEstimate extrapolate_to_window(const MeterEnergy& covered, double window_s);

}  // namespace pmc
