#include "events/document/measurement_io.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <exception>
#include <limits>
#include <memory>
#include <optional>
#include <type_traits>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "events/document/json_writer.h"
#include "events/text/json_guard.h"
#include "events/text/ordered_parallel.h"

namespace pmc {
namespace {

using json = nlohmann::ordered_json;

// A growable buffer written through a pointer: room is made for an object's longest text once,
// and its fields are written without a check each, the keys as fixed-size copies the compiler
// inlines. Appending field by field to a std::string spent a third of the writer's time in
// capacity checks and memmove calls (perf record on a 100 MB recording's document).
class TextBuffer {
 public:
  // The end of the text, with at least `bytes` free after it; what is written there counts once
  // commit() is given the new end.
  char* room(size_t bytes) {
    if (size_ + bytes > capacity_) grow(size_ + bytes);
    return data_.get() + size_;
  }
  void commit(char* end) { size_ = size_t(end - data_.get()); }
  void clear() { size_ = 0; }
  std::string_view view() const { return {data_.get(), size_}; }

 private:
  void grow(size_t needed) {
    size_t capacity = std::max(needed, 2 * capacity_);
    auto data = std::make_unique_for_overwrite<char[]>(capacity);
    if (size_ != 0) std::memcpy(data.get(), data_.get(), size_);
    data_ = std::move(data);
    capacity_ = capacity;
  }
  std::unique_ptr<char[]> data_;
  size_t size_ = 0;
  size_t capacity_ = 0;
};

template <size_t N>
char* put(char* p, const char (&text)[N]) {
  std::memcpy(p, text, N - 1);
  return p + N - 1;
}

char* put_count(char* p, uint64_t v) {
  fmt::format_int digits(v);
  std::memcpy(p, digits.data(), digits.size());
  return p + digits.size();
}

// The longest text of each object: its keys and punctuation, its strings escaped, its numbers.
constexpr size_t kCountMax = 20;  // 18446744073709551615
size_t event_max(const EventCount& e) {
  return 240 + (5 + e.run_values.size()) * (kJsonNumberMax + 2) + 3 * kCountMax +
         json_string_max(e.name) + json_string_max(e.pmu) + json_string_max(e.unit) +
         json_string_max(e.reason);
}
size_t metric_max(const Metric& m) {
  return 40 + kJsonNumberMax + json_string_max(m.name) + json_string_max(m.unit);
}
size_t energy_max(const EnergyReading& e) {
  return 100 + 3 * kJsonNumberMax + json_string_max(e.domain) + json_string_max(e.method) +
         json_string_max(to_string(e.scope));
}

// One event as one JSON object on one line. Events are most of a recording's document (1.4 M in
// 100 MB of perf stat -I), so the keys are literals written with their separators rather than
// fields passed through JsonWriter's state machine one by one; the text is the same.
char* put_event(char* p, const EventCount& e) {
  p = put(p, "{\"name\": ");
  p = write_json_string(p, e.name);
  p = put(p, ", \"pmu\": ");
  p = write_json_string(p, e.pmu);
  p = put(p, ", \"value\": ");
  p = e.counted() ? write_json_number(p, e.value) : put(p, "null");
  p = put(p, ", \"raw\": ");
  p = put_count(p, e.raw);
  p = put(p, ", \"unit\": ");
  p = write_json_string(p, e.unit);
  p = put(p, ", \"scale\": ");
  p = write_json_number(p, e.unit_scale);
  p = put(p, ", \"time_enabled_ns\": ");
  p = put_count(p, e.time_enabled_ns);
  p = put(p, ", \"time_running_ns\": ");
  p = put_count(p, e.time_running_ns);
  p = put(p, ", \"status\": ");
  p = write_json_string(p, to_string(e.status));
  p = put(p, ", \"reason\": ");
  p = write_json_string(p, e.reason);
  if (e.stddev) {
    p = put(p, ", \"stddev\": ");
    p = write_json_number(p, *e.stddev);
  }
  if (e.sem) {
    p = put(p, ", \"sem\": ");
    p = write_json_number(p, *e.sem);
  }
  if (!e.run_values.empty()) {
    p = put(p, ", \"run_values\": [");
    for (size_t i = 0; i < e.run_values.size(); ++i) {
      if (i > 0) p = put(p, ", ");
      p = write_json_number(p, e.run_values[i]);
    }
    *p++ = ']';
  }
  *p++ = '}';
  return p;
}

char* put_metric(char* p, const Metric& m) {
  p = put(p, "{\"name\": ");
  p = write_json_string(p, m.name);
  p = put(p, ", \"value\": ");
  p = write_json_number(p, m.value);
  p = put(p, ", \"unit\": ");
  p = write_json_string(p, m.unit);
  *p++ = '}';
  return p;
}

char* put_energy(char* p, const EnergyReading& e) {
  p = put(p, "{\"domain\": ");
  p = write_json_string(p, e.domain);
  p = put(p, ", \"joules\": ");
  p = write_json_number(p, e.joules);
  p = put(p, ", \"average_watts\": ");
  p = write_json_number(p, e.average_watts);
  p = put(p, ", \"method\": ");
  p = write_json_string(p, e.method);
  p = put(p, ", \"uncertainty\": ");
  p = write_json_number(p, e.uncertainty);
  p = put(p, ", \"scope\": ");
  p = write_json_string(p, to_string(e.scope));
  *p++ = '}';
  return p;
}

// `put` of one object into a std::string (JsonWriter's buffer), with room for `max` bytes.
template <class T>
void append_object(std::string& out, const T& item, size_t (*max)(const T&),
                   char* (*put)(char*, const T&)) {
  size_t size = out.size();
  out.resize(size + max(item));
  out.resize(size_t(put(out.data() + size, item) - out.data()));
}

// A list as JsonWriter writes one that is not multiline: "[a, b]".
template <class T>
void put_list(TextBuffer& out, const std::vector<T>& items, size_t (*max)(const T&),
              char* (*put_item)(char*, const T&)) {
  char* p = out.room(1);
  *p++ = '[';
  out.commit(p);
  for (size_t i = 0; i < items.size(); ++i) {
    p = out.room(2 + max(items[i]));
    if (i != 0) p = put(p, ", ");
    out.commit(put_item(p, items[i]));
  }
  p = out.room(1);
  *p++ = ']';
  out.commit(p);
}

// One array of the document's head, an element per line.
template <class T>
void write_list(JsonWriter& w, std::string_view key, const std::vector<T>& items,
                size_t (*max)(const T&), char* (*put)(char*, const T&)) {
  w.key(key);
  w.begin_array(!items.empty());
  for (const auto& item : items) append_object(w.raw_value(), item, max, put);
  w.end_array();
}

// One interval on one line: a long -I recording stays a file of one line per interval.
void put_interval(TextBuffer& out, const Interval& iv, const std::vector<Metric>& metrics) {
  char* p = out.room(96 + 2 * kJsonNumberMax);
  p = put(p, "{\"time_s\": ");
  p = write_json_number(p, iv.time_s);
  p = put(p, ", \"duration_s\": ");
  p = write_json_number(p, iv.duration_s);
  if (iv.partial) p = put(p, ", \"partial\": true");
  p = put(p, ", \"events\": ");
  out.commit(p);
  put_list(out, iv.events, event_max, put_event);
  out.commit(put(out.room(16), ", \"metrics\": "));
  put_list(out, metrics, metric_max, put_metric);
  if (!iv.reported.empty()) {
    out.commit(put(out.room(16), ", \"reported\": "));
    put_list(out, iv.reported, metric_max, put_metric);
  }
  if (!iv.energy.empty()) {
    out.commit(put(out.room(16), ", \"energy\": "));
    put_list(out, iv.energy, energy_max, put_energy);
  }
  p = out.room(1);
  *p++ = '}';
  out.commit(p);
}

std::string csv_field(std::string_view s) {
  if (s.find_first_of(",\"\n\r") == std::string_view::npos) return std::string(s);
  std::string out = "\"";
  for (char c : s) {
    if (c == '"') out += '"';
    out += c;
  }
  return out + "\"";
}

std::string number(double v) {
  return fmt::format("{}", v);
}

std::string event_csv(const EventCount& e) {
  return fmt::format("event,{},{},{},{},{},{},{},{},{},{},{}", csv_field(e.name), csv_field(e.pmu),
                     e.counted() ? number(e.value) : "", e.raw, csv_field(e.unit),
                     e.time_enabled_ns, e.time_running_ns, to_string(e.status), csv_field(e.reason),
                     e.stddev ? number(*e.stddev) : "", e.sem ? number(*e.sem) : "");
}

std::string metric_csv(const char* kind, const Metric& m) {
  return fmt::format("{},{},,{},,{},,,,,,", kind, csv_field(m.name), number(m.value),
                     csv_field(m.unit));
}

// Documents written before "sem" existed held one spread in "stddev": measure's was the runs'
// sample standard deviation, an import's perf's "+-", the standard error of the mean. Each is
// given both, as a new document has them.
void complete_spread(EventCount& e, std::string_view source, int runs) {
  if (!e.stddev || e.sem) return;
  double n = runs > 1 ? double(runs) : 0;
  if (source == "perf-stat") {
    e.sem = e.stddev;
    e.stddev.reset();
    if (n > 0) e.stddev = *e.sem * std::sqrt(n);
  } else if (n > 0) {
    e.sem = *e.stddev / std::sqrt(n);
  }
}

// Reading: every field is checked and a missing or mistyped one names the path in the document.
struct Reader {
  std::string_view file;
  std::string_view text;

