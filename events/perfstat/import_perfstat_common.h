#pragma once
// What the three perf stat readers share: lines, numbers in the recording's locale, perf's metric
// descriptions mapped to pmcmodel names, and the builder that turns rows into a Measurement.
#include <cstddef>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "events/document/aggregate_id.h"
#include "events/document/measurement.h"
#include "events/perfstat/import_perfstat.h"
#include "events/text/input_file.h"

namespace pmc::perfstat {

// Errors carry the file and line; lenient imports list them instead of stopping.
class Context {
 public:
  Context(std::string_view file, bool lenient, std::vector<std::string>& skipped,
          unsigned threads = 1, size_t min_part_bytes = 0)
      : file_(file),
        lenient_(lenient),
        skipped_(skipped),
        threads_(threads),
        min_part_bytes_(min_part_bytes) {}
  [[noreturn]] void fail(size_t line, std::string_view what) const;
  // A line longer than kMaxLineBytes (is_overlong), refused with --lenient too.
  [[noreturn]] void fail_overlong(size_t line) const;
  // perf stat --append -o FILE writes each run after the one before, its own "# started on"
  // line (and in text its "Performance counter stats for" header) first. Read on, the runs' rows
  // would be one measurement (their events as groups of one run, the last run's times): refused
  // at the line where the second run starts, with --lenient too.
  [[noreturn]] void fail_second_run(size_t line) const;
  // Throws, or in lenient mode records the line as skipped.
  void reject(size_t line, std::string_view what);
  bool lenient() const { return lenient_; }
  std::string_view file() const { return file_; }
  // Threads a reader may split a long recording over (ImportOptions::threads).
  unsigned threads() const { return threads_; }
  size_t min_part_bytes() const { return min_part_bytes_; }
  // How many parts a reader read on their own threads (ImportResult::parts).
  void set_parts(size_t parts) { parts_ = parts; }
  size_t parts() const { return parts_; }
  // A line skipped by a reader of a later part of the file, with its own Context.
  void add_skipped(std::string line) { skipped_.push_back(std::move(line)); }

 private:
  std::string_view file_;
  bool lenient_;
  std::vector<std::string>& skipped_;
  unsigned threads_;
  size_t min_part_bytes_;
  size_t parts_ = 1;
};

// "found 'xyz…'" for messages: at most 40 characters, control bytes as \xNN.
std::string quote(std::string_view text);

class LineReader {
 public:
  explicit LineReader(std::string_view text) : text_(text) {}
  // The next line without its '\n' or "\r\n"; false at the end.
  bool next(std::string_view& line);
  size_t line_no() const { return line_no_; }
  bool at_end() const { return pos_ >= text_.size(); }

