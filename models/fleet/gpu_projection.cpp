#include "models/fleet/gpu_projection.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <cmath>
#include <map>
#include <set>
#include <stdexcept>

#include <fmt/format.h>

#include "events/document/energy_basis.h"
#include "events/text/catalog_csv.h"

namespace pmc {
namespace {

constexpr std::array<std::string_view, 12> kGpuColumns = {
    "id",         "name",  "vendor", "tensor_tflops", "fp32_tflops",  "memory_gb",
    "mem_bw_gbs", "tdp_w", "idle_w", "boost_mhz",     "release_date", "source"};
constexpr std::array<std::string_view, 7> kInstanceColumns = {
    "instance", "gpu_id", "gpu_count", "price_per_hour_usd", "price_source", "region", "source"};

// Boundness anchors (the H200 of tests/data/gpu/, see the header).
constexpr double kMemoryBoundPowerFraction = 0.5;
constexpr double kComputeBoundPowerFraction = 0.9;
constexpr double kPowerCappedClockRatio = 0.95;
constexpr double kPowerCappedPowerFraction = 0.75;

double positive(const CatalogRow& row, size_t column) {
  double v = row.number(column);
  if (v <= 0) row.fail(fmt::format("expected a positive {}", row.name(column)));
  return v;
}

std::optional<double> optional_positive(const CatalogRow& row, size_t column) {
  auto v = row.optional_number(column);
  if (v && *v <= 0) row.fail(fmt::format("expected a positive {}", row.name(column)));
  return v;
}

GpuSpec gpu_spec(const CatalogRow& row) {
  GpuSpec g;
  g.id = row.text(0);
  g.name = row.text(1);
  g.vendor = row.raw(2);
  g.tensor_tflops = optional_positive(row, 3);
  g.fp32_tflops = optional_positive(row, 4);
  if (!g.tensor_tflops && !g.fp32_tflops) row.fail("expected tensor_tflops or fp32_tflops");
  g.memory_gb = optional_positive(row, 5);
  g.mem_bw_gbs = positive(row, 6);
  g.tdp_w = positive(row, 7);
  g.idle_w = positive(row, 8);
  if (g.idle_w >= g.tdp_w) row.fail("expected idle_w below tdp_w");
  g.boost_mhz = optional_positive(row, 9);
  g.release_date = row.raw(10);
  g.source = row.raw(11);
  return g;
}

GpuInstance gpu_instance(const CatalogRow& row, const GpuCatalog& catalog) {
  GpuInstance i;
  i.instance = row.text(0);
  i.gpu_id = row.text(1);
  if (!catalog.find(i.gpu_id)) row.fail(fmt::format("gpu_id '{}' is not a GPU row", i.gpu_id));
  i.gpu_count = row.whole_number(2);
  if (i.gpu_count < 1) row.fail("expected a gpu_count of at least 1");
  i.price_per_hour_usd = row.optional_number(3);
  if (i.price_per_hour_usd && *i.price_per_hour_usd < 0) row.fail("expected a price ≥ 0");
  i.price_source = row.raw(4);
  i.region = row.raw(5);
  i.source = row.raw(6);
  return i;
}

// Lower case, punctuation as spaces, "80 GB" as "80gb".
std::vector<std::string> name_words(std::string_view name) {
  std::vector<std::string> words;
  std::string word;
  for (char ch : name) {
    if (std::isalnum(static_cast<unsigned char>(ch))) {
      word += char(std::tolower(static_cast<unsigned char>(ch)));
    } else if (!word.empty()) {
      words.push_back(std::move(word));
      word.clear();
    }
  }
  if (!word.empty()) words.push_back(word);
  std::vector<std::string> out;
  for (auto& w : words) {
    if (w == "gb" && !out.empty() && std::isdigit(static_cast<unsigned char>(out.back()[0])))
      out.back() += w;
    else
      out.push_back(w);
  }
  return out;
}

std::string model_word(const std::vector<std::string>& words) {
  static const std::set<std::string, std::less<>> family = {"nvidia",   "tesla", "amd",   "radeon",
                                                            "instinct", "intel", "habana"};
  for (const auto& w : words)
    if (!family.contains(w) &&
        std::any_of(w.begin(), w.end(), [](char c) { return std::isdigit(c); }))
      return w;
  return {};
}

double match_score(const std::vector<std::string>& asked, const GpuSpec& g,
                   std::optional<double> memory_mib, std::optional<double> power_limit_w) {
  auto words = name_words(g.name);
  double score = 0;
  for (const auto& w : asked) score += std::count(words.begin(), words.end(), w) ? 1 : 0;
  if (memory_mib && g.memory_gb)
    score -= std::abs(*memory_mib * 1.048576e-3 - *g.memory_gb) / *g.memory_gb;
  if (power_limit_w) score -= std::abs(*power_limit_w - g.tdp_w) / g.tdp_w;
  return score;
}

std::optional<double> metric(const Measurement& m, const std::string& name) {
  for (const auto& x : m.metrics)
    if (x.name == name) return x.value;
  return std::nullopt;
}

const GpuInfo* gpu_info(const Measurement& m, std::string_view domain) {
  for (const auto& g : m.machine.gpus)
    if (domain == "gpu" + std::to_string(g.index)) return &g;
  return nullptr;
}

// The mean of the metric `prefix.gpuN` over the domains that have it.
std::optional<double> mean_metric(const Measurement& m, std::string_view prefix,
                                  const std::vector<const EnergyReading*>& used) {
  double sum = 0;
  int n = 0;
  for (const auto* e : used)
    if (auto v = metric(m, fmt::format("{}.{}", prefix, e->domain))) sum += *v, ++n;
  return n ? std::optional(sum / n) : std::nullopt;
}

std::vector<const EnergyReading*> used_gpus(const Measurement& m) {
  std::vector<const EnergyReading*> machine, command;
  for (const auto& e : m.energy) {
    if (!is_gpu_card_domain(e.domain)) continue;
    (e.scope == EnergyScope::command ? command : machine).push_back(&e);
  }
  return command.empty() ? machine : command;
}

}  // namespace

GpuCatalog GpuCatalog::parse(std::string_view gpus_csv, const std::string& gpus_origin,
                             std::string_view instances_csv, const std::string& instances_origin) {
  GpuCatalog c;
  c.origin_ = gpus_origin;
  CatalogTable(gpus_origin, kGpuColumns).parse(gpus_csv, [&](const CatalogRow& row) {
    GpuSpec g = gpu_spec(row);
    if (c.find(g.id)) row.fail(fmt::format("duplicate id '{}'", g.id));
    c.gpus_.push_back(std::move(g));
  });
  if (c.gpus_.empty()) throw std::runtime_error(gpus_origin + ": no GPU rows");
  CatalogTable(instances_origin, kInstanceColumns).parse(instances_csv, [&](const CatalogRow& row) {
    c.instances_.push_back(gpu_instance(row, c));
  });
  return c;
}

const GpuSpec* GpuCatalog::find(std::string_view id) const {
  for (const auto& g : gpus_)
    if (g.id == id) return &g;
  return nullptr;
}

const GpuSpec* GpuCatalog::match(std::string_view nvml_name, std::optional<double> memory_mib,
                                 std::optional<double> power_limit_w) const {
  auto asked = name_words(nvml_name);
  std::string model = model_word(asked);
  if (model.empty()) return nullptr;
  const GpuSpec* best = nullptr;
  double best_score = 0;
  for (const auto& g : gpus_) {
    if (model_word(name_words(g.name)) != model) continue;
    double score = match_score(asked, g, memory_mib, power_limit_w);
    if (!best || score > best_score) best = &g, best_score = score;
  }
  return best;
}

std::optional<GpuRun> gpu_run(const Measurement& m, std::string source, std::string workload) {
  auto used = used_gpus(m);
  if (used.empty() || m.duration_s <= 0) return std::nullopt;
  GpuRun r;
  r.workload = std::move(workload);
  r.source = std::move(source);
  r.gpus = int(used.size());
  r.duration_s = m.duration_s;
  double limit = 0, memory = 0;
  int limits = 0, memories = 0;
  for (const auto* e : used) {
    r.joules += e->joules;
    r.energy_uncertainty = std::max(r.energy_uncertainty, e->uncertainty);
    if (r.energy_method.empty()) r.energy_method = e->method;
    const GpuInfo* info = gpu_info(m, e->domain);
    if (!info) continue;
    if (r.gpu_name.empty()) r.gpu_name = info->name;
    if (info->power_limit_w) limit += *info->power_limit_w, ++limits;
    if (info->memory_mib) memory += *info->memory_mib, ++memories;
  }
  r.watts_per_gpu = r.joules / r.gpus / r.duration_s;
  if (used.front()->scope == EnergyScope::command) {
    double machine_joules = 0;
    for (const auto& e : m.energy)
      if (e.scope == EnergyScope::machine &&
          std::any_of(used.begin(), used.end(),
                      [&](const auto* u) { return u->domain == e.domain; }))
        machine_joules += e.joules;
    if (machine_joules > r.joules) r.draw_watts_per_gpu = machine_joules / r.gpus / r.duration_s;
  }
  if (limits) r.power_limit_w = limit / limits;
  if (memories) r.memory_mib = memory / memories;
  r.util = mean_metric(m, "gpu_util", used);
  r.sm_clock_mhz = mean_metric(m, "gpu_sm_clock_mhz", used);
  return r;
}

GpuBoundness classify_gpu_job(const GpuRun& run, const GpuSpec& source) {
  GpuBoundness b;
  double u = std::clamp(run.util.value_or(1.0), 0.01, 1.0);
  double limit = run.power_limit_w.value_or(source.tdp_w);
  double idle = std::min(source.idle_w, limit * 0.99);
  // The GPUs' own draw: a share of it (the job beside others) would read as a lighter load.
  double draw = run.draw_watts_per_gpu.value_or(run.watts_per_gpu);
  double busy = idle + (draw - idle) / u;
  b.busy_power_fraction = std::clamp((busy - idle) / (limit - idle), 0.0, 1.0);
  if (run.sm_clock_mhz && source.boost_mhz) b.clock_ratio = *run.sm_clock_mhz / *source.boost_mhz;
  double phi = b.busy_power_fraction;
  b.power_capped =
      b.clock_ratio && *b.clock_ratio < kPowerCappedClockRatio && phi >= kPowerCappedPowerFraction;
  b.compute_share = b.power_capped
                        ? 1.0
                        : std::clamp((phi - kMemoryBoundPowerFraction) /
                                         (kComputeBoundPowerFraction - kMemoryBoundPowerFraction),
                                     0.0, 1.0);
  std::string clock = b.clock_ratio
                          ? fmt::format(", SM clock {:.0f}% of its maximum", *b.clock_ratio * 100)
                          : ", SM clock or its maximum unknown";
  b.rule = fmt::format(
      "{:.0f}% compute-bound: busy {:.0f}% of the time{} drawing {:.0f}% of the power range "
      "(idle to {:.0f} W limit){}; {}",
      b.compute_share * 100, u * 100, run.util ? "" : " (gpu_util absent: assumed)", phi * 100,
      limit, clock,
      b.power_capped ? "held below its maximum clock at the power limit: compute-bound"
                     : "0 below 50% of the range (a memory copy's draw), 1 from 90% (a matmul's)");
  return b;
}

namespace {

struct PeakRatio {
  double ratio = 1;  // source peak / target peak
  const char* figure = "tensor";
  bool fallback = false;  // not tensor on both sides, or no common figure (bandwidth instead)
};

PeakRatio peak_ratio(const GpuSpec& s, const GpuSpec& t) {
  if (s.tensor_tflops && t.tensor_tflops) return {*s.tensor_tflops / *t.tensor_tflops, "tensor"};
  if (s.fp32_tflops && t.fp32_tflops) return {*s.fp32_tflops / *t.fp32_tflops, "fp32", true};
  return {s.mem_bw_gbs / t.mem_bw_gbs, "bandwidth", true};
}

// T' for a compute share c.
double projected_time(const GpuRun& run, double c, double compute_ratio, double bw_ratio) {
  double u = std::clamp(run.util.value_or(1.0), 0.0, 1.0);
  return run.duration_s * ((1 - u) + u * (c * compute_ratio + (1 - c) * bw_ratio));
}

double kwh(double joules) {
  return joules / 3.6e6;
}

}  // namespace

GpuProjection project_gpu(const GpuRun& run, const GpuSpec& source, const GpuBoundness& b,
                          const GpuSpec& target, std::optional<double> g_per_kwh,
                          const GpuUncertainty& u) {
  GpuProjection p;
  p.target = target.id;
  p.kind = "gpu";
  p.gpu_id = target.id;
  PeakRatio peak = peak_ratio(source, target);
  double bw = source.mem_bw_gbs / target.mem_bw_gbs;
  double c = b.compute_share;
  p.duration_s = projected_time(run, c, peak.ratio, bw);
  double compute_only = projected_time(run, 1, peak.ratio, bw);
  double memory_only = projected_time(run, 0, peak.ratio, bw);
  // How undecided the rule was (0 at c = 0 or 1, 1 at c = 0.5) times the spread between the
  // compute-only and the bandwidth-only projection.
  double doubt = 1 - std::abs(2 * c - 1);
  p.duration_uncertainty = u.peak_ratio + (peak.fallback ? u.fp32_fallback : 0) +
                           doubt * std::abs(compute_only - memory_only) / (2 * p.duration_s);
  double limit = run.power_limit_w.value_or(source.tdp_w);
  p.watts_per_gpu = target.tdp_w * std::min(1.0, run.watts_per_gpu / limit);
  p.joules = p.watts_per_gpu * p.duration_s * run.gpus;
  p.uncertainty = p.duration_uncertainty + u.power + run.energy_uncertainty;
  if (g_per_kwh) p.co2_g = kwh(p.joules) * *g_per_kwh;
  p.method = fmt::format("projected:gpu:{:.0f}%-{}+{:.0f}%-bandwidth:{}", c * 100, peak.figure,
                         (1 - c) * 100, target.id);
  return p;
}

namespace {

GpuProjection measured_row(const GpuRun& run, const GpuSpec& source,
                           std::optional<double> g_per_kwh) {
  GpuProjection p;
  p.target = source.id;
  p.kind = "measured";
  p.gpu_id = source.id;
  p.duration_s = run.duration_s;
  p.watts_per_gpu = run.watts_per_gpu;
  p.joules = run.joules;
  p.uncertainty = run.energy_uncertainty;
  if (g_per_kwh) p.co2_g = kwh(p.joules) * *g_per_kwh;
  p.method = run.energy_method.empty() ? "measured" : run.energy_method;
  return p;
}

// The job's share of an instance: its GPUs out of the instance's, for the projected time.
GpuProjection instance_row(const GpuRun& run, const GpuInstance& inst, GpuProjection on_gpu,
                           const CompareOptions& options) {
  on_gpu.target = inst.instance;
  on_gpu.kind = "instance";
  on_gpu.instance_gpus = inst.gpu_count;
  std::optional<double> price = inst.price_per_hour_usd;
  on_gpu.price_source = price ? fmt::format("{} ({})", inst.price_source, inst.region) : "";
  if (auto it = options.price_per_hour.find(inst.instance); it != options.price_per_hour.end()) {
    price = it->second;
    on_gpu.price_source = "--price";
  }
  if (price) on_gpu.cost_usd = *price * on_gpu.duration_s / 3600 * run.gpus / inst.gpu_count;
  return on_gpu;
}

std::optional<double> gpu_objective(const GpuProjection& p, Objective objective) {
  switch (objective) {
    case Objective::time:
      return p.duration_s;
    case Objective::energy:
      return p.joules;
    case Objective::cost:
      return p.cost_usd;
    case Objective::co2:
      return p.co2_g;
  }
  return std::nullopt;
}

void rank_projections(std::vector<GpuProjection>& rows, Objective objective) {
  std::stable_sort(rows.begin(), rows.end(), [&](const auto& a, const auto& b) {
    auto va = gpu_objective(a, objective), vb = gpu_objective(b, objective);
    if (va && vb) return *va < *vb;
    return va.has_value() && !vb.has_value();
  });
  int rank = 0;
  for (auto& r : rows)
    if (gpu_objective(r, objective)) r.rank = ++rank;
}

}  // namespace

GpuRanking rank_gpus(const GpuRun& run, const GpuCatalog& catalog, const CompareOptions& options,
                     std::string_view measured_gpu, const GpuUncertainty& u) {
  GpuRanking r;
  r.run = run;
  r.objective = options.objective;
  r.source = measured_gpu.empty() ? catalog.match(run.gpu_name, run.memory_mib, run.power_limit_w)
                                  : catalog.find(measured_gpu);
  if (!r.source) {
    r.notes.push_back(fmt::format(
        "{}: GPU '{}' is not a row of {}: no GPU projection (name its row with --measured-gpu)",
        run.workload, measured_gpu.empty() ? run.gpu_name : measured_gpu, catalog.origin()));
    return r;
  }
  r.boundness = classify_gpu_job(run, *r.source);
  std::map<std::string, GpuProjection, std::less<>> by_gpu;
  for (const auto& g : catalog.gpus())
    by_gpu[g.id] = &g == r.source
                       ? measured_row(run, g, options.grid_g_per_kwh)
                       : project_gpu(run, *r.source, r.boundness, g, options.grid_g_per_kwh, u);
  for (const auto& [id, row] : by_gpu) r.rows.push_back(row);
  for (const auto& inst : catalog.instances())
    r.rows.push_back(instance_row(run, inst, by_gpu.at(inst.gpu_id), options));
  rank_projections(r.rows, options.objective);
  r.notes.push_back(fmt::format("{}: measured GPU taken as {} ({}); {}", run.workload, r.source->id,
                                run.gpu_name, r.boundness.rule));
  return r;
}

namespace {

const GpuProjection* least(const GpuRanking& r, Objective objective, std::string_view kind) {
  const GpuProjection* best = nullptr;
  for (const auto& p : r.rows) {
    auto v = gpu_objective(p, objective);
    bool wanted = kind.empty() ? p.kind != "instance" : p.kind == kind;
    if (wanted && v && (!best || *v < *gpu_objective(*best, objective))) best = &p;
  }
  return best;
}

std::string method_sentence(const GpuRanking& r) {
  return fmt::format(
      "the job on {} was {}; time scales as FLOP/s peaks for the compute share and memory "
      "bandwidth for the rest, power as the target's TDP times the measured fraction of the power "
      "limit ({:.0f} W per GPU)",
      r.source->id, r.boundness.rule, r.run.watts_per_gpu);
}

Recommendation gpu_recommendation(const GpuRanking& r, const GpuProjection& p, std::string rule,
                                  std::string what) {
  Recommendation rec;
  rec.workload = r.run.workload;
  rec.rule = std::move(rule);
  rec.baseline = r.source->id;
  rec.sku = p.target;
  rec.method = p.method;
  rec.uncertainty =
      p.kind == "instance" && rec.rule == "gpu-cheapest" ? p.duration_uncertainty : p.uncertainty;
  rec.text =
      fmt::format("{} {}: {:.4g} s, {:.4g} J{} per run (±{:.0f}%); method: {}.", what, p.target,
                  p.duration_s, p.joules, p.cost_usd ? ", " + human_cost_usd(*p.cost_usd) : "",
                  rec.uncertainty * 100, method_sentence(r));
  rec.evidence.push_back({"gpu_compute_share", r.boundness.compute_share, "", 0, "gpu_projection"});
  rec.evidence.push_back(
      {"gpu_busy_power_fraction", r.boundness.busy_power_fraction, "", 0, "gpu_projection"});
  return rec;
}

// The least cost of the measured GPU's own instances, the baseline of a saving.
std::optional<double> measured_gpu_cost(const GpuRanking& r) {
  std::optional<double> best;
  for (const auto& p : r.rows)
    if (p.kind == "instance" && p.gpu_id == r.source->id && p.cost_usd)
      best = best ? std::min(*best, *p.cost_usd) : *p.cost_usd;
  return best;
}

}  // namespace

std::vector<Recommendation> recommend_gpus(const GpuRanking& ranking, double runs_per_month,
                                           int rank_after) {
  std::vector<Recommendation> out;
  if (!ranking.source) return out;
  if (const auto* cheap = least(ranking, Objective::cost, "instance")) {
    auto rec = gpu_recommendation(ranking, *cheap, "gpu-cheapest", "Cheapest GPU instance:");
    if (auto base = measured_gpu_cost(ranking); base && *base > *cheap->cost_usd) {
      rec.saving_usd_per_run = *base - *cheap->cost_usd;
      rec.saving_usd_per_month = *rec.saving_usd_per_run * runs_per_month;
    }
    out.push_back(std::move(rec));
  }
  if (const auto* low = least(ranking, Objective::energy, "")) {
    std::string what =
        low->kind == "measured" ? "Lowest-energy GPU is the measured one," : "Lowest-energy GPU:";
    auto rec = gpu_recommendation(ranking, *low, "gpu-lowest-energy", what);
    if (low->kind != "measured") rec.projected_gain = 1 - low->joules / ranking.run.joules;
    out.push_back(std::move(rec));
  }
  for (auto& rec : out) rec.rank = ++rank_after;
  return out;
}

}  // namespace pmc

