// perf stat -j: one JSON object per line, keys from tools/perf/util/stat-display.c (print_*_json):
// "counter-value" (a string), "unit", "event", "event-runtime", "pcnt-running", "variance",
// "metric-value" (a number before about 6.4, a string after), "metric-unit", "metricgroup",
// "interval", and the aggregation keys "socket", "die", "core", "cache", "cluster", "node", "cpu",
// "thread", "cgroup" with "aggregate-number".
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <cmath>

#include "events/perfstat/import_perfstat_common.h"

namespace pmc::perfstat {
namespace {

using json = nlohmann::ordered_json;  // keeps --metric-only columns in order

// Records are one line; a record wrapped over more (re-indented by hand, as in mail) is still read,
// but no further than this.
constexpr size_t kMaxRecordLines = 16;

// Where the braces of a record balance outside strings: npos while it is still open.
struct BraceScan {
  int depth = 0;
  bool in_string = false;
  bool escaped = false;
  bool feed(std::string_view s) {
    for (char c : s) {
      if (in_string) {
        if (escaped) {
          escaped = false;
        } else if (c == '\\') {
          escaped = true;
        } else if (c == '"') {
          in_string = false;
        }
      } else if (c == '"') {
        in_string = true;
      } else if (c == '{') {
        ++depth;
      } else if (c == '}') {
        --depth;
      }
    }
    return depth <= 0 && !in_string;
  }
};

// Two of perf's JSON bugs, repaired outside strings: 6.12/6.13 leave a comma before '}' when a
// record has no metric (fixed by commit 967364894e61), dropped here; before 6.4 "metric-value" was
// printed with "%f", so a metric without a denominator reads `nan` or `-nan`, here null.
std::string repaired(std::string_view record) {
  std::string out;
  out.reserve(record.size());
  bool in_string = false, escaped = false;
  for (size_t i = 0; i < record.size(); ++i) {
    char c = record[i];
    if (in_string) {
      if (escaped) {
        escaped = false;
      } else if (c == '\\') {
        escaped = true;
      } else if (c == '"') {
        in_string = false;
      }
    } else if (c == '"') {
      in_string = true;
    } else if (c == ',') {
      size_t next = record.find_first_not_of(" \t\r\n", i + 1);
      if (next != std::string_view::npos && record[next] == '}') continue;
    } else if (c == 'n' || c == '-' || c == 'i') {
      for (std::string_view bare : {"-nan", "nan", "-inf", "inf"}) {
        if (record.substr(i, bare.size()) == bare) {
          out += "null";
          i += bare.size() - 1;
          c = 0;
          break;
        }
      }
      if (c == 0) continue;
    }
    out += c;
  }
  return out;
}

std::optional<double> number_of(const json& v) {
  if (v.is_number()) return v.get<double>();
  if (v.is_string()) return parse_number(trim(v.get_ref<const std::string&>()), '.');
  return std::nullopt;
}

std::string text_of(const json& v) {
  if (v.is_string()) return v.get<std::string>();
  if (v.is_number_integer()) return std::to_string(v.get<long long>());
  return v.dump();
}

constexpr std::string_view kAggregateKeys[] = {"socket", "die", "core",   "cache", "cluster",
                                               "node",   "cpu", "thread", "cgroup"};

bool is_bookkeeping_key(std::string_view key) {
  for (auto k : kAggregateKeys) {
    if (key == k) return true;
  }
  return key == "interval" || key == "aggregate-number" || key == "cpu-count" ||
         key == "metric-threshold";
}

class JsonReader {
 public:
  JsonReader(std::string_view text, Context& ctx, Builder& out)
      : text_(text), ctx_(ctx), out_(out) {}