 private:
  std::string_view text_;
  size_t pos_ = 0;
  size_t line_no_ = 0;
};

// perf never writes a line near kMaxLineBytes long (its longest, -x rows and -j records, are a few
// hundred bytes). A longer one is refused, --lenient or not: the limit bounds what one line can
// cost a reader (its fields, its copies), it is not a damaged row to skip and go on. Each reader
// tests the lines in its own loop over them, where their length is known, so no pass is added.
// The length is the line's bytes before its "\n" or "\r\n".
inline bool is_overlong(std::string_view line) {
  return line.size() > kMaxLineBytes;
}

// "Tue Jun 13 10:00:00 2023" (perf's "# started on") → "2023-06-13T10:00:00", the recording
// machine's local time (perf does not say its zone); empty when it is not that form.
std::string iso_start_time(std::string_view when);
// The "# started on …" line of a recording (-o FILE writes it first in every format): a note,
// and its time to the measurement's start_time when `sets_start_time` (the -x and -j readers: only
// a line above the first row, the one a streamed document's head was written with).
class Builder;
void read_started_on(std::string_view comment, Builder& out, bool sets_start_time = true);
// Whether a '#' line is perf's "# started on …".
bool is_started_on(std::string_view comment);
std::string_view trim(std::string_view s);
std::string_view trim_left(std::string_view s);
std::string_view trim_right(std::string_view s);
bool starts_with_ci(std::string_view s, std::string_view prefix);

// The decimal separator of the recording's locale: ',' when its numbers show it (`1.234,5`,
// `(85,74%)`, `3,171346072`), '.' otherwise. Looks at the first 256 KiB; `csv_sep` is a field
// separator, never part of a number.
char detect_decimal(std::string_view text, char csv_sep = 0);

// A number as perf printed it: grouping (',' '.' '\'' and no-break spaces, whichever is not the
// decimal), sign, "nan"/"-nan"/"inf". Nothing else may be in `token`.
std::optional<double> parse_number(std::string_view token, char decimal);
// Whether parse_number would accept `token`, without converting it (the readers test fields
// more often than they convert them).
bool is_number_text(std::string_view token, char decimal);
// A -I timestamp: always "%lu.%09lu", whatever the locale.
std::optional<double> parse_timestamp(std::string_view token);
// perf's -I timestamps grow from row to row (rows of one interval share theirs). One below the
// one before is a second -I recording in the file (two captures concatenated: the second
// starts again near 0) or a damaged line; read on, its intervals would be the first run's,
// one of them with a negative length. `last`: the latest timestamp read, updated unless `ts`
// goes back, which is then what the reader refuses its line with.
bool timestamp_goes_back(std::optional<double>& last, double ts);
inline constexpr const char* kTimestampGoesBack =
    "expected a -I timestamp at or after the one before (perf's only grow): a second recording "
    "starts here, or the line is damaged";
bool looks_like_timestamp(std::string_view token);
// Digits only, saturating at INT_MAX: perf's CPU counts and run counts.
int parse_small_int(std::string_view digits);
// A count as uint64, 0 for negative or not finite, saturating at the top.
uint64_t to_count(double value);
// perf prints counts from the kernel's unsigned 64-bit values, times (task-clock's msec) and
// energies (RAPL's Joules) included, so a negative or infinite one is a damaged recording (a
// document cannot hold an infinite count: its reader refuses the null it is written as); perf's
// metrics can be negative (a top-down formula's difference, a ratio's rounding) and are not
// checked here. nullptr for a finite count of 0 or more or nan (perf's "not counted"), else what
// was expected, in the measurement document reader's words ("expected an energy of 0 or more").
const char* invalid_count(double count, std::string_view unit);
// perf prints the percentage of its enabled time that a counter ran, 100 * running / enabled
// with running never above enabled (stat-display.c), so one outside 0…100 is a damaged
// recording, which would otherwise be clamped into a running time the row never gave. nullptr
// for 0…100 (and nan, which make_event takes as no percentage), else what was expected.
const char* invalid_running_pct(double pct);

// perf stat's "Events disabled" and "Events enabled" (builtin-stat.c's EVLIST_DISABLED_MSG and
// EVLIST_ENABLED_MSG, printed with -D MSECS and --control): on stderr, where -x and -j output
// goes too, so a recording captured with 2> holds them among its rows. Kept as notes.
bool is_events_toggle(std::string_view trimmed_line);

// The shell command that ran perf, as published above its output: "$ perf stat -a sleep 1",
// "[root@host ~]# perf stat ...", "command# ./perf stat ...", "$sudo ./perf stat ...".
bool is_shell_command(std::string_view trimmed_line);

// The text without the quote marks of a mail or a commit message ("> ", ">> ", "| ") when every
// line that is not empty has them; `how` gets the marks removed ("'> ' '> '"). Line numbers are
// unchanged. nullopt when the text is not quoted.
std::optional<std::string> strip_quote_marks(std::string_view text, std::string& how);

using ::pmc::is_aggregate_id;  // events/document/aggregate_id.h

// Builds one event from a printed row. `pct` is the percentage running, `noise_pct` the -r
// relative stddev; `count` empty for not counted/supported.
EventCount make_event(std::string_view name, std::string_view unit, std::optional<double> count,
                      EventStatus status, std::optional<double> pct,
                      std::optional<double> noise_pct);
std::optional<EventStatus> parse_count_status(std::string_view token);  // "<not counted>"…
// perf -v's "Using CPUID <id>" line (pmu-events' lookup of its metric files): an Arm core's MIDR
// ("0x00000000410fd4f0": implementer 0x41, part 0xd4f) or x86's "GenuineIntel-6-55-4" (vendor,
// family, model and stepping in hex), into `machine` as /proc/cpuinfo would give them (on Arm
// vendor "ARM", family the implementer, model the part, as measure records them). False, with
// `machine` unchanged, when `line` is not such a line.
bool read_cpuid_line(std::string_view line, MachineInfo& machine);

// perf's description of a metric → a pmcmodel name and unit, the value as a fraction when perf
// printed a percentage. `percent` says the value was printed with '%'; `event` names the row's
// event, for "<event>_per_sec". `percent_shown`: the form prints '%' where the value is one (a
// text comment), so a top-down value without it is a fraction, as old -M printed "0.14 Retiring".
Metric normalise_metric(double value, bool percent, std::string_view description,
                        std::string_view event, bool percent_shown = false);
// Sets m.decimals (Metric::decimals) from the printed number `text` (its decimals after
// `decimal`), which normalise_metric() multiplied by `scale` (its value of a printed 1: 0.01 for
// a percentage, 1e6 for M/sec) to give m.value: shifted by that power of ten.
void keep_printed_decimals(Metric& m, std::string_view text, char decimal, double scale);
// The same with the power of ten of the scale, scale_exponent(scale), known already.
void keep_printed_decimals_shifted(Metric& m, std::string_view text, char decimal, int exponent);
// The power of ten nearest to a positive, finite `scale` (lround(log10(scale)): 0.01 → -2,
// 1e6 → 6, 2.5 → 0); 0 for any other.
int scale_exponent(double scale);
// The core PMU of a hybrid machine that a row's event names ("cpu_core/cycles/" → "cpu_core",
// also cpu_atom and cpu_lowpower), or of a metric group's label ("TopdownL1 (cpu_atom)");
// empty for any other event or label.
std::string_view hybrid_pmu_of_event(std::string_view event);
std::string_view hybrid_pmu_of_group(std::string_view label);
// A hybrid PMU's metrics are its own: "ipc" printed for cpu_core's events is "cpu_core/ipc".
void qualify_by_pmu(Metric& metric, std::string_view pmu);

// The description after a "%": "  tma_retiring" or "of all branches" (strips the unit "%").
// Returns true when the description carried the percent sign itself.
bool strip_percent_unit(std::string_view& description);

// perf stat -M prints each metric's events as a group, one group after another, and counts an
// event that several groups hold once in each. Where a name comes twice in `events` (the rows
// of a run or of an interval), each row gets its group (EventCount::group): a group ends where
// the running time changes (perf schedules a group as one: the same "(pp.pp%)") or one of its
// events comes again. Each of `reported` holds, until this call, the index of the row it was
// printed beside, and gets that row's group (none when no name repeats).
void assign_groups(std::vector<EventCount>& events, std::vector<Metric>& reported);
// The same, told whether a name repeats among `events` (has_repeated_name), which an interval
// with the rows of the one before shares with it.
void assign_groups(std::vector<EventCount>& events, std::vector<Metric>& reported, bool repeats);
bool has_repeated_name(const std::vector<EventCount>& events);
bool same_names(const std::vector<EventCount>& a, const std::vector<EventCount>& b);

// perf's -I step, read once from the head of the recording (interval_step_of) before any row
// is read, and handed to every builder of the import, so that a recording read whole, cut into
// parts on threads, or streamed in batches gets one step and one period whatever the cut.
struct IntervalStep {
  // The length taken for an interval whose gap is far past one step (intervals left out, a
  // paste from the middle of a run): the printed -I, else the median of the first gaps.
  std::optional<double> step_s;
  // perf's -I period, the wall time perf computed each interval's metrics with
  // (Interval::period_s): the printed -I, else nominal_period of the median gap, or of the only
  // timestamp of a recording of one interval.
  std::optional<double> period_s;
  // The -D (--delay) of the printed command, 0 when none: perf before 6.2 took the origin of its
  // timestamps before sleeping it (builtin-stat.c's __run_perf_stat read ref_time, then
  // enable_counters() slept initial_delay), so its first interval ends at delay + period.
  double delay_s = 0;
};

// What a perf stat command line printed with the recording ("# perf stat -a -I 1000",
// "$ perf stat --interval-print=500 -D 200 …") says about its intervals, in seconds: -I N, -IN,
// --interval-print[=]N and -D N, -DN, --delay[=]N, each in ms; nothing from the command perf
// runs, which starts at `--` or at the first word that is neither an option nor an option's value.
struct PrintedCommand {
  std::optional<double> interval_s;
  double delay_s = 0;
};
PrintedCommand printed_command_of(std::string_view line);

// How many timestamps of the head of a recording give its step: the first
// kStepTimestamps distinct ones (kStepTimestamps - 1 gaps), so that the step depends on the
// recording's first intervals only, never on where a reader's part or batch begins.
inline constexpr size_t kStepTimestamps = 9;

// How far into a recording that has shown no timestamp yet interval_step_of looks for one: an
// -I recording's first row follows at most a prompt, perf's `# started on` and -v lines, its
// column header and what the workload printed meanwhile (line 6 at the latest in wild/ and the
// fixtures); a recording without -I is read no further than this for its step.
inline constexpr size_t kStepHeadBytes = size_t(1) << 20;

// The step of the recording `text` in `format` (text, csv or json): the -I of a printed perf
// stat command line (printed_command_of) above its first timestamped row, else from the first
// kStepTimestamps timestamps. Empty when the recording has no timestamp in its first
// kStepHeadBytes. perf itself never prints its own options (cmd_stat's "# started on" is the
// date, print_header_std's "Performance counter stats for" the workload's argv or the target,
// print_header_interval_std's header the column names): a printed -I is the author's prompt,
// which precedes the output; a command below the first row is another run's.
IntervalStep interval_step_of(std::string_view text, PerfStatFormat format);

// perf's -I period from a gap between its timestamps. perf re-arms its timer after reading and
// printing an interval, so a gap is the period plus perf's own delay, never less: the gap cut
// down to the coarsest grid of 1 s, 100 ms, 10 ms or 1 ms that leaves under 10 % of it.
double nominal_period(double gap_s);

// Events, intervals and reported metrics in the order the rows came; aggregate totals and
// interval sums are added by finish().
class Builder {
 public:
  void add_event(std::optional<double> ts, std::string_view aggregate, int aggregate_cpus,
                 EventCount event);
  void add_reported(std::optional<double> ts, std::string_view aggregate, Metric metric);
  // A metric whose -x value field perf left empty beside its unit (",,%  tma_retiring"):
  // print_metric_csv (stat-display.c) keeps only the leading digits and '.' of the value's text,
  // so perf computed a value that was nan, inf or negative, and which is not known. Nothing is
  // kept in reported[]; a note (once per metric) says so. (An empty value and an empty unit is a
  // row without a metric.)
  void add_unshown_metric(std::string_view aggregate, std::string_view name);
  // perf prints "( +- x% )  (pp.pp%)" after the last metric of a row, which can be a
  // continuation row ("#  0.05  stalled cycles per insn  ( +-  1.23% )  (33.36%)").
  void amend_last_event(std::optional<double> pct, std::optional<double> noise_pct);
  void add_note(std::string note);
  // The recording's -I step (interval_step_of), the same for every builder of an import: the
  // whole run's, each part's and each streamed batch's.
  void set_interval_step(const IntervalStep& step) { step_ = step; }
  Measurement& measurement() { return m_; }
  const Measurement& measurement() const { return m_; }
  bool empty() const;
  // Whether `later`, the builder of the rows after this one's (a part of the file read on
  // another thread), holds nothing but whole intervals that start after this one's last, so
  // append() gives what one builder reading both would have.
  bool can_append(const Builder& later) const;
  // Moves `later`'s intervals after this one's.
  void append(Builder&& later);
  // Finishes, on the thread that read them, what of each interval read so far depends on
  // nothing after it (its aggregate totals, its groups, whether its names are those of the
  // interval before it, whether a power/… row gives it energy): every interval but the last,
  // which more rows may go on. Reading seals each interval already when the one after the next
  // starts; take_intervals() seals those left, and does the rest (durations, energy, sums) in
  // order.
  void seal_intervals();
  Measurement finish();

