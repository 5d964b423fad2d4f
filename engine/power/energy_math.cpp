#include "engine/power/energy_math.h"

#include <algorithm>

namespace pmc {
namespace {

// Value of the line through samples i and i+1 at time t.
double interpolate(const MeterSample& a, const MeterSample& b, double t) {
  double span = b.time_s - a.time_s;
  if (span <= 0) return a.value;
  return a.value + (b.value - a.value) * (t - a.time_s) / span;
}

// The piecewise-linear curve through the samples at t, first <= t <= last.
double value_at(std::span<const MeterSample> s, double t) {
  auto it = std::upper_bound(s.begin(), s.end(), t,
                             [](double x, const MeterSample& m) { return x < m.time_s; });
  if (it == s.begin()) return s.front().value;
  if (it == s.end()) return s.back().value;
  return interpolate(*(it - 1), *it, t);
}

double integrate_watts(std::span<const MeterSample> s, double a, double b) {
  double joules = 0;
  for (size_t i = 0; i + 1 < s.size(); ++i) {
    double lo = std::max(a, s[i].time_s);
    double hi = std::min(b, s[i + 1].time_s);
    if (hi <= lo) continue;
    joules += 0.5 * (interpolate(s[i], s[i + 1], lo) + interpolate(s[i], s[i + 1], hi)) * (hi - lo);
  }
  return joules;
}

}  // namespace

std::optional<uint64_t> wrapped_delta(uint64_t before, uint64_t now, uint64_t range) {
  if (range == 0) {
    if (now < before) return std::nullopt;
    return now - before;
  }
  if (before > range || now > range) return std::nullopt;
  return now >= before ? now - before : range - before + now;
}

std::optional<MeterEnergy> integrate_meter(std::span<const MeterSample> samples, MeterKind kind,
                                           double begin_s, double end_s) {
  if (samples.size() < 2 || end_s < begin_s) return std::nullopt;
  double a = std::max(begin_s, samples.front().time_s);
  double b = std::min(end_s, samples.back().time_s);
  double window = end_s - begin_s;
  if (window == 0) {
    if (a != b) return std::nullopt;  // the instant lies outside the samples
    return MeterEnergy{0, 0, 1};
  }
  if (b <= a) return std::nullopt;
  MeterEnergy out;
  out.covered_s = b - a;
  out.coverage = std::min(1.0, out.covered_s / window);
  out.joules = kind == MeterKind::watts ? integrate_watts(samples, a, b)
                                        : value_at(samples, b) - value_at(samples, a);
  for (size_t i = 0; i + 1 < samples.size(); ++i)
    if (samples[i].time_s < b && samples[i + 1].time_s > a)
      out.longest_gap_s = std::max(out.longest_gap_s, samples[i + 1].time_s - samples[i].time_s);
  return out;
}

WindowEstimate extrapolate_to_window(const MeterEnergy& covered, double window_s) {
  double sampling = window_s > 0 ? covered.longest_gap_s / window_s : 0;
  if (covered.coverage >= 1.0 || covered.covered_s <= 0)
    return {covered.joules, std::min(1.0, sampling)};
  return {covered.joules / covered.covered_s * window_s,
          std::min(1.0, 1.0 - covered.coverage + sampling)};
}

}  // namespace pmc
