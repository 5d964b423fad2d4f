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
// Rounding: half a unit of the last decimal perf printed (Metric::decimals: text and -x as
// printed, -j's "%f" six) plus what the inputs' printed rounding can move pmcmodel's value
// (input_rounding). Without that (no metric files) or without the decimals (a form that does not
// show them), 1% of the value stands in for the inputs' rounding, and perf's usual decimals for
// the printed ones: ratios as percentages with two decimals (top-down with one), other metrics
// with two or three.
#include <map>
#include <string>
#include <vector>

#include "events/document/measurement.h"
#include "events/metrics/metric_set.h"

namespace pmc {

// How far each of the run's metrics (by name) can move when each counted input moves by half a
// unit of the last digit perf printed it with (a count printed as an integer by 0.5, a clock
// printed in msec with two decimals by 0.005, -j's "%f" by 5e-7) and the elapsed time by half a
// unit of its last digit: first order, the sum of what each input's move does, with `set`'s
// `selected` metrics evaluated as the import does (each printed one in its group's counts).
using InputRounding = std::map<std::string, double>;
InputRounding input_rounding(const Measurement& m, const MetricSet& set,
                             const std::vector<size_t>& selected, const Literals& literals);

// With `rounding`, a value perf printed with its decimals shown (Metric::decimals) is compared at
// half a unit of its last digit plus what the inputs' rounding can move ours, instead of the 1 %
// of the value that stands in for the latter without it.
std::vector<std::string> reported_disagreements(const Measurement& m,
                                                const InputRounding* rounding = nullptr);

// The same, appended to m.notes.
void note_disagreements(Measurement& m, const InputRounding* rounding = nullptr);

// The same for an import whose metrics are `set`'s `selection` with `literals`: compared with
// their input_rounding.
void note_disagreements(Measurement& m, const MetricSet& set,
                        const std::vector<std::string>& selection, const Literals& literals);

}  // namespace pmc
