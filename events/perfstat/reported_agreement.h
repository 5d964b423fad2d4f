#pragma once
// Where a metric pmcmodel derived from an imported recording's counts (metrics[]) disagrees with
// the one perf printed (reported[], kept as printed) by more than perf's rounding, a note that
// says so and why when the recording shows it:
// - `-r N`: perf before 6.2 printed each metric from the last run's counts beside the runs' mean
//   counts, so a metric of the means differs when the runs do.
// - hybrid PMUs (`cpu_core/`, `cpu_atom/`, `cpu_lowpower/`): pmcmodel takes every input of a
//   metric from the metric's own PMU; some perf 6.4-dev builds divided one PMU's count by
//   another's (cpu_atom instructions over cpu_core cycles). When perf's value of ipc, branch
//   or cache miss rate is what such a mix gives, the note names it.
//
// Rounding: where the recording showed how many decimals perf printed (Metric::decimals: text
// and -x recordings as printed, -j's "%f" six), half a unit of the last of them, or 1% of the
// value (the inputs are rounded too: msec with two decimals in text and -x); otherwise (a form
// that does not show them) perf prints ratios as percentages with
// two decimals (top-down with one) and other metrics with two or three; a difference counts when it
// exceeds half a unit of one decimal for tma_* (in percent), of two decimals otherwise, and 1% of
// the printed value (the inputs are rounded too).
#include <string>
#include <vector>

#include "events/document/measurement.h"

namespace pmc {

std::vector<std::string> reported_disagreements(const Measurement& m);

// The same, appended to m.notes.
void note_disagreements(Measurement& m);

}  // namespace pmc
