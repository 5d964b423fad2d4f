#pragma once
// The measurement document as JSON ("pmcmodel.measurement/1") and CSV, and interval records as
// JSON Lines / CSV rows. Formats are documented in docs/formats.md.
#include <functional>
#include <stdexcept>
#include <string>
#include <string_view>

#include "measurement.h"

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
// Throws FormatError "FILE:LINE: what was expected".
Measurement measurement_from_json(std::string_view text, std::string_view file_name);

// One row per event and per metric: kind,name,pmu,value,raw,unit,time_enabled_ns,
// time_running_ns,status,reason,stddev (kind = event | metric | reported).
std::string measurement_to_csv(const Measurement& m);

// Interval streaming: one JSON object per line, or CSV rows under csv_interval_header().
std::string interval_to_jsonl(const Interval& iv);
std::string csv_interval_header();
std::string interval_to_csv(const Interval& iv);

}  // namespace pmc