  [[noreturn]] void fail(const std::string& what, size_t byte = std::string_view::npos) const {
    size_t line = 1;
    if (byte != std::string_view::npos)
      for (size_t i = 0; i < byte && i < text.size(); ++i) line += text[i] == '\n';
    throw FormatError(fmt::format("{}:{}: {}", file, line, what));
  }

  // Where `"key": "value"` first stands in the text, for the line of an error about that value;
  // npos when it is not written so (escaped characters).
  size_t find_string_field(std::string_view key, std::string_view value) const {
    std::string quoted_key = fmt::format("\"{}\"", key);
    std::string quoted_value = fmt::format("\"{}\"", value);
    for (size_t at = text.find(quoted_key); at != std::string_view::npos;
         at = text.find(quoted_key, at + 1)) {
      size_t p = at + quoted_key.size();
      while (p < text.size() && (text[p] == ' ' || text[p] == '\t' || text[p] == '\n' ||
                                 text[p] == '\r' || text[p] == ':'))
        ++p;
      if (text.substr(p, quoted_value.size()) == quoted_value) return p;
    }
    return std::string_view::npos;
  }

  const json& field(const json& obj, const char* key, const std::string& where) const {
    if (!obj.is_object() || !obj.contains(key))
      fail("expected field '" + std::string(key) + "' in " + where);
    return obj.at(key);
  }
  template <class T>
  T get(const json& obj, const char* key, const std::string& where, T fallback,
        bool required) const {
    if (!obj.is_object() || !obj.contains(key) || obj.at(key).is_null()) {
      if (required) fail("expected field '" + std::string(key) + "' in " + where);
      return fallback;
    }
    try {
      const json& value = obj.at(key);
      // A fraction for a whole-number field is converted by nlohmann with a cast, undefined
      // beyond the type's range (1e127 as time_enabled_ns, found by fuzz_measurement_json).
      if constexpr (std::is_integral_v<T> && !std::is_same_v<T, bool>) {
        if (value.is_number_float()) {
          double d = value.get<double>();
          if (!(d >= double(std::numeric_limits<T>::min()) &&
                d < double(std::numeric_limits<T>::max())))
            fail("field '" + std::string(key) + "' in " + where + " is out of range");
        }
      }
      return value.get<T>();
    } catch (const json::exception&) {
      fail("field '" + std::string(key) + "' in " + where + " has the wrong type");
    }
  }

