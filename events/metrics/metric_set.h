#pragma once
// Metric definitions as data: files in perf's pmu-events metric format (a JSON array of
// {MetricName, MetricExpr, MetricGroup, ScaleUnit, BriefDescription, MetricThreshold, Unit…}),
// evaluated with the MetricExpr engine of expr.h. Users can load perf's own files for their CPU.
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
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
  // AggregationMode ("PerChip", "PerCore"; empty when not given): which of POWER's hv_24x7
  // counts gives the number of runtime values of a metric with '?' (RuntimeParamCounts).
  std::string aggregation_mode;
  // For an instance of a metric with '?' (MetricSet::instantiate_runtime): the metric's own
  // name, by which -m selects all its instances; empty otherwise.
  std::string runtime_of;
  // The runtime value its '?'s were read as (an instance's i), 0 for any other metric: perf's
  // runtime of the metric tree it roots, which its references to '?' metrics read too.
  int runtime = 0;
  // The definitions of the same name and Unit that files loaded earlier gave and this one
  // replaced, the latest first. When this one's formula lacks an event (not measured, not
  // supported, refused, not counted), they are tried in turn: a CPU's file adds to generic.json
  // instead of taking away a value generic's formula gives from what was counted.
  std::vector<MetricDef> replaced;
};

struct MetricResult {
  std::string name;
  std::string pmu;
  std::optional<double> value;  // scaled by ScaleUnit
  std::string unit;
  MetricAbsence absence = MetricAbsence::none;  // why value is absent: what code decides on
  // The absence in words, for people; with a NaN value (a division by zero, as perf gives it),
  // where the NaN came from.
  std::string reason;
  std::optional<bool> threshold_exceeded;  // absent without a threshold or when it cannot be told
  // The "FILE:LINE" of the definition whose formula gave the value: the metric's own, or one it
  // replaced (MetricDef::replaced) when its own lacked an event. For an absent value, its own.
  std::string origin;
};

// An event a metric file defines in perf's pmu-events form ({"EventName", "EventCode", "UMask",
// "CounterMask", "Invert", "EdgeDetect", "AnyThread", "Unit"}): for events that libpfm4 does not
// name on the CPU (perf's AMD names, Intel's fixed-counter names), counted through the core
// PMU's sysfs format terms.
struct EventDef {
  std::string name;    // EventName
  std::string pmu;     // PMU of Unit (cpu_core, uncore_cha, amd_df), empty for the core PMU
  std::string terms;   // "event=0xc0,umask=0x0"
  std::string origin;  // "FILE:LINE"
};

// Whether the machine has an event (has_event() in an expression), by the spelling that would
// be given to the resolver.
using EventAvailable = std::function<bool(const std::string& spelling)>;

// "<number><unit>" as in ScaleUnit: "100%" → {100, "%"}, "1GHz" → {1, "GHz"}, "3e-5MiB" →
// {3e-5, "MiB"}. Throws std::runtime_error when there is no leading number.
std::pair<double, std::string> parse_scale_unit(std::string_view text);

struct MetricFields;

// perf's runtime parameter: each '?' of a MetricExpr's event names is a number, and perf counts
// the metric once per value 0 … N-1 (metricgroup.c, metricgroup__add_metric_runtime_param), N
// being arch_get_runtimeparam(): 1, but on POWER the hv_24x7 PMU's sysfs
// devices/hv_24x7/interface/sockets for a metric whose AggregationMode is PerChip and
// …/coresperchip for the others (tools/perf/arch/powerpc/util/header.c).
struct RuntimeParamCounts {
  int per_chip = 1;
  int per_core = 1;
  std::string source;  // where the counts came from, for the note ("--literal ?=2")
  int of(const MetricDef& def) const {
    return def.aggregation_mode == "PerChip" ? per_chip : per_core;
  }
};

