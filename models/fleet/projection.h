#pragma once
// Projected mode (`pmcmodel compare --skus CATALOG RUN.json…`): the runtime, power, energy, cost
// and CO2 of a measured workload on SKUs that were not measured. docs/recommendations.md gives the
// model and its uncertainties.
//
// Runtime from the CPI stack: T' = T × over × ((1 − m) × f / f' + m × b / b'), where m is the
// memory-stall fraction of the run's cycles (tma_memory_bound, else tma_backend_bound, else
// stalled-cycles-backend / cycles), f the core clock, b the memory bandwidth per core, and
// over = max(1, p / threads') when the run kept more CPUs (p) busy than the SKU has. Without a
// stall fraction (a VM run with software events only) the whole runtime scales as the compute
// part (freq-cores). An input missing on either side leaves its ratio at 1 and widens the range.
// Power: the SKU's load curve at utilisation min(1, p / threads').
//
// Every figure is computed from precomputed per-run and per-SKU factors, so a run × SKU cell is a
// handful of arithmetic operations and no allocation.
#include <array>
#include <cmath>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "models/fleet/comparison.h"
#include "models/fleet/sku_catalog.h"

namespace pmc {

// Inputs a projection had to do without (a bit set; describe_missing() names them).
enum MissingInput : uint32_t {
  kMissingStallFraction = 1u << 0,  // no top-down or backend-stall counters: freq-cores method
  kMissingSourceFrequency = 1u << 1,
  kMissingTargetFrequency = 1u << 2,
  kMissingSourceBandwidth = 1u << 3,
  kMissingTargetBandwidth = 1u << 4,
  kMissingParallelism = 1u << 5,  // no task-clock: 1 busy CPU assumed
  kMissingPrice = 1u << 6,
  kMissingMemoryBoundSplit = 1u << 7,  // tma_backend_bound stood in for tma_memory_bound
  // Not missing but guessed: the source's clock (and bandwidth) are those of the host CPU
  // identified behind a masked CPU model (RunProfile::host_cpu); projected_row says which.
  kSourceFromIdentifiedHost = 1u << 8,
};
std::vector<std::string> describe_missing(uint32_t mask, const std::string& source,
                                          const std::string& sku);

// Relative half-widths of the projection (heuristics, documented in docs/recommendations.md).
struct ProjectionUncertainty {
  double cpi_stack = 0.15;          // base, CPI-stack method
  double freq_cores = 0.40;         // base, frequency/cores fallback
  double missing_frequency = 0.25;  // a clock unknown on either side
  // × (1 − m) for the clock, × m for the bandwidth per core, taken from the host CPU identified
  // behind a masked CPU model: a guess unless the identification's confidence is high (the same
  // step the host's power curve takes)
  double identified_host = 0.10;
  double missing_bandwidth = 0.25;  // × m: the memory part left unscaled
  double missing_parallelism = 0.10;
  double backend_for_memory = 0.10;  // × m: backend bound used as the memory-stall fraction
  double power_curve = 0.15;         // the SKU's published curve at the projected load
};

struct RunFactors {
  double duration_s = 0;
  double memory_fraction = 0;   // m
  double ghz = 0;               // f; 0 = unknown
  double bw_per_core_gbs = 0;   // b; 0 = unknown
  double busy_cpus = 1;         // p
  double base_uncertainty = 0;  // the run's own spread plus its missing inputs' share
  uint32_t missing = 0;
  bool cpi_stack = false;
  std::string source_sku;  // the catalog row the source frequency/bandwidth came from
  double host_ghz = 0;     // the clock taken from the identified host CPU, when it was
};

struct SkuFactors {
  double ghz = 0;              // turbo, else base; 0 = unknown
  double bw_per_core_gbs = 0;  // 0 = unknown
  double threads = 1;
  double usd_per_s = NAN;  // NaN without a price
  std::array<double, kPowerCurvePoints> watts{};
  // A curve the sku-curve model gave (no published one): its held-out relative half-width at
  // each load point, which stands for ProjectionUncertainty::power_curve.
  std::optional<std::array<double, kPowerCurvePoints>> modelled_uncertainty;
  uint32_t missing = 0;
};

// Memory bandwidth per core of a SKU: mem_bw_gbs is per package, so it is divided by the cores
// of one package, known for whole servers (cores / sockets) and, for cloud instances, from a
// server row of the same CPU in the catalog. 0 when unknown.
// cpu_model_key → cores of one package, from the catalog's whole-server rows (first match).
using CoresPerPackage = std::map<std::string, double, std::less<>>;
CoresPerPackage cores_per_package(const SkuCatalog& catalog);
double bandwidth_per_core_gbs(const Sku& sku, const CoresPerPackage& packages);
// The clock a SKU runs a workload at: turbo when published, else base; 0 when neither is.
double sku_ghz(const Sku& sku);

// Source side: the matched SKU (if any) gives frequency and bandwidth so that both ends of a
// ratio come from the same catalog; else the measured GHz, else the "@ 2.90GHz" of the CPU name.
RunFactors run_factors(const RunProfile& run, const SkuCatalog& catalog,
                       const CoresPerPackage& packages, const ProjectionUncertainty& u = {});
// `price_per_hour` overrides the catalog price (--price).
SkuFactors sku_factors(const Sku& sku, const CoresPerPackage& packages,
                       std::optional<double> price_per_hour = std::nullopt);

struct ProjectedCell {
  double duration_s = 0;
  double watts = 0;
  double joules = 0;
  double cost_usd = NAN;  // NaN without a price
  double co2_g = NAN;     // NaN without a grid intensity
  double duration_uncertainty = 0;
  double uncertainty = 0;  // of joules and CO2
};

ProjectedCell project(const RunFactors& run, const SkuFactors& sku, double g_per_kwh,
                      const ProjectionUncertainty& u = {});
double objective_value(const ProjectedCell& cell, Objective objective);  // NaN when absent

struct RankedSku {
  uint32_t sku = 0;  // index into the SkuFactors span
  ProjectedCell cell;
};

// For every run, its best `top_k` SKUs by the objective, ascending (cells without the
// objective's figure are left out): out[run × top_k …], count[run] of them filled. Scratch
// buffers are reused across runs; a partial sort keeps the cost near runs × SKUs.
struct RankedProjection {
  size_t top_k = 0;
  std::vector<RankedSku> best;
  std::vector<uint32_t> count;
};
RankedProjection project_and_rank(std::span<const RunFactors> runs,
                                  std::span<const SkuFactors> skus, Objective objective,
                                  double g_per_kwh, size_t top_k,
                                  const ProjectionUncertainty& u = {});

// Projected rows: for every workload, each SKU of `sku_indices` (into catalog.skus(); all when
// empty) projected from the workload's measured machine whose projection is the least
// uncertain, ranked by the objective; `top` keeps that many rows per workload (0 = all).
// Prices: options.price_per_hour by SKU id, else the catalog's.
Comparison compare_projected(std::span<const RunProfile> runs, const SkuCatalog& catalog,
                             std::span<const size_t> sku_indices, const CompareOptions& options,
                             size_t top = 0, const ProjectionUncertainty& u = {});

// "projected:cpi-stack:<sku>" or "projected:freq-cores:<sku>"; a SKU whose curve the sku-curve
// model gave adds "+estimated:sku-curve:model:<cpu key>" in its rows.
std::string projection_method(const RunFactors& run, const std::string& sku_id);

}  // namespace pmc
