#pragma once
// Identity of the machine a measurement was taken on, read through the SysRoot.
#include "events/document/measurement.h"
#include "events/metrics/expr.h"
#include "events/metrics/metric_set.h"
#include "events/names/sysroot.h"

namespace pmc {

MachineInfo read_machine_info(const SysRoot& root);

// Fields of /proc/cpuinfo's first processor block ("vendor_id", "cpu family", "model",
// "model name", "stepping"; Arm's "CPU implementer"/"CPU part"), and the processor count.
// Without a "model name", POWER's "cpu" line is the model ("POWER9, altivec supported").
void parse_cpuinfo(std::string_view text, MachineInfo& info);

// The machine's literals of metric formulas as perf reads them (tools/perf/util/expr.c,
// tool_pmu.c, smt.c), each set only when `root` shows it:
// - #num_cpus: the highest CPU of devices/system/cpu/present plus one (perf's
//   cpu__max_present_cpu), else machine.logical_cpus; #num_cpus_online
//   (devices/system/cpu/online, else #num_cpus).
// - #smt_on: devices/system/cpu/smt/active, else 1 when a CPU's topology/thread_siblings_list
//   names two CPUs or more.
// - #num_packages, #num_dies, #num_cores: the distinct physical_package_id, (package, die_id)
//   and (package, die_id, core_id) of cpu0 … cpu<logical_cpus - 1>'s topology/ (die_id 0 where
//   the kernel has none).
// - #core_wide: 0 unless `system_wide` (-a, -G); then 1 with SMT off or without a CPU list
//   (`cpu_list`, -C), else 1 only when the list holds every thread sibling of its CPUs.
// - #slots: caps/slots of the first of machine.pmus that has one (Arm's top-down width, Armv8.4
//   PMUs).
// - #system_tsc_freq (x86): the frequency in /proc/cpuinfo's model name ("… @ 2.50GHz"), in Hz,
//   which is perf's fallback when CPUID leaf 0x15 does not give it (arch/x86/util/tsc.c).
// - #has_pmem: 1 when firmware/acpi/tables/NFIT exists (an ACPI NVDIMM table), else 0.
Literals machine_literals(const MachineInfo& machine, const SysRoot& root, bool system_wide = false,
                          std::string_view cpu_list = {});

// perf's runtime parameter counts on this machine (arch_get_runtimeparam of
// tools/perf/arch/powerpc/util/header.c): devices/hv_24x7/interface/sockets for PerChip metrics
// and …/coresperchip for the others, each 1 where the file is absent or not a whole number from
// 1 to kMaxRuntimeParam (every machine but POWER with its hypervisor's 24x7 counters).
RuntimeParamCounts machine_runtime_params(const SysRoot& root);

// The TSC frequency in Hz in a /proc/cpuinfo model name ("Intel(R) Xeon(R) Gold 6248 CPU @
// 2.50GHz" → 2.5e9); nullopt when it names none.
std::optional<double> model_name_tsc_hz(std::string_view model_name);

// counter_model() of this machine: SMT on unless devices/system/cpu/smt/active says 0, and the
// NMI watchdog on when /proc/sys/kernel/nmi_watchdog is 1 (it then holds one counter pinned).
// With a cpu_atom PMU (a hybrid Intel CPU) the model carries the E-cores' counters as `atom`.
CounterModel machine_counter_model(const MachineInfo& machine, const SysRoot& root);

}  // namespace pmc
