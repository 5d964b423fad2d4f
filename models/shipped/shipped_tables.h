#pragma once
// The shipped tables as the build parsed them. data/skus.csv (1,024 rows) and data/cpu_facts.csv
// (2,784 rows) are read at every `measure` start on a machine without RAPL, and parsing them was
// most of its start-up. The build parses both with the same readers (models/shipped/generate) and
// compiles the rows and the files' bytes in; at run time a file whose bytes are exactly those is
// not parsed again, and any other file (edited, another version) is parsed and checked as usual.
#include <filesystem>
#include <string_view>

#include "models/fleet/sku_catalog.h"
#include "models/fleet/sku_curve.h"

namespace pmc {

// As SkuCatalog::load / CpuFactsTable::load, with the same errors.
CpuFactsTable load_cpu_facts(const std::filesystem::path& file);
// And rows that publish no power curve given the sku-curve model's (with_model_curves), from
// sku_curve.json and cpu_facts.csv of `model_dir` (empty: the file's directory), read only when
// such a row is there. Throws std::runtime_error "FILE: why" when they cannot be read or a row
// cannot be estimated.
SkuCatalog load_sku_catalog(const std::filesystem::path& file,
                            const std::filesystem::path& model_dir = {});

// Whether `text` is byte for byte the data/skus.csv / data/cpu_facts.csv the build parsed.
bool is_shipped_sku_catalog(std::string_view text);
bool is_shipped_cpu_facts(std::string_view text);

}  // namespace pmc
