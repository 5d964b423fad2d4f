#pragma once
// When no catalog SKU has this machine's CPU (a VM reports "AMD EPYC" with no model number), the
// SKUs that come closest by name and size, so that the user can pick one for --sku.
#include <string>
#include <string_view>
#include <vector>

#include "models/fleet/sku_catalog.h"

namespace pmc {

// Up to `count` SKUs, best first: those sharing most words of `cpu_model` (case-insensitive,
// trademarks and clock figures ignored) and, among equals, whose thread count is nearest
// `logical_cpus` (by ratio, so 2 vCPUs are nearer 4 threads than 64). One SKU per CPU model and
// thread count; none when no word is shared.
std::vector<const Sku*> closest_skus(const SkuCatalog& catalog, std::string_view cpu_model,
                                     int logical_cpus, size_t count = 3);

// "aws-m5a.large (AMD EPYC 7571, 2 threads), …" for a note.
std::string describe_skus(const std::vector<const Sku*>& skus);

}  // namespace pmc
