#include "events/document/measurement_io.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <memory>
#include <optional>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "events/document/json_writer.h"
#include "events/document/measurement_fields.h"
#include "events/text/json_guard.h"
#include "events/text/ordered_parallel.h"

namespace pmc {
namespace {

using namespace fields;

// One interval on one line, with `metrics` written as its metrics.
void put_interval(TextBuffer& out, const Interval& iv, const std::vector<Metric>& metrics) {
  put_record<kIntervalFields>(out, iv, WriteContext{&metrics});
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
                     e.spread->stddev ? number(*e.spread->stddev) : "",
                     e.spread->sem ? number(*e.spread->sem) : "");
}

// A NaN value is written "nan", as perf prints it, with its reason in the reason column.
std::string metric_csv(const char* kind, const Metric& m) {
  return fmt::format("{},{},,{},,{},,,,{},,", kind, csv_field(m.name), number(m.value),
                     csv_field(m.unit), csv_field(m.note->reason.value_or("")));
}

// An energy[] entry, so that a CSV reader sees what measured or estimated each figure: the domain
// in `name`, the method in `pmu`, the joules in `value`, the scope in `status` and the relative
// uncertainty (0.3 = ±30 %) in `reason`, empty when 0.
std::string energy_csv(const EnergyReading& e) {
  return fmt::format("energy,{},{},{},,J,,,{},{},,", csv_field(e.domain), csv_field(e.method),
                     number(e.joules), to_string(e.scope),
                     e.uncertainty > 0 ? number(e.uncertainty) : "");
}

// Documents written before "sem" existed held one spread in "stddev": measure's was the runs'
// sample standard deviation, an import's perf's "+-", the standard error of the mean. Each is
// given both, as a new document has them.
void complete_spread(EventCount& e, std::string_view source, int runs) {
  if (!e.spread->stddev || e.spread->sem) return;
  RunSpread& spread = e.spread.set();
  double n = runs > 1 ? double(runs) : 0;
  if (source == "perf-stat") {
    spread.sem = spread.stddev;
    spread.stddev.reset();
    if (n > 0) spread.stddev = *spread.sem * std::sqrt(n);
  } else if (n > 0) {
    spread.sem = *spread.stddev / std::sqrt(n);
  }
}

// The text as a JSON object. Nesting, duplicate keys and numbers outside a double are refused
// before the parser sees them (docs/security.md).
json parse_document(const Reader& in) {
  if (auto problem = find_json_problem(in.text))
    throw FormatError(fmt::format("{}:{}: {}", in.file, problem->line, problem->what));
  json doc;
  try {
    doc = json::parse(in.text.begin(), in.text.end());
  } catch (const json::parse_error& e) {
    in.fail(std::string("expected a JSON measurement document: ") + e.what(),
            e.byte > 0 ? e.byte - 1 : 0);
  }
  if (!doc.is_object())
    in.fail("expected a JSON object with \"schema\": \"pmcmodel.measurement/1\"", 0);
  return doc;
}

void check_times(const Reader& in, const Measurement& m) {
  for (auto [key, value] : {std::pair{"duration_s", m.duration_s}, std::pair{"user_s", m.user_s},
                            std::pair{"sys_s", m.sys_s}})
    if (value < 0)
      in.fail_at("the document", key,
                 fmt::format("{} {} is negative: duration_s, user_s and sys_s must be 0 or more "
                             "(times)",
                             key, value));
}

// What the field tables cannot say alone: a run count is 1 or more (a document of 0 runs has
// nothing in it to average), and a counted event has a count (null is written only for one that
// was not counted; read as 0, it would be shown as a count of 0).
void check_counts(const Reader& in, const json& doc, const Measurement& m) {
  if (m.runs < 1)
    in.fail_at("the document", "runs",
               fmt::format("runs {} is not a number of runs; expected 1 or more", m.runs));
  auto check_events = [&](const json& events, const std::vector<EventCount>& read,
                          const std::string& where) {
    for (size_t i = 0; i < read.size() && i < events.size(); ++i)
      if (read[i].counted() && events[i].is_object() &&
          (!events[i].contains("value") || events[i]["value"].is_null()))
        in.fail_at(fmt::format("{}[{}]", where, i), "value",
                   fmt::format("{}[{}] ({}): status is counted but value is null; expected "
                               "the count, or a status that says why there is none",
                               where, i, read[i].name));
  };
  if (doc.contains("events")) check_events(doc["events"], m.events, "events");
  if (doc.contains("intervals") && doc["intervals"].is_array())
    for (size_t i = 0; i < m.intervals.size() && i < doc["intervals"].size(); ++i) {
      const json& iv = doc["intervals"][i];
      if (iv.is_object() && iv.contains("events"))
        check_events(iv["events"], m.intervals[i].events, fmt::format("intervals[{}].events", i));
    }
}

// Everything before the intervals, with the "intervals" key written and its array opened (on
// lines of its own when there are intervals).
void write_head(JsonWriter& w, const Measurement& m, bool multiline_intervals) {
  w.begin_object(true);
  write_fields<kDocumentFields, 0, kIntervalsField>(w, m, {});
  w.key(std::get<kIntervalsField>(kDocumentFields).key.name);
  w.begin_array(multiline_intervals);
}

// The intervals' array closed, then the fields that follow it.
void write_tail(JsonWriter& w, const Measurement& m) {
  w.end_array();
  write_fields<kDocumentFields, kIntervalsField + 1>(w, m, {});
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

// `before_tail`: options.before_tail on the document, which the caller holds as non-const.
void write_document(const Measurement& m, const JsonSink& sink, const JsonWriteOptions& options,
                    std::vector<Interval>* release, const std::function<void()>& before_tail = {}) {
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
  if (before_tail) before_tail();
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
  std::function<void()> before_tail;
  if (options.before_tail) before_tail = [&] { options.before_tail(m); };
  write_document(m, sink, options, options.release_written ? &m.intervals : nullptr, before_tail);
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
  bool flushed = false;
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
  if (st.flushed) throw std::logic_error("StreamedDocumentWriter::add_batch after flush");
  ++st.next;
  try {
    st.work->submit([&](State::Batch& batch) { batch.intervals = std::move(intervals); });
  } catch (...) {
    st.failed = true;
    throw;
  }
}

void StreamedDocumentWriter::flush() {
  State& st = *state_;
  if (st.failed) throw std::logic_error("StreamedDocumentWriter::flush after a failed write");
  st.flushed = true;
  try {
    st.work->finish();
  } catch (...) {
    st.failed = true;
    throw;
  }
}

void StreamedDocumentWriter::finish(const Measurement& m) {
  flush();
  State& st = *state_;
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
  Reader in{file_name, text};
  json doc = parse_document(in);
  Measurement m;
  read_record<kDocumentFields>(in, doc, "the document", m);
  check_times(in, m);
  check_counts(in, doc, m);
  for (auto& e : m.events) complete_spread(e, m.source, m.runs);
  if (m.interval_step_s)
    for (auto& iv : m.intervals) iv.period_s = m.interval_step_s;
  return m;
}

std::string measurement_to_csv(const Measurement& m) {
  std::string out =
      "kind,name,pmu,value,raw,unit,time_enabled_ns,time_running_ns,status,reason,stddev,sem\n";
  for (const auto& e : m.events) out += event_csv(e) + "\n";
  for (const auto& x : m.metrics) out += metric_csv("metric", x) + "\n";
  for (const auto& x : m.reported) out += metric_csv("reported", x) + "\n";
  for (const auto& e : m.energy) out += energy_csv(e) + "\n";
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
  for (const auto& e : iv.energy) out += prefix + energy_csv(e) + "\n";
  return out;
}

}  // namespace pmc