  void run() {
    LineReader lines(text_);
    std::string_view line;
    std::string record;
    size_t start = 0, record_lines = 0;
    BraceScan scan;
    while (lines.next(line)) {
      if (is_overlong(line)) ctx_.fail_overlong(lines.line_no());
      std::string_view t = trim(line);
      if (record_lines == 0) {
        if (t.empty()) continue;
        if (t == "..." || t == "[...]" || t == "\xe2\x80\xa6") {
          out_.add_note(fmt::format("line {}: '{}' (an elision by whoever published the output)",
                                    lines.line_no(), t));
          continue;
        }
        if (read_cpuid_row(t, out_)) continue;
        if (is_events_toggle(t)) {
          out_.add_note(fmt::format("line {}: {}", lines.line_no(), t));
          continue;
        }
        if (t.front() == '#') {
          // perf stat -j -o FILE writes "# started on …" first, as every format does.
          if (seen_record_ && is_started_on(t)) ctx_.fail_second_run(lines.line_no());
          read_started_on(t, out_, !seen_record_);
          continue;
        }
        if (!seen_record_ && is_shell_command(t)) {
          out_.add_note(
              fmt::format("line {}: {} (before perf's output)", lines.line_no(), quote(t)));
          continue;
        }
        if (t.front() != '{') {
          ctx_.reject(lines.line_no(),
                      fmt::format("expected a perf stat -j record '{{...}}', found {}", quote(t)));
          continue;
        }
        start = lines.line_no();
        record.clear();
        scan = BraceScan{};
      }
      // pmcmodel's own documents ("schema": "pmcmodel.measurement/1" on the line after '{'), given
      // to import by mistake, are named as such rather than as a record left open.
      if (record_lines == 1 && t.starts_with("\"schema\"") &&
          t.find("\"pmcmodel.") != std::string_view::npos) {
        ctx_.fail(lines.line_no(),
                  fmt::format("expected a perf stat recording, found a pmcmodel document ({}): "
                              "pmcmodel report reads a measurement document",
                              quote(t)));
      }
      record.append(line).push_back('\n');
      ++record_lines;
      seen_record_ = true;
      if (scan.feed(line)) {
        read_record(record, start);
        record_lines = 0;
      } else if (record_lines == kMaxRecordLines) {
        ctx_.reject(start, fmt::format("expected '}}' closing the record within {} lines",
                                       kMaxRecordLines));
        record_lines = 0;
      }
    }
    if (record_lines != 0) {
      ctx_.reject(start,
                  "expected '}' closing the record before the end of the input: the recording is "
                  "truncated");
    }
  }

 private:
  void read_record(std::string_view record, size_t line) {
    while (!record.empty() && record.back() == '\n') record.remove_suffix(1);
    json j = json::parse(repaired(record), nullptr, false);
    if (j.is_discarded() || !j.is_object()) {
      ctx_.reject(line,
                  fmt::format("expected one JSON object per line, found {}", quote(trim(record))));
      return;
    }
    if (const char* why = read_object(j))
      ctx_.reject(line, fmt::format("{}, found {}", why, quote(trim(record))));
  }

  const char* read_object(const json& j) {
    std::optional<double> ts;
    if (auto it = j.find("interval"); it != j.end()) {
      ts = number_of(*it);
      if (!ts) return "expected a number in \"interval\"";
      if (timestamp_goes_back(ordered_ts_, *ts)) return kTimestampGoesBack;
    }
    std::string aggregate;
    for (auto key : kAggregateKeys) {
      auto it = j.find(key);
      if (it == j.end()) continue;
      std::string id = text_of(*it);
      if (key == "cpu") id = "CPU" + id;
      aggregate = aggregate.empty() ? id : aggregate + "/" + id;
    }
    int cpus = 0;
    if (auto it = j.find("aggregate-number"); it != j.end() && it->is_number_integer())
      cpus = it->get<int>();

    if (auto it = j.find("counter-value"); it != j.end()) {
      auto event = j.find("event");
      // perf names every counter it prints; a record without a name would be an event that no
      // metric, report row or comparison could tell apart.
      if (event == j.end() || !event->is_string() ||
          trim(event->get_ref<const std::string&>()).empty())
        return "expected \"event\" beside \"counter-value\"";
      auto unit_it = j.find("unit");
      if (unit_it != j.end() && !unit_it->is_string()) return "expected a string in \"unit\"";
      std::string unit = unit_it == j.end() ? std::string() : unit_it->get<std::string>();
      std::string count_text = text_of(*it);
      std::optional<double> count;
      auto status = parse_count_status(count_text);
      if (!status) {
        count = number_of(*it);
        if (!count) return "expected a number or \"<not counted>\" in \"counter-value\"";
        if (const char* why = invalid_count(*count, unit)) return why;
        status = std::isnan(*count) ? EventStatus::not_counted : EventStatus::counted;
      }
      std::optional<double> pct, noise;
      if (auto p = j.find("pcnt-running"); p != j.end()) {
        pct = number_of(*p);
        if (!pct) return "expected a number in \"pcnt-running\"";
        if (const char* why = invalid_running_pct(*pct)) return why;
      }
      if (auto v = j.find("variance"); v != j.end()) noise = number_of(*v);
      last_event_ = event->get<std::string>();
      in_group_ = false;
      group_pmu_.clear();
      auto e = make_event(last_event_, unit, count, *status, pct, noise);
      if (std::isnan(count.value_or(0))) e.reason = "perf printed nan";
      out_.add_event(ts, aggregate, cpus, std::move(e));
      return read_metric(j, ts, aggregate);
    }
    if (j.contains("metric-value") || j.contains("metric-unit"))
      return read_metric(j, ts, aggregate);
    if (auto group = j.find("metricgroup"); group != j.end()) {
      // The metrics of the group follow as records: "TopdownL1 (cpu_core)" names their PMU.
      if (!group->is_string()) return "expected a string in \"metricgroup\"";
      in_group_ = true;
      group_pmu_.assign(hybrid_pmu_of_group(group->get_ref<const std::string&>()));
      return nullptr;
    }
    // --metric-only: {"GHz" : "0.990", "insn per cycle" : "2.06", ...}, every key one of perf's
    // metrics; anything else is not a perf stat record ({"a" : 1}).
    metrics_.clear();
    for (const auto& [key, value] : j.items()) {
      if (is_bookkeeping_key(key)) continue;
      auto v = number_of(value);
      Metric m = metric_only_value(key, v.value_or(0));
      if (!v || m.unit.empty()) {
        return "expected a perf stat -j record: \"counter-value\", \"metric-value\", "
               "\"metricgroup\" or --metric-only values keyed by perf's metric units";
      }
      // (The key by name: clang before 16 refuses a structured binding in a lambda's capture.)
      const std::string& name = key;
      keep_json_decimals(m, value, *v, [&](double one) { return metric_only_value(name, one); });
      metrics_.push_back(std::move(m));
    }
    if (metrics_.empty()) return "expected \"counter-value\" or \"metric-value\"";
    for (auto& m : metrics_) out_.add_reported(ts, aggregate, std::move(m));
    return nullptr;
  }