class MetricSet {
 public:
  // Throws std::runtime_error "FILE:LINE: what was expected" for a file that is not JSON or not
  // an array of objects. An entry that is not right (a missing field, an expression that does
  // not parse, a ScaleUnit without a number, a metric defined twice) is left out, with a note
  // "FILE:LINE: metric NAME: what was expected; the metric is left out" in notes().
  // perf's arm64 entries {"ArchStdEvent": "FRONTEND_BOUND", "MetricExpr": …} are kept to
  // override the standard metric of that name (any case) when this set is merged into one that
  // has it, as perf's jevents.py does: the fields the entry gives replace the standard metric's,
  // the others stay.
  static MetricSet load(const std::filesystem::path& file);
  // Several files in order, merged (merge()).
  static MetricSet load(const std::vector<std::filesystem::path>& files);
  static MetricSet parse(std::string_view json_text, const std::string& origin);
  // data/metrics/generic.json as it was when this binary was built (compiled in): perf's generic
  // ratios for a run without its data directory, and the one definition derive_metrics uses.
  static const MetricSet& builtin_generic();

  // Adds `other`'s metrics, replacing those with the same name and Unit (which each keeps in
  // MetricDef::replaced), then applies its ArchStdEvent entries to the metrics they name; one
  // with a MetricExpr whose standard metric is not here is left out with a note (one without
  // is taken for an event's entry and skipped). `other`'s notes are added to this set's.
  void merge(const MetricSet& other);

  // Each metric whose MetricExpr holds '?' made once per runtime value i of 0 … counts.of(it)-1,
  // its '?'s read as i and named "<MetricName>_<i>" as perf prints it (stat-shadow.c: "%s_%d"
  // where the expression holds '?'), in its place; MetricDef::runtime_of keeps the name, which
  // select() matches too. A metric that names a '?' metric is not made again: as in perf, whose
  // __add_metric parses a referenced metric's MetricExpr in the root metric's context (its
  // sctx.runtime), the reference reads the instance of the root metric's runtime value, NAME_0
  // from a metric without '?', NAME_i from an instance i, however deep in the tree: a metric
  // without '?' that instance i names, and that names a '?' metric in turn, reads NAME_i there
  // (a copy of it for runtime i, not in metrics(); NAME_0 where it is selected itself). Returns
  // how many metrics were made so; a second call changes nothing.
  size_t instantiate_runtime(const RuntimeParamCounts& counts);

  const std::vector<MetricDef>& metrics() const { return metrics_; }
  const std::vector<EventDef>& events() const { return events_; }
  // What was left out of the files, and why: "FILE:LINE: metric NAME: …; the metric is left out".
  const std::vector<std::string>& notes() const { return notes_; }
  // The note of a metric named `name` (any case) that a file left out, or nullptr: what a
  // selection of that name is told instead of "no such metric".
  const std::string* left_out(std::string_view name) const;

  // How an event the metrics read is given to the resolver: an event the files define becomes
  // its sysfs encoding named as the metrics spell it ("ex_ret_instr" →
  // "cpu/event=0xc0,name='ex_ret_instr'/"), so its count is found under that name; an event name
  // as a PMU's first term keeps the other terms ("cpu/X,cmask=0x6/" → "cpu/event=…,cmask=0x6,
  // name='cpu/X,cmask=0x6/'/"). Anything else is returned as it is.
  std::string resolver_spelling(const std::string& spelling) const;

  // Indices of the metrics that names (MetricName) or groups (MetricGroup entries) select, in
  // file order; matching ignores case. Throws std::runtime_error for a name that is neither.
  std::vector<size_t> select(const std::vector<std::string>& names_or_groups) const;

  // Events the selected metrics read, following references to other metrics, each once, in
  // order of first appearance, spelled as perf would be given them ("cpu_core/TOPDOWN.SLOTS/").
  // An if/else whose condition `literals` decide (#smt_on, #core_wide) contributes only the
  // branch taken; has_event() conditions ask `available` (given the resolver spelling), and are
  // taken as true without it, so the guarded events are asked for. Spellings are
  // resolver_spelling()'s.
  std::vector<std::string> required_events(const std::vector<std::string>& names_or_groups,
                                           const Literals& literals = {},
                                           const EventAvailable& available = {}) const;
  // The same per selected metric: what each one needs, for planning groups.
  std::vector<std::vector<std::string>> events_by_metric(
      const std::vector<std::string>& names_or_groups, const Literals& literals = {},
      const EventAvailable& available = {}) const;
  // The same for metrics already chosen with select().
  std::vector<std::vector<std::string>> events_by_selected(
      const std::vector<size_t>& selected, const Literals& literals = {},
      const EventAvailable& available = {}) const;

