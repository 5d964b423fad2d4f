// libFuzzer target: the dataset CSV reader (fit, predict) ends in a Dataset or one
// std::runtime_error "FILE:LINE: what was expected", with and without a text column.
#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string_view>

#include "models/fit/dataset.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  pmc::CsvOptions with_labels;
  with_labels.string_columns = {"workload"};
  const pmc::CsvOptions* none = nullptr;
  for (const pmc::CsvOptions* options : {static_cast<const pmc::CsvOptions*>(&with_labels), none}) {
    try {
      auto d = options ? pmc::Dataset::parse_csv(text, "fuzz", *options)
                       : pmc::Dataset::parse_csv(text, "fuzz");
      for (const auto& name : d.names()) (void)d.column(name);
      if (d.rows() > 0) (void)d.where(d.rows() - 1);
    } catch (const std::runtime_error&) {
    }
  }
  return 0;
}
