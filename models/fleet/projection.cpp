#include "models/fleet/projection.h"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <unordered_map>

#include "models/fleet/power_curve.h"

namespace pmc {
namespace {

// "Intel(R) Xeon(R) Platinum 8375C CPU @ 2.90GHz" → 2.9: the nominal clock /proc/cpuinfo names.
double nominal_ghz_from_name(std::string_view cpu_model) {
  auto at = cpu_model.rfind('@');
  if (at == std::string_view::npos) return 0;
  auto rest = cpu_model.substr(at + 1);
  while (!rest.empty() && rest.front() == ' ') rest.remove_prefix(1);
  double ghz = 0;
  auto [end, ec] = std::from_chars(rest.data(), rest.data() + rest.size(), ghz);
  if (ec != std::errc()) return 0;
  rest.remove_prefix(size_t(end - rest.data()));
  while (!rest.empty() && rest.front() == ' ') rest.remove_prefix(1);
  bool unit = rest.size() >= 3 && (rest[0] == 'G' || rest[0] == 'g') &&
              (rest[1] == 'H' || rest[1] == 'h') && (rest[2] == 'z' || rest[2] == 'Z');
  return unit && ghz > 0 && ghz < 10 ? ghz : 0;
}

const Sku* source_sku(const RunProfile& run, const SkuCatalog& catalog) {
  if (const Sku* s = catalog.find(run.machine)) return s;
  return run.cpu_model.empty() ? nullptr : catalog.match_cpu_model(run.cpu_model);
}

}  // namespace

double sku_ghz(const Sku& sku) {
  if (sku.turbo_ghz) return *sku.turbo_ghz;
  if (sku.base_ghz) return *sku.base_ghz;
  return 0;
}

CoresPerPackage cores_per_package(const SkuCatalog& catalog) {
  CoresPerPackage out;
  for (const auto& s : catalog.skus())
    if (s.sockets && *s.sockets > 0) {
      auto key = cpu_model_key(s.cpu_model);
      if (!key.empty()) out.try_emplace(key, double(s.cores) / *s.sockets);
    }
  return out;
}

double bandwidth_per_core_gbs(const Sku& sku, const CoresPerPackage& packages) {
  if (!sku.mem_bw_gbs || *sku.mem_bw_gbs <= 0) return 0;
  if (sku.sockets && *sku.sockets > 0) return *sku.mem_bw_gbs * *sku.sockets / sku.cores;
  // A cloud instance is a share of a host: the host package's cores come from a server row.
  auto it = packages.find(cpu_model_key(sku.cpu_model));
  return it == packages.end() ? 0 : *sku.mem_bw_gbs / it->second;
}

RunFactors run_factors(const RunProfile& run, const SkuCatalog& catalog,
                       const CoresPerPackage& packages, const ProjectionUncertainty& u) {
  RunFactors f;
  f.duration_s = run.duration_s;
  const Sku* src = source_sku(run, catalog);
  if (src) f.source_sku = src->id;
  f.ghz = src ? sku_ghz(*src) : 0;
  if (f.ghz <= 0 && run.ghz && *run.ghz > 0) f.ghz = *run.ghz;
  if (f.ghz <= 0) f.ghz = nominal_ghz_from_name(run.cpu_model);
  // A VM that masks its CPU: the host CPU measure identified, by a catalog row of that CPU (both
  // ends of the ratio from the same data), else by the clock measure took from the CPU facts.
  const Sku* host = !src && !run.host_cpu.empty() ? catalog.match_cpu_model(run.host_cpu) : nullptr;
  if (f.ghz <= 0 && host && sku_ghz(*host) > 0) f.host_ghz = sku_ghz(*host);
  if (f.ghz <= 0 && f.host_ghz <= 0 && run.host_cpu_ghz && *run.host_cpu_ghz > 0)
    f.host_ghz = *run.host_cpu_ghz;
  if (f.ghz <= 0 && f.host_ghz > 0) {
    f.ghz = f.host_ghz;
    f.missing |= kSourceFromIdentifiedHost;
  }
  if (f.ghz <= 0) f.missing |= kMissingSourceFrequency;
  f.bw_per_core_gbs = src ? bandwidth_per_core_gbs(*src, packages) : 0;
  bool host_bandwidth = false;
  if (f.bw_per_core_gbs <= 0 && host) {
    f.bw_per_core_gbs = bandwidth_per_core_gbs(*host, packages);
    host_bandwidth = f.bw_per_core_gbs > 0;
  }
  if (f.bw_per_core_gbs <= 0) f.missing |= kMissingSourceBandwidth;
  if (run.cpus_utilized && *run.cpus_utilized > 0) {
    f.busy_cpus = *run.cpus_utilized;
  } else {
    f.busy_cpus = 1;
    f.missing |= kMissingParallelism;
  }
  f.base_uncertainty = run.duration_uncertainty;
  if (run.tma_memory_bound) {
    f.memory_fraction = *run.tma_memory_bound;
    f.cpi_stack = true;
  } else if (run.tma_backend_bound) {
    // Backend bound = memory bound + core bound: an upper bound on the memory part.
    f.memory_fraction = *run.tma_backend_bound;
    f.cpi_stack = true;
    f.missing |= kMissingMemoryBoundSplit;
    f.base_uncertainty += u.backend_for_memory * f.memory_fraction;
  } else if (run.backend_stall_ratio) {
    f.memory_fraction = *run.backend_stall_ratio;
    f.cpi_stack = true;
  } else {
    f.missing |= kMissingStallFraction;
  }
  f.memory_fraction = std::clamp(f.memory_fraction, 0.0, 1.0);
  f.base_uncertainty += f.cpi_stack ? u.cpi_stack : u.freq_cores;
  // The identified host's bandwidth matters only for a memory part.
  host_bandwidth = host_bandwidth && f.memory_fraction > 0;
  if (host_bandwidth) f.missing |= kSourceFromIdentifiedHost;
  if (run.host_cpu_confidence != "high")
    f.base_uncertainty += u.identified_host * ((f.host_ghz > 0 ? 1 - f.memory_fraction : 0) +
                                               (host_bandwidth ? f.memory_fraction : 0));
  if (f.missing & kMissingParallelism) f.base_uncertainty += u.missing_parallelism;
  return f;
}

SkuFactors sku_factors(const Sku& sku, const CoresPerPackage& packages,
                       std::optional<double> price_per_hour) {
  SkuFactors f;
  f.ghz = sku_ghz(sku);
  if (f.ghz <= 0) f.missing |= kMissingTargetFrequency;
  f.bw_per_core_gbs = bandwidth_per_core_gbs(sku, packages);
  if (f.bw_per_core_gbs <= 0) f.missing |= kMissingTargetBandwidth;
  f.threads = std::max(1, sku.threads);
  auto price = price_per_hour ? price_per_hour : sku.price_per_hour_usd;
  if (price)
    f.usd_per_s = *price / 3600.0;
  else
    f.missing |= kMissingPrice;
  f.watts = sku.watts;
  f.modelled_uncertainty = sku.modelled_uncertainty;
  return f;
}

ProjectedCell project(const RunFactors& run, const SkuFactors& sku, double g_per_kwh,
                      const ProjectionUncertainty& u) {
  ProjectedCell c;
  double m = run.memory_fraction;
  bool clocks = run.ghz > 0 && sku.ghz > 0;
  bool bandwidths = run.bw_per_core_gbs > 0 && sku.bw_per_core_gbs > 0;
  double freq_ratio = clocks ? run.ghz / sku.ghz : 1.0;
  double bw_ratio = bandwidths ? run.bw_per_core_gbs / sku.bw_per_core_gbs : 1.0;
  double over = std::max(1.0, run.busy_cpus / sku.threads);
  c.duration_s = run.duration_s * over * ((1 - m) * freq_ratio + m * bw_ratio);
  c.duration_uncertainty = run.base_uncertainty + (clocks ? 0 : u.missing_frequency * (1 - m)) +
                           (bandwidths ? 0 : u.missing_bandwidth * m);
  double load = std::min(1.0, run.busy_cpus / sku.threads);
  c.watts = watts_at_load(sku.watts, load);
  c.joules = c.watts * c.duration_s;
  c.uncertainty =
      c.duration_uncertainty +
      (sku.modelled_uncertainty ? watts_at_load(*sku.modelled_uncertainty, load) : u.power_curve);
  c.cost_usd = sku.usd_per_s * c.duration_s;
  c.co2_g = c.joules / 3.6e6 * g_per_kwh;
  return c;
}

double objective_value(const ProjectedCell& cell, Objective objective) {
  switch (objective) {
    case Objective::time:
      return cell.duration_s;
    case Objective::energy:
      return cell.joules;
    case Objective::cost:
      return cell.cost_usd;
    case Objective::co2:
      return cell.co2_g;
  }
  return NAN;
}

RankedProjection project_and_rank(std::span<const RunFactors> runs,
                                  std::span<const SkuFactors> skus, Objective objective,
                                  double g_per_kwh, size_t top_k, const ProjectionUncertainty& u) {
  RankedProjection out;
  out.top_k = std::min(top_k, skus.size());
  out.best.resize(runs.size() * out.top_k);
  out.count.assign(runs.size(), 0);
  std::vector<std::pair<double, uint32_t>> scratch(skus.size());
  for (size_t r = 0; r < runs.size(); ++r) {
    size_t n = 0;
    for (size_t s = 0; s < skus.size(); ++s) {
      double v = objective_value(project(runs[r], skus[s], g_per_kwh, u), objective);
      if (!std::isnan(v)) scratch[n++] = {v, uint32_t(s)};
    }
    size_t k = std::min(out.top_k, n);
    std::partial_sort(scratch.begin(), scratch.begin() + ptrdiff_t(k),
                      scratch.begin() + ptrdiff_t(n));
    RankedSku* dst = out.best.data() + r * out.top_k;
    for (size_t i = 0; i < k; ++i)
      dst[i] = {scratch[i].second, project(runs[r], skus[scratch[i].second], g_per_kwh, u)};
    out.count[r] = uint32_t(k);
  }
  return out;
}

std::string projection_method(const RunFactors& run, const std::string& sku_id) {
  return (run.cpi_stack ? "projected:cpi-stack:" : "projected:freq-cores:") + sku_id;
}

std::vector<std::string> describe_missing(uint32_t mask, const std::string& source,
                                          const std::string& sku) {
  std::vector<std::string> out;
  if (mask & kMissingStallFraction)
    out.push_back(source +
                  ": no top-down or stalled-cycles-backend counts: runtime scaled by "
                  "frequency and cores only (freq-cores)");
  if (mask & kMissingMemoryBoundSplit)
    out.push_back(source +
                  ": no tma_memory_bound: tma_backend_bound used as the memory-stall fraction");
  if (mask & kMissingSourceFrequency)
    out.push_back(source + ": clock unknown (no catalog match, cycles or '@ GHz' in the CPU name)");
  if (mask & kMissingTargetFrequency) out.push_back(sku + ": no base or turbo GHz in the catalog");
  if (mask & kMissingSourceBandwidth)
    out.push_back(source + ": memory bandwidth per core unknown: memory part not scaled");
  if (mask & kMissingTargetBandwidth)
    out.push_back(sku + ": no mem_bw_gbs in the catalog: memory part not scaled");
  if (mask & kMissingParallelism) out.push_back(source + ": no task-clock: 1 busy CPU assumed");
  if (mask & kMissingPrice)
    out.push_back(sku + ": no price; give --price " + sku + "=USD_PER_HOUR");
  return out;
}

namespace {

// The row of one workload's projection onto one SKU.
ComparisonRow projected_row(const RunProfile& profile, const RunFactors& rf, const Sku& sku,
                            const SkuFactors& sf, const ProjectedCell& cell, bool price_given,
                            const CompareOptions& options) {
  ComparisonRow row;
  row.workload = profile.workload;
  row.machine = sku.id;
  row.kind = "projected";
  row.sku_id = sku.id;
  row.projected_from = profile.machine;
  row.runs = profile.repeats;
  row.duration_s = cell.duration_s;
  row.duration_uncertainty = cell.duration_uncertainty;
  row.average_watts = cell.watts;
  row.joules = cell.joules;
  if (!std::isnan(cell.cost_usd)) {
    row.cost_usd = cell.cost_usd;
    row.price_source =
        price_given ? "--price" : fmt::format("catalog:{} ({})", sku.id, sku.price_source);
  }
  if (!std::isnan(cell.co2_g)) row.co2_g = cell.co2_g;
  if (options.work_units && cell.duration_s > 0)
    row.throughput_per_s = *options.work_units / cell.duration_s;
  row.method = projection_method(rf, sku.id);
  row.uncertainty = cell.uncertainty;
  row.utilisation = std::min(1.0, rf.busy_cpus / sf.threads);
  uint32_t mask = rf.missing | sf.missing;
  if (rf.memory_fraction == 0) mask &= ~(kMissingSourceBandwidth | kMissingTargetBandwidth);
  row.missing_inputs = describe_missing(mask, profile.machine, sku.id);
  if (rf.missing & kSourceFromIdentifiedHost) {
    std::string what = rf.host_ghz > 0 ? fmt::format("clock {:.2f} GHz", rf.host_ghz) : "";
    if (rf.memory_fraction > 0 && rf.bw_per_core_gbs > 0 && rf.source_sku.empty() &&
        !profile.host_cpu.empty())
      what += std::string(what.empty() ? "" : " and ") + "memory bandwidth per core";
    if (!what.empty())
      row.missing_inputs.push_back(fmt::format(
          "{}: {} of the host CPU identified behind its masked CPU model, {} ({} confidence), "
          "not measured",
          profile.machine, what, profile.host_cpu, profile.host_cpu_confidence));
  }
  if (sf.modelled_uncertainty) {
    row.method += "+estimated:" + sku.power_source;
    row.missing_inputs.push_back(fmt::format(
        "{}: no published power curve: the sku-curve model's, ±{:.0f}% at this load from its "
        "held-out errors",
        sku.id, 100 * watts_at_load(*sf.modelled_uncertainty, *row.utilisation)));
  }
  return row;
}

}  // namespace

Comparison compare_projected(std::span<const RunProfile> runs, const SkuCatalog& catalog,
                             std::span<const size_t> sku_indices, const CompareOptions& options,
                             size_t top, const ProjectionUncertainty& u) {
  Comparison c;
  c.objective = options.objective;
  auto profiles = merge_repeats(runs);
  std::vector<RunFactors> factors;
  auto packages = cores_per_package(catalog);
  for (const auto& p : profiles) factors.push_back(run_factors(p, catalog, packages, u));
  std::vector<size_t> chosen(sku_indices.begin(), sku_indices.end());
  if (chosen.empty())
    for (size_t i = 0; i < catalog.skus().size(); ++i) chosen.push_back(i);
  double g = options.grid_g_per_kwh.value_or(NAN);

  std::vector<SkuFactors> sku_table;
  std::vector<std::optional<double>> prices;
  for (size_t idx : chosen) {
    const Sku& sku = catalog.skus().at(idx);
    std::optional<double> price;
    if (auto it = options.price_per_hour.find(sku.id); it != options.price_per_hour.end())
      price = it->second;
    prices.push_back(price);
    sku_table.push_back(sku_factors(sku, packages, price));
  }
  std::unordered_map<std::string_view, size_t> slot;
  std::vector<std::vector<size_t>> by_workload;
  for (size_t i = 0; i < profiles.size(); ++i) {
    auto [it, inserted] = slot.try_emplace(profiles[i].workload, by_workload.size());
    if (inserted) by_workload.emplace_back();
    by_workload[it->second].push_back(i);
  }
  struct Candidate {
    double value;  // the objective; NaN sorts last
    size_t sku, profile;
    ProjectedCell cell;
  };
  std::vector<Candidate> cells(chosen.size());
  for (const auto& group : by_workload) {
    for (size_t k = 0; k < chosen.size(); ++k) {
      Candidate& best = cells[k];
      best = {NAN, k, SIZE_MAX, {}};
      for (size_t i : group) {
        auto candidate = project(factors[i], sku_table[k], g, u);
        if (best.profile == SIZE_MAX || candidate.uncertainty < best.cell.uncertainty)
          best = {objective_value(candidate, options.objective), k, i, candidate};
      }
    }
    size_t keep = top > 0 ? std::min(top, cells.size()) : cells.size();
    auto before = [](const Candidate& a, const Candidate& b) {
      if (std::isnan(a.value)) return false;
      return std::isnan(b.value) || a.value < b.value;
    };
    if (keep < cells.size())
      std::partial_sort(cells.begin(), cells.begin() + ptrdiff_t(keep), cells.end(), before);
    for (size_t n = 0; n < keep; ++n) {
      const Candidate& cand = cells[n];
      c.rows.push_back(projected_row(profiles[cand.profile], factors[cand.profile],
                                     catalog.skus()[chosen[cand.sku]], sku_table[cand.sku],
                                     cand.cell, prices[cand.sku].has_value(), options));
    }
  }
  rank_rows(c.rows, options.objective);
  return c;
}

}  // namespace pmc
