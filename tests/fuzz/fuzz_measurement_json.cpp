// libFuzzer target: the measurement-document reader (report, compare, predict) ends in a
// Measurement or a FormatError, nothing else; a document it accepts is written back and read
// again to the same event and interval counts.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "events/document/measurement_io.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  pmc::Measurement m;
  try {
    m = pmc::measurement_from_json(text, "fuzz");
  } catch (const pmc::FormatError&) {
    return 0;
  }
  auto again = pmc::measurement_from_json(pmc::measurement_to_json(m), "fuzz-rewritten");
  if (again.events.size() != m.events.size() || again.intervals.size() != m.intervals.size())
    std::abort();
  (void)pmc::measurement_to_csv(m);
  return 0;
}
