// pmcmodel workload: run one embedded kernel (what `measure` counts by default).
#include <cstdio>
#include <memory>

#include <fmt/format.h>

#include "commands.h"
#include "workloads.h"

namespace pmc::cli {

Runner add_workload(CLI::App& app) {
  struct Options {
    std::string name = "mixed";
    int threads = 1;
    double seconds = 0.5;
    bool list = false;
  };
  auto o = std::make_shared<Options>();
  auto* cmd = app.add_subcommand("workload", "Run one embedded workload kernel");
  cmd->add_option("name", o->name, "Workload name (see --list)");
  cmd->add_option("-t,--threads", o->threads, "Threads")->check(CLI::Range(1, 4096));
  cmd->add_option("-s,--seconds", o->seconds, "Duration in seconds")->check(CLI::PositiveNumber);
  cmd->add_flag("--list", o->list, "List the workloads");
  cmd->footer(
      "Examples:\n"
      "  pmcmodel workload --list\n"
      "  pmcmodel workload chase-dram --threads 2 --seconds 1\n"
      "  pmcmodel measure -- pmcmodel workload stream");
  return [o] {
    if (o->list) {
      for (const auto& w : workloads()) std::printf("%-12s %s\n", w.name.c_str(), w.description.c_str());
      return 0;
    }
    try {
      double checksum = run_workload(o->name, o->threads, o->seconds);
      // Printed only when asked for, but computed always so the work cannot be optimised away.
      if (checksum == -1.0) std::puts("");
    } catch (const std::invalid_argument& e) {
      std::string names;
      for (const auto& w : workloads()) names += (names.empty() ? "" : ", ") + w.name;
      throw CommandError(fmt::format("{} (expected one of: {})", e.what(), names));
    }
    return 0;
  };
}

}  // namespace pmc::cli
