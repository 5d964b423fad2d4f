#pragma once
// The #literals of metric formulas as perf knows them (tools/perf/util/expr.c, expr__get_literal;
// tool_pmu.c), where each value comes from, and the rule that picks one value per name when
// several sources give one: --literal, then the recording, then --cpu, then what is assumed.
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "events/metrics/expr.h"
#include "events/metrics/metric_set.h"

namespace pmc {

// perf's literals, without the '#': smt_on, num_cpus, num_cpus_online, num_cores, num_dies,
// num_packages, core_wide, slots, system_tsc_freq, has_pmem.
const std::vector<std::string>& perf_literal_names();

struct LiteralSetting {
  std::string name;  // one of perf_literal_names()
  double value = 0;
};

struct LiteralSettingError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// --literal's "NAME=VALUE": NAME with or without '#', one of perf_literal_names() without regard
// to case, or "?" (kRuntimeParamName); VALUE a finite number, for "?" a whole number from 1 to
// kMaxRuntimeParam. Throws LiteralSettingError "--literal TEXT: why".
LiteralSetting parse_literal_setting(std::string_view text);

// "?=N": how many values perf's runtime parameter takes (RuntimeParamCounts), for a recording
// of POWER's hv_24x7 metrics whose machine import cannot read. Not a #literal: import_literals
// leaves it out. The bound keeps a typo from making a metric file a million times larger (a
// POWER10 has 16 chips and at most 15 cores per chip).
inline constexpr std::string_view kRuntimeParamName = "?";
inline constexpr double kMaxRuntimeParam = 1024;

// The counts `given` sets with "?=N" (both PerChip and PerCore N), or 1 without one.
RuntimeParamCounts runtime_param_counts(const std::vector<LiteralSetting>& given);

// Where a literal's value came from, weakest first.
enum class LiteralSource { assumed, cpu_model, recording, given };

// Literals from several sources: for each name the value of the strongest source that set it.
class LiteralLayers {
 public:
  // `why` says where the value was found ("--cpu skylake", "64 CPUs in the -A rows").
  void set(LiteralSource source, std::string_view name, double value, std::string why);
  std::optional<double> find(std::string_view name) const;
  bool has(std::string_view name) const { return find(name).has_value(); }
  Literals literals() const;
  // One line naming every value and where it came from ("#smt_on = 0 (assumed: …), …"); empty
  // when there are none.
  std::string describe() const;

 private:
  struct Entry {
    std::string name;
    double value;
    LiteralSource source;
    std::string why;
  };
  std::vector<Entry> entries_;  // in the order first set
};

// Whether a metric (or threshold) of `set` reads the literal `name` ("smt_on", without '#').
bool reads_literal(const MetricSet& set, std::string_view name);

// perf's #slots for a --cpu name's family: the issue (dispatch) width its top-down formulas use.
// Intel: 4 before Ice Lake, 5 on Ice Lake, 6 on Golden Cove (Sapphire Rapids, Alder Lake P-cores)
// (the TMA metrics' Pipeline_Width); AMD Zen 4: 6 (amdzen4 pipeline.json, total_dispatch_slots =
// 6 * ls_not_halted_cyc); Arm Neoverse N2: 5 (its caps/slots; tests/data/perfstat/wild/066.txt
// shows it: backend_bound 68.8 % = stall_slot_backend / (5 * cpu_cycles)), V1 and V2: 8 (perf's
// neoverse-v1 formulas, Arm's V2 telemetry specification). nullopt where it is not known, as for
// SBSA (neoverse.json), whose formulas take the implementation's.
std::optional<double> cpu_family_slots(std::string_view cpu_model);

}  // namespace pmc
