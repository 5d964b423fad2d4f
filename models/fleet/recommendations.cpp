#include "models/fleet/recommendations.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>

#include "models/fleet/power_curve.h"

namespace pmc {
namespace {

using json = nlohmann::json;

std::optional<RuleAction> parse_action(std::string_view s) {
  if (s == "cheapest_sku") return RuleAction::cheapest_sku;
  if (s == "more_memory_bandwidth") return RuleAction::more_memory_bandwidth;
  if (s == "smaller_instance") return RuleAction::smaller_instance;
  if (s == "higher_frequency") return RuleAction::higher_frequency;
  if (s == "energy_time_tradeoff") return RuleAction::energy_time_tradeoff;
  return std::nullopt;
}

[[noreturn]] void bad(const std::string& origin, const std::string& where,
                      const std::string& what) {
  throw std::runtime_error(fmt::format("{}: {}: expected {}", origin, where, what));
}

std::vector<RuleCondition> parse_conditions(const json& rule, const char* key,
                                            const std::string& origin, const std::string& where) {
  std::vector<RuleCondition> out;
  if (!rule.contains(key)) return out;
  const json& list = rule.at(key);
  if (!list.is_array()) bad(origin, where + "." + key, "an array of conditions");
  for (size_t i = 0; i < list.size(); ++i) {
    const json& c = list[i];
    std::string at = fmt::format("{}.{}[{}]", where, key, i);
    if (!c.is_object() || !c.contains("metric") || !c["metric"].is_string())
      bad(origin, at, "an object with a \"metric\" string");
    RuleCondition rc;
    rc.metric = c["metric"].get<std::string>();
    if (!c.contains("op") || !c["op"].is_string()) bad(origin, at, "\"op\": one of > >= < <=");
    rc.op = c["op"].get<std::string>();
    if (rc.op != ">" && rc.op != ">=" && rc.op != "<" && rc.op != "<=")
      bad(origin, at, "\"op\": one of > >= < <=");
    if (!c.contains("value") || !c["value"].is_number()) bad(origin, at, "a number \"value\"");
    rc.value = c["value"].get<double>();
    if (!c.contains("source") || !c["source"].is_string() || c["source"].get<std::string>().empty())
      bad(origin, at, "the threshold's \"source\"");
    rc.source = c["source"].get<std::string>();
    out.push_back(std::move(rc));
  }
  return out;
}

std::optional<double> lookup(const std::vector<std::pair<std::string, double>>& metrics,
                             std::string_view name) {
  for (const auto& [n, v] : metrics)
    if (n == name) return v;
  return std::nullopt;
}

bool holds(const RuleCondition& c, double v) {
  if (c.op == ">") return v > c.value;
  if (c.op == ">=") return v >= c.value;
  if (c.op == "<") return v < c.value;
  return v <= c.value;
}

// Evaluates a rule; on success fills the evidence of every condition that held.
bool fires(const Rule& rule, const std::vector<std::pair<std::string, double>>& metrics,
           std::vector<Evidence>& evidence) {
  for (const auto& c : rule.all) {
    auto v = lookup(metrics, c.metric);
    if (!v || !holds(c, *v)) return false;
    evidence.push_back({c.metric, *v, c.op, c.value, c.source});
  }
  bool any = rule.any.empty();
  for (const auto& c : rule.any) {
    auto v = lookup(metrics, c.metric);
    if (v && holds(c, *v)) {
      any = true;
      evidence.push_back({c.metric, *v, c.op, c.value, c.source});
    }
  }
  return any;
}

std::string usd(double v) {
  return human_cost_usd(v);
}
std::string pct(double fraction) {
  return fmt::format("{:.0f}%", fraction * 100);
}

struct Context {
  const std::string& workload;
  const RunProfile& run;
  const ComparisonRow& baseline;
  std::vector<const ComparisonRow*> rows;       // measured and projected of the workload
  std::vector<const ComparisonRow*> projected;  // projected only
  const SkuCatalog& catalog;
  const CoresPerPackage& packages;
  double runs_per_month;
};

void add_saving(Recommendation& r, const Context& cx, const ComparisonRow& to) {
  if (cx.baseline.cost_usd && to.cost_usd) {
    r.saving_usd_per_run = *cx.baseline.cost_usd - *to.cost_usd;
    r.saving_usd_per_month = *r.saving_usd_per_run * cx.runs_per_month;
  }
}

// A number as a person writes it in a sentence: fixed notation, never e-notation, with three
// significant figures below 100 (0.0000123, 4.56) and whole numbers above (1000000).
std::string plain_number(double v) {
  double a = std::abs(v);
  if (a == 0 || !std::isfinite(v)) return fmt::format("{}", v);
  int digits = std::max(0, 2 - int(std::floor(std::log10(a))));
  std::string text = fmt::format("{:.{}f}", v, digits);
  if (digits > 0) {  // 0.000650 -> 0.00065, 2.50 -> 2.5
    text.erase(text.find_last_not_of('0') + 1);
    if (text.back() == '.') text.pop_back();
  }
  return text;
}

// "saves X, Y USD per month"; a negative saving (a faster SKU that costs more) is said as the
// cost it adds.
std::string saving_words(const Recommendation& r, const Context& cx) {
  if (!r.saving_usd_per_run) return "";
  double month = std::abs(*r.saving_usd_per_month);
  bool saves = *r.saving_usd_per_run > 0;
  return fmt::format("; {} {}, {} USD {}per month at {} runs/month", saves ? "saves" : "costs",
                     usd(std::abs(*r.saving_usd_per_run)),
                     month >= 0.01 ? fmt::format("{:.2f}", month) : plain_number(month),
                     saves ? "" : "more ", plain_number(cx.runs_per_month));
}

// A recommendation worth making: one that saves money, or one that makes the run faster (at a
// cost it states). A cheaper SKU that is not cheaper is none.
bool worth_making(const Recommendation& r) {
  if (!r.saving_usd_per_run || *r.saving_usd_per_run > 0) return true;
  return r.projected_gain && *r.projected_gain > 0;
}

template <class Better>
const ComparisonRow* best_of(const std::vector<const ComparisonRow*>& rows, Better better) {
  const ComparisonRow* best = nullptr;
  for (const auto* r : rows)
    if (best == nullptr || better(*r, *best)) best = r;
  return best;
}

bool cheapest_sku(const Context& cx, Recommendation& r) {
  std::vector<const ComparisonRow*> priced;
  for (const auto* row : cx.rows)
    if (row->cost_usd) priced.push_back(row);
  const auto* c = best_of(priced, [](auto& a, auto& b) { return *a.cost_usd < *b.cost_usd; });
  if (c == nullptr || c->machine == cx.baseline.machine) return false;
  r.sku = c->machine;
  r.method = c->method;
  r.uncertainty = c->duration_uncertainty;
  add_saving(r, cx, *c);
  r.text = fmt::format("{} at {} ({}, ±{}) vs {} on {}{}", c->machine, usd(*c->cost_usd), c->method,
                       pct(c->duration_uncertainty),
                       cx.baseline.cost_usd ? usd(*cx.baseline.cost_usd) : "no price",
                       cx.baseline.machine, saving_words(r, cx));
  return true;
}

double llc_per_core_mb(const Sku& s, const CoresPerPackage& packages) {
  if (!s.llc_mb) return 0;
  if (s.sockets && *s.sockets > 0) return *s.llc_mb * *s.sockets / s.cores;
  auto it = packages.find(cpu_model_key(s.cpu_model));
  return it == packages.end() ? 0 : *s.llc_mb / it->second;
}

bool more_memory_bandwidth(const Context& cx, Recommendation& r) {
  RunFactors src = run_factors(cx.run, cx.catalog, cx.packages);
  const Sku* src_sku = src.source_sku.empty() ? nullptr : cx.catalog.find(src.source_sku);
  double src_llc = src_sku ? llc_per_core_mb(*src_sku, cx.packages) : 0;
  std::vector<const ComparisonRow*> more;
  for (const auto* row : cx.projected) {
    const Sku* s = cx.catalog.find(row->sku_id);
    if (s == nullptr) continue;
    double bw = bandwidth_per_core_gbs(*s, cx.packages);
    bool more_bw = bw > 0 && src.bw_per_core_gbs > 0 && bw > src.bw_per_core_gbs;
    bool more_llc = src_llc > 0 && llc_per_core_mb(*s, cx.packages) > src_llc;
    if (more_bw || more_llc) more.push_back(row);
  }
  const auto* f = best_of(more, [](auto& a, auto& b) { return a.duration_s < b.duration_s; });
  if (f == nullptr) {
    r.text = fmt::format(
        "a SKU with more memory bandwidth or cache per core should help, but {} "
        "(no catalog bandwidth or cache for {} or the candidates): measure on one",
        "no gain can be projected", cx.baseline.machine);
    return true;
  }
  const Sku* s = cx.catalog.find(f->sku_id);
  double bw = bandwidth_per_core_gbs(*s, cx.packages);
  r.sku = f->machine;
  r.method = f->method;
  r.uncertainty = f->duration_uncertainty;
  r.projected_gain = 1 - f->duration_s / cx.baseline.duration_s;
  r.evidence.push_back({"target_bw_per_core_gbs", bw, "", 0, s->id + " in " + cx.catalog.origin()});
  if (src.bw_per_core_gbs > 0)
    r.evidence.push_back({"source_bw_per_core_gbs", src.bw_per_core_gbs, "", 0, src.source_sku});
  add_saving(r, cx, *f);
  r.text = fmt::format(
      "{} has {:.2f} GB/s and {:.2f} MB LLC per core (vs {}): projected {:.3g} s, "
      "{} faster (±{}, {}){}",
      f->machine, bw, llc_per_core_mb(*s, cx.packages),
      src.bw_per_core_gbs > 0 ? fmt::format("{:.2f} GB/s", src.bw_per_core_gbs) : "unknown",
      f->duration_s, pct(*r.projected_gain), pct(f->duration_uncertainty), f->method,
      saving_words(r, cx));
  return true;
}

bool smaller_instance(const Context& cx, Recommendation& r) {
  double busy = cx.run.cpus_utilized.value_or(1);
  const Sku* own = cx.baseline.sku_id.empty() ? nullptr : cx.catalog.find(cx.baseline.sku_id);
  int threads = cx.run.logical_cpus > 0 ? cx.run.logical_cpus : (own ? own->threads : 0);
  std::string idle;
  if (own && cx.baseline.utilisation) {
    double share = own->watts.front() / watts_at_load(*own, *cx.baseline.utilisation);
    r.evidence.push_back({"idle_power_share", share, "", 0, own->id + " " + own->power_source});
    idle = fmt::format("; {} of its power at this load is its idle draw ({})", pct(share), own->id);
  }
  std::vector<const ComparisonRow*> smaller;
  for (const auto* row : cx.projected) {
    const Sku* s = cx.catalog.find(row->sku_id);
    if (s && row->cost_usd && s->threads >= std::ceil(busy) &&
        (threads == 0 || s->threads < threads))
      smaller.push_back(row);
  }
  const auto* c = best_of(smaller, [](auto& a, auto& b) { return *a.cost_usd < *b.cost_usd; });
  if (c) {
    r.sku = c->machine;
    r.method = c->method;
    r.uncertainty = c->duration_uncertainty;
    add_saving(r, cx, *c);
  }
  r.text = fmt::format("{:.2f} of {} CPUs busy{}{}{}", busy, threads, idle,
                       c ? fmt::format("; {} ({} CPUs) at {}", c->machine,
                                       cx.catalog.find(c->sku_id)->threads, usd(*c->cost_usd))
                         : std::string("; no smaller priced SKU in the catalog"),
                       saving_words(r, cx));
  return true;
}

bool higher_frequency(const Context& cx, Recommendation& r) {
  double busy = cx.run.cpus_utilized.value_or(1);
  std::vector<const ComparisonRow*> fits;
  for (const auto* row : cx.projected) {
    const Sku* s = cx.catalog.find(row->sku_id);
    if (s && s->threads >= std::ceil(busy) && sku_ghz(*s) > 0) fits.push_back(row);
  }
  const auto* f = best_of(fits, [&](auto& a, auto& b) {
    return sku_ghz(*cx.catalog.find(a.sku_id)) > sku_ghz(*cx.catalog.find(b.sku_id));
  });
  if (f == nullptr) return false;
  const Sku* s = cx.catalog.find(f->sku_id);
  r.sku = f->machine;
  r.method = f->method;
  r.uncertainty = f->duration_uncertainty;
  r.projected_gain = 1 - f->duration_s / cx.baseline.duration_s;
  add_saving(r, cx, *f);
  r.text = fmt::format(
      "runtime follows the clock, not the core count ({:.2f} CPUs busy): {} at "
      "{:g} GHz projects {:.3g} s ({} {}, ±{}, {}){}",
      busy, f->machine, sku_ghz(*s), f->duration_s, pct(std::abs(*r.projected_gain)),
      *r.projected_gain >= 0 ? "faster" : "slower", pct(f->duration_uncertainty), f->method,
      saving_words(r, cx));
  return true;
}

// The fastest row and the cheapest row slower than it.
std::pair<const ComparisonRow*, const ComparisonRow*> tradeoff(
    const std::vector<const ComparisonRow*>& rows) {
  std::vector<const ComparisonRow*> priced;
  for (const auto* row : rows)
    if (row->cost_usd) priced.push_back(row);
  const auto* fast = best_of(priced, [](auto& a, auto& b) { return a.duration_s < b.duration_s; });
  if (fast == nullptr) return {nullptr, nullptr};
  std::vector<const ComparisonRow*> slower;
  for (const auto* row : priced)
    if (row->duration_s > fast->duration_s) slower.push_back(row);
  const auto* cheap = best_of(slower, [](auto& a, auto& b) { return *a.cost_usd < *b.cost_usd; });
  return {fast, cheap};
}

bool energy_time_tradeoff(const Context& cx, Recommendation& r) {
  auto [fast, cheap] = tradeoff(cx.rows);
  if (!fast || !cheap || *cheap->cost_usd >= *fast->cost_usd) return false;
  r.sku = cheap->machine;
  r.method = cheap->method;
  r.uncertainty = cheap->duration_uncertainty;
  add_saving(r, cx, *cheap);
  std::string energy;
  if (fast->joules && cheap->joules)
    energy = fmt::format(", {:.3g} J vs {:.3g} J", *cheap->joules, *fast->joules);
  r.text = fmt::format(
      "{} is fastest ({:.3g} s, {}); {} is {} slower ({:.3g} s) "
      "but {} cheaper ({}){}{}",
      fast->machine, fast->duration_s, usd(*fast->cost_usd), cheap->machine,
      pct(cheap->duration_s / fast->duration_s - 1), cheap->duration_s,
      pct(1 - *cheap->cost_usd / *fast->cost_usd), usd(*cheap->cost_usd), energy,
      saving_words(r, cx));
  return true;
}

bool quantify(RuleAction action, const Context& cx, Recommendation& r) {
  switch (action) {
    case RuleAction::cheapest_sku:
      return cheapest_sku(cx, r);
    case RuleAction::more_memory_bandwidth:
      return more_memory_bandwidth(cx, r);
    case RuleAction::smaller_instance:
      return smaller_instance(cx, r);
    case RuleAction::higher_frequency:
      return higher_frequency(cx, r);
    case RuleAction::energy_time_tradeoff:
      return energy_time_tradeoff(cx, r);
  }
  return false;
}

}  // namespace

RecommendationRules RecommendationRules::parse(std::string_view text, const std::string& origin) {
  json doc;
  try {
    doc = json::parse(text);
  } catch (const json::parse_error& e) {
    throw std::runtime_error(
        fmt::format("{}: not JSON (byte {}): expected a rules document", origin, e.byte));
  }
  RecommendationRules out;
  out.origin = origin;
  if (!doc.is_object() || doc.value("schema", "") != kRecommendationsSchema)
    bad(origin, "schema", fmt::format("\"{}\"", kRecommendationsSchema));
  if (!doc.contains("runs_per_month") || !doc["runs_per_month"].is_number() ||
      doc["runs_per_month"].get<double>() <= 0)
    bad(origin, "runs_per_month", "a positive number");
  out.runs_per_month = doc["runs_per_month"].get<double>();
  if (!doc.contains("rules") || !doc["rules"].is_array()) bad(origin, "rules", "an array");
  for (size_t i = 0; i < doc["rules"].size(); ++i) {
    const json& r = doc["rules"][i];
    std::string at = fmt::format("rules[{}]", i);
    if (!r.is_object() || !r.contains("id") || !r["id"].is_string()) bad(origin, at, "an \"id\"");
    Rule rule;
    rule.id = r["id"].get<std::string>();
    auto action = r.contains("action") && r["action"].is_string()
                      ? parse_action(r["action"].get<std::string>())
                      : std::nullopt;
    if (!action)
      bad(origin, at + ".action",
          "cheapest_sku, more_memory_bandwidth, smaller_instance, higher_frequency or "
          "energy_time_tradeoff");
    rule.action = *action;
    rule.title = r.value("title", rule.id);
    rule.all = parse_conditions(r, "all", origin, at);
    rule.any = parse_conditions(r, "any", origin, at);
    if (rule.all.empty() && rule.any.empty()) bad(origin, at, "conditions in \"all\" or \"any\"");
    out.rules.push_back(std::move(rule));
  }
  return out;
}

RecommendationRules RecommendationRules::load(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error(path + ": cannot open the recommendation rules");
  std::ostringstream text;
  text << in.rdbuf();
  return parse(text.str(), path);
}

std::vector<std::pair<std::string, double>> rule_metrics(const RunProfile& run,
                                                         const ComparisonRow* baseline,
                                                         std::span<const ComparisonRow> rows) {
  std::vector<std::pair<std::string, double>> m;
  auto put = [&](const char* name, const std::optional<double>& v) {
    if (v) m.emplace_back(name, *v);
  };
  put("ipc", run.ipc);
  put("tma_retiring", run.tma_retiring);
  put("tma_bad_speculation", run.tma_bad_speculation);
  put("tma_frontend_bound", run.tma_frontend_bound);
  put("tma_backend_bound", run.tma_backend_bound);
  put("tma_memory_bound", run.tma_memory_bound);
  put("backend_stall_ratio", run.backend_stall_ratio);
  put("llc_mpki", run.llc_mpki);
  put("l1d_mpki", run.l1d_mpki);
  std::optional<double> memory = run.tma_memory_bound    ? run.tma_memory_bound
                                 : run.tma_backend_bound ? run.tma_backend_bound
                                                         : run.backend_stall_ratio;
  put("memory_fraction", memory);
  if (baseline) put("utilisation", baseline->utilisation);
  std::vector<const ComparisonRow*> all;
  for (const auto& r : rows) all.push_back(&r);
  if (baseline && baseline->cost_usd && *baseline->cost_usd > 0) {
    const auto* c = best_of(all, [](auto& a, auto& b) {
      return a.cost_usd && (!b.cost_usd || *a.cost_usd < *b.cost_usd);
    });
    if (c && c->cost_usd) m.emplace_back("saving_fraction", 1 - *c->cost_usd / *baseline->cost_usd);
  }
  auto [fast, cheap] = tradeoff(all);
  if (fast && cheap && *fast->cost_usd > 0)
    m.emplace_back("tradeoff_saving_fraction", 1 - *cheap->cost_usd / *fast->cost_usd);
  return m;
}

std::vector<Recommendation> recommend(std::span<const RunProfile> profiles,
                                      std::span<const ComparisonRow> measured,
                                      std::span<const ComparisonRow> projected,
                                      const SkuCatalog& catalog, const RecommendationRules& rules,
                                      double runs_per_month) {
  std::vector<Recommendation> out;
  auto packages = cores_per_package(catalog);
  std::map<std::string_view, std::vector<size_t>> projected_of;
  for (size_t i = 0; i < projected.size(); ++i) projected_of[projected[i].workload].push_back(i);
  std::map<std::pair<std::string_view, std::string_view>, const RunProfile*> profile_of;
  for (const auto& p : profiles) profile_of.try_emplace({p.workload, p.machine}, &p);
  for (const auto& group : indices_by_workload(measured)) {
    // The baseline is the workload's best-ranked measured machine (rows come in rank order).
    const ComparisonRow* baseline = &measured[group.front()];
    const std::string& w = baseline->workload;
    std::vector<ComparisonRow> rows;
    for (size_t i : group) rows.push_back(measured[i]);
    if (auto it = projected_of.find(w); it != projected_of.end())
      for (size_t i : it->second) rows.push_back(projected[i]);
    auto found = profile_of.find({w, baseline->machine});
    if (found == profile_of.end()) continue;
    const RunProfile* run = found->second;
    Context cx{w, *run, *baseline, {}, {}, catalog, packages, runs_per_month};
    for (const auto& row : rows) {
      cx.rows.push_back(&row);
      if (row.kind == "projected") cx.projected.push_back(&row);
    }
    auto metrics = rule_metrics(*run, baseline, rows);
    std::vector<Recommendation> mine;
    for (const auto& rule : rules.rules) {
      Recommendation r;
      if (!fires(rule, metrics, r.evidence)) continue;
      r.workload = w;
      r.rule = rule.id;
      r.baseline = baseline->machine;
      if (quantify(rule.action, cx, r) && worth_making(r)) {
        r.text = rule.title + ": " + r.text;
        mine.push_back(std::move(r));
      }
    }
    std::stable_sort(mine.begin(), mine.end(), [](const auto& a, const auto& b) {
      return a.saving_usd_per_month.value_or(-INFINITY) >
             b.saving_usd_per_month.value_or(-INFINITY);
    });
    for (size_t i = 0; i < mine.size(); ++i) mine[i].rank = int(i + 1);
    for (auto& r : mine) out.push_back(std::move(r));
  }
  return out;
}

std::vector<ComparisonRow> rows_with_memory_for(std::span<const ComparisonRow> projected,
                                                std::span<const RunProfile> profiles,
                                                const SkuCatalog& catalog,
                                                std::span<const std::string> asked,
                                                std::vector<std::string>& notes) {
  std::map<std::string_view, double> peak_mb;  // per workload, over its machines
  for (const auto& p : profiles)
    if (p.peak_rss_mb) peak_mb[p.workload] = std::max(peak_mb[p.workload], *p.peak_rss_mb);
  std::vector<ComparisonRow> out;
  std::map<std::string_view, size_t> left_out;
  for (const auto& row : projected) {
    auto peak = peak_mb.find(row.workload);
    const Sku* sku = row.sku_id.empty() ? nullptr : catalog.find(row.sku_id);
    bool named = std::find(asked.begin(), asked.end(), row.sku_id) != asked.end();
    if (peak != peak_mb.end() && sku && sku->memory_gb && !named &&
        *sku->memory_gb * 1024 < peak->second) {
      ++left_out[row.workload];
      continue;
    }
    out.push_back(row);
  }
  for (const auto& [workload, count] : left_out)
    notes.push_back(fmt::format(
        "{}: {} SKU{} with less memory than the run's peak RSS ({:.0f} MB) not recommended "
        "(name one with --sku to consider it)",
        workload, count, count == 1 ? "" : "s", peak_mb[workload]));
  return out;
}

double runs_to_say(double per_run) {
  double a = std::abs(per_run);
  if (a >= 0.01 || a == 0 || !std::isfinite(a)) return 1;
  return a * 1e3 >= 0.01 ? 1e3 : 1e6;
}

const char* runs_word(double runs) {
  return runs == 1 ? "run" : runs == 1e3 ? "1k runs" : "1M runs";
}

std::string human_cost_usd(double usd) {
  double runs = runs_to_say(usd);
  if (runs == 1) return fmt::format("{:.4g} USD/run", usd);
  return fmt::format("{:.3g} USD/{}", usd * runs, runs_word(runs));
}

}  // namespace pmc
