#pragma once
// Pure arithmetic on counter readings: multiplexing scale and interval deltas.
#include <cstdint>
#include <optional>
#include <vector>

#include "events/document/measurement.h"

namespace pmc {

// One event as read from the kernel.
struct Reading {
  uint64_t raw = 0;
  uint64_t time_enabled_ns = 0;
  uint64_t time_running_ns = 0;
};

// Multiplexing estimate raw × enabled / running, as perf does; nullopt when the event never ran
// (running == 0), which the report shows as not_counted, never as 0.
std::optional<double> scale(const Reading& reading);

// `later - earlier` for cumulative readings of one event (each field separately).
Reading delta(const Reading& later, const Reading& earlier);

// Fills value/status of `count` from its raw/enabled/running and the event's unit scale.
// Events already marked not_supported or permission_denied are left as they are.
void apply_scale(EventCount& count, double unit_scale);

}  // namespace pmc

namespace pmc {

// The count of one event between two cumulative reads (interval mode), rescaled on the deltas.
EventCount delta_count(const EventCount& later, const EventCount& earlier);

// Several runs of the same event list (-r N): mean value and sample standard deviation per event.
// An event counted in every run is counted; otherwise it takes the first run's failing status.
std::vector<EventCount> combine_runs(const std::vector<std::vector<EventCount>>& runs);

}  // namespace pmc
