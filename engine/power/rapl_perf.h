#pragma once
// RAPL energy through the perf `power` PMU (Linux arch/x86/events/rapl.c): energy-pkg,
// energy-cores, energy-ram, energy-gpu, energy-psys, opened CPU-wide on the one CPU per package
// that the PMU's cpumask lists. Counts are 64-bit (the kernel folds the 32-bit MSR into them), so
// they do not wrap in practice.
#include <memory>
#include <string>
#include <vector>

#include "engine/counting/counters.h"
#include "events/names/event_spec.h"
#include "engine/power/power_source.h"
#include "events/names/sysroot.h"

namespace pmc {

// One event copy to open: one RAPL event on one package.
struct PowerPmuEvent {
  std::string domain;  // "package-0", "core", "dram-1", "psys"…
  std::string kind;    // "package", "core", "dram", "gpu", "psys"
  int package = 0;
  EventSpec spec;  // resolved from sysfs, cpus = the package's one CPU
};

struct PowerPmuPlan {
  std::vector<PowerPmuEvent> events;
  std::vector<std::string> notes;  // events listed but unusable, and why
};

// True when <sys>/bus/event_source/devices/power/events exists.
bool power_pmu_present(const SysRoot& root);

// The event copies to open, from sysfs (events/*, .scale, .unit, cpumask, and each cpumask CPU's
// topology/physical_package_id); opens nothing. Empty when the PMU is absent.
PowerPmuPlan plan_power_pmu_events(const SysRoot& root);

// Opens the planned events through make_perf_event_counters. No source when the PMU is absent or
// no package event opens (reason_if_none keeps the kernel's errno reason).
PowerChoice open_rapl_perf_source(const SysRoot& root);

// The source over counters that are already open: slots[i] is the index in counters->read() of
// events[i]. open_rapl_perf_source builds it so; tests give it scripted counters.
std::unique_ptr<PowerSource> make_rapl_perf_source(std::unique_ptr<Counters> counters,
                                                   std::vector<PowerPmuEvent> events,
                                                   std::vector<size_t> slots);

}  // namespace pmc
