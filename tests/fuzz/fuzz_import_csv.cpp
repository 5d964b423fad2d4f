// libFuzzer target: perf stat csv import must end in a Measurement or an ImportError, nothing else,
// and reading the input cut into parts on several threads, and streaming its intervals part by
// part into the JSON writer, must give what one thread reading it whole gives: the same document,
// skipped lines or error.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "events/document/measurement_io.h"
#include "events/perfstat/import_perfstat.h"

namespace {

// The document and skipped lines, or the error; `streamed`: as `pmcmodel import FILE --json OUT`
// writes it, the intervals handed on part by part while the input is read.
std::string outcome(std::string_view text, bool lenient, unsigned threads, bool streamed = false) {
  pmc::ImportOptions options;
  options.format = pmc::PerfStatFormat::csv;
  options.lenient = lenient;
  options.threads = threads;
  options.min_part_bytes = 64;  // fuzz inputs are small: cut them anyway
  try {
    std::string out;
    pmc::ImportResult r;
    if (streamed) {
      pmc::StreamedDocumentWriter writer(
          pmc::perf_stat_streamed_head(text), [&](std::string_view piece) { out.append(piece); },
          {}, threads);
      r = pmc::import_perf_stat_streamed(text, "fuzz", options,
                                         [&](size_t batch, std::vector<pmc::Interval>&& intervals) {
                                           writer.add_batch(batch, std::move(intervals));
                                         });
      writer.finish(r.measurement);
    } else {
      r = pmc::import_perf_stat(text, "fuzz", options);
      out = pmc::measurement_to_json(r.measurement);
    }
    for (const auto& s : r.skipped) out += s + "\n";
    return out;
  } catch (const pmc::ImportError& e) {
    return std::string("error: ") + e.what();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  for (bool lenient : {false, true}) {
    std::string one = outcome(text, lenient, 1);
    if (one != outcome(text, lenient, 3)) std::abort();
    if (one != outcome(text, lenient, 1, true)) std::abort();
    if (one != outcome(text, lenient, 3, true)) std::abort();
  }
  return 0;
}
