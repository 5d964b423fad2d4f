#pragma once
// Counting through perf_event_open: one code path for hardware, software, sysfs-PMU events.
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "engine/counting/counters.h"
#include "engine/counting/perf_kernel.h"
#include "engine/system/permissions.h"
#include "events/names/event_spec.h"
#include "events/names/sysroot.h"

namespace pmc {

// Counters for `groups` (leader first). Groups that cannot be opened together, and groups of
// hardware events that open but never get their counters together (found by enabling a copy on
// this thread for a moment: the NMI watchdog holds a counter), are split into single events and
// the notes say so; each event that cannot be opened keeps its errno reason.
// `kernel` takes the counters' system calls (a test passes a fake); it must outlive them.
std::unique_ptr<Counters> make_perf_event_counters(std::vector<EventGroup> groups,
                                                   const SysRoot& root,
                                                   PerfKernel& kernel = real_perf_kernel());

// 0 when the kernel opens a hardware cycles counter for this process, else the errno
// (ENOENT in a VM without a virtual PMU).
int probe_hardware_counters();

// The errno of perf_event_open mapped to a status and a human reason.
struct OpenFailure {
  EventStatus status;
  std::string reason;
};
OpenFailure classify_open_error(int err, const EventSpec& spec, bool cpu_wide, const SysRoot& root,
                                const PerfPermissions& perms);

// Whether this process could count `spec` now (on itself; an event of a cpumask PMU on the first
// CPU of the mask): nullopt when the kernel opens it, else why not. Opens and closes one counter.
std::optional<OpenFailure> probe_event(const EventSpec& spec, const SysRoot& root,
                                       const PerfPermissions& perms);

// Online CPUs from <sys>/devices/system/cpu/online ("0-3,8"), or 0..nprocs-1.
std::vector<int> online_cpus(const SysRoot& root);

// "0-3,8" for {0,1,2,3,8} (a sorted list), as sysfs writes CPU lists.
std::string cpu_list_text(const std::vector<int>& cpus);

}  // namespace pmc
