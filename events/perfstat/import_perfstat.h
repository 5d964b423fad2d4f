#pragma once
// Imports a recording of `perf stat` (text, CSV from -x SEP, JSON lines from -j, each also with -I
// intervals) into a Measurement with source "perf-stat". Only what perf printed is kept: counts go
// to events[], perf's metric comments to reported[]; derived metrics are computed elsewhere from
// counts.
//
// How perf's printed forms map onto the data model:
// - value is the count as printed (perf already scaled it for multiplexing), in the printed unit
//   ("msec", "Joules", "MiB"); unit_scale is 1e-6 for msec (the kernel counts ns), 1 otherwise.
// - Multiplexing: perf prints only the percentage of enabled time the event ran, so
//   time_enabled_ns = 1e9 and time_running_ns = round(pct * 1e7): running_fraction() is pct/100 to
//   the printed precision. Without a percentage, running = enabled = 1e9; `<not counted>` without
//   one has running = 0; `<not supported>` has both 0. raw = round(value / unit_scale * fraction),
//   what the kernel would have returned before perf's scaling.
// - `-r N`: sem = value * pct / 100 from `( +- pct% )` (JSON "variance", CSV `pct%` field):
//   perf's +- is the standard error of the mean (stat.c stddev_stats: sqrt(variance / n)). The
//   runs' stddev = sem * sqrt(N) only where the text header says N ("(5 runs)").
// - Times: duration_s, user_s and sys_s are set, and has_duration/has_user/has_sys true, only
//   from perf's time lines (or, for -I, the last timestamp); -x and -j print none.
// - Aggregation prefixes (--per-socket/-die/-core/-node/-cache, -A, --per-thread, CSV cgroups):
//   each row becomes an event named "<aggr-id>/<event>" ("S0-D0-C1/cycles",
//   "CPU3/cpu_core/cycles/", "perf-1234/instructions"), reason "aggregate of N CPUs" when perf
//   printed N; after them comes one total per event name ("cycles"), the sum of the aggregates (its
//   running fraction the mean of theirs, no stddev). Metrics printed on an aggregate's row are
//   named "<aggr-id>/<metric>".
// - Intervals (-I): rows are grouped by timestamp into intervals[] (time_s = timestamp,
//   duration_s = difference to the previous one, the first from 0, or one -I step where that is
//   more than 1.5 steps: a recording pasted from the middle of a run, intervals left out; the step
//   is the -I of a perf command line above the first timestamp, else the median difference of
//   the first 9 timestamps, read once from the head of the text for every part and batch; each
//   interval's metrics are over perf's nominal period, the document's interval_step_s); the
//   top-level events are the sums of the interval deltas, duration_s is the elapsed line or else
//   the time the intervals span.
// - A line holding only "(pp.pp%)" under a counter row is that row's running percentage.
// - reported[] names: ipc, ghz, cpus_utilized, branch_miss_rate, cache_miss_rate,
//   frontend_stall_ratio, backend_stall_ratio, stalled_cycles_per_insn, l1d/l1i/llc/dtlb/itlb
//   _miss_ratio (as the metric engine names them), tma_* (Retiring, Bad Speculation... and AMD's
//   frontend_bound... too), and
//   "<event>_per_sec" (unit "/s", K/M/G applied) for perf's rate comments; percentages are stored
//   as fractions with unit "ratio". Other comments keep perf's words, spaces as '_'.
// - Number grouping follows the recording's locale, decided once per file from the numbers that
//   reveal it (`1.234,5`, `(85,74%)`, `3,171346072 seconds`, Indian `1,23,45,678`).
// - JSON: perf 6.12/6.13's trailing comma before '}' is accepted (the data is real); a record
//   wrapped over several lines is read as one record (a JSON reader would), errors naming the
//   line where it starts.
// - --metric-only and legacy --topdown tables: columns are matched to their headers by right edge
//   (perf leaves a cell blank when a metric has no value); values go to reported[]. The legacy
//   --topdown -x SEP table ("core,cpus,retiring,…" then "S0-C0,1,151.0,3.9,26.0,,") is CSV.
// - task-clock/cpu-clock printed without a unit are ns (perf 6.x on some machines), unless the
// count
//   has a fraction (perf 3.x printed msec without a unit).
// - CSV and JSON drop the '%' of percentage metrics; which metrics perf prints as percentages is
//   known by description (of all branches, frontend cycles idle, Retiring, ...). Old -M output's
//   "Backend_Bound" (with '_') is a fraction already.
// - Text: a recording with the "Performance counter stats" header but no "seconds time elapsed"
//   line (outside -I) is truncated. Strict imports also refuse control bytes (binary input).
// - A negative count, time or energy (perf prints them from the kernel's u64) is an error, a
//   skipped line with `lenient`; negative metrics are kept. A line longer than kMaxLineBytes
//   (events/text/input_file.h) is an error with `lenient` too.
// - Notes: elision lines ("..."), perf's advice lines and warnings go to notes[].
#include <functional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "events/document/measurement.h"

namespace pmc {

enum class PerfStatFormat { automatic, text, csv, json };

struct ImportOptions {
  PerfStatFormat format = PerfStatFormat::automatic;
  // Import the good lines of a damaged file, listing the others in ImportResult::skipped.
  bool lenient = false;
  // A long -x CSV recording with -I intervals is cut at interval boundaries and its parts read
  // on this many threads (1: none); the result, errors and skipped lines are the same.
  unsigned threads = 1;
  // Parts smaller than this are not worth a thread (tests lower it to cut small files).
  size_t min_part_bytes = 4u << 20;
};

struct ImportResult {
  Measurement measurement;
  std::vector<std::string> skipped;  // "FILE:LINE: why", lenient only
  // Parts of the file read on threads of their own and appended (ImportOptions::threads); 1
  // when it was read in one sequence.
  size_t parts = 1;
};

// what() is one line: "FILE:LINE: what was expected".
struct ImportError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

ImportResult import_perf_stat(std::string_view text, std::string_view file_name,
                              const ImportOptions& options = {});

// Receives a recording's intervals while it is read: batch n holds the intervals that follow
// batch n-1's in the file, finished (durations, aggregate totals). Called on the thread that
// imports, in batch order, while the other threads read the parts after them.
using IntervalBatchSink = std::function<void(size_t batch, std::vector<Interval>&& intervals)>;

// import_perf_stat with the intervals of a -x CSV recording handed to `sink` instead of kept:
// it is read in parts of about 1 MiB, a few at a time on options.threads threads, so that only
// those few are held. The result's measurement has no intervals; everything else is
// import_perf_stat's, and so are the intervals and errors. After an error some batches may have
// been handed on. Other formats (whose header can come last) are read whole, their intervals
// kept in the result, and `sink` is not called.
ImportResult import_perf_stat_streamed(std::string_view text, std::string_view file_name,
                                       const ImportOptions& options, const IntervalBatchSink& sink);

// The fields of the document that a streamed JSON writer writes before the intervals, as
// import_perf_stat_streamed's result will hold them: the source, and the machine of perf -v's
// "Using CPUID" lines, which a -x recording may hold anywhere among its rows.
Measurement perf_stat_streamed_head(std::string_view text);

// json when the first record starts with '{', csv when a row splits into perf's -x fields with one
// separator, text otherwise.
PerfStatFormat detect_format(std::string_view text);

}  // namespace pmc
