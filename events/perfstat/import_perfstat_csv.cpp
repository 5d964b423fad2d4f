// perf stat -x SEP: [interval,][aggr-id,[nr,]]count,unit,event[,cgroup][,stddev%],run-time,
// pct-running[,metric-value,metric-unit], plus metric rows ",,,,,70.1,%  tma_backend_bound" and
// metric-group rows ",<runtime>,<pct>,,,,TopdownL1". Layout: tools/perf/util/stat-display.c.
#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstring>
#include <exception>
#include <memory>
#include <optional>

#include "events/document/json_position.h"
#include "events/perfstat/import_perfstat_common.h"
#include "events/text/ordered_parallel.h"

namespace pmc::perfstat {
namespace {

// memchr from separator to separator: on the 100 MB -x -I benchmark a plain byte loop took
// 5 % more wall time (666 against 634 ms, medians of 10 alternations, 2026-12-07).
// `width`: how many times the separator character is repeated (perf's -x takes a string: -x '::'
// separates by two colons, and a field may then hold one, "cycles:u").
void split(std::string_view line, char sep, std::vector<std::string_view>& fields,
           size_t width = 1) {
  fields.clear();
  if (width > 1) {
    const std::string separator(width, sep);
    for (size_t p = 0;;) {
      size_t at = line.find(separator, p);
      if (at == std::string_view::npos) {
        fields.push_back(trim(line.substr(p)));
        return;
      }
      fields.push_back(trim(line.substr(p, at - p)));
      p = at + width;
    }
  }
  const char* begin = line.data();
  const char* end = begin + line.size();
  for (const char* p = begin;;) {
    const auto* at = static_cast<const char*>(std::memchr(p, sep, size_t(end - p)));
    if (at == nullptr) {
      fields.push_back(trim(std::string_view(p, size_t(end - p))));
      return;
    }
    fields.push_back(trim(std::string_view(p, size_t(at - p))));
    p = at + 1;
  }
}

// How many times `sep` is repeated to make the separator of a -x row: the shortest run of it in
// the row, where every run is a whole number of such (-x '::': runs of 2, and of 4 around an
// empty field), else 1 (a row of one-character separators has a run of 1 next to a field).
size_t separator_width(std::string_view row, char sep) {
  std::vector<size_t> runs;
  for (size_t i = 0; i < row.size();) {
    if (row[i] != sep) {
      ++i;
      continue;
    }
    size_t j = i;
    while (j < row.size() && row[j] == sep) ++j;
    runs.push_back(j - i);
    i = j;
  }
  if (runs.empty()) return 1;
  size_t width = *std::min_element(runs.begin(), runs.end());
  if (width < 2) return 1;
  bool whole = std::all_of(runs.begin(), runs.end(), [&](size_t r) { return r % width == 0; });
  return whole ? width : 1;
}

// The timestamp column of the totals that `perf stat -I … --summary -x SEP` prints after its
// intervals (stat-display.c print_interval: "summary" where the time would be).
constexpr std::string_view kSummary = "summary";

bool is_number(std::string_view f, char decimal) {
  return is_number_text(f, decimal);
}

// Index of the count: the field followed by a unit (empty or a word) and an event name.
// `number(i)`: whether field i is a number (is_number), asked at most once per field by a caller
// that remembers the answers.
template <class IsNumber>
std::optional<size_t> find_count(const std::vector<std::string_view>& f, IsNumber&& number) {
  for (size_t k = 0; k <= 3 && k + 2 < f.size(); ++k) {
    if (!number(k) && !parse_count_status(f[k]).has_value()) continue;
    if (!f[k + 1].empty() && number(k + 1)) continue;
    // "1.000169665,<not counted>,msec,task-clock,…": a unit is never a count's status, so the
    // timestamp before it is not the count.
    if (parse_count_status(f[k + 1]).has_value()) continue;
    std::string_view event = f[k + 2];
    if (event.empty() || number(k + 2) || event.find(' ') != std::string_view::npos) continue;
    return k;
  }
  return std::nullopt;
}

std::optional<size_t> find_count(const std::vector<std::string_view>& f, char decimal) {
  return find_count(f, [&](size_t i) { return is_number(f[i], decimal); });
}

// perf's metric threshold classes (metric_threshold_classify__str).
bool is_threshold(std::string_view f) {
  return f == "good" || f == "bad" || f == "nearly bad" || f == "less good" || f == "unknown";
}

bool is_integer(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

// The header of perf 4.x-5.x's legacy `--topdown -x SEP` table ("core,cpus,retiring,bad
// speculation,frontend bound,backend bound"; "time," first with -I): its separator, leading
// columns and the top-down category of each metric column. Its rows hold one value per column,
// a percentage printed without '%', and nothing where perf had no value.
struct TopdownTable {
  char sep = 0;
  bool time = false;       // a timestamp column
  bool aggregate = false;  // an aggregate id column (core, socket, die)
  bool cpus = false;       // and its number of CPUs
  std::vector<std::string> columns;
};

std::optional<TopdownTable> legacy_topdown_header(std::string_view line) {
  static constexpr std::string_view kCategories[] = {"retiring", "bad speculation",
                                                     "frontend bound", "backend bound"};
  for (char sep : {',', ';', '\t', ':', '|'}) {
    if (line.find(sep) == std::string_view::npos) continue;
    std::vector<std::string_view> fields;
    split(line, sep, fields);
    TopdownTable table;
    table.sep = sep;
    size_t i = 0;
    auto leading = [&](std::initializer_list<std::string_view> names, bool& has) {
      if (i < fields.size() && std::find(names.begin(), names.end(), fields[i]) != names.end()) {
        has = true;
        ++i;
      }
    };
    leading({"time"}, table.time);
    leading({"core", "socket", "die"}, table.aggregate);
    leading({"cpus"}, table.cpus);
    for (; i < fields.size(); ++i) {
      if (std::find(std::begin(kCategories), std::end(kCategories), fields[i]) ==
          std::end(kCategories))
        break;
      table.columns.emplace_back(fields[i]);
    }
    if (i == fields.size() && !table.columns.empty()) return table;
  }
  return std::nullopt;
}

class CsvReader {
 public:
  CsvReader(std::string_view text, Context& ctx, Builder& out)
      : text_(text), ctx_(ctx), out_(out) {}

  // The separator from the first row that has one (rejecting the lines before it) and the
  // locale's decimal; false when no line is a -x row.
  bool detect() {
    LineReader lines(text_);
    std::string_view line;
    while (sep_ == 0 && lines.next(line)) {
      if (is_overlong(line)) ctx_.fail_overlong(lines.line_no());
      std::string_view t = trim(line);
      if (read_cpuid_row(t, out_)) continue;  // before a separator is looked for in it
      if (is_events_toggle(t)) {
        out_.add_note(fmt::format("line {}: {}", lines.line_no(), t));
        continue;
      }
      if (!t.empty() && t.front() != '#') sep_ = detect_csv_separator(line);
      if (sep_ != 0) sep_width_ = separator_width(t, sep_);
      if (sep_ == 0 && (topdown_ = legacy_topdown_header(t))) sep_ = topdown_->sep;
      first_row_ = lines.line_no();
      first_row_end_ = size_t(line.data() + line.size() - text_.data());
      if (sep_ == 0 && is_shell_command(t)) {
        out_.add_note(fmt::format("line {}: {} (before perf's output)", lines.line_no(), quote(t)));
        continue;
      }
      if (sep_ == 0 && !t.empty() && t.front() != '#') {
        ctx_.reject(
            lines.line_no(),
            fmt::format(
                "expected a perf stat -x row 'count,unit,event,run-time,pct-running' with a "
                "separator none of its fields holds (',' ';' ':' '|' '#' or a tab, not a space, "
                "'-', '.' or '/'), found {}",
                quote(t)));
      }
    }
    if (sep_ == 0) return false;
    decimal_ = detect_decimal(text_, sep_);
    return true;
  }

  // The lines of `part` (a substring of the text), the first of which is line `first_line` of
  // the file; 0 when not known yet: it is counted if a line of the part is rejected, so a part
  // read on its own thread does not first count the lines of all the parts before it.
  void read_lines(std::string_view part, size_t first_line) {
    part_offset_ = size_t(part.data() - text_.data());
    first_line_ = first_line;
    LineReader again(part);
    std::string_view line;
    bool last_part = part.data() + part.size() == text_.data() + text_.size();
    while (again.next(line)) {
      line_in_part_ = again.line_no();
      if (is_overlong(line)) ctx_.fail_overlong(line_no());
      if (first_row_ != 0 && line_no() < first_row_ && !trim(line).starts_with('#'))
        continue;  // rejected by detect()
      if (last_part && again.at_end() && !text_.ends_with('\n') && !trim(line).empty() &&
          !trim(line).starts_with('#')) {
        // perf ends every row with a line end: without it the row may have lost its last fields.
        ctx_.reject(line_no(), fmt::format("expected the end of the last line, found {} and no "
                                           "line end: the recording is cut in the middle of its "
                                           "last line",
                                           quote(trim(line))));
        break;
      }
      read_line(line);
    }
  }

  // A reader of a later part of the file with the separator and decimal of `first`.
  static CsvReader continuing(const CsvReader& first, Context& ctx, Builder& out) {
    CsvReader r(first.text_, ctx, out);
    r.sep_ = first.sep_;
    r.sep_width_ = first.sep_width_;
    r.decimal_ = first.decimal_;
    r.topdown_ = first.topdown_;
    r.continuation_ = true;
    return r;
  }

  // Takes over what `later` remembers of the rows it read (the last event, the interval's
  // timestamp and row shapes), to read the lines after them as it would have.
  void resume_after(const CsvReader& later) {
    last_event_ = later.last_event_;
    group_pmu_ = later.group_pmu_;
    in_group_ = later.in_group_;
    last_timestamp_text_ = later.last_timestamp_text_;
    last_timestamp_ = later.last_timestamp_;
    ordered_ts_ = later.ordered_ts_;
    shapes_ = later.shapes_;
    row_in_interval_ = later.row_in_interval_;
  }

  char separator() const { return sep_; }
  size_t first_row_end() const { return first_row_end_; }
  // A continuation met a metric row before any event row: that row names its metric after the
  // event of the row before it, in the previous part.
  bool needs_previous_part() const { return needs_previous_part_; }
  // On the thread that read the part: its intervals but the last sealed (Builder::seal_intervals),
  // so that less is left for the thread that takes the parts in order.
  void seal_read() { out_.seal_intervals(); }

 private:
  size_t line_no() {
    if (first_line_ == 0) {
      auto begin = text_.begin();
      first_line_ = size_t(std::count(begin, begin + std::ptrdiff_t(part_offset_), '\n')) + 1;
    }
    return first_line_ - 1 + line_in_part_;
  }

  void read_line(std::string_view line) {
    std::string_view t = trim(line);
    if (t.empty()) return;
    if (t.front() == '#') {
      // A later part of the file starts after the first part's rows.
      if ((seen_event_ || continuation_) && is_started_on(t)) ctx_.fail_second_run(line_no());
      read_started_on(t, out_, !seen_event_ && !continuation_);
      return;
    }
    if (t == "..." || t == "[...]" || t == "\xe2\x80\xa6") {
      out_.add_note(
          fmt::format("line {}: '{}' (an elision by whoever published the output)", line_no(), t));
      return;
    }
    if (read_cpuid_row(t, out_)) return;
    if (is_events_toggle(t)) {
      out_.add_note(fmt::format("line {}: {}", line_no(), t));
      return;
    }
    if (topdown_) {
      if (const char* why = read_topdown_row(t))
        ctx_.reject(line_no(), fmt::format("{}, found {}", why, quote(t)));
      return;
    }
    split(line, sep_, fields_, sep_width_);
    numeric_.assign(fields_.size(), -1);
    // perf 6.12+ adds the metric's threshold class after its unit: "...,51.0,%  tma_x,bad".
    if (fields_.size() > 2 && is_threshold(fields_.back()) && !fields_[fields_.size() - 2].empty())
      fields_.pop_back();
    std::optional<double> ordered = ordered_ts_;
    const char* why = read_row();
    if (why != nullptr) {
      // A line refused (and skipped with --lenient) leaves the order of timestamps as it was, so
      // that a part read on another thread, which does not see it, agrees. A part that refuses a
      // line before it has read a timestamp of its own cannot tell whether the one reading the
      // whole file would have refused it for going back instead: it is read in sequence.
      ordered_ts_ = ordered;
      if (continuation_ && !ordered) needs_previous_part_ = true;
      ctx_.reject(line_no(), fmt::format("{}, found {}", why, quote(t)));
    }
  }

  // Whether fields_[i] is a number, remembered for the row (a field is asked about several times).
  bool number(size_t i) {
    if (numeric_[i] < 0) numeric_[i] = is_number(fields_[i], decimal_) ? 1 : 0;
    return numeric_[i] == 1;
  }

  // nullptr when read, else what was expected.
  const char* read_row() {
    const auto& f = fields_;
    auto k = find_count(f, [this](size_t i) { return number(i); });
    if (!k) return read_metric_row();
    std::optional<double> ts;
    std::string_view aggregate;
    int cpus = 0;
    size_t j = 0;
    if (j < *k && looks_like_timestamp(f[j])) {
      ts = timestamp(f[j++]);
      if (ts && timestamp_goes_back(ordered_ts_, *ts)) return kTimestampGoesBack;
    } else if (j < *k && f[j] == kSummary) {
      ++j;  // -I --summary: the run's totals, as the rows without a timestamp are
    }
    size_t aggregate_at = j;
    if (j < *k) aggregate = f[j++];
    if (j < *k && is_integer(f[j])) cpus = parse_small_int(f[j++]);
    if (j != *k || (!aggregate.empty() && number(aggregate_at))) {
      return "expected '[interval,][aggr-id,[nr,]]count,unit,event'";
    }
    std::string_view count_text = f[*k], unit = f[*k + 1], event = f[*k + 2];
    size_t i = *k + 3;
    std::string_view cgroup;
    if (i < f.size() && !f[i].empty() && !f[i].ends_with('%') && !number(i)) {
      cgroup = f[i++];
    } else if (i + 2 < f.size() && f[i].empty() && number(i + 1) && number(i + 2)) {
      // -G a, (an event counted outside any cgroup beside one counted in it): perf prints the
      // cgroup field of every row, empty for the first.
      ++i;
    }
    std::optional<double> noise, pct;
    if (i < f.size() && f[i].ends_with('%')) {
      noise = parse_number(f[i].substr(0, f[i].size() - 1), decimal_);
      if (!noise) return "expected the -r stddev '<pct>%'";
      ++i;
    }
    // run-time (ns) and pct-running: perf prints both since 3.13.
    if (i + 1 >= f.size() || !number(i) || !(pct = parse_number(f[i + 1], decimal_))) {
      return "expected ',run-time,pct-running' after the event";
    }
    if (const char* why = invalid_running_pct(*pct)) return why;
    i += 2;
    std::optional<double> count;
    auto status = parse_count_status(count_text);
    if (!status) {
      count = parse_number(count_text, decimal_);
      if (const char* why = invalid_count(*count, unit)) return why;
      status = std::isnan(*count) ? EventStatus::not_counted : EventStatus::counted;
    }
    if (!cgroup.empty()) {
      scratch_ = aggregate.empty() ? std::string(cgroup) : fmt::format("{}/{}", aggregate, cgroup);
      aggregate = scratch_;
    }
    last_event_.assign(event);
    in_group_ = false;
    group_pmu_.clear();
    seen_event_ = true;
    out_.add_event(ts, aggregate, cpus, make_event(event, unit, count, *status, pct, noise));
    if (i + 1 < f.size() && !f[i + 1].empty()) return add_metric(ts, aggregate, f[i], f[i + 1]);
    return nullptr;
  }

  // ",,,,,70.1,%  tma_backend_bound" (a metric on its own row), ",<runtime>,<pct>,,,,TopdownL1".
  const char* read_metric_row() {
    const auto& f = fields_;
    size_t j = 0;
    std::optional<double> ts;
    if (looks_like_timestamp(f[0])) {
      ts = timestamp(f[j++]);
      if (ts && timestamp_goes_back(ordered_ts_, *ts)) return kTimestampGoesBack;
    } else if (f[0] == kSummary) {
      ++j;
    }
    std::string_view aggregate;
    if (j < f.size() && is_aggregate_id(f[j])) {
      aggregate = f[j++];
      if (j < f.size() && is_integer(f[j])) ++j;
    }
    size_t last = f.size();
    while (last > j && f[last - 1].empty()) --last;
    if (last <= j + 1 || number(last - 1)) {
      return "expected a perf stat -x row 'count,unit,event,run-time,pct-running'";
    }
    // A metric row may carry its group's run time and percentage (hybrid machines):
    // ",10188319019,63.00,,,41.3,%  tma_frontend_bound".
    size_t from = j;
    if (last - j > 5 && f[j].empty() && !f[j + 1].empty() && number(j + 1) && !f[j + 2].empty() &&
        number(j + 2) && f[j + 3].empty()) {
      from = j + 3;
    }
    if (f[last - 2].empty() && !f[last - 1].starts_with('%')) {
      for (size_t i = j; i + 1 < last; ++i) {
        if (!f[i].empty() && !number(i)) return "expected ',<run-time>,<pct>,,,,<metric group>'";
      }
      // A metric group's name, e.g. "TopdownL1 (cpu_core)": its metrics follow on their own
      // rows.
      in_group_ = true;
      group_pmu_.assign(hybrid_pmu_of_group(f[last - 1]));
      return nullptr;
    }
    for (size_t i = from; i + 2 < last; ++i) {
      if (!f[i].empty()) return "expected ',,,,,<metric-value>,<metric-unit>'";
    }
    return add_metric(ts, aggregate, f[last - 2], f[last - 1]);
  }

  // A row of the legacy --topdown table ("S0-C0,1,151.0,3.9,26.0,,"), or a header line again:
  // each value to reported[] as the text table's are.
  const char* read_topdown_row(std::string_view t) {
    if (legacy_topdown_header(t)) return nullptr;
    split(t, sep_, fields_);
    const auto& f = fields_;
    size_t i = 0;
    std::optional<double> ts;
    std::string_view aggregate;
    if (topdown_->time) {
      if (i >= f.size() || !looks_like_timestamp(f[i])) return "expected the table's timestamp";
      ts = timestamp(f[i++]);
    }
    if (topdown_->aggregate) {
      if (i >= f.size() || f[i].empty()) return "expected the table's core, socket or die";
      aggregate = f[i++];
    }
    if (topdown_->cpus && (i >= f.size() || !is_integer(f[i++])))
      return "expected the table's number of CPUs";
    // One field more than the columns: perf ends a row with its separator.
    if (f.size() - i > topdown_->columns.size() + 1) return "expected one value per column";
    for (size_t k = 0; k < topdown_->columns.size() && i + k < f.size(); ++k) {
      std::string_view text = f[i + k];
      if (text.empty()) continue;  // perf printed no value
      auto value = parse_number(text, decimal_);
      if (!value) return "expected a percentage or nothing";
      Metric m = normalise_metric(*value, true, topdown_->columns[k], "");
      keep_printed_decimals(m, text, decimal_, 0.01);
      out_.add_reported(ts, aggregate, std::move(m));
    }
    return nullptr;
  }

  // The rows of one interval repeat its timestamp: convert it once.
  std::optional<double> timestamp(std::string_view text) {
    if (text != last_timestamp_text_) {
      last_timestamp_text_.assign(text);
      last_timestamp_ = parse_timestamp(text);
      row_in_interval_ = 0;
    }
    return last_timestamp_;
  }

  const char* add_metric(std::optional<double> ts, std::string_view aggregate,
                         std::string_view value_text, std::string_view unit) {
    if (value_text.empty()) {
      // perf prints nothing for a value whose text does not start with a digit or '.': nan
      // (",,,,,,%  tma_backend_bound"), inf or a negative one (Builder::add_unshown_metric).
      Metric m = metric_of(0, unit);
      qualify_by_pmu(m,
                     in_group_ ? std::string_view(group_pmu_) : hybrid_pmu_of_event(last_event_));
      out_.add_unshown_metric(aggregate, m.name);
      return nullptr;
    }
    auto value = parse_number(value_text, decimal_);
    if (!value) return "expected a metric value";
    Metric m = metric_of(*value, unit);
    // -x prints a metric with the format of its text comment ("%8.1f", "%7.2f%%"), cut at the
    // first character that is not a digit or '.' (stat-display.c print_metric_csv): its
    // decimals are those of the field.
    if (std::isfinite(m.value)) keep_printed_decimals_shifted(m, value_text, decimal_, exponent_);
    qualify_by_pmu(m, in_group_ ? std::string_view(group_pmu_) : hybrid_pmu_of_event(last_event_));
    out_.add_reported(ts, aggregate, std::move(m));
    return nullptr;
  }

  // normalise_metric() depends on the metric's unit text and the row's event only, and is linear
  // in the value; an -I recording repeats the same rows in every interval, so each row position
  // remembers its last result.
  [[gnu::always_inline]] inline Metric metric_of(double value, std::string_view unit) {
    if (continuation_ && !seen_event_) needs_previous_part_ = true;
    size_t row = row_in_interval_++;
    if (row >= shapes_.size()) shapes_.resize(row + 1);
    Shape& shape = shapes_[row];
    if (!shape.valid || shape.unit != unit || shape.event != last_event_) {
      shape.unit.assign(unit);
      shape.event = last_event_;
      shape.metric = normalise_metric(1.0, false, unit, last_event_);
      shape.exponent = scale_exponent(shape.metric.value);
      shape.valid = true;
    }
    // Percentages are divided by 100 as normalise_metric does, so the result is the same double.
    double scaled = shape.metric.value == 0.01 ? value / 100.0 : value * shape.metric.value;
    exponent_ = shape.exponent;
    return {shape.metric.name, scaled, shape.metric.unit};
  }

  std::string_view text_;
  Context& ctx_;
  Builder& out_;
  char sep_ = 0;
  size_t sep_width_ = 1;                 // -x '::': the separator character twice (separator_width)
  std::optional<TopdownTable> topdown_;  // the file is a legacy --topdown table
  char decimal_ = '.';
  int exponent_ = 0;         // scale_exponent() of the last metric_of()'s value of a printed 1
  size_t part_offset_ = 0;   // where the part being read starts in text_
  size_t first_line_ = 0;    // its first line's number, 0 until counted
  size_t line_in_part_ = 0;  // the line being read, counted from 1 in the part
  size_t first_row_ = 0;
  size_t first_row_end_ = 0;  // offset in text_ of the end of the first row
  bool continuation_ = false;
  bool seen_event_ = false;
  bool needs_previous_part_ = false;
  bool in_group_ = false;  // metric rows follow a metric group's name
  std::string group_pmu_;  // that group's hybrid PMU
  std::string last_event_;
  std::string last_timestamp_text_;
  std::optional<double> last_timestamp_;
  std::optional<double> ordered_ts_;  // the latest timestamp read (timestamp_goes_back)
  struct Shape {
    bool valid = false;
    std::string unit, event;
    Metric metric;     // of the value 1
    int exponent = 0;  // scale_exponent(metric.value)
  };
  std::vector<Shape> shapes_;
  size_t row_in_interval_ = 0;
  std::string scratch_;
  std::vector<std::string_view> fields_;
  // Per field of fields_: 1 a number (is_number), 0 not, -1 not asked yet.
  std::vector<signed char> numeric_;
};

}  // namespace

bool is_topdown_table_header(std::string_view line) {
  return legacy_topdown_header(trim(line)).has_value();
}

char detect_csv_separator(std::string_view line) {
  std::array<int, 256> frequency{};
  for (unsigned char c : line) ++frequency[c];
  // Characters that are part of perf's fields, never a separator.
  static constexpr std::string_view kInField = ".-_/<>%+@=' \r";
  std::vector<std::string_view> fields;
  for (int round = 0; round < 4; ++round) {
    int best = 0;
    for (int c = 1; c < 256; ++c) {
      if (frequency[c] > frequency[best] && !std::isalnum(c) && c < 0x80 &&
          kInField.find(char(c)) == std::string_view::npos) {
        best = c;
      }
    }
    if (best == 0) return 0;
    frequency[best] = 0;
    split(line, char(best), fields);
    auto k = find_count(fields, '.');
    if (!k) k = find_count(fields, ',');
    if (k && *k + 4 < fields.size()) return char(best);
    // A metric row has no count: ",,,,,70.1,%  tma_backend_bound".
    if (fields.size() >= 6 && fields.front().empty() && !fields.back().empty() &&
        std::count(line.begin(), line.end(), char(best)) >= 5) {
      return char(best);
    }
  }
  return 0;
}

namespace {

// Parts per thread: more parts than threads balance the work when a CPU is shared.
constexpr size_t kPartsPerThread = 4;
// How far past a cut's target a part may start: beyond it no interval boundary is near.
constexpr size_t kMaxBoundarySearch = 1u << 20;

// The timestamp field of a -I row (before the first separator), or empty.
std::string_view timestamp_field(std::string_view line, char sep) {
  std::string_view f = trim(line.substr(0, line.find(sep)));
  return looks_like_timestamp(f) ? f : std::string_view();
}

// The start of the first line at or after `from` whose timestamp differs from the line before
// it, both -I rows: the first row of an interval. npos when none is near.
size_t interval_boundary(std::string_view text, size_t from, char sep) {
  size_t pos = text.find('\n', from);
  if (pos == std::string_view::npos) return pos;
  ++pos;
  std::string_view previous;
  size_t limit = std::min(text.size(), from + kMaxBoundarySearch);
  while (pos < limit) {
    size_t end = text.find('\n', pos);
    if (end == std::string_view::npos) return std::string_view::npos;  // the last line: no gain
    std::string_view stamp = timestamp_field(text.substr(pos, end - pos), sep);
    if (!stamp.empty() && !previous.empty() && stamp != previous) return pos;
    previous = stamp;
    pos = end + 1;
  }
  return std::string_view::npos;
}

// Where parts after the first start: at interval boundaries near equal shares of the file.
std::vector<size_t> part_starts(std::string_view text, size_t after, char sep, size_t part_bytes,
                                size_t max_parts) {
  std::vector<size_t> starts;
  EvenShares shares(text.size(), part_bytes, max_parts);
  for (size_t p = 1; p < shares.count; ++p) {
    size_t target = std::max(after, shares.begin(p));
    if (!starts.empty()) target = std::max(target, starts.back());
    size_t start = interval_boundary(text, target, sep);
    if (start != std::string_view::npos && start < text.size()) starts.push_back(start);
  }
  return starts;
}

// A part after the first, read on its own thread into its own builder.
struct Part {
  size_t begin = 0, end = 0;  // offsets in the text
  std::vector<std::string> skipped;
  Context ctx;
  Builder out;
  std::optional<CsvReader> reader;
  std::exception_ptr failure;
  Part(std::string_view file, bool lenient) : ctx(file, lenient, skipped) {}
};

// The parts after the first, from where each starts, each with its own reader continuing `first`.
std::vector<std::unique_ptr<Part>> make_parts(std::string_view text,
                                              const std::vector<size_t>& starts,
                                              const CsvReader& first, const Context& ctx) {
  std::vector<std::unique_ptr<Part>> parts;
  for (size_t i = 0; i < starts.size(); ++i) {
    parts.push_back(std::make_unique<Part>(ctx.file(), ctx.lenient()));
    Part& p = *parts.back();
    p.begin = starts[i];
    p.end = i + 1 < starts.size() ? starts[i + 1] : text.size();
    p.reader.emplace(CsvReader::continuing(first, p.ctx, p.out));
  }
  return parts;
}

// Part k of the text (0: the first reader's, up to `first_end`; k: parts[k - 1]), read with its
// error kept for when the parts are taken in order.
void read_part(std::string_view text, size_t k, CsvReader& first, size_t first_end,
               std::exception_ptr& first_failure, std::vector<std::unique_ptr<Part>>& parts) {
  if (k == 0) {
    try {
      first.read_lines(text.substr(0, first_end), 1);
      first.seal_read();
    } catch (...) {
      first_failure = std::current_exception();
    }
    return;
  }
  Part& p = *parts[k - 1];
  try {
    p.reader->read_lines(text.substr(p.begin, p.end - p.begin), 0);
    p.reader->seal_read();
  } catch (...) {
    p.failure = std::current_exception();
  }
}

}  // namespace

// A long -I recording is cut where an interval starts into one part per thread; each part is read
// by its own reader into its own builder, and the builders are appended in order as they are
// read. From the first
// part whose reading depends on the part before it (a metric row before its event row, a note,
// rows without timestamps), the rest of the file is read in sequence into the first builder,
// which is what one reader would have done. Errors: the first part's error is the first of the
// file; a later part that failed is read again in sequence, since what its reader could not see
// (a timestamp below the part before it) may be an error on an earlier line than its own.
void read_csv(std::string_view text, Context& ctx, Builder& out) {
  CsvReader first(text, ctx, out);
  if (!first.detect()) return;
  std::vector<size_t> starts =
      ctx.threads() > 1 ? part_starts(text, first.first_row_end(), first.separator(),
                                      ctx.min_part_bytes(), kPartsPerThread * ctx.threads())
                        : std::vector<size_t>();
  auto parts = make_parts(text, starts, first, ctx);
  // The threads take the parts in turn (the first part is the first reader's), so that a thread
  // slowed by another process on its CPU reads fewer of them instead of holding up the rest.
  // The calling thread is one of the threads: it reads parts while it waits for the next in
  // order, and appends each part to `out` as soon as it and all before it are read, while the
  // other threads read the later ones, up to the first part that cannot be appended as it
  // is: the reader before it reads the rest of the file. (`out` ends as the part appended last
  // ended, so it stands for that part when the next is checked.)
  size_t first_end = starts.empty() ? text.size() : starts.front();
  std::exception_ptr first_failure;
  size_t count = parts.size() + 1;
  size_t clean = 0;
  ordered_parallel<char>(
      count, ctx.threads(), count,
      [&](size_t k, char&, unsigned) {
        read_part(text, k, first, first_end, first_failure, parts);
      },
      [&](size_t k, char&) {
        if (k == 0) return !first_failure;
        Part& p = *parts[k - 1];
        // What the threads read from such a part on is read again in sequence.
        if (p.failure || p.reader->needs_previous_part() || !out.can_append(p.out)) return false;
        out.append(std::move(p.out));
        for (auto& skipped : p.skipped) ctx.add_skipped(std::move(skipped));
        clean = k;
        return true;
      },
      /*caller_helps=*/true);
  if (first_failure) std::rethrow_exception(first_failure);
  ctx.set_parts(clean + 1);
  if (clean < parts.size()) {
    // The first reader goes on into `out`, from where the last clean part's reader stopped.
    if (clean > 0) first.resume_after(*parts[clean - 1]->reader);
    size_t from = parts[clean]->begin;
    first.read_lines(text.substr(from), line_of_offset(text, from));
  }
}

namespace {

// Parts of a streamed recording: about kStreamPartBytes each (or min_part_bytes when it is
// less), at most kMaxStreamParts. A part's intervals make ~4 MB of JSON, which the writer still
// finds in the CPU's cache when it copies them to the file.
constexpr size_t kStreamPartBytes = 1u << 20;
constexpr size_t kMaxStreamParts = 4096;

}  // namespace

// read_csv with the intervals handed to `sink` as the parts are read, in batches that follow
// each other in the file: the parts (kStreamPartBytes each, cut where an interval starts) are
// read by ctx.threads() threads, at most a few ahead of the last one handed on, so that only
// those few are held at once. The calling thread takes them in order: it makes the checks
// read_csv makes before appending a part (can_append), finishes the part's intervals (the last
// one held back until the next part is known not to go on with it) and hands them to `sink`.
// From the first part that fails or cannot be appended, the rest of the file is read in sequence,
// as read_csv does, and handed on in one batch: a failed part read in sequence gives the first
// error of the file, which may be on an earlier line than the one its own reader found.
void read_csv_streamed(std::string_view text, Context& ctx, Builder& out,
                       const IntervalBatchSink& sink, Builder::RunSums& sums,
                       double& previous_time) {
  CsvReader first(text, ctx, out);
  if (!first.detect()) return;
  std::vector<size_t> starts =
      part_starts(text, first.first_row_end(), first.separator(),
                  std::min<size_t>(ctx.min_part_bytes(), kStreamPartBytes), kMaxStreamParts);
  auto parts = make_parts(text, starts, first, ctx);
  const size_t count = parts.size() + 1;  // part 0 is the first reader's, into `out`
  const size_t first_end = starts.empty() ? text.size() : starts.front();
  auto builder_of = [&](size_t k) -> Builder& { return k == 0 ? out : parts[k - 1]->out; };
  std::exception_ptr first_failure;
  size_t batch = 0;
  size_t stop_at = count;  // the first part not handed on: failed, or not appendable

  // The next part in order, checked and finished into a batch; false when it cannot be.
  auto seal = [&](size_t k, std::vector<Interval>& intervals) {
    if (k == 0) {
      if (first_failure) return false;
      intervals = out.take_intervals(true, previous_time, sums);
      return true;
    }
    Part& p = *parts[k - 1];
    Builder& previous = builder_of(k - 1);
    if (p.failure || p.reader->needs_previous_part() || !previous.can_append(p.out)) return false;
    intervals = previous.take_intervals(false, previous_time, sums);
    auto own = p.out.take_intervals(true, previous_time, sums);
    intervals.insert(intervals.end(), std::make_move_iterator(own.begin()),
                     std::make_move_iterator(own.end()));
    for (auto& line : p.skipped) ctx.add_skipped(std::move(line));
    p.skipped.clear();
    return true;
  };
  const unsigned threads = std::max(ctx.threads(), 1u);
  ordered_parallel<char>(
      count, threads, 2 * size_t(threads) + 2,
      [&](size_t k, char&, unsigned) {
        read_part(text, k, first, first_end, first_failure, parts);
      },
      [&](size_t k, char&) {
        std::vector<Interval> intervals;
        if (!seal(k, intervals)) {
          stop_at = k;
          return false;
        }
        if (!intervals.empty()) sink(batch++, std::move(intervals));  // numbered without gaps
        return true;
      });
  if (first_failure) std::rethrow_exception(first_failure);
  ctx.set_parts(stop_at == count ? count : std::max<size_t>(stop_at, 1));
  if (stop_at < count) {
    Part& p = *parts[stop_at - 1];
    // The first reader goes on into `out` from where the last part handed on stopped, with the
    // interval it held back.
    if (stop_at >= 2) {
      out.append(std::move(parts[stop_at - 2]->out));
      first.resume_after(*parts[stop_at - 2]->reader);
    }
    first.read_lines(text.substr(p.begin), line_of_offset(text, p.begin));
  }
  // The interval held back last, or the rest read in sequence.
  Builder& last = stop_at < count ? out : builder_of(count - 1);
  auto intervals = last.take_intervals(false, previous_time, sums);
  if (!intervals.empty()) sink(batch++, std::move(intervals));
}

}  // namespace pmc::perfstat
