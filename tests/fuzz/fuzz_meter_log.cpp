// libFuzzer target: the power meter log reader (measure --power-from) ends in a MeterLog or one
// std::runtime_error "FILE:LINE: what was expected"; timestamps alone never crash either.
#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string_view>

#include "engine/power/external_meter.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  try {
    (void)pmc::parse_meter_csv(text, "fuzz");
  } catch (const std::runtime_error&) {
  }
  bool zone = false;
  (void)pmc::parse_timestamp(text.substr(0, 64), &zone);
  (void)pmc::parse_ipmi_power_reading(text);
  return 0;
}
