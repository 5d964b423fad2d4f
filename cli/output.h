#pragma once
// Writing results: atomic files, the human table, interval streams.
#include <cstdio>
#include <functional>
#include <string>
#include <string_view>

#include "events/document/measurement.h"

namespace pmc::cli {

// Writes `content` to a temp file beside `path` and renames it over `path`, so a reader never
// sees a partial file; "-" writes to stdout. Throws std::runtime_error naming the path.
void write_file_atomically(const std::string& path, std::string_view content);
// The same for content made in pieces: `produce` is called once with a function that appends a
// piece to the file, so a large document is written as it is formatted instead of held whole.
using FileAppender = std::function<void(std::string_view)>;
void write_file_atomically(const std::string& path,
                           const std::function<void(const FileAppender&)>& produce);

// The perf-stat-like table: count, unit, event, derived metric, running % when multiplexed,
// then elapsed/user/sys seconds, then what could not be counted and why, then notes.
std::string format_table(const Measurement& m);

// One interval as table rows prefixed by the timestamp (the -I stream on stderr).
std::string format_interval_rows(const Interval& iv);

// "1,234,567" for integers; for fractional values 2 decimals.
std::string group_thousands(double value);

}  // namespace pmc::cli
