#pragma once
// `pmcmodel compare` as computation on runs already read: the comparison's options from what the
// command was asked, the catalog SKUs projected onto, and the report — measured rows, in projected
// mode the projected SKUs' rows ranked with them, and the recommendations. The caller reads the
// runs, the catalog, the grid table and the rules, and renders the report.
#include <cstddef>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "models/fleet/comparison.h"
#include "models/fleet/gpu_projection.h"
#include "models/fleet/grid.h"
#include "models/fleet/recommendations.h"
#include "models/fleet/sku_catalog.h"

namespace pmc {

// Beyond this many workloads, recommendations look at each workload's best kRecommendationSkus
// projected SKUs instead of the whole catalog, to keep a batch call's memory near its output.
inline constexpr size_t kFullProjectionWorkloads = 100;
inline constexpr size_t kRecommendationSkus = 50;

// What `compare` is asked, as its options spell it.
struct CompareRequest {
  std::string objective = "cost";        // time, energy, cost or co2
  double work = 0;                       // units of work per run; 0: none
  std::vector<std::string> prices;       // MACHINE=USD_PER_HOUR, machine name or SKU id
  std::optional<double> grid_intensity;  // g CO2e per kWh
  std::string region;                    // a region of the grid table, instead
  std::vector<std::string> sku_ids;      // ID[,ID] lists of SKUs to project onto; empty: all
  bool projected = false;                // projected SKUs' rows beside the measured ones
  size_t top = 0;                        // the best N projected SKUs per workload; 0: all
  std::optional<double> min_memory_gb;   // only SKUs the catalog gives at least this memory
  std::optional<double> runs_per_month;  // for monthly savings; default: the rules'
  std::string measured_gpu;              // the GPU catalog row of the measured GPU; empty: matched
  bool allow_failed = false;             // compare runs whose command failed or was killed
};

// The comparison's options: the objective, work, prices, and the grid intensity given or looked
// up for `region` in the table `load_grid` returns (called only then). Throws ComparisonError for
// a price not MACHINE=USD_PER_HOUR with USD ≥ 0, both a grid intensity and a region, a region not
// in the table, and the co2 objective without a grid intensity.
CompareOptions compare_options(const CompareRequest& request,
                               const std::function<GridTable()>& load_grid);

// The catalog rows projected onto (empty: the whole catalog), and a note on the SKUs
// min_memory_gb left out.
struct SkuChoice {
  std::vector<size_t> skus;
  std::vector<std::string> notes;
};

// request.sku_ids looked up in `catalog`, less, with min_memory_gb, the SKUs with less memory and
// those whose memory the catalog does not give. Throws ComparisonError for an id not in the
// catalog and when min_memory_gb leaves no SKU.
SkuChoice choose_skus(const CompareRequest& request, const SkuCatalog& catalog);

struct CompareReport {
  Comparison comparison;
  std::vector<Recommendation> recommendations;
  std::string catalog_origin;
  double runs_per_month = 0;
  CompareOptions options;
  std::vector<GpuRanking> gpus;  // one per run with GPU energy
};

// The runs with GPU energy and the GPU catalog they are ranked on (null when there are none).
struct GpuRuns {
  std::span<const GpuRun> runs;
  const GpuCatalog* catalog = nullptr;
};

// The measured rows of `runs` ranked by the objective, the SKU notes, the recommendations
// (quantified against the projections onto `skus`, the whole catalog when empty) and, when
// request.projected, the projected rows (request.top per workload) ranked with the measured ones;
// each of gpu_runs ranked on its catalog (rank_gpus, request.measured_gpu), its two
// recommendations numbered after its workload's and its notes added. Throws ComparisonError for a
// price that names no run's machine, no catalog SKU and no instance of the GPU catalog, and for a
// run whose command failed (RunProfile::failure) unless request.allow_failed: its time and energy
// are those of a command that stopped early or did other work, not of the workload. Allowed, such
// a run is ranked with a note naming it and its row's `failed` saying how.
CompareReport compare_runs(std::span<const RunProfile> runs, const SkuCatalog& catalog,
                           const SkuChoice& skus, const RecommendationRules& rules,
                           const CompareOptions& options, const CompareRequest& request,
                           const GpuRuns& gpu_runs = {});

}  // namespace pmc
