#include "models/fleet/compare_runs.h"

#include <algorithm>
#include <cmath>
#include <set>
#include <sstream>
#include <string_view>

#include <fmt/format.h>

#include "models/fleet/projection.h"

namespace pmc {
namespace {

double parse_price_number(const std::string& text, const std::string& what) {
  size_t used = 0;
  double v = NAN;
  try {
    v = std::stod(text, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  if (used != text.size() || !std::isfinite(v) || v < 0)
    throw ComparisonError(fmt::format("{}: expected a non-negative number, got '{}'", what, text));
  return v;
}

void set_grid(const CompareRequest& request, const std::function<GridTable()>& load_grid,
              CompareOptions& c) {
  if (request.grid_intensity && !request.region.empty())
    throw ComparisonError("--grid-intensity and --region both given: choose one");
  if (request.grid_intensity) {
    c.grid_g_per_kwh = *request.grid_intensity;
    c.grid_source = "--grid-intensity";
  } else if (!request.region.empty()) {
    GridTable grid = load_grid();
    const auto* g = grid.find(request.region);
    if (!g)
      throw ComparisonError(
          fmt::format("--region '{}': not in {} (cloud regions such as us-east-1, "
                      "or ISO-3 country codes such as FRA)",
                      request.region, grid.origin()));
    c.grid_g_per_kwh = g->g_per_kwh;
    c.grid_source = fmt::format("region:{} ({})", g->region, g->source);
  }
}

std::vector<size_t> listed_skus(const std::vector<std::string>& lists, const SkuCatalog& catalog) {
  std::vector<size_t> out;
  for (const auto& list : lists) {
    std::stringstream ids(list);
    std::string id;
    while (std::getline(ids, id, ',')) {
      if (id.empty()) continue;
      const Sku* s = catalog.find(id);
      if (!s)
        throw ComparisonError(
            fmt::format("--sku '{}': not in the catalog {}", id, catalog.origin()));
      out.push_back(size_t(s - catalog.skus().data()));
    }
  }
  return out;
}

// `skus` (empty: the whole catalog) without those with less than min_memory_gb or whose memory
// the catalog does not give; `notes` says how many.
std::vector<size_t> memory_filtered(std::vector<size_t> skus, const SkuCatalog& catalog,
                                    double min_memory_gb, std::vector<std::string>& notes) {
  if (skus.empty())
    for (size_t i = 0; i < catalog.skus().size(); ++i) skus.push_back(i);
  std::vector<size_t> kept;
  size_t smaller = 0, unknown = 0;
  for (size_t i : skus) {
    const auto& memory = catalog.skus()[i].memory_gb;
    if (!memory)
      ++unknown;
    else if (*memory < min_memory_gb)
      ++smaller;
    else
      kept.push_back(i);
  }
  if (kept.empty())
    throw ComparisonError(fmt::format(
        "--min-memory-gb {}: no SKU of {} has that much memory ({} have less, {} do not say)",
        min_memory_gb, catalog.origin(), smaller, unknown));
  notes.push_back(fmt::format(
      "--min-memory-gb {}: {} SKU{} with less memory and {} whose memory the catalog does not "
      "give left out; {} kept",
      min_memory_gb, smaller, smaller == 1 ? "" : "s", unknown, kept.size()));
  return kept;
}

bool gpu_instance(const GpuCatalog* catalog, std::string_view name) {
  if (!catalog) return false;
  return std::any_of(catalog->instances().begin(), catalog->instances().end(),
                     [&](const GpuInstance& i) { return i.instance == name; });
}

// A price that names nothing would silently leave a machine unpriced.
void check_prices(const CompareOptions& options, const SkuCatalog& catalog,
                  std::span<const RunProfile> runs, const GpuCatalog* gpu_catalog) {
  for (const auto& [name, price] : options.price_per_hour) {
    bool known = catalog.find(name) != nullptr || gpu_instance(gpu_catalog, name);
    for (const auto& r : runs) known = known || r.machine == name;
    if (!known)
      throw ComparisonError(fmt::format(
          "--price {}=...: no run's machine, no catalog SKU and no GPU instance{} is named '{}' "
          "(machines: {})",
          name, gpu_catalog ? "" : " (no run has GPU energy)", name,
          runs.front().machine + (runs.size() > 1 ? ", …" : "")));
  }
}

// A failed run's figures are those of a command that stopped early (or did something else): it
// is compared only when asked, and then with a note.
std::vector<std::string> check_failed_runs(std::span<const RunProfile> runs, bool allow_failed) {
  std::vector<std::string> notes;
  for (const auto& r : runs) {
    if (r.failure.empty()) continue;
    if (!allow_failed)
      throw ComparisonError(fmt::format(
          "{}: the measured command failed ({}): its time and energy are not the workload's; "
          "measure it again, or give --allow-failed to compare it anyway",
          r.source, r.failure));
    notes.push_back(
        fmt::format("{}: the measured command failed ({}); compared anyway "
                    "(--allow-failed): its figures may not be the workload's",
                    r.source, r.failure));
  }
  return notes;
}

// Each GPU run ranked on the GPU catalog; its recommendations follow its workload's.
void rank_gpu_runs(const GpuRuns& gpu_runs, const CompareRequest& request, CompareReport& report) {
  if (!gpu_runs.catalog) return;
  for (const auto& run : gpu_runs.runs) {
    report.gpus.push_back(rank_gpus(run, *gpu_runs.catalog, report.options, request.measured_gpu));
    int last = 0;
    for (const auto& rec : report.recommendations)
      if (rec.workload == run.workload) last = std::max(last, rec.rank);
    for (auto& rec : recommend_gpus(report.gpus.back(), report.runs_per_month, last))
      report.recommendations.push_back(std::move(rec));
    for (const auto& n : report.gpus.back().notes) report.comparison.notes.push_back(n);
  }
}

// The recommendations, and with request.projected the projected SKUs' rows beside the measured
// ones, ranked together. Recommendations quantify against the whole catalog even when only
// measured rows are shown; with many workloads, against each one's best kRecommendationSkus.
void recommend_and_project(std::span<const RunProfile> runs, const SkuCatalog& catalog,
                           const std::vector<size_t>& skus, const RecommendationRules& rules,
                           const CompareRequest& request, CompareReport& report) {
  const CompareOptions& options = report.options;
  auto profiles = merge_repeats(runs);
  std::set<std::string_view> distinct;
  for (const auto& p : profiles) distinct.insert(p.workload);
  size_t recommendation_top = distinct.size() > kFullProjectionWorkloads ? kRecommendationSkus : 0;
  Comparison projected = compare_projected(runs, catalog, skus, options, recommendation_top);
  if (recommendation_top)
    report.comparison.notes.push_back(fmt::format(
        "{} workloads: recommendations consider each one's best {} projected SKUs by {}",
        distinct.size(), recommendation_top, to_string(options.objective)));
  std::vector<ComparisonRow> measured_rows = report.comparison.rows;
  std::vector<std::string> asked;
  if (!request.sku_ids.empty())
    for (size_t i : skus) asked.push_back(catalog.skus()[i].id);
  auto recommendable =
      rows_with_memory_for(projected.rows, profiles, catalog, asked, report.comparison.notes);
  report.recommendations =
      recommend(profiles, measured_rows, recommendable, catalog, rules, report.runs_per_month);
  if (request.projected) {
    if (request.top != recommendation_top)
      projected = compare_projected(runs, catalog, skus, options, request.top);
    for (auto& row : projected.rows) report.comparison.rows.push_back(std::move(row));
    rank_rows(report.comparison.rows, options.objective);
  }
}

}  // namespace

CompareOptions compare_options(const CompareRequest& request,
                               const std::function<GridTable()>& load_grid) {
  CompareOptions c;
  auto objective = parse_objective(request.objective);
  if (!objective) throw ComparisonError("--objective: expected time, energy, cost or co2");
  c.objective = *objective;
  if (request.work > 0) c.work_units = request.work;
  for (const auto& p : request.prices) {
    auto eq = p.rfind('=');
    if (eq == std::string::npos || eq == 0)
      throw ComparisonError(fmt::format("--price '{}': expected MACHINE=USD_PER_HOUR", p));
    c.price_per_hour[p.substr(0, eq)] = parse_price_number(p.substr(eq + 1), "--price " + p);
  }
  set_grid(request, load_grid, c);
  if (c.objective == Objective::co2 && !c.grid_g_per_kwh)
    throw ComparisonError("--objective co2 needs --grid-intensity G or --region NAME");
  return c;
}

SkuChoice choose_skus(const CompareRequest& request, const SkuCatalog& catalog) {
  SkuChoice choice;
  choice.skus = listed_skus(request.sku_ids, catalog);
  if (request.min_memory_gb)
    choice.skus =
        memory_filtered(std::move(choice.skus), catalog, *request.min_memory_gb, choice.notes);
  return choice;
}

CompareReport compare_runs(std::span<const RunProfile> runs, const SkuCatalog& catalog,
                           const SkuChoice& skus, const RecommendationRules& rules,
                           const CompareOptions& options, const CompareRequest& request,
                           const GpuRuns& gpu_runs) {
  check_prices(options, catalog, runs, gpu_runs.catalog);
  auto failed_notes = check_failed_runs(runs, request.allow_failed);
  CompareReport report;
  report.options = options;
  report.catalog_origin = catalog.origin();
  report.runs_per_month = request.runs_per_month.value_or(rules.runs_per_month);
  report.comparison = compare_measured(runs, &catalog, options);
  for (const auto& note : skus.notes) report.comparison.notes.push_back(note);
  for (auto& note : failed_notes) report.comparison.notes.push_back(std::move(note));
  recommend_and_project(runs, catalog, skus.skus, rules, request, report);
  for (auto& note : zero_best_notes(report.comparison.rows, options.objective))
    report.comparison.notes.push_back(std::move(note));
  rank_gpu_runs(gpu_runs, request, report);
  return report;
}

}  // namespace pmc
