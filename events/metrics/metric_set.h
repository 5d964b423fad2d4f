#pragma once
// Metric definitions as data: files in perf's pmu-events metric format (a JSON array of
// {MetricName, MetricExpr, MetricGroup, ScaleUnit, BriefDescription, MetricThreshold, Unit…}),
// evaluated with the MetricExpr engine of expr.h. Users can load perf's own files for their CPU.
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "events/metrics/expr.h"

namespace pmc {

struct MetricDef {
  std::string name;                 // MetricName
  std::string pmu;                  // "Unit" (cpu_core, cpu_atom on hybrids); empty for all
  std::vector<std::string> groups;  // MetricGroup split on ';'
  std::string description;          // BriefDescription
  std::string scale_unit;           // ScaleUnit as written ("100%", "1GHz")
  double scale = 1;                 // its number: value shown = value × scale
  std::string unit;                 // its unit: "%", "GHz", "ratio"…
  Expr expr;
  std::optional<Expr> threshold;  // MetricThreshold: true when the metric needs attention
  std::string origin;             // "FILE:LINE"
};

struct MetricResult {
  std::string name;
  std::string pmu;
  std::optional<double> value;  // scaled by ScaleUnit
  std::string unit;
  std::string reason;                      // why value is absent
  std::optional<bool> threshold_exceeded;  // absent without a threshold or when it cannot be told
};

// "<number><unit>" as in ScaleUnit: "100%" → {100, "%"}, "1GHz" → {1, "GHz"}, "3e-5MiB" →
// {3e-5, "MiB"}. Throws std::runtime_error when there is no leading number.
std::pair<double, std::string> parse_scale_unit(std::string_view text);

class MetricSet {
 public:
  // Throws std::runtime_error "FILE:LINE: what was expected" for bad JSON, a missing field or
  // an expression that does not parse (naming the metric and the column).
  static MetricSet load(const std::filesystem::path& file);
  // Several files in order; a metric (same name and Unit) in a later file replaces an earlier one.
  static MetricSet load(const std::vector<std::filesystem::path>& files);
  static MetricSet parse(std::string_view json_text, const std::string& origin);
  // data/metrics/generic.json as it was when this binary was built (compiled in): perf's generic
  // ratios for a run without its data directory, and the one definition derive_metrics uses.
  static const MetricSet& builtin_generic();

  // Adds `other`'s metrics, replacing those with the same name and Unit.
  void merge(const MetricSet& other);

  const std::vector<MetricDef>& metrics() const { return metrics_; }

  // Indices of the metrics that names (MetricName) or groups (MetricGroup entries) select, in
  // file order; matching ignores case. Throws std::runtime_error for a name that is neither.
  std::vector<size_t> select(const std::vector<std::string>& names_or_groups) const;

  // Events the selected metrics read, following references to other metrics, each once, in
  // order of first appearance, spelled as perf would be given them ("cpu_core/TOPDOWN.SLOTS/").
  // An if/else whose condition `literals` decide (#smt_on, #core_wide) contributes only the
  // branch taken; has_event() conditions are taken as true, so the guarded events are asked for.
  std::vector<std::string> required_events(const std::vector<std::string>& names_or_groups,
                                           const Literals& literals = {}) const;
  // The same per selected metric: what each one needs, for planning groups.
  std::vector<std::vector<std::string>> events_by_metric(
      const std::vector<std::string>& names_or_groups, const Literals& literals = {}) const;

  std::vector<MetricResult> evaluate(const std::vector<std::string>& names_or_groups,
                                     const EventValues& events, const Literals& literals,
                                     const std::string& cpuid = {}) const;
  // The same for metrics already chosen with select(): per-interval evaluation selects once.
  std::vector<MetricResult> evaluate_selected(const std::vector<size_t>& selected,
                                              const EventValues& events, const Literals& literals,
                                              const std::string& cpuid = {}) const;
  // Only the values evaluate_selected() gives (values[k] for selected[k], nullopt where it gives
  // none), without the names, units, reasons and thresholds it builds: for the same metrics on
  // interval after interval, where those were most of the cost. `cache` (for `events`, which
  // only update() changed since) saves looking the events up by name each time.
  void evaluate_values(const std::vector<size_t>& selected, const EventValues& events,
                       const Literals& literals, std::vector<std::optional<double>>& values,
                       SymbolLookupCache* cache = nullptr) const;

 private:
  void link();
  void collect_events(size_t metric, const ExprEnv& constants, std::vector<std::string>& keys,
                      std::vector<std::string>& spellings, std::vector<char>& visiting) const;

  std::vector<MetricDef> metrics_;
  // Per metric, per identifier of its expression (then of its threshold): the metric it
  // names, or -1 for an event. Rebuilt by link().
  std::vector<std::vector<int>> expr_refs_;
  std::vector<std::vector<int>> threshold_refs_;
  friend class MetricEnv;
};

// The metric file for a CPU, by vendor ("GenuineIntel", "AuthenticAMD", "ARM"), family and
// model as /proc/cpuinfo gives them, and the PMUs in sysfs ("cpu", "cpu_core", "armv8_pmuv3_0").
// A file name under data/metrics ("skylake.json"), or empty when none covers the CPU; generic.json
// applies to every CPU in addition.
std::string metric_file_for_cpu(std::string_view vendor, int family, int model,
                                const std::vector<std::string>& pmu_names);

// The metric file for a name a user gives with --cpu: "skylake", "skx", "icx", "spr", "adl",
// "zen3", "neoverse-n1", "generic"…; empty when the name is unknown.
std::string metric_file_for_name(std::string_view cpu_name);

// Whether an event is counted on a fixed-function counter (cycles, instructions, ref-cycles,
// INST_RETIRED.ANY, CPU_CLK_UNHALTED.THREAD/REF_TSC, slots, topdown-*) and so uses none of the
// general-purpose counters.
bool is_fixed_counter_event(std::string_view name);

// Whether an event is counted off the core PMU (software clocks, duration_time, msr, uncore), so
// it uses no core counter and cannot join a core group.
bool is_off_core_event(std::string_view name);

// General-purpose core counters available to one thread: 4 on Intel with SMT on, 8 with it off,
// 6 on AMD Zen, 6 on Arm Neoverse (a safe minimum).
int general_purpose_counters(std::string_view vendor, bool smt_on);

// Splits the events each metric needs into groups that fit `general_counters` general-purpose
// counters (fixed-counter events do not count against it), keeping each metric's events in one
// group when they fit and packing metrics into as few groups as possible. Off-core events come
// back as groups of one. Within a group the slots event, when present, leads (Intel requires
// it to lead topdown-* events). Pure.
std::vector<std::vector<std::string>> plan_event_groups(
    const std::vector<std::vector<std::string>>& events_per_metric, int general_counters);

}  // namespace pmc
