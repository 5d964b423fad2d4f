#pragma once
// The measurement document as JSON ("pmcmodel.measurement/1") and CSV, and interval records as
// JSON Lines / CSV rows. Formats are documented in docs/formats.md.
#include <functional>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "events/document/measurement.h"

namespace pmc {

struct FormatError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

std::string measurement_to_json(const Measurement& m);

// The same document in pieces, in order, to `sink` (the head, then about a megabyte of intervals
// at a time, then the tail): a long recording's 400 MB of text is never held at once. With
// `threads` > 1 that many threads format the intervals while the calling thread hands the pieces
// to the sink; the bytes are the same for any number of threads. What the sink throws is
// rethrown once the threads have stopped.
using JsonSink = std::function<void(std::string_view)>;
void write_measurement_json(const Measurement& m, const JsonSink& sink, unsigned threads = 1);

// Works out an interval's metrics as it is written, in place of Interval::metrics. Each thread
// that formats intervals makes its own with the factory and calls it on its intervals in order.
using IntervalMetricsFn = std::function<void(const Interval&, std::vector<Metric>&)>;
using IntervalMetricsFactory = std::function<IntervalMetricsFn()>;

struct JsonWriteOptions {
  unsigned threads = 1;
  // When set, the intervals' metrics come from it (the import of a long recording evaluates them
  // on the threads that format them, with no pass of its own and nothing kept).
  IntervalMetricsFactory interval_metrics;
  // Frees each interval's lists once it is written, on the thread that wrote it.
  bool release_written = false;
  // Called on the document once every interval is written, before the fields that follow them
  // (notes among them): the import adds what interval_metrics found in the intervals.
  std::function<void(Measurement&)> before_tail;
};
// The same bytes as write_measurement_json of `m` with its intervals' metrics set. `m`'s
// intervals are left empty when release_written is set.
void write_measurement_json(Measurement& m, const JsonSink& sink, const JsonWriteOptions& options);
// A document written while its intervals are still being read (the import of a long -I
// recording): batches of intervals, given in order on one thread, are formatted on `threads`
// threads, at most 2 per thread at once, and reach the sink in order on the thread that gives
// them (in add_batch() or finish()); the run's figures follow the last (docs/formats.md). The
// bytes are write_measurement_json's of the whole document. What the sink or a formatting thread
// throws reaches the add_batch() or finish() call that was writing once the threads have
// stopped; after that the writer writes nothing more.
class StreamedDocumentWriter {
 public:
  // `head` gives the fields before intervals[] (schema to start_time); `metrics` the intervals'
  // metrics (empty: each interval's own).
  StreamedDocumentWriter(const Measurement& head, JsonSink sink, IntervalMetricsFactory metrics,
                         unsigned threads = 1);
  ~StreamedDocumentWriter();
  StreamedDocumentWriter(const StreamedDocumentWriter&) = delete;
  StreamedDocumentWriter& operator=(const StreamedDocumentWriter&) = delete;
  // Batch `index` (0, 1, 2…, in order: std::logic_error otherwise); its intervals are freed once
  // formatted.
  void add_batch(size_t index, std::vector<Interval>&& intervals);
  // Formats and writes every batch given so far, and stops the formatting threads: what their
  // metric functions gathered is then complete, for notes given to finish(). No batch may be
  // given after it (std::logic_error).
  void flush();
  // After the last batch, with `m` holding the run's figures and notes (its head fields must be
  // the ones given at construction, and it has no intervals: std::logic_error otherwise). When
  // no interval was given, this writes `m` whole, its own intervals included.
  void finish(const Measurement& m);

 private:
  struct State;
  std::unique_ptr<State> state_;
};

// A document whose intervals were formatted while the run went on and kept out of memory
// (measure -I): append_interval_element() formats one as an element of the document's
// multiline "intervals" array (',' first unless `first`); write_measurement_json_with_elements()
// writes `m`'s head and tail (m holds no intervals) around `count` elements that `elements` hands
// to the sink in order. The bytes are write_measurement_json's of the document with the
// intervals in it.
void append_interval_element(std::string& out, const Interval& iv, bool first);
void write_measurement_json_with_elements(const Measurement& m, size_t count,
                                          const std::function<void(const JsonSink&)>& elements,
                                          const JsonSink& sink);

// Throws FormatError "FILE:LINE: what was expected".
Measurement measurement_from_json(std::string_view text, std::string_view file_name);

// One row per event, per metric and per energy entry: kind,name,pmu,value,raw,unit,
// time_enabled_ns,time_running_ns,status,reason,stddev,sem (kind = event | metric | reported |
// energy; an energy row holds domain, method, joules, J, scope and uncertainty).
std::string measurement_to_csv(const Measurement& m);

// Interval streaming: one JSON object per line, or CSV rows under csv_interval_header().
std::string interval_to_jsonl(const Interval& iv);
std::string csv_interval_header();
std::string interval_to_csv(const Interval& iv);

}  // namespace pmc
