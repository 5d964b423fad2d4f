#include "models/fleet/comparison.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <numeric>
#include <unordered_map>

#include "events/document/energy_basis.h"
#include "models/fleet/energy_estimate.h"
#include "models/fleet/power_curve.h"

namespace pmc {
namespace {

// A NaN metric (a division by zero) is no figure to compare: as if it were not there.
const Metric* find_metric(const std::vector<Metric>& list, std::string_view name) {
  for (const auto& m : list)
    if (m.name == name && !std::isnan(m.value)) return &m;
  return nullptr;
}

const EventCount* find_event(const Measurement& m, std::string_view name) {
  for (const auto& e : m.events)
    if (e.counted() && (e.name == name || e.name == std::string(name) + ":u")) return &e;
  return nullptr;
}

std::optional<double> metric(const Measurement& m, std::string_view name) {
  if (const auto* x = find_metric(m.metrics, name)) return x->value;
  if (const auto* x = find_metric(m.reported, name)) return x->value;
  return std::nullopt;
}

std::optional<double> ratio(const EventCount* num, const EventCount* den, double scale = 1) {
  if (num == nullptr || den == nullptr || den->value == 0) return std::nullopt;
  return num->value / den->value * scale;
}

double task_clock_s(const EventCount& e) {
  // value is in the printed unit (msec) with unit_scale raw→unit; raw counts ns.
  if (e.unit == "msec") return e.value / 1e3;
  if (e.unit == "ns" || e.unit.empty()) return e.value / 1e9;
  return e.value / 1e3;
}

// Top-down level 1 from the topdown-* slot counts perf prints on Ice Lake and later.
void topdown_from_events(const Measurement& m, RunProfile& p) {
  const auto* ret = find_event(m, "topdown-retiring");
  const auto* bad = find_event(m, "topdown-bad-spec");
  const auto* fe = find_event(m, "topdown-fe-bound");
  const auto* be = find_event(m, "topdown-be-bound");
  if (!ret || !bad || !fe || !be) return;
  double sum = ret->value + bad->value + fe->value + be->value;
  if (sum <= 0) return;
  if (!p.tma_retiring) p.tma_retiring = ret->value / sum;
  if (!p.tma_bad_speculation) p.tma_bad_speculation = bad->value / sum;
  if (!p.tma_frontend_bound) p.tma_frontend_bound = fe->value / sum;
  if (!p.tma_backend_bound) p.tma_backend_bound = be->value / sum;
}

double mean(const std::vector<double>& v) {
  return std::accumulate(v.begin(), v.end(), 0.0) / double(v.size());
}

// Sample standard deviation over the mean; 0 for fewer than two values.
double relative_spread(const std::vector<double>& v) {
  if (v.size() < 2) return 0;
  double mu = mean(v), ss = 0;
  for (double x : v) ss += (x - mu) * (x - mu);
  return mu == 0 ? 0 : std::sqrt(ss / double(v.size() - 1)) / std::abs(mu);
}

std::optional<double> mean_of(std::span<const RunProfile* const> group,
                              std::optional<double> RunProfile::*field) {
  double sum = 0;
  int n = 0;
  for (const auto* r : group)
    if (r->*field) {
      sum += *(r->*field);
      ++n;
    }
  return n ? std::optional<double>(sum / n) : std::nullopt;
}

const Sku* match_sku(const RunProfile& run, const SkuCatalog* catalog) {
  if (catalog == nullptr) return nullptr;
  if (const Sku* s = catalog->find(run.machine)) return s;
  return run.cpu_model.empty() ? nullptr : catalog->match_cpu_model(run.cpu_model);
}

// The hourly price of a measured machine: --price by its name as given; else the price of its
// matched SKU (--price by the SKU's id, else the catalog's), of the run's share of that SKU
// (sku_share): a 2-vCPU VM matched to a 72-thread instance of its CPU pays 2/72 of its price, as
// its energy is 2/72 of the instance's curve. Sets row.price_source.
std::optional<double> machine_price(ComparisonRow& row, const Sku* sku, int cpus,
                                    const CompareOptions& o) {
  if (auto it = o.price_per_hour.find(row.machine); it != o.price_per_hour.end()) {
    row.price_source = "--price";
    return it->second;
  }
  if (!sku) return std::nullopt;
  std::optional<double> price;
  if (auto it = o.price_per_hour.find(sku->id); it != o.price_per_hour.end()) {
    price = it->second;
    row.price_source = "--price";
  } else if (sku->price_per_hour_usd) {
    price = sku->price_per_hour_usd;
    row.price_source = fmt::format("catalog:{} ({})", sku->id, sku->price_source);
  }
  double share = sku_share(*sku, cpus);
  if (price && share < 1) {
    row.price_source += fmt::format(" × {}/{} threads", cpus, sku->threads);
    row.missing_inputs.push_back(
        fmt::format("price: {}'s for its {} threads, scaled by this machine's {} CPUs", sku->id,
                    sku->threads, cpus));
    return *price * share;
  }
  return price;
}

ComparisonRow measured_row(std::span<const RunProfile* const> group, const SkuCatalog* catalog,
                           const CompareOptions& o, std::vector<std::string>& notes) {
  const RunProfile& first = *group.front();
  ComparisonRow row;
  row.workload = first.workload;
  row.machine = first.machine;
  row.kind = "measured";
  row.runs = 0;
  std::vector<double> durations, joules;
  double energy_u = 0;
  for (const auto* r : group) {
    if (!r->failure.empty()) row.failed.push_back(r->source + ": " + r->failure);
    row.runs += r->repeats;
    durations.push_back(r->duration_s);
    if (r->joules) {
      joules.push_back(*r->joules);
      energy_u = std::max(energy_u, r->energy_uncertainty);
    }
  }
  row.duration_s = mean(durations);
  row.duration_uncertainty =
      group.size() > 1 ? relative_spread(durations) : first.duration_uncertainty;
  row.ipc = mean_of(group, &RunProfile::ipc);
  row.tma_retiring = mean_of(group, &RunProfile::tma_retiring);
  row.tma_bad_speculation = mean_of(group, &RunProfile::tma_bad_speculation);
  row.tma_frontend_bound = mean_of(group, &RunProfile::tma_frontend_bound);
  row.tma_backend_bound = mean_of(group, &RunProfile::tma_backend_bound);
  row.llc_mpki = mean_of(group, &RunProfile::llc_mpki);
  auto busy = mean_of(group, &RunProfile::cpus_utilized);
  const Sku* sku = match_sku(first, catalog);
  if (sku) row.sku_id = sku->id;
  int cpus = first.logical_cpus > 0 ? first.logical_cpus : (sku ? sku->threads : 0);
  if (busy && cpus > 0) row.utilisation = std::min(1.0, *busy / cpus);

  if (joules.size() == group.size()) {
    row.joules = mean(joules);
    row.method = first.energy_method;
    // The spread over documents, or the document's own -r spread, widens the source's figure.
    double spread = group.size() > 1 ? relative_spread(joules) : row.duration_uncertainty;
    row.uncertainty = std::sqrt(energy_u * energy_u + spread * spread);
  } else if (sku) {
    double u = row.utilisation.value_or(cpus > 0 ? std::min(1.0, 1.0 / cpus) : 0.0);
    if (!row.utilisation) row.missing_inputs.push_back("cpus_utilized (task-clock): 1 CPU assumed");
    // The curve measure's estimate uses: the SKU's, scaled by the run's share of its threads
    // when the run saw fewer CPUs (a VM on that host).
    EstimateCurve curve = sku_estimate_curve(*sku, cpus);
    row.joules = watts_at_load(curve.watts, u) * row.duration_s;
    row.method = curve.method;
    row.uncertainty = curve.uncertainty_at(u) + row.duration_uncertainty;
    row.missing_inputs.push_back("energy: not in the document, estimated from the " + curve.basis);
  } else {
    row.missing_inputs.push_back("energy: not in the document and no catalog SKU matches");
    notes.push_back(fmt::format("{}: no energy measured and CPU '{}' matches no catalog SKU",
                                first.source, first.cpu_model));
  }
  if (row.joules) row.average_watts = *row.joules / row.duration_s;
  if (o.work_units && row.duration_s > 0) row.throughput_per_s = *o.work_units / row.duration_s;

  std::optional<double> price = machine_price(row, sku, cpus, o);
  if (price)
    row.cost_usd = *price * row.duration_s / 3600.0;
  else
    row.missing_inputs.push_back("price: none in the catalog; give --price MACHINE=USD_PER_HOUR");
  if (o.grid_g_per_kwh && row.joules) row.co2_g = *row.joules / 3.6e6 * *o.grid_g_per_kwh;
  return row;
}

}  // namespace

std::optional<Objective> parse_objective(std::string_view text) {
  if (text == "time") return Objective::time;
  if (text == "energy") return Objective::energy;
  if (text == "cost") return Objective::cost;
  if (text == "co2") return Objective::co2;
  return std::nullopt;
}

const char* to_string(Objective objective) {
  switch (objective) {
    case Objective::time:
      return "time";
    case Objective::energy:
      return "energy";
    case Objective::cost:
      return "cost";
    case Objective::co2:
      return "co2";
  }
  return "?";
}

RunProfile profile_run(const Measurement& m, std::string source, std::string workload) {
  RunProfile p;
  p.source = std::move(source);
  p.workload = std::move(workload);
  p.cpu_model = m.machine.cpu_model;
  p.logical_cpus = m.machine.logical_cpus;
  p.host_cpu = m.machine.host_cpu.value_or("");
  p.host_cpu_ghz = m.machine.host_cpu_ghz;
  p.host_cpu_confidence = m.machine.host_cpu_confidence.value_or("");
  p.machine = !m.machine.hostname.empty()    ? m.machine.hostname
              : !m.machine.cpu_model.empty() ? m.machine.cpu_model
                                             : p.source;
  p.duration_s = m.duration_s;
  p.repeats = std::max(1, m.runs);
  if (m.signal)
    p.failure = fmt::format("killed by {}{}", *m.signal,
                            m.exit_status ? fmt::format(" (exit status {})", *m.exit_status) : "");
  else if (m.exit_status && *m.exit_status != 0)
    p.failure = fmt::format("exit status {}", *m.exit_status);
  const auto* task = find_event(m, "task-clock");
  if (!task) task = find_event(m, "cpu-clock");
  if (task && task->spread->stddev && task->value > 0)
    p.duration_uncertainty = *task->spread->stddev / task->value;
  if (auto basis = energy_basis(m.energy)) {
    p.joules = basis->joules;
    p.energy_method = basis->method();
    p.energy_uncertainty = basis->uncertainty;
  }

  const auto* cycles = find_event(m, "cycles");
  const auto* insns = find_event(m, "instructions");
  p.ipc = metric(m, "ipc");
  if (!p.ipc) p.ipc = ratio(insns, cycles);
  p.cpus_utilized = metric(m, "cpus_utilized");
  if (!p.cpus_utilized && task && m.duration_s > 0)
    p.cpus_utilized = task_clock_s(*task) / m.duration_s;
  p.ghz = metric(m, "ghz");
  if (!p.ghz && task && cycles && task->value > 0)
    p.ghz = cycles->value / task_clock_s(*task) / 1e9;
  p.peak_rss_mb = metric(m, "peak_rss_mb");
  p.tma_retiring = metric(m, "tma_retiring");
  p.tma_bad_speculation = metric(m, "tma_bad_speculation");
  p.tma_frontend_bound = metric(m, "tma_frontend_bound");
  p.tma_backend_bound = metric(m, "tma_backend_bound");
  p.tma_memory_bound = metric(m, "tma_memory_bound");
  topdown_from_events(m, p);
  p.backend_stall_ratio = metric(m, "backend_stall_ratio");
  if (!p.backend_stall_ratio)
    p.backend_stall_ratio = ratio(find_event(m, "stalled-cycles-backend"), cycles);
  p.llc_mpki = metric(m, "llc_mpki");
  if (!p.llc_mpki) p.llc_mpki = ratio(find_event(m, "LLC-load-misses"), insns, 1000);
  p.l1d_mpki = metric(m, "l1d_mpki");
  if (!p.l1d_mpki) p.l1d_mpki = ratio(find_event(m, "L1-dcache-load-misses"), insns, 1000);
  return p;
}

std::vector<std::string> assign_workloads(std::span<const WorkloadClaim> claims,
                                          const std::optional<std::string>& label) {
  std::vector<std::string> out;
  if (label) return std::vector<std::string>(claims.size(), *label);
  const WorkloadClaim* with = nullptr;
  const WorkloadClaim* without = nullptr;
  for (const auto& c : claims) (c.workload ? with : without) = &c;
  if (with && without)
    throw ComparisonError(fmt::format(
        "{} names workload '{}' but {} names none: give every run a \"workload\" field or use "
        "--label NAME",
        with->source, *with->workload, without->source));
  for (const auto& c : claims) {
    if (c.workload) {
      out.push_back(*c.workload);
      continue;
    }
    if (c.command != claims.front().command)
      throw ComparisonError(fmt::format(
          "runs of different workloads mixed without labels: {} ran '{}', {} ran '{}'; use "
          "--label NAME or a \"workload\" field",
          claims.front().source, claims.front().command, c.source, c.command));
    out.push_back(c.command.empty() ? "workload" : c.command);
  }
  return out;
}

namespace {

std::vector<std::vector<const RunProfile*>> group_by_machine(std::span<const RunProfile> runs) {
  std::map<std::pair<std::string_view, std::string_view>, size_t> slot;
  std::vector<std::vector<const RunProfile*>> groups;
  for (const auto& r : runs) {
    auto [it, inserted] = slot.try_emplace({r.workload, r.machine}, groups.size());
    if (inserted) groups.emplace_back();
    groups[it->second].push_back(&r);
  }
  return groups;
}

}  // namespace

std::vector<RunProfile> merge_repeats(std::span<const RunProfile> runs) {
  std::vector<RunProfile> out;
  for (const auto& g : group_by_machine(runs)) {
    RunProfile p = *g.front();
    if (g.size() > 1) {
      std::vector<double> durations;
      p.repeats = 0;
      for (const auto* r : g) {
        durations.push_back(r->duration_s);
        p.repeats += r->repeats;
      }
      p.duration_s = mean(durations);
      p.duration_uncertainty = relative_spread(durations);
      bool all_energy = std::all_of(g.begin(), g.end(), [](auto* r) { return bool(r->joules); });
      p.joules = all_energy ? mean_of(g, &RunProfile::joules) : std::nullopt;
      for (auto field : {&RunProfile::ipc, &RunProfile::cpus_utilized, &RunProfile::ghz,
                         &RunProfile::tma_retiring, &RunProfile::tma_bad_speculation,
                         &RunProfile::tma_frontend_bound, &RunProfile::tma_backend_bound,
                         &RunProfile::tma_memory_bound, &RunProfile::backend_stall_ratio,
                         &RunProfile::llc_mpki, &RunProfile::l1d_mpki})
        p.*field = mean_of(g, field);
      // The memory a machine must have is the most any run used.
      for (const auto* r : g)
        if (r->peak_rss_mb) p.peak_rss_mb = std::max(p.peak_rss_mb.value_or(0), *r->peak_rss_mb);
    }
    out.push_back(std::move(p));
  }
  return out;
}

Comparison compare_measured(std::span<const RunProfile> runs, const SkuCatalog* catalog,
                            const CompareOptions& options) {
  Comparison c;
  c.objective = options.objective;
  for (const auto& g : group_by_machine(runs))
    c.rows.push_back(measured_row(g, catalog, options, c.notes));
  rank_rows(c.rows, options.objective);
  return c;
}

std::optional<double> objective_value(const ComparisonRow& row, Objective objective) {
  switch (objective) {
    case Objective::time:
      return row.duration_s;
    case Objective::energy:
      return row.joules;
    case Objective::cost:
      return row.cost_usd;
    case Objective::co2:
      return row.co2_g;
  }
  return std::nullopt;
}

std::vector<std::vector<size_t>> indices_by_workload(std::span<const ComparisonRow> rows) {
  std::unordered_map<std::string_view, size_t> slot;
  std::vector<std::vector<size_t>> out;
  for (size_t i = 0; i < rows.size(); ++i) {
    auto [it, inserted] = slot.try_emplace(rows[i].workload, out.size());
    if (inserted) out.emplace_back();
    out[it->second].push_back(i);
  }
  return out;
}

void rank_rows(std::vector<ComparisonRow>& rows, Objective objective) {
  std::vector<ComparisonRow> out;
  out.reserve(rows.size());
  for (const auto& group : indices_by_workload(rows)) {
    std::vector<ComparisonRow*> ranked, rest;
    for (size_t i : group)
      (objective_value(rows[i], objective) ? ranked : rest).push_back(&rows[i]);
    std::stable_sort(ranked.begin(), ranked.end(), [&](auto* a, auto* b) {
      return *objective_value(*a, objective) < *objective_value(*b, objective);
    });
    double best = ranked.empty() ? 0 : *objective_value(*ranked.front(), objective);
    for (size_t i = 0; i < ranked.size(); ++i) {
      ranked[i]->rank = int(i + 1);
      // A best of 0 (a machine given --price M=0) divides nothing: no row has a ratio then
      // (zero_best_notes says why), rather than inf beside a 1.
      if (best > 0)
        ranked[i]->ratio_to_best = *objective_value(*ranked[i], objective) / best;
      else
        ranked[i]->ratio_to_best.reset();
      out.push_back(std::move(*ranked[i]));
    }
    for (auto* r : rest) {
      r->rank.reset();
      r->ratio_to_best.reset();
      out.push_back(std::move(*r));
    }
  }
  rows = std::move(out);
}

std::vector<std::string> zero_best_notes(std::span<const ComparisonRow> rows, Objective objective) {
  std::vector<std::string> notes;
  for (const auto& group : indices_by_workload(rows)) {
    const ComparisonRow* best = nullptr;
    for (size_t i : group)
      if (rows[i].rank == 1) best = &rows[i];
    auto v = best ? objective_value(*best, objective) : std::nullopt;
    if (v && *v <= 0)
      notes.push_back(fmt::format(
          "{}: the best {} is 0 ({}): ratio_to_best is left empty, a ratio to 0 has no value",
          best->workload, to_string(objective), best->machine));
  }
  return notes;
}

}  // namespace pmc
