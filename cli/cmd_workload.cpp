// pmcmodel workload: run one embedded kernel (what `measure` counts by default, what `calibrate`
// runs as its suite).
#include <cstdio>
#include <memory>

#include <fmt/format.h>

#include "cli/commands.h"
#include "engine/workloads/workloads.h"

namespace pmc::cli {
namespace {

std::string bytes_text(size_t bytes) {
  if (bytes >= (size_t(1) << 20)) return fmt::format("{:g} MiB", double(bytes) / double(1 << 20));
  return fmt::format("{:g} KiB", double(bytes) / 1024.0);
}

void print_list(const SysRoot& root) {
  for (const auto& w : workloads())
    std::printf("%-12s %s\n", w.name.c_str(), w.description.c_str());
  auto caches = read_cache_sizes(root);
  auto sets = working_sets(caches);
  std::printf("\ncaches of cpu0 (%s): L1d %s, L2 %s, LLC (L%d) %s\n",
              root.sys_path("devices/system/cpu/cpu0/cache").c_str(),
              bytes_text(caches.l1d).c_str(), bytes_text(caches.l2).c_str(), caches.llc_level,
              bytes_text(caches.llc).c_str());
  for (const auto& d : caches.defaulted)
    std::printf("  %s not found there: a default size is used\n", d.c_str());
  std::printf("working sets: chase-l1 %s, chase-l2 %s, chase-llc %s, chase-dram and streams %s\n",
              bytes_text(sets.l1).c_str(), bytes_text(sets.l2).c_str(),
              bytes_text(sets.llc).c_str(), bytes_text(sets.dram).c_str());
  std::printf("vector-fp uses %s on this CPU\n", vector_isa().c_str());
}

}  // namespace

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
  cmd->add_option("-s,--seconds", o->seconds, "Duration in seconds")->check(positive_number());
  cmd->add_flag("--list", o->list, "List the workloads, the detected cache sizes and working sets");
  cmd->footer(
      "Examples:\n"
      "  pmcmodel workload --list\n"
      "  pmcmodel workload chase-dram --threads 2 --seconds 1\n"
      "  pmcmodel measure -- pmcmodel workload stream-read\n"
      "Working sets are sized from SYS/devices/system/cpu/cpu0/cache (PMCMODEL_SYSFS_ROOT stands "
      "for /sys).");
  return [o] {
    SysRoot root = SysRoot::from_env();
    if (o->list) {
      print_list(root);
      return 0;
    }
    try {
      double checksum =
          run_workload(o->name, o->threads, o->seconds, working_sets(read_cache_sizes(root)));
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
