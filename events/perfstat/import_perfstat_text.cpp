// perf stat's default (human) output, 4.x to 6.x layouts, with -r, -I, -A, --per-*, --metric-only
// and the topdown forms. Layout reference: tools/perf/util/stat-display.c.
#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cmath>

#include "events/perfstat/import_perfstat_common.h"

namespace pmc::perfstat {
namespace {

struct Token {
  std::string_view text;
  size_t end = 0;  // one past its last character, in the line
};

bool is_integer(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

// Splits at whitespace; "<not counted>" and "<not supported>" stay one token.
void tokenize(std::string_view line, size_t from, size_t to, std::vector<Token>& out) {
  out.clear();
  size_t i = from;
  while (i < to) {
    while (i < to && (line[i] == ' ' || line[i] == '\t')) ++i;
    if (i >= to) break;
    size_t start = i;
    std::string_view rest = line.substr(i, to - i);
    if (rest.starts_with("<not counted>")) {
      i += 13;
    } else if (rest.starts_with("<not supported>")) {
      i += 15;
    } else {
      while (i < to && line[i] != ' ' && line[i] != '\t') ++i;
    }
    out.push_back({line.substr(start, i - start), i});
  }
}

// perf event names: "cycles", "cpu_core/cycles/", "r003c", "L1-dcache-loads:u", "{a,b}"…
bool is_event_name(std::string_view s) {
  bool letter = false;
  for (char c : s) {
    if (std::isalpha(uint8_t(c))) {
      letter = true;
    } else if (!std::isdigit(uint8_t(c)) &&
               std::string_view("_-./:=,@{}[]!?+~").find(c) == std::string_view::npos) {
      return false;
    }
  }
  return letter;
}

// "msec", "Joules", "MiB", "ns", "MiB/s", "%", "C"…
bool is_unit(std::string_view s) {
  return std::all_of(s.begin(), s.end(), [](char c) {
    return std::isalpha(uint8_t(c)) || c == '/' || c == '%' || c == '_';
  });
}

// Whether the word `after` is perf's cgroup column (-G), printed after the event `event`: perf
// pads the event name to 25 characters (perf 4.x-5.x) or 32 (6.x) and then prints the cgroup
// name as -G gave it ("audgrp", "system.slice/foo.service", "/"), so the cgroup starts at
// least 26 columns right of where the event starts; a unit and its event ("msec task-clock",
// "Joules power/energy-pkg/") are a word and the next.
bool is_cgroup_column(const Token& event, const Token& after) {
  size_t event_start = event.end - event.text.size();
  size_t after_start = after.end - after.text.size();
  return after_start >= event_start + 26;
}

struct MetricColumn {
  std::string description;
  bool percent = false;
  size_t end = 0;
};

class TextReader {
 public:
  TextReader(std::string_view text, Context& ctx, Builder& out)
      : text_(text), ctx_(ctx), out_(out), decimal_(detect_decimal(text)) {}

  void run() {
    find_first_header();
    LineReader lines(text_);
    std::string_view line;
    std::string joined;
    while (lines.next(line)) {
      line_no_ = lines.line_no();
      if (is_overlong(line)) ctx_.fail_overlong(line_no_);
      if (lines.at_end() && !text_.ends_with('\n') && !last_line_is_complete(trim(line))) {
        ctx_.reject(line_no_, fmt::format("expected the end of the last line, found {} and no "
                                          "line end: the recording is cut in the middle of "
                                          "its last line",
                                          quote(trim(line))));
        break;
      }
      if (join_wrapped_event(lines, line, joined)) line = joined;
      read_line(line);
    }
    if (!seen_elapsed_ && !interval_ && !out_.empty()) {
      out_.add_note(
          "the recording has no '<t> seconds time elapsed' line (it was trimmed): the elapsed "
          "time is absent");
    }
  }

 private:
  // The line of perf's first header ("Performance counter stats for", "#  time  counts unit
  // events"): the lines before it that are not perf's (a shell prompt, the command's own
  // output) are notes, not errors.
  void find_first_header() {
    LineReader lines(text_);
    std::string_view line;
    while (lines.next(line)) {
      std::string_view t = trim(line);
      if (t.starts_with("Performance counter stats for") ||
          (t.starts_with('#') && trim(t.substr(1)).starts_with("time") &&
           t.find("counts") != std::string_view::npos)) {
        first_header_ = lines.line_no();
        return;
      }
    }
  }

  // A last line without its end of line is whole only when its end shows it: perf's time lines,
  // a closing "(pp.pp%)" or "( +- x% )", an elision.
  static bool last_line_is_complete(std::string_view t) {
    return t.empty() || t.ends_with("elapsed") || t.ends_with(" user") || t.ends_with(" sys") ||
           t.ends_with(')') || t.ends_with(']') || t == "..." || t.ends_with("nmi_watchdog");
  }

  // perf 4.x printed some events' names on the line after their count and unit
  // ("              0.00 Joules" then " power/energy-cores/"): the two lines are one row.
  bool join_wrapped_event(LineReader& lines, std::string_view line, std::string& joined) {
    static constexpr std::string_view kUnits[] = {"Joules", "MiB", "GiB", "KiB", "Bytes",
                                                  "msec",   "ns",  "us",  "ms"};
    tokenize(line, 0, line.size(), tokens_);
    if (tokens_.size() < 2 || tokens_.size() > 4 ||
        std::find(std::begin(kUnits), std::end(kUnits), tokens_.back().text) == std::end(kUnits) ||
        !is_count(tokens_[tokens_.size() - 2].text)) {
      return false;
    }
    LineReader peek = lines;
    std::string_view next;
    if (!peek.next(next) || next.empty() || (next.front() != ' ' && next.front() != '\t') ||
        is_overlong(next)) {
      return false;
    }
    std::string_view name = trim(next);
    if (name.empty() || name.find_first_of(" \t#") != std::string_view::npos ||
        !is_event_name(name) || is_count(name)) {
      return false;
    }
    joined = fmt::format("{} {}", trim_right(line), name);
    out_.add_note(
        fmt::format("lines {}-{}: the event's name was printed on the line after its "
                    "count (perf 4.x); read as one row",
                    line_no_, line_no_ + 1));
    lines = peek;
    return true;
  }

  void read_line(std::string_view line) {
    std::string_view t = trim(line);
    if (t.empty()) {
      in_advice_ = false;
      return;
    }
    if (t == "..." || t == "[...]" || t == "\xe2\x80\xa6" || t == ".") {
      out_.add_note(
          fmt::format("line {}: '{}' (an elision by whoever published the output)", line_no_, t));
      return;
    }
    if (t.starts_with("^C")) {
      // The terminal echoed Ctrl-C before perf printed the interval it cut short.
      out_.add_note(fmt::format("line {}: perf was interrupted (^C)", line_no_));
      interrupted_.assign(line);
      interrupted_.replace(interrupted_.find("^C"), 2, "  ");
      line = interrupted_;
      t = trim(line);
      if (t.empty()) return;
    }
    if (t.front() == '#') return read_comment_line(line, t);
    if (t.find("Performance counter stats for") != std::string_view::npos) {
      if (seen_header_) ctx_.fail_second_run(line_no_);
      parse_stats_header(t, out_.measurement());
      seen_header_ = true;
      seen_output_ = true;
      columns_.clear();
      rows_in_block_ = 0;
      return;
    }
    if (t.find(" seconds ") != std::string_view::npos) {
      switch (parse_time_line(t, decimal_, out_.measurement())) {
        case TimeLine::read:
          if (t.find("time elapsed") != std::string_view::npos) seen_elapsed_ = true;
          seen_output_ = true;
          return;
        case TimeLine::negative:
          ctx_.reject(line_no_, fmt::format("the time is negative; expected a time of 0 or more, "
                                            "found {}",
                                            quote(t)));
          return;
        case TimeLine::not_one:
          break;
      }
    }
    if (run_table_ && read_run_table_row(t)) return;
    if (read_advice(line, t)) return;
    if (read_lone_running(t)) return;
    if (!columns_.empty() && read_metric_values(line)) {
      seen_output_ = true;
      return;
    }
    const char* why = read_row(line);
    if (why == nullptr) {
      seen_output_ = true;
      last_row_line_ = line_no_;
      return;
    }
    // perf right-aligns metric-only headers, and prints them before any counter row. A line
    // right under a header that names metrics too is the rest of it, wrapped by a mailer.
    bool header_goes_on = header_line_ != 0 && header_line_ + 1 == line_no_;
    if (why == kNotARow && rows_in_block_ == 0 && (line.starts_with("  ") || header_goes_on) &&
        read_metric_header(line, header_goes_on)) {
      header_line_ = line_no_;
      seen_output_ = true;
      return;
    }
    // Before perf's output: the command that ran it, or (above perf's header) what the command
    // printed itself.
    if (!seen_output_ && (is_shell_command(t) || line_no_ < first_header_)) {
      out_.add_note(fmt::format("line {}: {} (before perf's output)", line_no_, quote(t)));
      return;
    }
    ctx_.reject(line_no_, fmt::format("{}, found {}",
                                      why == kNotARow ? "expected a counter row '<count> [unit] "
                                                        "<event> [# <metric>]'"
                                                      : why,
                                      quote(t)));
  }

  // A line holding only "(pp.pp%)" right under a counter row: that row's running percentage,
  // printed on a line of its own (an Arm hybrid perf of 2023 did so under `<not counted>` rows,
  // whose running time is 0 whatever the percentage says).
  bool read_lone_running(std::string_view t) {
    if (last_row_line_ == 0 || last_row_line_ + 1 != line_no_ || t.size() < 3 || t.front() != '(' ||
        !t.ends_with("%)"))
      return false;
    std::optional<double> pct, noise;
    std::string_view rest = t;
    if (strip_trailers(rest, pct, noise) != nullptr || !trim(rest).empty() || !pct) return false;
    out_.amend_last_event(pct, std::nullopt);
    return true;
  }

  // perf's own messages around the counts: kept as notes, never an error.
  bool read_advice(std::string_view line, std::string_view t) {
    // The NMI watchdog hint's indented commands ("\techo 0 > /proc/sys/kernel/nmi_watchdog").
    if (in_advice_ && (line.front() == '\t' || t.starts_with("echo ") || t.starts_with("perf "))) {
      return true;
    }
    static constexpr std::string_view kAdvice[] = {
        "Some events weren't counted",
        "The events in group usually have to be from the same PMU",
        "WARNING:",
        "Warning:",
        "Error:",
        "failed to",
        "Using CPUID",
        "Events disabled",  // -D and --control (is_events_toggle)
        "Events enabled",
    };
    read_cpuid_line(t, out_.measurement().machine);
    for (auto a : kAdvice) {
      if (t.starts_with(a)) {
        out_.add_note(std::string(t));
        in_advice_ = true;
        return true;
      }
    }
    return false;
  }

  // perf stat -r N --table (builtin-stat.c print_table): "# Table of individual measurements:",
  // then one row per run, "<elapsed s> (<elapsed less the mean>) ###", then "# Final result:"
  // above the usual elapsed line. The runs' times are kept in a note.
  bool read_run_table_row(std::string_view t) {
    tokenize(t, 0, t.size(), tokens_);
    if (tokens_.size() != 3) return false;
    std::string_view delta = tokens_[1].text, bar = tokens_[2].text;
    if (!parse_number(tokens_[0].text, decimal_) || delta.size() < 3 || delta.front() != '(' ||
        delta.back() != ')' || !parse_number(delta.substr(1, delta.size() - 2), decimal_) ||
        bar.find_first_not_of('#') != std::string_view::npos) {
      return false;
    }
    run_times_ += run_times_.empty() ? "" : ", ";
    run_times_ += tokens_[0].text;
    return true;
  }

  void read_comment_line(std::string_view line, std::string_view t) {
    std::string_view body = trim(t.substr(1));
    if (body == "Table of individual measurements:") {
      run_table_ = true;
      return;
    }
    if (body == "Final result:") {
      if (!run_times_.empty())
        out_.add_note(fmt::format("the runs' elapsed times (perf --table): {} s", run_times_));
      run_table_ = false;
      run_times_.clear();
      return;
    }
    if (body.starts_with("started on")) {
      if (seen_row_) ctx_.fail_second_run(line_no_);
      read_started_on(body, out_);
      return;
    }
    if (body.starts_with("time ") || body == "time") {
      interval_ = true;
      seen_output_ = true;
      read_metric_header(line);  // "#  time  counts unit events" leaves no metric columns
      return;
    }
    // A continuation row: "#  0.61  stalled cycles per insn" under the row it belongs to.
    if (!body.empty() &&
        (std::isdigit(uint8_t(body.front())) || body.front() == '-' || body.starts_with("nan"))) {
      if (const char* why = read_row(line); why != nullptr && why != kNotARow) {
        ctx_.reject(line_no_, fmt::format("{}, found {}", why, quote(t)));
      }
    }
  }

  static constexpr const char* kNotARow = "not a row";

  // Strips "(pp.pp%)", "[pp.pp%]" (3.x) and "( +- x% )" from the end of `s`.
  const char* strip_trailers(std::string_view& s, std::optional<double>& pct,
                             std::optional<double>& noise) {
    for (int round = 0; round < 2; ++round) {
      s = trim_right(s);
      if (s.empty() || (s.back() != ')' && s.back() != ']')) break;
      size_t open = s.rfind(s.back() == ')' ? '(' : '[');
      if (open == std::string_view::npos) break;
      std::string_view inner = trim(s.substr(open + 1, s.size() - open - 2));
      if (inner.starts_with("+-")) {
        inner = trim(inner.substr(2));
        if (!inner.ends_with('%') ||
            !(noise = parse_number(trim(inner.substr(0, inner.size() - 1)), decimal_))) {
          return "expected '( +- <pct>% )'";
        }
      } else if (inner.ends_with('%') && !pct) {
        pct = parse_number(trim(inner.substr(0, inner.size() - 1)), decimal_);
        if (!pct) return "expected '(<pct>%)' running time";
        if (const char* why = invalid_running_pct(*pct)) return why;
      } else {
        break;
      }
      s = s.substr(0, open);
    }
    return nullptr;
  }

  bool is_count(std::string_view tok) const {
    return is_number_text(tok, decimal_) || parse_count_status(tok).has_value();
  }

  // One row of counts: [timestamp] [aggregate [cpus]] <count> [unit] <event> [cgroup] [# metric]
  // [( +- x% )] [(pp.pp%)], or a continuation/metric-group row with only "# metric".
  // nullptr when read; kNotARow when the line has no shape of a row; else what was expected.
  const char* read_row(std::string_view line) {
    std::optional<double> pct, noise;
    std::string_view s = line;
    if (const char* why = strip_trailers(s, pct, noise)) return why;
    size_t hash = s.find('#');
    std::string_view comment = hash == std::string_view::npos ? "" : trim(s.substr(hash + 1));
    tokenize(s, 0, hash == std::string_view::npos ? s.size() : hash, tokens_);
    size_t i = 0, n = tokens_.size();
    std::optional<double> ts;
    if (i < n && looks_like_timestamp(tokens_[i].text) &&
        (i + 1 < n || hash != std::string_view::npos)) {
      ts = parse_timestamp(tokens_[i++].text);
      if (ts && timestamp_goes_back(ordered_ts_, *ts)) return kTimestampGoesBack;
      interval_ = true;
    }
    std::string_view aggregate;
    int cpus = 0;
    if (i < n && is_aggregate_id(tokens_[i].text)) {
      aggregate = tokens_[i++].text;
      if (i < n && is_integer(tokens_[i].text) &&
          ((i + 1 < n && is_count(tokens_[i + 1].text)) || i + 1 == n)) {
        cpus = parse_small_int(tokens_[i++].text);
      }
    }
    // A metric group's name on a hybrid machine: "TopdownL1 (cpu_core)  # 10.3 %  tma_...".
    bool group_with_pmu = i + 2 == n && !comment.empty() && !is_count(tokens_[i].text) &&
                          tokens_[i + 1].text.starts_with('(') &&
                          tokens_[i + 1].text.ends_with(')');
    if (i == n || (i + 1 == n && !is_count(tokens_[i].text)) || group_with_pmu) {
      // "# 0.61 stalled cycles per insn" under its event, or "TopdownL1  # 68.7 %
      // tma_backend_bound".
      if (comment.empty()) return i == 0 ? kNotARow : "expected a count after the aggregate";
      if (!parse_comment(comment)) return kBadComment;
      if (i == n) {
        // The trailers of the first row under an event are the event's (perf 4.x printed
        // "( +- x% )  (pp%)" after its last metric); later rows' are their metric groups'.
        if (continuations_++ == 0) out_.amend_last_event(pct, noise);
      } else {
        // A metric group's name: the rows under it are its metrics, of the PMU it names.
        in_group_ = true;
        group_pmu_ = group_with_pmu ? std::string(hybrid_pmu_of_group(tokens_[i + 1].text)) : "";
      }
      return read_comment(comment, ts, aggregate, last_event_);
    }
    if (i == 0 && !is_count(tokens_[0].text)) return kNotARow;
    std::string_view count_text = tokens_[i++].text;
    std::string_view unit, event, cgroup;
    if (i < n && tokens_[n - 1].text == "(msec)") {  // 4.x: "task-clock (msec)"
      unit = "msec";
      --n;
    }
    // -A with a PMU of several instances: "data_read [uncore_imc_free_running_0]".
    std::string_view instance;
    if (n - i >= 2 && tokens_[n - 1].text.size() > 2 && tokens_[n - 1].text.front() == '[' &&
        tokens_[n - 1].text.back() == ']') {
      instance = tokens_[n - 1].text.substr(1, tokens_[n - 1].text.size() - 2);
      --n;
    }
    switch (n - i) {
      case 0:
        return "expected an event name after the count";
      case 1:
        event = tokens_[i].text;
        break;
      case 2:
        if (tokens_[i + 1].text.starts_with('/') || is_cgroup_column(tokens_[i], tokens_[i + 1])) {
          event = tokens_[i].text, cgroup = tokens_[i + 1].text;
        } else {
          unit = tokens_[i].text, event = tokens_[i + 1].text;
        }
        break;
      case 3:
        unit = tokens_[i].text, event = tokens_[i + 1].text, cgroup = tokens_[i + 2].text;
        break;
      default:
        return "expected '<count> [unit] <event>' with no more words before '#'";
    }
    if (!is_event_name(event) || !is_unit(unit) ||
        (!cgroup.empty() && cgroup.find('/') == std::string_view::npos &&
         !is_cgroup_column(tokens_[n - 2], tokens_[n - 1]))) {
      return "expected '<count> [unit] <event>'";
    }
    std::optional<double> count;
    auto status = parse_count_status(count_text);
    if (!status) {
      count = parse_number(count_text, decimal_);
      if (!count) return "expected a count";
      if (const char* why = invalid_count(*count, unit)) return why;
      status = EventStatus::counted;
      if (std::isnan(*count)) status = EventStatus::not_counted;
    }
    if (!cgroup.empty()) {
      scratch_ = aggregate.empty() ? std::string(cgroup) : fmt::format("{}/{}", aggregate, cgroup);
      aggregate = scratch_;
    }
    if (!instance.empty()) {
      if (!is_event_name(instance)) return "expected '<event> [<pmu instance>]'";
      instance_event_ = fmt::format("{}/{}/", instance, event);
      event = instance_event_;
    }
    std::optional<PrintedMetric> metric;
    if (!comment.empty() && !(metric = parse_comment(comment))) return kBadComment;
    last_event_.assign(event);
    continuations_ = 0;
    in_group_ = false;
    group_pmu_.clear();
    ++rows_in_block_;
    seen_row_ = true;
    out_.add_event(ts, aggregate, cpus, make_event(event, unit, count, *status, pct, noise));
    if (metric) {
      Metric m = normalise_metric(metric->value, metric->percent, metric->description, event, true);
      keep_printed_decimals(m, metric->text, decimal_, scale_of(*metric, m.value, event));
      qualify_by_pmu(m, hybrid_pmu_of_event(event));
      out_.add_reported(ts, aggregate, std::move(m));
    }
    return nullptr;
  }

  struct PrintedMetric {
    double value;
    bool percent;
    std::string_view description;
    std::string_view text;  // the number as printed, for its decimals
  };
  // What normalise_metric() makes of a printed 1 (0.01 for a percentage), from the value it
  // made of the printed one where that tells (a second call for each row would cost imports of
  // long -I recordings).
  static double scale_of(const PrintedMetric& metric, double normalised, std::string_view event) {
    if (metric.value != 0 && std::isfinite(metric.value) && std::isfinite(normalised))
      return normalised / metric.value;
    return normalise_metric(1.0, metric.percent, metric.description, event, true).value;
  }
  static constexpr const char* kBadComment = "expected '# <value> <description>'";

  // "<value>[%] <description>" after a '#'.
  std::optional<PrintedMetric> parse_comment(std::string_view comment) const {
    size_t sp = comment.find_first_of(" \t");
    std::string_view value_text = comment.substr(0, sp);
    std::string_view description = sp == std::string_view::npos ? "" : trim(comment.substr(sp));
    bool percent = value_text.ends_with('%');
    if (percent) value_text.remove_suffix(1);
    auto value = parse_number(value_text, decimal_);
    if (!value || description.empty()) return std::nullopt;
    return PrintedMetric{*value, percent, description, value_text};
  }

  const char* read_comment(std::string_view comment, std::optional<double> ts,
                           std::string_view aggregate, std::string_view event) {
    auto metric = parse_comment(comment);
    if (!metric) return kBadComment;
    Metric m = normalise_metric(metric->value, metric->percent, metric->description, event, true);
    keep_printed_decimals(m, metric->text, decimal_, scale_of(*metric, m.value, event));
    qualify_by_pmu(m, in_group_ ? std::string_view(group_pmu_) : hybrid_pmu_of_event(event));
    out_.add_reported(ts, aggregate, std::move(m));
    return nullptr;
  }

  // --metric-only and legacy --topdown column headers: "retiring  bad speculation ...",
  // "#  time  %  tma_retiring %  tma_backend_bound ...". True when every column is a metric.
  // `goes_on`: the line continues the header of the line before, whose columns it follows.
  bool read_metric_header(std::string_view line, bool goes_on = false) {
    static constexpr std::string_view kNotMetrics[] = {"#",      "time",    "core",   "cpus",
                                                       "socket", "die",     "CPU",    "node",
                                                       "cache",  "cluster", "thread", "cgroup"};
    std::vector<MetricColumn> columns;
    tokenize(line, 0, line.size(), tokens_);
    bool unit_pending = false;
    size_t previous_end = 0;
    bool leading = true;
    for (const auto& tok : tokens_) {
      size_t gap = (tok.end - tok.text.size()) - previous_end;
      // "#  time  core  cpus" before the metrics: the timestamp and aggregate columns.
      if (leading && std::find(std::begin(kNotMetrics), std::end(kNotMetrics), tok.text) !=
                         std::end(kNotMetrics)) {
        previous_end = tok.end;
        continue;
      }
      leading = false;
      previous_end = tok.end;
      if (tok.text == "counts" || tok.text == "events")
        return false;  // "# time counts unit events"
      if (!unit_pending && !columns.empty() && gap == 1 && tok.text != "%") {
        columns.back().description += ' ';  // "bad speculation", "insn per cycle"
        columns.back().description += tok.text;
        columns.back().end = tok.end;
        continue;
      }
      if (unit_pending) {
        columns.back().description = std::string(tok.text);
        columns.back().end = tok.end;
        unit_pending = false;
        continue;
      }
      columns.push_back({std::string(tok.text), tok.text == "%", tok.end});
      unit_pending = tok.text == "%";
    }
    if (columns.empty()) return false;
    for (const auto& c : columns) {
      if (normalise_metric(0, c.percent, c.description, "").unit.empty()) return false;
    }
    if (goes_on && !columns_.empty()) {
      wrapped_at_ = columns_.size();
      columns_.insert(columns_.end(), columns.begin(), columns.end());
      out_.add_note(fmt::format(
          "lines {}-{}: the metric header and its rows were wrapped after column {} (by a "
          "mailer); each row and the line after it are read as one",
          line_no_ - 1, line_no_, wrapped_at_));
      return true;
    }
    columns_ = std::move(columns);
    wrapped_at_ = 0;
    return true;
  }

  // A row under a metric-only header: [timestamp] [aggregate [cpus]] <value>... aligned to the
  // headers' right edges (perf leaves a column blank when the metric has no value).
  bool read_metric_values(std::string_view line) {
    tokenize(line, 0, line.size(), tokens_);
    size_t i = 0, n = tokens_.size();
    std::optional<double> ts;
    if (i < n && looks_like_timestamp(tokens_[i].text)) ts = parse_timestamp(tokens_[i++].text);
    std::string_view aggregate;
    if (i < n && is_aggregate_id(tokens_[i].text)) {
      aggregate = tokens_[i++].text;
      // Socket, die, core, cache and node aggregates are followed by their number of CPUs.
      bool has_cpus = aggregate.front() == 'S' || aggregate.front() == 'N';
      if (i < n && has_cpus && is_integer(tokens_[i].text)) ++i;
    }
    if (i == n || n - i > columns_.size()) return false;
    // Under a wrapped header a row's first values name the aggregate, and the line after it,
    // values alone, holds the rest of its columns in order.
    size_t first_column = 0;
    bool rest_of_row = wrapped_row_line_ != 0 && wrapped_row_line_ + 1 == line_no_ && i == 0 &&
                       n == columns_.size() - wrapped_at_;
    bool wraps = wrapped_at_ != 0 && !rest_of_row && n - i == wrapped_at_;
    wrapped_row_line_ = 0;
    if (rest_of_row) {
      first_column = wrapped_at_;
      ts = wrapped_ts_;
      aggregate = wrapped_aggregate_;
    } else if (wraps) {
      wrapped_row_line_ = line_no_;
      wrapped_ts_ = ts;
      wrapped_aggregate_.assign(aggregate);
    }
    values_.clear();
    for (; i < n; ++i) {
      std::string_view v = tokens_[i].text;
      bool percent = v.ends_with('%');
      if (percent) v.remove_suffix(1);
      auto value = parse_number(v, decimal_);
      if (!value) return false;
      values_.push_back({*value, percent, tokens_[i].end, v});
    }
    if (ts) interval_ = true;
    for (size_t k = 0; k < values_.size(); ++k) {
      size_t column = first_column + k;
      if (!rest_of_row && !wraps && values_.size() != columns_.size()) {
        auto distance = [&](const MetricColumn& c) {
          return c.end > values_[k].end ? c.end - values_[k].end : values_[k].end - c.end;
        };
        column = size_t(std::min_element(columns_.begin(), columns_.end(),
                                         [&](const auto& a, const auto& b) {
                                           return distance(a) < distance(b);
                                         }) -
                        columns_.begin());
      }
      const auto& c = columns_[column];
      const Value& v = values_[k];
      bool percent = v.percent || c.percent;
      Metric m = normalise_metric(v.value, percent, c.description, "");
      double scale = v.value != 0 && std::isfinite(v.value) && std::isfinite(m.value)
                         ? m.value / v.value
                         : normalise_metric(1.0, percent, c.description, "").value;
      keep_printed_decimals(m, v.text, decimal_, scale);
      out_.add_reported(ts, aggregate, std::move(m));
    }
    return true;
  }

  struct Value {
    double value;
    bool percent;
    size_t end;
    std::string_view text;  // as printed, for its decimals
  };

  std::string_view text_;
  Context& ctx_;
  Builder& out_;
  char decimal_;
  size_t line_no_ = 0;
  bool seen_header_ = false;
  bool seen_row_ = false;             // a counter row was read
  std::optional<double> ordered_ts_;  // the latest timestamp read (timestamp_goes_back)
  bool run_table_ = false;            // under -r --table's "# Table of individual measurements:"
  std::string run_times_;             // its rows' elapsed times, as printed
  bool seen_output_ = false;          // a line of perf's output was read
  size_t first_header_ = 0;           // the line of perf's first header, 0 when none
  std::string interrupted_;
  bool seen_elapsed_ = false;
  bool interval_ = false;
  bool in_advice_ = false;
  size_t rows_in_block_ = 0;
  size_t last_row_line_ = 0;  // the line of the last counter row read, 0 when none
  std::string last_event_;
  size_t continuations_ = 0;  // metric rows read under the last event
  bool in_group_ = false;     // the last rows were under a metric group's name
  std::string group_pmu_;     // that group's hybrid PMU
  std::string instance_event_;
  std::string scratch_;
  std::vector<Token> tokens_;
  std::vector<MetricColumn> columns_;
  size_t header_line_ = 0;       // the line of the last metric header read
  size_t wrapped_at_ = 0;        // the columns of a wrapped header's first line, 0 when not wrapped
  size_t wrapped_row_line_ = 0;  // the line of a row whose other columns are on the next line
  std::optional<double> wrapped_ts_;
  std::string wrapped_aggregate_;
  std::vector<Value> values_;
};

}  // namespace

void read_text(std::string_view text, Context& ctx, Builder& out) {
  TextReader(text, ctx, out).run();
}

}  // namespace pmc::perfstat
