// libFuzzer target: perf stat csv import must end in a Measurement or an ImportError, nothing else,
// and reading the input cut into parts on several threads must give what one thread gives: the
// same document, skipped lines or error.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "import_perfstat.h"
#include "measurement_io.h"

namespace {

// The document and skipped lines, or the error.
std::string outcome(std::string_view text, bool lenient, unsigned threads) {
  pmc::ImportOptions options;
  options.format = pmc::PerfStatFormat::csv;
  options.lenient = lenient;
  options.threads = threads;
  options.min_part_bytes = 64;  // fuzz inputs are small: cut them anyway
  try {
    auto r = pmc::import_perf_stat(text, "fuzz", options);
    std::string out = pmc::measurement_to_json(r.measurement);
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
    if (outcome(text, lenient, 1) != outcome(text, lenient, 3)) std::abort();
  }
  return 0;
}