 private:
  struct Total {
    EventCount sum;
    size_t parts = 0;
    size_t enabled_parts = 0;
    double running_fraction_sum = 0;
  };

 public:
  // The sums of the intervals' events, added in the order of the file: the run's events when no
  // row without a timestamp gave them.
  class RunSums {
   public:
    explicit RunSums(const IntervalStep& step = {}) : step(step) {}
    // `names_as_before`: the caller found the events' names, row by row, to be those of the
    // events added last; then, when every row of those was at its own position, no name is
    // compared again (an -I recording repeats its rows in every interval).
    void add(const std::vector<EventCount>& events, bool names_as_before = false);
    size_t interval_count() const { return intervals; }

   private:
    friend class Builder;
    IntervalStep step;
    // interval_length's notes, added to the run's notes when it is finished: a streamed part's
    // builder is not the one whose notes are written.
    std::vector<std::string> notes;
    std::map<std::string, size_t, std::less<>> index;
    std::vector<Total> sums;
    size_t intervals = 0;
    // When the first interval ends far past one -I step (a recording pasted from the middle of
    // a run): where it started, one step before.
    std::optional<double> start_s;
    bool all_in_place = false;  // the last add() found every row at its position in `sums`
  };
  // Moves out the intervals read so far, finished as finish() finishes them (aggregate totals,
  // durations from `previous_time`, which is updated, and added to `sums`): all, or all but the
  // last when more rows of it may follow.
  std::vector<Interval> take_intervals(bool keep_last, double& previous_time, RunSums& sums);
  // finish() for a builder whose intervals were all taken: the run's events from `sums`,
  // duration the last interval's time.
  Measurement finish_streamed(RunSums& sums, double last_time);