  EventCount event(const json& j, const std::string& where) const {
    EventCount e;
    e.name = get<std::string>(j, "name", where, "", true);
    e.pmu = get<std::string>(j, "pmu", where, "", false);
    e.value = get<double>(j, "value", where, 0, false);
    if (e.value < 0)
      fail(fmt::format("{}: value {} is negative; expected a count of 0 or more", where, e.value));
    for (const char* key : {"raw", "time_enabled_ns", "time_running_ns"})
      if (j.is_object() && j.contains(key) && j.at(key).is_number() && j.at(key).get<double>() < 0)
        fail(fmt::format("{}: {} is negative; expected 0 or more", where, key));
    e.raw = get<uint64_t>(j, "raw", where, 0, false);
    e.unit = get<std::string>(j, "unit", where, "", false);
    e.unit_scale = get<double>(j, "scale", where, 1.0, false);
    e.time_enabled_ns = get<uint64_t>(j, "time_enabled_ns", where, 0, false);
    e.time_running_ns = get<uint64_t>(j, "time_running_ns", where, 0, false);
    auto status = get<std::string>(j, "status", where, "", true);
    auto parsed = parse_event_status(status);
    if (!parsed) fail("unknown status '" + status + "' in " + where);
    e.status = *parsed;
    e.reason = get<std::string>(j, "reason", where, "", false);
    if (j.contains("stddev") && !j["stddev"].is_null())
      e.stddev = get<double>(j, "stddev", where, 0, false);
    if (j.contains("sem") && !j["sem"].is_null()) e.sem = get<double>(j, "sem", where, 0, false);
    e.run_values = get<std::vector<double>>(j, "run_values", where, {}, false);
    return e;
  }

