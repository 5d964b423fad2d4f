// libFuzzer target: the SKU, grid, CPU facts and CPU generation readers (compare, measure
// --region, sku-curve, a masked VM's identification) end in a table or one std::runtime_error
// "FILE:LINE: what was expected"; the input is tried as each, and as a /proc/cpuinfo (which
// never throws), identified against whatever tables it parsed as.
#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string_view>

#include "models/fleet/cpu_identity.h"
#include "models/fleet/grid.h"
#include "models/fleet/sku_catalog.h"
#include "models/fleet/sku_curve.h"

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
  pmc::CpuFactsTable facts;
  try {
    facts = pmc::CpuFactsTable::parse(text, "fuzz-facts");
    for (const auto& f : facts.all()) (void)facts.find(f.name);
  } catch (const std::runtime_error&) {
  }
  pmc::CpuGenerationTable generations;
  try {
    generations = pmc::CpuGenerationTable::parse(text, "fuzz-generations");
  } catch (const std::runtime_error&) {
  }
  pmc::CpuInfo cpu = pmc::parse_cpuinfo(text);
  (void)pmc::max_turbo_ghz(cpu);
  (void)pmc::identify_cpu(cpu, generations, facts, nullptr);
  (void)pmc::cpu_model_key(text.substr(0, 256));
  return 0;
}
