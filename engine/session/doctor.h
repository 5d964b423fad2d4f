#pragma once
// What works on this machine and why not: the probes behind `pmcmodel doctor`.
#include <string>
#include <vector>

#include "events/names/sysroot.h"

namespace pmc {

struct Check {
  std::string name;  // "hardware PMU", "perf_event_paranoid", …
  bool ok = false;
  std::string detail;  // what was found
  std::string fix;     // the command or step that fixes it; empty when ok
};

std::vector<Check> run_checks(const SysRoot& root);

struct PerfPermissions;  // engine/system/permissions.h

// The hardware PMU line from the errno of opening user-space cycles (0 when it opened), on a VM
// or not: a refusal of this user (EACCES, EPERM) gets the permission fix, not the VM's.
Check hardware_pmu_check(int open_errno, bool vm, const SysRoot& root,
                         const PerfPermissions& perms);

// The perf_event_paranoid line: what `perms` let this user count. `user_space_opens` is whether
// a user-space task-clock of this process opened just now, which alone tells what the kernel does
// above level 2: mainline treats 3 and 4 as 2, Debian's and Ubuntu's kernels refuse every
// perf_event_open of an unprivileged user there (Debian's default is 3).
Check paranoid_check(const PerfPermissions& perms, bool user_space_opens);

}  // namespace pmc