  std::vector<EventCount> events(const json& arr, const std::string& where) const {
    if (!arr.is_array()) fail(where + " must be an array");
    std::vector<EventCount> out;
    for (size_t i = 0; i < arr.size(); ++i)
      out.push_back(event(arr[i], fmt::format("{}[{}]", where, i)));
    return out;
  }

  std::vector<GpuInfo> gpus(const json& machine) const {
    std::vector<GpuInfo> out;
    if (!machine.contains("gpus")) return out;
    const json& arr = machine.at("gpus");
    if (!arr.is_array()) fail("machine.gpus must be an array");
    for (size_t i = 0; i < arr.size(); ++i) {
      auto w = fmt::format("machine.gpus[{}]", i);
      GpuInfo g;
      g.index = get<unsigned>(arr[i], "index", w, 0, true);
      g.name = get<std::string>(arr[i], "name", w, "", false);
      g.uuid = get<std::string>(arr[i], "uuid", w, "", false);
      g.driver = get<std::string>(arr[i], "driver", w, "", false);
      if (arr[i].contains("power_limit_w") && !arr[i].at("power_limit_w").is_null())
        g.power_limit_w = get<double>(arr[i], "power_limit_w", w, 0, false);
      if (arr[i].contains("memory_mib") && !arr[i].at("memory_mib").is_null())
        g.memory_mib = get<double>(arr[i], "memory_mib", w, 0, false);
      g.energy_method = get<std::string>(arr[i], "energy_method", w, "", false);
      out.push_back(std::move(g));
    }
    return out;
  }

  std::vector<EnergyReading> energy(const json& parent, const std::string& where) const {
    std::vector<EnergyReading> out;
    if (!parent.contains("energy")) return out;
    const json& arr = parent.at("energy");
    if (!arr.is_array()) fail(where + ".energy must be an array");
    for (size_t i = 0; i < arr.size(); ++i) {
      auto w = fmt::format("{}.energy[{}]", where, i);
      EnergyReading e;
      e.domain = get<std::string>(arr[i], "domain", w, "", true);
      e.joules = get<double>(arr[i], "joules", w, 0, true);
      if (e.joules < 0)
        fail(
            fmt::format("{}: joules {} is negative; expected an energy of 0 or more", w, e.joules));
      e.average_watts = get<double>(arr[i], "average_watts", w, 0, false);
      e.method = get<std::string>(arr[i], "method", w, "", true);
      e.uncertainty = get<double>(arr[i], "uncertainty", w, 0, false);
      auto scope = get<std::string>(arr[i], "scope", w, "machine", false);
      auto parsed = parse_energy_scope(scope);
      if (!parsed)
        fail(fmt::format("{}.scope: unknown scope '{}'; expected \"machine\" or \"command\"", w,
                         scope),
             find_string_field("scope", scope));
      e.scope = *parsed;
      out.push_back(std::move(e));
    }
    return out;
  }

