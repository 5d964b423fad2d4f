#pragma once
// A run as `compare` reads one: a measurement document (docs/formats.md), or else a perf stat
// recording in any of its forms, imported with perf stat's generic ratios derived.
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>

#include "events/document/measurement.h"

namespace pmc {

struct RunFile {
  Measurement measurement;
  // A document's optional top-level "workload" (the measurement reader does not keep it).
  std::optional<std::string> workload;
};

// "PATH:LINE: what was expected": a document that is not well-formed, or text that is neither a
// document nor a perf stat recording.
struct RunFileError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// `text` is a JSON object with a "schema": a measurement document (its nesting, duplicate keys and
// numbers checked first, docs/security.md); anything else: a perf stat recording. Throws
// RunFileError.
RunFile read_run_file(std::string_view text, const std::string& path);

}  // namespace pmc
