// libFuzzer target: perf stat json import must end in a Measurement or an ImportError, nothing
// else.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "events/perfstat/import_perfstat.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  for (bool lenient : {false, true}) {
    pmc::ImportOptions options;
    options.format = pmc::PerfStatFormat::json;
    options.lenient = lenient;
    try {
      pmc::import_perf_stat(text, "fuzz", options);
    } catch (const pmc::ImportError&) {
    }
  }
  return 0;
}