  std::vector<Metric> metrics(const json& parent, const char* key, const std::string& where) const {
    std::vector<Metric> out;
    if (!parent.contains(key)) return out;
    const json& arr = parent.at(key);
    if (!arr.is_array()) fail(where + "." + key + " must be an array");
    for (size_t i = 0; i < arr.size(); ++i) {
      auto w = fmt::format("{}.{}[{}]", where, key, i);
      out.push_back({get<std::string>(arr[i], "name", w, "", true),
                     get<double>(arr[i], "value", w, 0, true),
                     get<std::string>(arr[i], "unit", w, "", false)});
    }
    return out;
  }
};

// machine.gpus: one object per measured GPU, on a line of its own; absent without GPUs.
void write_gpus(JsonWriter& w, const std::vector<GpuInfo>& gpus) {
  w.key("gpus");
  w.begin_array(true);
  for (const auto& g : gpus) {
    w.begin_object();
    w.field("index", uint64_t(g.index));
    w.field("name", g.name);
    w.field("uuid", g.uuid);
    w.field("driver", g.driver);
    if (g.power_limit_w)
      w.field("power_limit_w", *g.power_limit_w);
    else
      w.field_null("power_limit_w");
    if (g.memory_mib)
      w.field("memory_mib", *g.memory_mib);
    else
      w.field_null("memory_mib");
    w.field("energy_method", g.energy_method);
    w.end_object();
  }
  w.end_array();
}

// Everything before the intervals, with the "intervals" key written and its array opened (on
// lines of its own when there are intervals).
void write_head(JsonWriter& w, const Measurement& m, bool multiline_intervals) {
  const auto& mi = m.machine;
  w.begin_object(true);
  w.field("schema", kMeasurementSchema);
  w.field("source", m.source);
  w.field("backend", m.backend);
  w.key("machine");
  w.begin_object(true);
  w.field("hostname", mi.hostname);
  w.field("cpu_model", mi.cpu_model);
  w.field("vendor", mi.vendor);
  w.field("family", mi.family);
  w.field("model", mi.model);
  w.field("stepping", mi.stepping);
  w.string_array("pmus", mi.pmus);
  w.field("logical_cpus", mi.logical_cpus);
  w.field("kernel_release", mi.kernel_release);
  if (!mi.gpus.empty()) write_gpus(w, mi.gpus);
  w.end_object();
  w.field("target", to_string(m.target));
  w.string_array("command", m.command);
  if (!m.while_command.empty()) w.string_array("while_command", m.while_command);
  if (m.stopped_at_duration) w.field("stopped_at_duration", true);
  if (m.exit_status)
    w.field("exit_status", *m.exit_status);
  else
    w.field_null("exit_status");
  if (m.signal)
    w.field("signal", *m.signal);
  else
    w.field_null("signal");
  if (m.killed_after_s) w.field("killed_after_s", *m.killed_after_s);
  w.field("start_time", m.start_time);
  w.key("intervals");
  w.begin_array(multiline_intervals);
}

// The intervals' array closed, then the run's figures, which a long recording's import knows
// only once it has read every interval (docs/formats.md: they follow the intervals).
void write_tail(JsonWriter& w, const Measurement& m) {
  w.end_array();
  auto time = [&w](const char* name, double value, bool given) {
    if (given)
      w.field(name, value);
    else
      w.field_null(name);
  };
  time("duration_s", m.duration_s, m.has_duration);
  time("user_s", m.user_s, m.has_user);
  time("sys_s", m.sys_s, m.has_sys);
  w.field("runs", m.runs);
  write_list(w, "events", m.events, event_max, put_event);
  write_list(w, "metrics", m.metrics, metric_max, put_metric);
  if (!m.reported.empty()) write_list(w, "reported", m.reported, metric_max, put_metric);
  write_list(w, "energy", m.energy, energy_max, put_energy);
  w.string_array("notes", m.notes);
  w.end_object();
}

// Intervals per piece: ~5 KB each in a perf stat -d recording, so a piece is about a megabyte,
// enough to keep the sink's calls few and small enough that a thread's buffer stays in memory
// already touched.
constexpr size_t kIntervalsPerPiece = 256;

// What a thread formatting pieces keeps between them: its metric function and the metrics it
// last computed (their storage reused), and the intervals it may free once written.
struct PieceContext {
  const std::vector<Interval>& intervals;
  std::vector<Interval>* release = nullptr;  // the same vector, when written intervals are freed
  IntervalMetricsFn metrics;                 // empty: each interval's own metrics
  std::vector<Metric> computed;
};

// Piece `piece` of the intervals as the elements of the document's multiline "intervals" array:
// each on its own line, indented to the array's depth (2), after a ',' but for the first.
void format_piece(PieceContext& ctx, size_t piece, TextBuffer& out) {
  out.clear();
  size_t begin = piece * kIntervalsPerPiece;
  size_t end = std::min(ctx.intervals.size(), begin + kIntervalsPerPiece);
  for (size_t i = begin; i < end; ++i) {
    char* p = out.room(6);
    if (i != 0) *p++ = ',';
    out.commit(put(p, "\n    "));
    const Interval& iv = ctx.intervals[i];
    if (ctx.metrics) {
      ctx.metrics(iv, ctx.computed);
      put_interval(out, iv, ctx.computed);
    } else {
      put_interval(out, iv, iv.metrics);
    }
    if (ctx.release != nullptr) (*ctx.release)[i] = Interval{};
  }
}

// A context for each thread that formats pieces.
PieceContext piece_context(const std::vector<Interval>& intervals, const JsonWriteOptions& options,
                           std::vector<Interval>* release) {
  PieceContext ctx{intervals, release, {}, {}};
  if (options.interval_metrics) ctx.metrics = options.interval_metrics();
  return ctx;
}

// Pieces formatted by `threads` workers and handed to `sink` by the calling thread in their
// order, in buffers reused every 2 * `threads` pieces: the memory is a few pieces per worker.
void write_pieces(const std::vector<Interval>& intervals, size_t pieces, const JsonSink& sink,
                  unsigned threads, const JsonWriteOptions& options,
                  std::vector<Interval>* release) {
  std::vector<std::optional<PieceContext>> contexts(std::max(threads, 1u));
  ordered_parallel<TextBuffer>(
      pieces, threads, 2 * size_t(threads),
      [&](size_t piece, TextBuffer& text, unsigned worker) {
        auto& ctx = contexts[worker];
        if (!ctx) ctx.emplace(piece_context(intervals, options, release));
        format_piece(*ctx, piece, text);
      },
      [&](size_t, TextBuffer& text) { sink(text.view()); });
}

void write_document(const Measurement& m, const JsonSink& sink, const JsonWriteOptions& options,
                    std::vector<Interval>* release) {
  JsonWriter w;
  write_head(w, m, !m.intervals.empty());
  if (!m.intervals.empty()) {
    sink(w.str());
    w.take();
    size_t pieces = (m.intervals.size() + kIntervalsPerPiece - 1) / kIntervalsPerPiece;
    write_pieces(m.intervals, pieces, sink, unsigned(std::min<size_t>(options.threads, pieces)),
                 options, release);
    w.assume_elements();
  }
  write_tail(w, m);
  std::string tail = w.take();
  tail += '\n';
  sink(tail);
}

}  // namespace

void write_measurement_json(const Measurement& m, const JsonSink& sink, unsigned threads) {
  JsonWriteOptions options;
  options.threads = threads;
  write_document(m, sink, options, nullptr);
}

void write_measurement_json(Measurement& m, const JsonSink& sink, const JsonWriteOptions& options) {
  write_document(m, sink, options, options.release_written ? &m.intervals : nullptr);
  if (options.release_written) m.intervals.clear();
}

struct StreamedDocumentWriter::State {
  // A batch's intervals, then its text.
  struct Batch {
    std::vector<Interval> intervals;
    TextBuffer text;
  };
  JsonSink sink;
  IntervalMetricsFactory metrics;
  std::string head;                    // the text before the first interval (written with it)
  JsonWriter writer;                   // holds the document's nesting for the tail
  std::vector<Interval> no_intervals;  // what the contexts refer to
  std::vector<std::optional<PieceContext>> contexts;  // per formatting worker
  size_t next = 0;                                    // the batch expected next
  bool wrote_interval = false;
  bool failed = false;
  // Last: its workers, which use the members above, are joined first.
  std::optional<OrderedParallel<Batch>> work;

