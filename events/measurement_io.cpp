#include "measurement_io.h"

#include <fmt/format.h>

#include <nlohmann/json.hpp>

namespace pmc {
namespace {

using json = nlohmann::ordered_json;

json event_json(const EventCount& e) {
  json j = {{"name", e.name},
            {"pmu", e.pmu},
            {"value", e.counted() ? json(e.value) : json(nullptr)},
            {"raw", e.raw},
            {"unit", e.unit},
            {"scale", e.unit_scale},
            {"time_enabled_ns", e.time_enabled_ns},
            {"time_running_ns", e.time_running_ns},
            {"status", to_string(e.status)},
            {"reason", e.reason}};
  if (e.stddev) j["stddev"] = *e.stddev;
  return j;
}

json metrics_json(const std::vector<Metric>& metrics) {
  json arr = json::array();
  for (const auto& m : metrics) arr.push_back({{"name", m.name}, {"value", m.value}, {"unit", m.unit}});
  return arr;
}

json energy_json(const std::vector<EnergyReading>& energy) {
  json arr = json::array();
  for (const auto& e : energy)
    arr.push_back({{"domain", e.domain},
                   {"joules", e.joules},
                   {"average_watts", e.average_watts},
                   {"method", e.method},
                   {"uncertainty", e.uncertainty},
                   {"scope", e.scope}});
  return arr;
}

json events_json(const std::vector<EventCount>& events) {
  json arr = json::array();
  for (const auto& e : events) arr.push_back(event_json(e));
  return arr;
}

json interval_json(const Interval& iv) {
  json j = {{"time_s", iv.time_s},
            {"duration_s", iv.duration_s},
            {"events", events_json(iv.events)},
            {"metrics", metrics_json(iv.metrics)}};
  if (!iv.reported.empty()) j["reported"] = metrics_json(iv.reported);
  if (!iv.energy.empty()) j["energy"] = energy_json(iv.energy);
  return j;
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
  json doc = {{"schema", kMeasurementSchema},
              {"source", m.source},
              {"backend", m.backend},
              {"machine",
               {{"hostname", mi.hostname},
                {"cpu_model", mi.cpu_model},
                {"vendor", mi.vendor},
                {"family", mi.family},
                {"model", mi.model},
                {"stepping", mi.stepping},
                {"pmus", mi.pmus},
                {"logical_cpus", mi.logical_cpus},
                {"kernel_release", mi.kernel_release}}},
              {"target", m.target},
              {"command", m.command},
              {"exit_status", m.exit_status ? json(*m.exit_status) : json(nullptr)},
              {"signal", m.signal ? json(*m.signal) : json(nullptr)},
              {"start_time", m.start_time},
              {"duration_s", m.duration_s},
              {"user_s", m.user_s},
              {"sys_s", m.sys_s},
              {"runs", m.runs},
              {"events", events_json(m.events)},
              {"metrics", metrics_json(m.metrics)}};
  if (!m.reported.empty()) doc["reported"] = metrics_json(m.reported);
  doc["energy"] = energy_json(m.energy);
  json intervals = json::array();
  for (const auto& iv : m.intervals) intervals.push_back(interval_json(iv));
  doc["intervals"] = std::move(intervals);
  doc["notes"] = m.notes;
  return doc.dump(2) + "\n";
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

std::string interval_to_jsonl(const Interval& iv) { return interval_json(iv).dump() + "\n"; }

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
