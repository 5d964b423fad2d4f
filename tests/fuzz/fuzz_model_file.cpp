// libFuzzer target: the model-file reader (predict, measure --model) ends in a Model or one
// std::runtime_error "FILE:LINE: what was expected", nothing else.
#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string_view>

#include "models/fit/model_file.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  try {
    (void)pmc::model_from_json(text, "fuzz");
  } catch (const std::runtime_error&) {
  }
  return 0;
}