  // The events of each of metric `metric`'s replaced definitions (MetricDef::replaced), in
  // their order, each as events_by_metric() gives a metric's: what to count for the metric when
  // its own events cannot be named on the machine.
  std::vector<std::vector<std::string>> replaced_events(size_t metric,
                                                        const Literals& literals = {},
                                                        const EventAvailable& available = {}) const;

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
  void add_event(EventDef def);
  // The event `name` defined for `pmu` (or for any core PMU), nullptr when none.
  const EventDef* find_event(std::string_view name, std::string_view pmu) const;
  // The event `name` defined for an uncore PMU (any but cpu, cpu_core, cpu_atom), nullptr when
  // none.
  const EventDef* find_uncore_event(std::string_view name) const;
  void collect_expr_events(const Expr& expr, const std::vector<int>& refs, const ExprEnv& constants,
                           std::vector<std::string>& keys, std::vector<std::string>& spellings,
                           std::vector<char>& seen) const;
  void collect_events(size_t metric, const ExprEnv& constants, std::vector<std::string>& keys,
                      std::vector<std::string>& spellings, std::vector<char>& visiting) const;

  // An ArchStdEvent entry, applied by merge().
  struct StandardOverride {
    std::string name;  // the ArchStdEvent
    std::string origin;
    std::shared_ptr<const MetricFields> fields;
  };
  // Adds `def`, or puts it in place of the metric of its name and Unit (kept in def.replaced);
  // `index` maps lower-case name, a NUL and the Unit, to a position in metrics_ and is kept up to
  // date.
  void replace_metric(MetricDef def, std::unordered_map<std::string, size_t>& index);

  // Metric `i` of the graph the formulas form: metrics_[i], or past its end a tree copy.
  const MetricDef& node(size_t i) const {
    return i < metrics_.size() ? metrics_[i] : tree_copies_[i - metrics_.size()];
  }
  size_t nodes() const { return metrics_.size() + tree_copies_.size(); }

  std::vector<MetricDef> metrics_;
  // Metrics without '?' copied for a runtime value i > 0, because instance i of a '?' metric
  // names them and they name a '?' metric (in their tree): perf reads every '?' of a metric tree
  // as its root's runtime. Indexed after metrics_ (node()); rebuilt by link().
  std::vector<MetricDef> tree_copies_;
  std::vector<EventDef> events_;
  std::vector<StandardOverride> overrides_;
  std::vector<std::string> notes_;
  std::vector<std::pair<std::string, std::string>> left_out_;  // (MetricName, its note)
  // Per node, per identifier of its expression (then of its threshold): the node it names, or
  // -1 for an event. Rebuilt by link().
  std::vector<std::vector<int>> expr_refs_;
  std::vector<std::vector<int>> threshold_refs_;
  std::vector<std::vector<std::vector<int>>> replaced_refs_;  // per metric, per replaced def
  friend class MetricEnv;
};

// The metric file for a CPU, by vendor ("GenuineIntel", "AuthenticAMD", "ARM"), family and
// model as /proc/cpuinfo gives them (on Arm: the implementer and the part number), the PMUs in
// sysfs ("cpu", "cpu_core", "armv8_pmuv3_0") and the stepping (Skylake-SP and Cascade Lake share
// model 0x55; -1 when not known). A file name under data/metrics ("skylake.json"), or empty when
// none covers the CPU; generic.json applies to every CPU in addition.
std::string metric_file_for_cpu(std::string_view vendor, int family, int model,
                                const std::vector<std::string>& pmu_names, int stepping = -1);

// The metric file for a name a user gives with --cpu: "skylake", "skx", "icx", "spr", "adl",
// "zen3", "neoverse-n1", "generic"…; empty when the name is unknown.
std::string metric_file_for_name(std::string_view cpu_name);

// The counters one hardware thread can give a group.
struct CounterModel {
  int general = 4;           // general-purpose counters
  bool fixed_cycles = true;  // a fixed counter for cycles (Intel IA32_FIXED_CTR1, Arm PMCCNTR)
  bool fixed_instructions = true;  // and for instructions and ref-cycles (Intel only)
  bool perf_metrics = true;        // Intel's slots + topdown-* metrics (Ice Lake and later)
  // A hybrid Intel CPU's E-core PMU (cpu_atom, Gracemont: fixed counters for instructions,
  // cycles and ref-cycles, no perf metrics): the counters its events are planned on, in groups
  // of their own. Absent on a CPU with one core PMU.
  struct Atom {
    int general = 6;
    bool fixed_cycles = true;  // false while the NMI watchdog holds it
  };
  std::optional<Atom> atom;
};

