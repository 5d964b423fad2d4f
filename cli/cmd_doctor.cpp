// pmcmodel doctor: what can be counted here, and the command that fixes what cannot.
#include <cmath>
#include <cstdio>

#include <fmt/format.h>

#include "cli/commands.h"
#include "cli/measure_energy.h"
#include "engine/session/doctor.h"
#include "engine/session/machine.h"

namespace pmc::cli {
namespace {

std::string percent(double u) {
  return fmt::format("±{:.0f}%", u * 100);
}

// What measure's energy estimate would be made from on this machine, where no meter is read: the
// same EnergyRecorder measure opens (GPUs left out: their lines are above).
Check energy_estimate_check(const SysRoot& root) {
  Check c{"energy estimate", false, "", ""};
  try {
    EnergySettings settings;
    settings.data_dir = default_data_dir();
    settings.gpus = "none";
    EnergyRecorder recorder(settings, root, read_machine_info(root), false);
    auto plan = recorder.estimate_plan();
    std::string meter = recorder.machine_method();
    std::string when = meter.empty()
                           ? "no meter is read, so measure estimates"
                           : "measure reads " + meter + "; where that does not count, it estimates";
    if (plan.method.empty()) {
      c.detail = when.substr(0, when.find(',')) + ", and no estimate can be made: " + plan.problem;
      c.fix =
          "set PMCMODEL_DATA_DIR to pmcmodel's data directory (skus.csv), or give --sku, "
          "--catalog or --power-from to measure";
      return c;
    }
    double u0 = plan.idle_uncertainty, u1 = plan.full_uncertainty;
    std::string range = std::abs(u0 - u1) < 0.005
                            ? percent(u0)
                            : percent(u0) + " at idle to " + percent(u1) + " at 100% load";
    c.ok = true;
    c.detail =
        fmt::format("{} {} ({}): {:.2f} W idle to {:.2f} W at 100% load, {}; {}", when, plan.method,
                    plan.domain, plan.idle_watts, plan.full_watts, range, plan.basis);
  } catch (const std::exception& e) {
    c.detail = e.what();
  }
  return c;
}

}  // namespace

Runner add_doctor(CLI::App& app) {
  auto* cmd =
      app.add_subcommand("doctor", "Say what works on this machine and how to fix the rest");
  cmd->footer("Examples:\n  pmcmodel doctor\n  PMCMODEL_SYSFS_ROOT=fixture/sys pmcmodel doctor");
  return [] {
    SysRoot root = SysRoot::from_env();
    auto checks = run_checks(root);
    checks.push_back(energy_estimate_check(root));
    for (const auto& c : checks) {
      std::printf("[%s] %-20s %s\n", c.ok ? " ok " : "FAIL", c.name.c_str(), c.detail.c_str());
      if (!c.fix.empty()) std::printf("       %-20s fix: %s\n", "", c.fix.c_str());
    }
    return 0;
  };
}

}  // namespace pmc::cli
