#include "measurement_io.h"

#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include "json_writer.h"

namespace pmc {
namespace {

using json = nlohmann::ordered_json;

void write_event(JsonWriter& w, const EventCount& e) {
  w.begin_object();
  w.field("name", e.name);
  w.field("pmu", e.pmu);
  if (e.counted())
    w.field("value", e.value);
  else
    w.field_null("value");
  w.field("raw", e.raw);
  w.field("unit", e.unit);
  w.field("scale", e.unit_scale);
  w.field("time_enabled_ns", e.time_enabled_ns);
  w.field("time_running_ns", e.time_running_ns);
  w.field("status", to_string(e.status));
  w.field("reason", e.reason);
  if (e.stddev) w.field("stddev", *e.stddev);
  w.end_object();
}

void write_events(JsonWriter& w, std::string_view key, const std::vector<EventCount>& events,
                  bool multiline) {
  w.key(key);
  w.begin_array(multiline && !events.empty());
  for (const auto& e : events) write_event(w, e);
  w.end_array();
}

void write_metrics(JsonWriter& w, std::string_view key, const std::vector<Metric>& metrics,
                   bool multiline) {
  w.key(key);
  w.begin_array(multiline && !metrics.empty());
  for (const auto& m : metrics) {
    w.begin_object();
    w.field("name", m.name);
    w.field("value", m.value);
    w.field("unit", m.unit);
    w.end_object();
  }
  w.end_array();
}

void write_energy(JsonWriter& w, const std::vector<EnergyReading>& energy, bool multiline) {
  w.key("energy");
  w.begin_array(multiline && !energy.empty());
  for (const auto& e : energy) {
    w.begin_object();
    w.field("domain", e.domain);
    w.field("joules", e.joules);
    w.field("average_watts", e.average_watts);
    w.field("method", e.method);
    w.field("uncertainty", e.uncertainty);
    w.field("scope", e.scope);
    w.end_object();
  }
  w.end_array();
}

// One interval on one line: a long -I recording stays a file of one line per interval.
void write_interval(JsonWriter& w, const Interval& iv) {
  w.begin_object();
  w.field("time_s", iv.time_s);
  w.field("duration_s", iv.duration_s);
  write_events(w, "events", iv.events, false);
  write_metrics(w, "metrics", iv.metrics, false);
  if (!iv.reported.empty()) write_metrics(w, "reported", iv.reported, false);
  if (!iv.energy.empty()) write_energy(w, iv.energy, false);
  w.end_object();
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

std::string number(double v) { return fmt::format("{}", v); }

std::string event_csv(const EventCount& e) {
  return fmt::format("event,{},{},{},{},{},{},{},{},{},{}", csv_field(e.name), csv_field(e.pmu),
                     e.counted() ? number(e.value) : "", e.raw, csv_field(e.unit),
                     e.time_enabled_ns, e.time_running_ns, to_string(e.status),
                     csv_field(e.reason), e.stddev ? number(*e.stddev) : "");
}

std::string metric_csv(const char* kind, const Metric& m) {
  return fmt::format("{},{},,{},,{},,,,,", kind, csv_field(m.name), number(m.value),
                     csv_field(m.unit));
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

  const json& field(const json& obj, const char* key, const std::string& where) const {
    if (!obj.is_object() || !obj.contains(key)) fail("expected field '" + std::string(key) + "' in " + where);
    return obj.at(key);
  }
  template <class T>
  T get(const json& obj, const char* key, const std::string& where, T fallback, bool required) const {
    if (!obj.is_object() || !obj.contains(key) || obj.at(key).is_null()) {
      if (required) fail("expected field '" + std::string(key) + "' in " + where);
      return fallback;
    }
    try {
      return obj.at(key).get<T>();
    } catch (const json::exception&) {
      fail("field '" + std::string(key) + "' in " + where + " has the wrong type");
    }
  }

  EventCount event(const json& j, const std::string& where) const {
    EventCount e;
    e.name = get<std::string>(j, "name", where, "", true);
    e.pmu = get<std::string>(j, "pmu", where, "", false);
    e.value = get<double>(j, "value", where, 0, false);
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
    if (j.contains("stddev") && !j["stddev"].is_null()) e.stddev = get<double>(j, "stddev", where, 0, false);
    return e;
  }

  std::vector<EventCount> events(const json& arr, const std::string& where) const {
    if (!arr.is_array()) fail(where + " must be an array");
    std::vector<EventCount> out;
    for (size_t i = 0; i < arr.size(); ++i) out.push_back(event(arr[i], fmt::format("{}[{}]", where, i)));
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
      e.average_watts = get<double>(arr[i], "average_watts", w, 0, false);
      e.method = get<std::string>(arr[i], "method", w, "", true);
      e.uncertainty = get<double>(arr[i], "uncertainty", w, 0, false);
      e.scope = get<std::string>(arr[i], "scope", w, "machine", false);
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
      out.push_back({get<std::string>(arr[i], "name", w, "", true), get<double>(arr[i], "value", w, 0, true),
                     get<std::string>(arr[i], "unit", w, "", false)});
    }
    return out;
  }
};

}  // namespace

const char* to_string(EventStatus status) {
  switch (status) {
    case EventStatus::counted: return "counted";
    case EventStatus::not_supported: return "not_supported";
    case EventStatus::permission_denied: return "permission_denied";
    case EventStatus::not_counted: return "not_counted";
  }
  return "not_counted";
}

std::optional<EventStatus> parse_event_status(std::string_view text) {
  for (auto s : {EventStatus::counted, EventStatus::not_supported, EventStatus::permission_denied,
                 EventStatus::not_counted})
    if (text == to_string(s)) return s;
  return std::nullopt;
}

std::string measurement_to_json(const Measurement& m) {
  const auto& mi = m.machine;
  JsonWriter w;
  // About 300 bytes per event written, with its share of the reported metrics (measured on perf stat -I recordings), so a long recording
  // is not copied as the buffer grows.
  size_t events = m.events.size();
  for (const auto& iv : m.intervals) events += iv.events.size() + iv.metrics.size() / 2;
  w.reserve(4096 + 320 * events);
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
  w.end_object();
  w.field("target", m.target);
  w.string_array("command", m.command);
  if (m.exit_status)
    w.field("exit_status", *m.exit_status);
  else
    w.field_null("exit_status");
  if (m.signal)
    w.field("signal", *m.signal);
  else
    w.field_null("signal");
  w.field("start_time", m.start_time);
  w.field("duration_s", m.duration_s);
  w.field("user_s", m.user_s);
  w.field("sys_s", m.sys_s);
  w.field("runs", m.runs);
  write_events(w, "events", m.events, true);
  write_metrics(w, "metrics", m.metrics, true);
  if (!m.reported.empty()) write_metrics(w, "reported", m.reported, true);
  write_energy(w, m.energy, true);
  w.key("intervals");
  w.begin_array(!m.intervals.empty());
  for (const auto& iv : m.intervals) write_interval(w, iv);
  w.end_array();
  w.string_array("notes", m.notes);
  w.end_object();
  std::string out = w.take();
  out += '\n';
  return out;
}

Measurement measurement_from_json(std::string_view text, std::string_view file_name) {
  Reader r{file_name, text};
  json doc;
  try {
    doc = json::parse(text.begin(), text.end());
  } catch (const json::parse_error& e) {
    r.fail(std::string("expected a JSON measurement document: ") + e.what(), e.byte > 0 ? e.byte - 1 : 0);
  }
  if (!doc.is_object()) r.fail("expected a JSON object with \"schema\": \"pmcmodel.measurement/1\"", 0);
  auto schema = r.get<std::string>(doc, "schema", "the document", "", true);
  if (schema != kMeasurementSchema)
    r.fail("expected schema \"" + std::string(kMeasurementSchema) + "\", found \"" + schema + "\"", 0);
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
  }
  m.target = r.get<std::string>(doc, "target", "the document", "command", false);
  m.command = r.get<std::vector<std::string>>(doc, "command", "the document", {}, false);
  if (doc.contains("exit_status") && !doc["exit_status"].is_null())
    m.exit_status = r.get<int>(doc, "exit_status", "the document", 0, false);
  if (doc.contains("signal") && !doc["signal"].is_null())
    m.signal = r.get<std::string>(doc, "signal", "the document", "", false);
  m.start_time = r.get<std::string>(doc, "start_time", "the document", "", false);
  m.duration_s = r.get<double>(doc, "duration_s", "the document", 0, true);
  m.user_s = r.get<double>(doc, "user_s", "the document", 0, false);
  m.sys_s = r.get<double>(doc, "sys_s", "the document", 0, false);
  m.runs = r.get<int>(doc, "runs", "the document", 1, false);
  m.events = r.events(r.field(doc, "events", "the document"), "events");
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
      "kind,name,pmu,value,raw,unit,time_enabled_ns,time_running_ns,status,reason,stddev\n";
  for (const auto& e : m.events) out += event_csv(e) + "\n";
  for (const auto& x : m.metrics) out += metric_csv("metric", x) + "\n";
  for (const auto& x : m.reported) out += metric_csv("reported", x) + "\n";
  return out;
}

std::string interval_to_jsonl(const Interval& iv) {
  JsonWriter w;
  write_interval(w, iv);
  std::string out = w.take();
  out += '\n';
  return out;
}

std::string csv_interval_header() {
  return "time_s,duration_s,kind,name,pmu,value,raw,unit,time_enabled_ns,time_running_ns,status,"
         "reason,stddev\n";
}

std::string interval_to_csv(const Interval& iv) {
  std::string out;
  auto prefix = fmt::format("{},{},", number(iv.time_s), number(iv.duration_s));
  for (const auto& e : iv.events) out += prefix + event_csv(e) + "\n";
  for (const auto& x : iv.metrics) out += prefix + metric_csv("metric", x) + "\n";
  return out;
}

}  // namespace pmc