  // -j prints a metric's value with "%f", six decimals, as a number before perf 6.2 and as a
  // string since (stat-display.c print_metric_json); --metric-only with the text comment's format
  // ("%8.1f", print_metric_only_json), always a string. A string's decimals are counted; a
  // number's are perf's six, which the parsed double no longer shows.
  // `printed` normalised to `m` with `normalise` (a printed value → its Metric).
  template <typename Normalise>
  static void keep_json_decimals(Metric& m, const json& printed, double value,
                                 const Normalise& normalise) {
    if (!std::isfinite(m.value)) return;
    double scale = value != 0 && std::isfinite(value) ? m.value / value : normalise(1.0).value;
    if (printed.is_string()) {
      keep_printed_decimals(m, trim(printed.get_ref<const std::string&>()), '.', scale);
    } else {
      keep_printed_decimals(m, "0.000000", '.', scale);
    }
  }

  // A --metric-only column: perf's metric unit ("GHz", "insn per cycle"), or that unit after
  // the event's name ("branch-misses of all branches").
  static Metric metric_only_value(std::string_view key, double v) {
    Metric m = normalise_metric(v, false, key, "");
    if (!m.unit.empty()) return m;
    if (size_t space = key.find(' '); space != std::string_view::npos) {
      Metric rest = normalise_metric(v, false, key.substr(space + 1), key.substr(0, space));
      if (!rest.unit.empty()) return rest;
    }
    return m;
  }

  const char* read_metric(const json& j, std::optional<double> ts, const std::string& aggregate) {
    auto value = j.find("metric-value");
    auto unit = j.find("metric-unit");
    if (value == j.end() || unit == j.end()) return nullptr;  // an event without a metric
    // A bare nan (read as null) or "nan": perf had no denominator.
    auto v = value->is_null() ? std::optional<double>(std::nan("")) : number_of(*value);
    if (!v) return "expected a number in \"metric-value\"";
    if (!unit->is_string()) return "expected a string in \"metric-unit\"";
    // Before 6.13 perf wrote "metric-value" : "0.000000", "metric-unit" : "" for events without
    // one.
    if (trim(unit->get_ref<const std::string&>()).empty()) return nullptr;
    Metric m = normalise_metric(*v, false, unit->get_ref<const std::string&>(), last_event_);
    keep_json_decimals(m, *value, *v, [&](double one) {
      return normalise_metric(one, false, unit->get_ref<const std::string&>(), last_event_);
    });
    qualify_by_pmu(m, in_group_ ? std::string_view(group_pmu_) : hybrid_pmu_of_event(last_event_));
    out_.add_reported(ts, aggregate, std::move(m));
    return nullptr;
  }

  std::string_view text_;
  Context& ctx_;
  Builder& out_;
  std::string last_event_;
  std::optional<double> ordered_ts_;  // the latest "interval" read (timestamp_goes_back)
  bool seen_record_ = false;
  bool in_group_ = false;  // the records follow a "metricgroup" record
  std::string group_pmu_;  // that group's hybrid PMU
  std::vector<Metric> metrics_;
};

}  // namespace

void read_json(std::string_view text, Context& ctx, Builder& out) {
  JsonReader(text, ctx, out).run();
}

}  // namespace pmc::perfstat
