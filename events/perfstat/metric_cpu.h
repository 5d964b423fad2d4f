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
//   V1, V2; N1 has none) → "neoverse-n2", whose #slots is 5 (cpu_family_slots); the events do not
//   tell N2 from V1/V2.
// Names are matched without case, a PMU prefix ("cpu/", "cpu_core/") or modifiers (":u").
#include <functional>
#include <optional>
#include <string>

#include "events/document/measurement.h"
#include "events/metrics/metric_schedule.h"

namespace pmc {

struct MetricCpu {
  std::string cpu;  // a --cpu name: zen4, alderlake, sapphirerapids, icelake, skylake, neoverse-n2
  std::string why;  // "the recording holds de_src_op_disp.all (AMD Zen 4's top-down events)"
};

std::optional<MetricCpu> infer_metric_cpu(const Measurement& m);

// import without --cpu: when `given` (the metric files loaded for the import; null when there are
// none) derives no top-down from the recording, the metric files of the CPU family whose
// top-down events the recording holds (infer_metric_cpu), read with `load` (a --cpu name → its
// files; throws std::runtime_error when they do not load). They are taken only when they derive
// top-down from the recording (a CPU file replaces generic.json's metrics of the same name, which
// generic.json may be able to give where the CPU's formula lacks an input). A note on `m` says
// which files were chosen and why, or why the ones the events show were not. `literals` gives the
// #literals the files are tried with for a CPU name ("" for `given`'s); none without it.
std::optional<LoadedMetrics> infer_metric_files(
    Measurement& m, const LoadedMetrics* given,
    const std::function<LoadedMetrics(const std::string& cpu)>& load,
    const std::function<Literals(const std::string& cpu)>& literals = {});

}  // namespace pmc