  // Every interval after ",\n    " (the comma of the document's first is not written); the
  // intervals are freed.
  void format(Batch& batch, unsigned worker) {
    auto& ctx = contexts[worker];
    if (!ctx) {
      JsonWriteOptions options;
      options.interval_metrics = metrics;
      ctx.emplace(piece_context(no_intervals, options, nullptr));
    }
    TextBuffer& text = batch.text;
    text.clear();
    for (auto& iv : batch.intervals) {
      text.commit(put(text.room(6), ",\n    "));
      if (ctx->metrics) {
        ctx->metrics(iv, ctx->computed);
        put_interval(text, iv, ctx->computed);
      } else {
        put_interval(text, iv, iv.metrics);
      }
      iv = Interval{};
    }
    batch.intervals = {};
  }
  void write(const Batch& batch) {
    std::string_view view = batch.text.view();
    if (view.empty()) return;
    if (!wrote_interval) {
      sink(head);
      view.remove_prefix(1);  // the first interval's ','
      wrote_interval = true;
    }
    sink(view);
  }
};

StreamedDocumentWriter::StreamedDocumentWriter(const Measurement& head, JsonSink sink,
                                               IntervalMetricsFactory metrics, unsigned threads)
    : state_(std::make_unique<State>()) {
  State& st = *state_;
  st.sink = std::move(sink);
  st.metrics = std::move(metrics);
  write_head(st.writer, head, true);
  st.head = st.writer.take();
  st.contexts.resize(std::max(threads, 1u));
  st.work.emplace(
      threads, 2 * size_t(threads),
      [&st](size_t, State::Batch& batch, unsigned worker) { st.format(batch, worker); },
      [&st](size_t, State::Batch& batch) { st.write(batch); });
}

StreamedDocumentWriter::~StreamedDocumentWriter() = default;

void StreamedDocumentWriter::add_batch(size_t index, std::vector<Interval>&& intervals) {
  State& st = *state_;
  if (st.failed) return;
  if (index != st.next) throw std::logic_error("StreamedDocumentWriter::add_batch out of order");
  ++st.next;
  try {
    st.work->submit([&](State::Batch& batch) { batch.intervals = std::move(intervals); });
  } catch (...) {
    st.failed = true;
    throw;
  }
}

void StreamedDocumentWriter::finish(const Measurement& m) {
  State& st = *state_;
  if (st.failed) throw std::logic_error("StreamedDocumentWriter::finish after a failed write");
  try {
    st.work->finish();
  } catch (...) {
    st.failed = true;
    throw;
  }
  if (!st.wrote_interval) {
    write_measurement_json(m, st.sink);
    return;
  }
  if (!m.intervals.empty())
    throw std::logic_error("StreamedDocumentWriter::finish with intervals after streamed ones");
  JsonWriter check;
  write_head(check, m, true);
  if (check.str() != st.head)
    throw std::logic_error("StreamedDocumentWriter: the document's head changed while streaming");
  st.writer.assume_elements();
  write_tail(st.writer, m);
  std::string tail = st.writer.take();
  tail += '\n';
  st.sink(tail);
}

void append_interval_element(std::string& out, const Interval& iv, bool first) {
  TextBuffer text;
  char* p = text.room(6);
  if (!first) *p++ = ',';
  text.commit(put(p, "\n    "));
  put_interval(text, iv, iv.metrics);
  out.append(text.view());
}

void write_measurement_json_with_elements(const Measurement& m, size_t count,
                                          const std::function<void(const JsonSink&)>& elements,
                                          const JsonSink& sink) {
  if (!m.intervals.empty())
    throw std::logic_error("write_measurement_json_with_elements: the intervals come as elements");
  JsonWriter w;
  write_head(w, m, count > 0);
  if (count > 0) {
    sink(w.str());
    w.take();
    elements(sink);
    w.assume_elements();
  }
  write_tail(w, m);
  std::string tail = w.take();
  tail += '\n';
  sink(tail);
}

std::string measurement_to_json(const Measurement& m) {
  std::string out;
  // About 300 bytes per event written, with its share of the reported metrics (measured on perf
  // stat -I recordings), so a long recording is not copied as the buffer grows.
  size_t events = m.events.size();
  for (const auto& iv : m.intervals) events += iv.events.size() + iv.metrics.size() / 2;
  out.reserve(4096 + 320 * events);
  write_measurement_json(m, [&](std::string_view piece) { out.append(piece); });
  return out;
}

Measurement measurement_from_json(std::string_view text, std::string_view file_name) {
  Reader r{file_name, text};
  // Nesting, duplicate keys and numbers outside a double are refused before the parser sees them
  // (docs/security.md).
  if (auto problem = find_json_problem(text))
    throw FormatError(fmt::format("{}:{}: {}", file_name, problem->line, problem->what));
  json doc;
  try {
    doc = json::parse(text.begin(), text.end());
  } catch (const json::parse_error& e) {
    r.fail(std::string("expected a JSON measurement document: ") + e.what(),
           e.byte > 0 ? e.byte - 1 : 0);
  }
  if (!doc.is_object())
    r.fail("expected a JSON object with \"schema\": \"pmcmodel.measurement/1\"", 0);
  auto schema = r.get<std::string>(doc, "schema", "the document", "", true);
  if (schema != kMeasurementSchema)
    r.fail("expected schema \"" + std::string(kMeasurementSchema) + "\", found \"" + schema + "\"",
           0);
  Measurement m;
  m.source = r.get<std::string>(doc, "source", "the document", "pmcmodel", false);
  m.backend = r.get<std::string>(doc, "backend", "the document", "perf_event", false);
  if (doc.contains("machine")) {
    const json& mj = r.field(doc, "machine", "the document");
    auto& mi = m.machine;
    mi.hostname = r.get<std::string>(mj, "hostname", "machine", "", false);
    mi.cpu_model = r.get<std::string>(mj, "cpu_model", "machine", "", false);
    mi.vendor = r.get<std::string>(mj, "vendor", "machine", "", false);
    mi.family = r.get<int>(mj, "family", "machine", -1, false);
    mi.model = r.get<int>(mj, "model", "machine", -1, false);
    mi.stepping = r.get<int>(mj, "stepping", "machine", -1, false);
    mi.pmus = r.get<std::vector<std::string>>(mj, "pmus", "machine", {}, false);
    mi.logical_cpus = r.get<int>(mj, "logical_cpus", "machine", 0, false);
    mi.kernel_release = r.get<std::string>(mj, "kernel_release", "machine", "", false);
    mi.gpus = r.gpus(mj);
  }
  auto target = r.get<std::string>(doc, "target", "the document", "command", false);
  auto parsed_target = parse_measurement_target(target);
  if (!parsed_target)
    r.fail(fmt::format("target: unknown target '{}'; expected \"command\", \"pid\", "
                       "\"system-wide\" or \"cgroup\"",
                       target),
           r.find_string_field("target", target));
  m.target = *parsed_target;
  m.command = r.get<std::vector<std::string>>(doc, "command", "the document", {}, false);
  m.while_command =
      r.get<std::vector<std::string>>(doc, "while_command", "the document", {}, false);
  m.stopped_at_duration = r.get<bool>(doc, "stopped_at_duration", "the document", false, false);
  if (doc.contains("exit_status") && !doc["exit_status"].is_null())
    m.exit_status = r.get<int>(doc, "exit_status", "the document", 0, false);
  if (doc.contains("signal") && !doc["signal"].is_null())
    m.signal = r.get<std::string>(doc, "signal", "the document", "", false);
  if (doc.contains("killed_after_s") && !doc["killed_after_s"].is_null())
    m.killed_after_s = r.get<double>(doc, "killed_after_s", "the document", 0, false);
  m.start_time = r.get<std::string>(doc, "start_time", "the document", "", false);
  // null: a time the source did not give (an import of a trimmed recording).
  m.has_duration = !(doc.contains("duration_s") && doc["duration_s"].is_null());
  m.has_user = !(doc.contains("user_s") && doc["user_s"].is_null());
  m.has_sys = !(doc.contains("sys_s") && doc["sys_s"].is_null());
  if (m.has_duration) m.duration_s = r.get<double>(doc, "duration_s", "the document", 0, true);
  if (m.has_user) m.user_s = r.get<double>(doc, "user_s", "the document", 0, false);
  if (m.has_sys) m.sys_s = r.get<double>(doc, "sys_s", "the document", 0, false);
  if (m.duration_s < 0 || m.user_s < 0 || m.sys_s < 0)
    r.fail("duration_s, user_s and sys_s must be 0 or more (times)", 0);
  m.runs = r.get<int>(doc, "runs", "the document", 1, false);
  m.events = r.events(r.field(doc, "events", "the document"), "events");
  for (auto& e : m.events) complete_spread(e, m.source, m.runs);
  m.metrics = r.metrics(doc, "metrics", "the document");
  m.reported = r.metrics(doc, "reported", "the document");
  m.energy = r.energy(doc, "the document");
  if (doc.contains("intervals")) {
    const json& arr = doc["intervals"];
    if (!arr.is_array()) r.fail("intervals must be an array");
    for (size_t i = 0; i < arr.size(); ++i) {
      auto w = fmt::format("intervals[{}]", i);
      Interval iv;
      iv.time_s = r.get<double>(arr[i], "time_s", w, 0, true);
      iv.duration_s = r.get<double>(arr[i], "duration_s", w, 0, false);
      iv.partial = r.get<bool>(arr[i], "partial", w, false, false);
      iv.events = r.events(r.field(arr[i], "events", w), w + ".events");
      iv.metrics = r.metrics(arr[i], "metrics", w);
      iv.reported = r.metrics(arr[i], "reported", w);
      iv.energy = r.energy(arr[i], w);
      m.intervals.push_back(std::move(iv));
    }
  }
  m.notes = r.get<std::vector<std::string>>(doc, "notes", "the document", {}, false);
  return m;
}

std::string measurement_to_csv(const Measurement& m) {
  std::string out =
      "kind,name,pmu,value,raw,unit,time_enabled_ns,time_running_ns,status,reason,stddev,sem\n";
  for (const auto& e : m.events) out += event_csv(e) + "\n";
  for (const auto& x : m.metrics) out += metric_csv("metric", x) + "\n";
  for (const auto& x : m.reported) out += metric_csv("reported", x) + "\n";
  return out;
}

std::string interval_to_jsonl(const Interval& iv) {
  TextBuffer text;
  put_interval(text, iv, iv.metrics);
  std::string out(text.view());
  out += '\n';
  return out;
}

std::string csv_interval_header() {
  return "time_s,duration_s,kind,name,pmu,value,raw,unit,time_enabled_ns,time_running_ns,status,"
         "reason,stddev,sem\n";
}

std::string interval_to_csv(const Interval& iv) {
  std::string out;
  auto prefix = fmt::format("{},{},", number(iv.time_s), number(iv.duration_s));
  for (const auto& e : iv.events) out += prefix + event_csv(e) + "\n";
  for (const auto& x : iv.metrics) out += prefix + metric_csv("metric", x) + "\n";
  return out;
}

}  // namespace pmc
