#pragma once
// Recommendations from a workload's metrics and its comparison rows. When a rule fires is data
// (data/recommendations.json: thresholds with their source); what each kind of recommendation
// quantifies (the saving, the projected gain) is one function per action here.
// docs/recommendations.md describes the rules and the arithmetic.
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "models/fleet/comparison.h"
#include "models/fleet/projection.h"
#include "models/fleet/sku_catalog.h"

namespace pmc {

// A cost per run as a person says it: "0.0123 USD/run" from a cent up, else per 1,000 runs
// ("1.09 USD/1k runs") or per million runs ("1.09 USD/1M runs"), three significant figures. The
// one spelling of a cost in compare's table, its SVG and the recommendations' sentences.
std::string human_cost_usd(double usd_per_run);
// The same rule for any small figure per run (a cost, grams of CO2e): the number of runs it is
// best said per, 1 from 0.01 up (and for 0), 1,000 from 0.00001 up, else 1,000,000; and how that
// number is written after a unit ("run", "1k runs", "1M runs").
double runs_to_say(double per_run);
const char* runs_word(double runs);

inline constexpr const char* kRecommendationsSchema = "pmcmodel.recommendations/1";

struct RuleCondition {
  std::string metric;  // a name of rule_metrics(): tma_backend_bound, llc_mpki, utilisation, …
  std::string op;      // ">", ">=", "<", "<="
  double value = 0;
  std::string source;  // where the threshold comes from
};

enum class RuleAction {
  cheapest_sku,           // the cheapest row and the saving per run and per month
  more_memory_bandwidth,  // SKUs with more bandwidth or cache per core, projected gain
  smaller_instance,       // fewer CPUs: the idle-power share wasted now, the saving
  higher_frequency,       // compute bound: the fastest-clocked SKU, projected gain
  energy_time_tradeoff,   // a slower SKU that is cheaper or needs less energy
};

struct Rule {
  std::string id;
  RuleAction action = RuleAction::cheapest_sku;
  std::string title;
  std::vector<RuleCondition> all;  // every one must hold
  std::vector<RuleCondition> any;  // and at least one of these, when there are any
};

struct RecommendationRules {
  std::string origin;
  double runs_per_month = 0;  // default of --runs-per-month
  std::vector<Rule> rules;
  // Throws std::runtime_error "FILE: what was expected" (nlohmann's byte offset for bad JSON).
  static RecommendationRules parse(std::string_view text, const std::string& origin);
  static RecommendationRules load(const std::string& path);
};

struct Evidence {
  std::string metric;
  double value = 0;
  std::string op;  // the condition that held ("" for figures that only quantify)
  double threshold = 0;
  std::string source;
};

struct Recommendation {
  std::string workload;
  std::string rule;      // the rule id
  int rank = 0;          // 1 = first; by saving per month, then by rule order
  std::string text;      // one sentence with the figures
  std::string baseline;  // the measured machine it is relative to
  std::string sku;       // the SKU it recommends, if any
  std::optional<double> saving_usd_per_run;
  std::optional<double> saving_usd_per_month;
  std::optional<double> projected_gain;  // relative runtime (or energy) reduction
  std::string method;                    // of the figure it rests on
  double uncertainty = 0;
  std::vector<Evidence> evidence;
};

// The figures rules may test, for one workload's baseline run: the run's metrics (tma_*,
// backend_stall_ratio, llc_mpki, l1d_mpki, ipc), memory_fraction (as projection uses it),
// utilisation (busy CPUs / CPUs of the machine) and saving_fraction (1 − cheapest / baseline
// cost). Absent figures make their conditions false.
std::vector<std::pair<std::string, double>> rule_metrics(const RunProfile& run,
                                                         const ComparisonRow* baseline,
                                                         std::span<const ComparisonRow> rows);

// The rows a recommendation may name: the projected rows of SKUs with at least the memory the
// workload's runs used (their peak RSS), and those of the SKUs the user named (`asked`). A SKU
// whose memory the catalog does not give, and a workload whose runs say no peak RSS, keep their
// rows. `notes` says, per workload, how many SKUs were left out and why.
std::vector<ComparisonRow> rows_with_memory_for(std::span<const ComparisonRow> projected,
                                                std::span<const RunProfile> profiles,
                                                const SkuCatalog& catalog,
                                                std::span<const std::string> asked,
                                                std::vector<std::string>& notes);

// Recommendations for each workload of `comparison` (measured rows, optionally projected rows
// too). `projected` holds projections of every workload onto the catalog (compare_projected
// with all SKUs); `profiles` are merge_repeats() of the runs. Ranked per workload. A
// recommendation whose saving is 0 or negative is dropped unless it projects a faster run (its
// negative saving is then the cost it adds, said as such).
std::vector<Recommendation> recommend(std::span<const RunProfile> profiles,
                                      std::span<const ComparisonRow> measured,
                                      std::span<const ComparisonRow> projected,
                                      const SkuCatalog& catalog, const RecommendationRules& rules,
                                      double runs_per_month);

}  // namespace pmc
