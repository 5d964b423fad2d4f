// pmcmodel doctor: what can be counted here, and the command that fixes what cannot.
#include <cstdio>

#include "cli/commands.h"
#include "engine/session/doctor.h"

namespace pmc::cli {

Runner add_doctor(CLI::App& app) {
  auto* cmd =
      app.add_subcommand("doctor", "Say what works on this machine and how to fix the rest");
  cmd->footer("Examples:\n  pmcmodel doctor\n  PMCMODEL_SYSFS_ROOT=fixture/sys pmcmodel doctor");
  return [] {
    auto checks = run_checks(SysRoot::from_env());
    for (const auto& c : checks) {
      std::printf("[%s] %-20s %s\n", c.ok ? " ok " : "FAIL", c.name.c_str(), c.detail.c_str());
      if (!c.fix.empty()) std::printf("       %-20s fix: %s\n", "", c.fix.c_str());
    }
    return 0;
  };
}

}  // namespace pmc::cli
