#pragma once
// Energy in `pmcmodel measure`: the power options, the power source sampled during each run, the
// command's share of a machine-wide reading, the estimate where no meter can be read, and the
// derived figures (joules per run, nJ per instruction, cost, CO2e). docs/energy.md.
#include <CLI/CLI.hpp>

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "events/document/measurement.h"
#include "events/names/sysroot.h"

namespace pmc::cli {

struct EnergyOptions {
  std::string power_source = "auto";  // auto | perf | powercap | papi | none
  std::string power_from;             // a meter log FILE, or "ipmi"
  std::string sku;
  std::optional<double> price_per_hour_usd;
  std::optional<double> grid_g_per_kwh;
  std::string region;
  std::string catalog;  // a directory with skus.csv (and grid.csv), or a skus.csv file
};

// --power-source, --power-from, --sku, --price-per-hour, --grid-intensity, --region, --catalog.
void add_energy_options(CLI::App* cmd, EnergyOptions& options);

// The data directory with the shipped skus.csv and grid.csv: $PMCMODEL_DATA_DIR, else
// <dir of the executable>/../share/pmcmodel (an installed tree), else the source tree's data/
// that this binary was built from. Empty when none holds skus.csv.
std::string default_data_dir();

// One per `measure` invocation: chooses the power source (and checks every option) when
// constructed, so that bad input stops the command before it runs; then measures each run.
class EnergyRecorder {
 public:
  // Throws CommandError (exit 2) for a bad option, catalog, grid or meter file.
  EnergyRecorder(const EnergyOptions& options, const SysRoot& root, bool system_wide);
  ~EnergyRecorder();
  EnergyRecorder(const EnergyRecorder&) = delete;
  EnergyRecorder& operator=(const EnergyRecorder&) = delete;

  // 100 with a power source (sample at least every 100 ms so that no wrap is missed), else 0.
  int sample_ms() const;
  void sample();
  // Before each run: the source's baseline and the machine's CPU times.
  void begin_run();
  // Fills iv.energy from the source (or the estimate) over the interval.
  void complete_interval(Interval& iv);
  // The same in two steps, for a run whose intervals nobody sees live (-q, no --interval-out):
  // mark_interval() at each interval's end reads only what must be read then (the source, the
  // machine's CPU times); finish_intervals() fills every interval's energy after the run, with the
  // same figures complete_interval would have given. A tick then costs the measuring process
  // a few syscalls instead of building readings with cold caches (docs/PERFORMANCE.md).
  // Where the root cgroup's CPU-time counter exists, a mark reads it instead of /proc/stat and
  // the run's busy time from /proc/stat is shared among the intervals in proportion to it; the
  // notes say so (and when the counter does not cover the machine).
  void mark_interval();
  void finish_intervals(std::vector<Interval>& intervals, std::vector<std::string>& notes);
  // Fills m.energy and the energy notes of one run from its events, duration and CPU times.
  void complete_run(Measurement& m);
  // joules_per_run, nj_per_instruction, cost_usd, co2_g into m.metrics, with their basis in notes.
  void add_derived(Measurement& m) const;

 private:
  struct State;
  std::unique_ptr<State> state_;
};

// The energy of several runs of one command: each domain's joules and watts averaged.
std::vector<EnergyReading> average_energy(const std::vector<std::vector<EnergyReading>>& runs);

// Table rows for energy readings: joules, domain, average watts, method, uncertainty, scope.
std::string format_energy_rows(const std::vector<EnergyReading>& energy, std::string_view prefix);

// The run's "Energy:" block of the table, its heading saying whether it was measured or
// estimated; empty without readings.
std::string format_energy_block(const std::vector<EnergyReading>& energy);

}  // namespace pmc::cli