namespace pmc {
namespace {

const char* row_kind(const GpuProjection& p) {
  if (p.kind == "measured") return "gpu-measured";
  if (p.kind == "instance") return "gpu-instance";
  return "gpu-projected";
}

ComparisonRow comparison_row(const GpuRanking& r, const GpuProjection& p,
                             const CompareOptions& options) {
  ComparisonRow row;
  row.workload = r.run.workload;
  row.machine = p.target;
  row.kind = row_kind(p);
  if (p.kind != "measured") row.projected_from = r.source->id;
  row.duration_s = p.duration_s;
  row.duration_uncertainty = p.duration_uncertainty;
  if (options.work_units && p.duration_s > 0)
    row.throughput_per_s = *options.work_units / p.duration_s;
  row.average_watts = p.watts_per_gpu * r.run.gpus;
  row.joules = p.joules;
  row.cost_usd = p.cost_usd;
  row.co2_g = p.co2_g;
  row.method = p.method;
  row.price_source = p.price_source;
  row.uncertainty = p.uncertainty;
  row.gpu_id = p.gpu_id;
  row.gpus = r.run.gpus;
  if (p.kind == "instance") row.instance_gpus = p.instance_gpus;
  row.watts_per_gpu = p.watts_per_gpu;
  return row;
}

}  // namespace

std::vector<ComparisonRow> gpu_comparison_rows(const GpuRanking& ranking,
                                               const CompareOptions& options) {
  std::vector<ComparisonRow> rows;
  if (!ranking.source) return rows;
  for (const auto& p : ranking.rows) rows.push_back(comparison_row(ranking, p, options));
  rank_rows(rows, ranking.objective);
  return rows;
}

}  // namespace pmc
