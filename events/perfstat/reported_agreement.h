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
#include <memory>
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

// The same, appended to m.notes, and one note per metric whose values perf printed in the
// intervals (Interval::reported) disagree with the intervals' metrics in some of them
// (IntervalAgreement): intervals whose metrics are not held (a writer evaluates them) give none.
// `set`: the import's metric files (null without: the 1 % rule), `selection` its metrics,
// compared with their input_rounding; the run's and each interval's inputs are their own.
void note_disagreements(Measurement& m, const MetricSet* set = nullptr,
                        const std::vector<std::string>& selection = {},
                        const Literals& literals = {});

// The intervals of an -I recording against what perf printed in each: each interval's metrics
// compared as the run's are (reported_disagreements' rule, with the inputs' rounding of that
// interval's counts where there are metric files), tallied per metric, so that a long recording
// gives one note per metric (how many intervals disagree of how many compared, the largest
// difference and at which interval), not one per interval. One per thread: merge() the others.
class IntervalAgreement {
 public:
  // `set` null: no metric files (perf stat's generic ratios, compared at 1 % of the value).
  explicit IntervalAgreement(const MetricSet* set = nullptr, std::vector<size_t> selected = {},
                             Literals literals = {});
  ~IntervalAgreement();
  IntervalAgreement(IntervalAgreement&&) noexcept;
  IntervalAgreement& operator=(IntervalAgreement&&) noexcept;
  // `ours`: the interval's metrics (Interval::metrics, or what a writer evaluated for it).
  void add(const Interval& iv, const std::vector<Metric>& ours);
  void merge(const IntervalAgreement& other);
  // One note per metric that disagrees in an interval, by metric name; the reason as for the
  // run's where the recording shows it (hybrid PMUs).
  std::vector<std::string> notes() const;

 private:
  struct Tally {
    size_t compared = 0, disagreeing = 0;
    double largest = -1;  // |ours - perf's| in the metric's unit, at `time_s`
    double time_s = 0;
    Metric perf;  // perf's value there
    double ours = 0;
  };
  struct Rounding;
  const MetricSet* set_;
  std::vector<size_t> selected_;
  Literals literals_;
  std::map<std::string, Tally> tallies_;
  std::unique_ptr<Rounding> rounding_;  // made for the first interval that needs it
};

}  // namespace pmc