// The counter model of a CPU (vendor, family and model as /proc/cpuinfo gives them):
// - Intel: fixed counters for instructions, cycles and ref-cycles (SDM vol. 3B 20.2.2); general
//   counters 8 per thread from Ice Lake / Golden Cove on (Ice Lake, Tiger Lake, Rocket Lake,
//   Sapphire/Emerald/Granite Rapids, Alder/Raptor Lake P-cores; SDM 20.3.10), before that 8 per
//   core, so 4 per thread with SMT on; 6 on Gracemont E-cores (`atom`); slots/topdown-* perf
//   metrics from Ice Lake on (arch/x86/events/intel/core.c, intel_pmu_init: PERF_METRICS).
// - AMD Zen: 6 general counters and no fixed ones (PPR 2.1.15, Core::X86::Msr::PERF_CTL0..5).
// - Arm PMUv3: a cycle counter (PMCCNTR_EL0) and 6 event counters on Neoverse N1/N2/V1 (their
//   TRMs, PMCR_EL0.N = 6).
// `nmi_watchdog` (/proc/sys/kernel/nmi_watchdog is 1): the kernel's hard-lockup detector holds a
// pinned cycles event on every CPU (kernel/watchdog_perf.c), which takes the cycle counter on
// Intel and Arm (so cycles needs a general counter) and a general counter on AMD.
CounterModel counter_model(std::string_view vendor, int family, int model, bool smt_on,
                           bool atom = false, bool nmi_watchdog = false);

// Whether an event is counted on a fixed-function counter (cycles, instructions, ref-cycles,
// INST_RETIRED.ANY, CPU_CLK_UNHALTED.THREAD/REF_TSC, slots, topdown-*) and so uses none of the
// general-purpose counters. The first form assumes an Intel CPU with perf metrics.
bool is_fixed_counter_event(std::string_view name);
bool is_fixed_counter_event(std::string_view name, const CounterModel& model);

// Whether the event is one of Intel's perf-metrics top-down events (topdown-retiring, -bad-spec,
// -fe-bound, -be-bound, -heavy-ops, -br-mispredict, -fetch-lat, -mem-bound), which the kernel
// counts only in a group led by slots (intel/core.c intel_pmu_hw_config, is_metric_event).
// cpu_atom's events of those names are not: Gracemont has no perf metrics.
bool is_topdown_metric_event(std::string_view name);

// Whether an event is counted off the core PMU (software clocks, duration_time, msr, uncore), so
// it uses no core counter and cannot join a core group.
bool is_off_core_event(std::string_view name);

// General-purpose core counters available to one thread: 4 on Intel with SMT on, 8 with it off,
// 6 on AMD Zen, 6 on Arm Neoverse (a safe minimum). Without the model: counter_model() knows it.
int general_purpose_counters(std::string_view vendor, bool smt_on);

// Splits the events each metric needs into groups that fit the model's general-purpose counters
// (events on a fixed counter of the model do not count against it), keeping each metric's events
// in one group when they fit and packing metrics into as few groups as possible. Off-core events
// come back as groups of one. Events of the cpu_atom PMU go to groups of their own (the kernel
// keeps a group on one hardware PMU), planned on `model.atom` where the model has one. A group
// holding a perf-metrics topdown event gets a slots event if
// it has none (the PMU's "slots" alias, "cpu_core/slots/" for cpu_core events) and is ordered as
// perf orders it (arch/x86/util/evlist.c arch_evlist__cmp): slots first, then the topdown events,
// then the rest in their order. Pure.
std::vector<std::vector<std::string>> plan_event_groups(
    const std::vector<std::vector<std::string>>& events_per_metric, const CounterModel& model);
// The same with `general_counters` and an Intel counter model.
std::vector<std::vector<std::string>> plan_event_groups(
    const std::vector<std::vector<std::string>>& events_per_metric, int general_counters);

}  // namespace pmc
