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

// The perf_event_paranoid line: what `perms` let this user count. `user_space_opens` is whether
// a user-space task-clock of this process opened just now, which alone tells what the kernel does
// above level 2: mainline treats 3 and 4 as 2, Debian's and Ubuntu's kernels refuse every
// perf_event_open of an unprivileged user there (Debian's default is 3).
Check paranoid_check(const PerfPermissions& perms, bool user_space_opens);

}  // namespace pmc
