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

// The copies of one event (one per CPU for -a/-G and cpumask PMUs, one per thread for -p)
// combined as perf stat does since 6.2 (tools/perf/util/stat.c, process_counter_values): each
// copy is scaled on its own enabled/running times, then the scaled values are added. Copies
// (100, 10, 10) and (10, 10, 5) [raw, enabled, running] give 100 + 20 = 120, where adding the
// raw counts and times first and scaling once (perf before 6.2) gave 110 x 20/15 = 146.7.
// Raw counts and times are added too, for the record.
struct CopySum {
  Reading sum;           // raw, enabled and running added over every copy
  double scaled = 0;     // the scaled values of the copies that ran, added
  uint32_t copies = 0;   // copies read
  uint32_t enabled = 0;  // copies with time_enabled > 0 (a thread that never ran has none)
  uint32_t ran = 0;      // copies with time_running > 0
};
void add_copy(CopySum& total, const Reading& copy);
// Adds the copies of another PMU instance of the same event (uncore_imc_0..N).
void add_copies(CopySum& total, const CopySum& more);

// Fills `count` from the copies: counted when at least one copy ran, its value the scaled sum
// times `unit_scale`. When some enabled copies never got a counter, the value is still the sum
// of those that ran (perf's total for the default aggregation) and the reason says how many
// copies are missing from it; perf's per-CPU views print those copies <not counted>. No copy
// that ran: not_counted, with the reason apply_scale gives. Failures from opening are kept.
void apply_copies(EventCount& count, const CopySum& copies, double unit_scale);

}  // namespace pmc

namespace pmc {

// The count of one event between two cumulative reads (interval mode), rescaled on the deltas.
EventCount delta_count(const EventCount& later, const EventCount& earlier);

// Several runs of the same event list (-r N): mean value and sample standard deviation per event.
// An event counted in every run is counted; otherwise it takes the first run's failing status.
std::vector<EventCount> combine_runs(const std::vector<std::vector<EventCount>>& runs);

}  // namespace pmc
