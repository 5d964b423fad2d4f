#pragma once
// What works on this machine and why not: the probes behind `pmcmodel doctor`.
#include <string>
#include <vector>

#include "events/names/sysroot.h"

namespace pmc {

struct Check {
  std::string name;    // "hardware PMU", "perf_event_paranoid", …
  bool ok = false;
  std::string detail;  // what was found
  std::string fix;     // the command or step that fixes it; empty when ok
};

std::vector<Check> run_checks(const SysRoot& root);

}  // namespace pmc
