// libFuzzer target: the SKU and grid catalog readers (compare, measure --region) end in a table
// or one std::runtime_error "FILE:LINE: what was expected"; the input is tried as both.
#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string_view>

#include "models/fleet/grid.h"
#include "models/fleet/sku_catalog.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  try {
    auto skus = pmc::SkuCatalog::parse(text, "fuzz-skus");
    for (const auto& s : skus.skus()) (void)skus.match_cpu_model(s.cpu_model);
  } catch (const std::runtime_error&) {
  }
  try {
    auto grid = pmc::GridTable::parse(text, "fuzz-grid");
    for (const auto& e : grid.entries()) (void)grid.g_per_kwh(e.region);
  } catch (const std::runtime_error&) {
  }
  (void)pmc::cpu_model_key(text.substr(0, 256));
  return 0;
}