 private:
  void finish_run(RunSums& sums, double last_time);
  // The length of an interval ending at `time_s`, `gap_s` after the one before (or after 0 for
  // the first): the gap, unless it is far longer than the -I step (a recording pasted from the
  // middle of a run, or with intervals left out), where perf's interval was one step; a note
  // in `sums` says so.
  static double interval_length(double time_s, double gap_s, bool first, RunSums& sums);
  IntervalStep step_;  // handed to finish()'s RunSums
  size_t taken_ = 0;   // intervals taken out, for empty()
  // The interval whose timestamp is `ts`, or the whole run; its aggregate totals.
  std::vector<Total>& totals_of(std::optional<double> ts, std::vector<EventCount>*& events,
                                std::vector<Metric>*& reported);
  // `over_time`: the parts are intervals of one run, --per-thread threads or -G cgroups (their
  // <not counted> ran for no time), not CPU aggregates counted side by side (where a <not
  // counted> CPU's share is missing from the sum).
  static void accumulate(Total& total, const EventCount& e, bool over_time = false);
  static EventCount total_event(const Total& total, std::string reason);
  static void flush(std::vector<Total>& totals, std::vector<EventCount>& events);
  // Seals interval i (seal_intervals()), the one before it sealed already or not at all.
  void seal_one(size_t i);
  // Seals those of the first `count` intervals not sealed yet.
  void seal(size_t count);

