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
void parse_cpuinfo(std::string_view text, MachineInfo& info);

// The machine's literals of metric formulas, each set only when `root` shows it: #num_cpus
// (machine.logical_cpus), #smt_on (devices/system/cpu/smt/active), #num_packages (the distinct
// physical_package_id of cpu0 … cpu<logical_cpus - 1>) and #slots (caps/slots of the first of
// machine.pmus that has one: Arm's top-down width, Armv8.4 PMUs).
Literals machine_literals(const MachineInfo& machine, const SysRoot& root);

// counter_model() of this machine: SMT on unless devices/system/cpu/smt/active says 0, and the
// NMI watchdog on when /proc/sys/kernel/nmi_watchdog is 1 (it then holds one counter pinned).
// With a cpu_atom PMU (a hybrid Intel CPU) the model carries the E-cores' counters as `atom`.
CounterModel machine_counter_model(const MachineInfo& machine, const SysRoot& root);

}  // namespace pmc
