#pragma once
// What a measurement's runs come to: -r N's runs as one document, and whether a run counted
// anything at all.
#include <optional>
#include <string>
#include <vector>

#include "events/document/measurement.h"

namespace pmc {

// -r N: the last run with the mean of every run's counts, times and energy in place of its own:
// each event's mean and sample standard deviation (combine_runs), with each run's value beside it
// and the spread as perf prints it, the standard error of the mean stddev / sqrt(N) (perf's
// stat.c, stddev_stats); the mean duration, user and system time; each energy domain's mean
// joules and watts (average_energy); runs = N and the first run's start time. One run is
// returned as it is. `runs` is not empty.
Measurement average_runs(const std::vector<Measurement>& runs);

// A run in which not one event could be counted fails, as perf stat does: the first event's name,
// status and reason (which names the fix: the paranoid level, a capability), as
// "NAME: STATUS — REASON". nullopt when something was counted or no event was asked for.
std::optional<std::string> nothing_counted(const Measurement& m);

}  // namespace pmc