  // Where the last added event and its aggregate total are: interval index (npos for the whole
  // run) and index in that list (npos when none).
  static constexpr size_t npos = size_t(-1);
  struct Position {
    size_t interval = npos;
    size_t event = npos;
    size_t total = npos;
  };

  Measurement m_;
  std::set<std::string, std::less<>> nan_noted_;  // metrics noted as nan or not shown
  Position last_;
  std::vector<Total> top_totals_;
  std::vector<std::vector<Total>> interval_totals_;  // parallel to m_.intervals
  // Parallel to m_.intervals: 0 until sealed, then kSealed with kSameNames (its names are those
  // of the interval before it in this builder), kRepeats (a name repeats among its events) and
  // kPower (one of its rows is perf's power PMU in Joules, for its energy[]).
  static constexpr char kSealed = 1, kSameNames = 2, kRepeats = 4, kPower = 8;
  std::vector<char> sealed_;
};

// The three readers, one file each.
void read_text(std::string_view text, Context& ctx, Builder& out);
void read_csv(std::string_view text, Context& ctx, Builder& out);
// The same with the intervals handed to `sink` as they are read (import_perf_stat_streamed).
void read_csv_streamed(std::string_view text, Context& ctx, Builder& out,
                       const IntervalBatchSink& sink, Builder::RunSums& sums,
                       double& previous_time);
void read_json(std::string_view text, Context& ctx, Builder& out);

// The CSV separator that splits `line` into perf's -x fields, or 0.
char detect_csv_separator(std::string_view line);
// Whether `line` is the header of perf 4.x-5.x's legacy `--topdown -x SEP` table ("core,cpus,
// retiring,bad speculation,frontend bound,backend bound").
bool is_topdown_table_header(std::string_view line);

// Parses the "Performance counter stats for 'CMD' (N runs):" line into `m`.
void parse_stats_header(std::string_view line, Measurement& m);
// "<t> [+- sd] seconds time elapsed|user|sys" into m; not_one when the line is not one, negative
// (m unchanged) when <t> is below 0, which perf, printing a clock's difference, never does.
enum class TimeLine { not_one, read, negative };
TimeLine parse_time_line(std::string_view line, char decimal, Measurement& m);

// perf -v's "Using CPUID …" line in a -x or -j recording (perf prints it on stderr, so a file
// captured with 2>&1 holds it as a line of its own before or among the rows): read into the
// machine (read_cpuid_line) and kept as a note, as the text reader keeps it. False, with nothing
// done, when `t` (a trimmed line) is not one.
bool read_cpuid_line_row(std::string_view t, Builder& out);
// Every row of a recording passes here: the first byte rules out all but the CPUID line inline.
inline bool read_cpuid_row(std::string_view t, Builder& out) {
  return !t.empty() && t.front() == 'U' && read_cpuid_line_row(t, out);
}

}  // namespace pmc::perfstat
