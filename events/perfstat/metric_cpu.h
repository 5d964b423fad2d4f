#pragma once
// Which CPU's metric file fits an imported recording that names no CPU (import without --cpu),
// from the event and PMU names it holds: the top-down level-1 inputs are particular to a CPU
// family (perf's pmu-events/arch files):
// - AMD Zen 4: de_src_op_disp.all, ex_ret_ops, de_no_dispatch_per_slot.*, ls_not_halted_cyc
//   (amdzen4/pipeline.json) → "zen4".
// - Intel hybrid (cpu_core/ or cpu_atom/ events) with topdown-* or slots → "alderlake".
// - Intel with the level-2 topdown-heavy-ops, -br-mispredict, -fetch-lat or -mem-bound events
//   (Sapphire Rapids and later server cores) → "sapphirerapids".
// - Intel with slots or topdown-retiring/-bad-spec/-fe-bound/-be-bound (Ice Lake and later) →
//   "icelake".
// - Intel Skylake-era TMA events: uops_issued.any, uops_retired.retire_slots,
//   idq_uops_not_delivered.core, int_misc.recovery_cycles (skl/clx metrics) → "skylake".
// - Arm with stall_slot, stall_slot_frontend or stall_slot_backend (Armv8.4 PMUs: Neoverse N2,
//   V1, V2; N1 has none): the core neoverse_in_recording() finds, else "neoverse-n2" (#slots 5),
//   with a why that says the recording does not tell N2 from V1/V2 (8 slots).
// Names are matched without case, a PMU prefix ("cpu/", "cpu_core/") or modifiers (":u").
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "events/document/measurement.h"
#include "events/metrics/metric_schedule.h"

namespace pmc {

struct MetricCpu {
  // a --cpu name: zen4, alderlake, sapphirerapids, icelake, skylake, neoverse-n2, neoverse-v1,
  // neoverse-v2, neoverse (SBSA)
  std::string cpu;
  std::string why;  // "the recording holds de_src_op_disp.all (AMD Zen 4's top-down events)"
};

std::optional<MetricCpu> infer_metric_cpu(const Measurement& m);

// What an Arm recording shows of its Neoverse core, whose issue slots (#slots) perf's top-down
// formulas divide by, in this order:
// - an event on a core PMU named after it (the kernel's devicetree PMU names, drivers/perf/
//   arm_pmuv3.c): armv9_neoverse_n2 → neoverse-n2, armv8_neoverse_v1 → neoverse-v1,
//   armv8_neoverse_v2 → neoverse-v2;
// - the document's machine, Arm Ltd (implementer 0x41) part 0xd49, 0xd40 or 0xd4f, as perf -v's
//   "Using CPUID 0x00000000410fd4f0" line gives it (read_cpuid_line);
// - the slot count that reproduces perf's printed backend_bound from the counts of its group:
//   stall_slot_backend / (#slots × cpu_cycles), the formula of SBSA, V1 and perf 6.4's N2 (the
//   ones that printed it beside those events alone), tried with 5 and 8 at the precision perf
//   printed: 5 is N2; 8 is V1 or V2, which this does not tell apart, so SBSA's formulas
//   ("neoverse") with #slots 8.
// `slots` is cpu_family_slots() of the core, or the count found.
struct NeoverseEvidence {
  std::string cpu;  // a --cpu name
  double slots = 0;
  std::string why;  // "its events are on the armv8_neoverse_v1 PMU (armv8_neoverse_v1/cpu_cycles/)"
};
std::optional<NeoverseEvidence> neoverse_in_recording(const Measurement& m);

// import without --cpu: when `given` (the metric files loaded for the import; null when there are
// none) derives no top-down from the recording, the metric files of the CPU family whose
// top-down events the recording holds (infer_metric_cpu), read with `load` (a --cpu name → its
// files; throws std::runtime_error when they do not load). They are taken only when they derive
// top-down from the recording (a CPU file replaces generic.json's metrics of the same name, which
// generic.json may be able to give where the CPU's formula lacks an input). A note on `m` says
// which files were chosen and why, or why the ones the events show were not. `literals` gives the
// #literals the files are tried with for a CPU name ("" for `given`'s); none without it.
// `wanted` (-m's metric and group names, which `given` lacks): the family's files are tried even
// when `given` derives top-down, and taken when they have every name (TmaL1, PipelineL1).
std::optional<LoadedMetrics> infer_metric_files(
    Measurement& m, const LoadedMetrics* given,
    const std::function<LoadedMetrics(const std::string& cpu)>& load,
    const std::function<Literals(const std::string& cpu)>& literals = {},
    const std::vector<std::string>& wanted = {});

}  // namespace pmc
