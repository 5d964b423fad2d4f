#pragma once
// Energy accounting: the power sources sampled during a run (the machine's RAPL or meter, and its
// GPUs through NVML and AMD SMI), the command's share of each machine-wide reading and its
// uncertainty, the estimate where no meter can be read, and the figures derived from the energy
// that stands for the run (joules per run, nJ per instruction, cost, CO2e; the rule:
// events/document/energy_basis.h). Used by `measure`, and by `calibrate` for the machine's readings
// per interval; usable by any command that runs something and wants its energy. docs/energy.md.
#include <sys/types.h>

#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "engine/power/gpu_source.h"
#include "events/document/energy_basis.h"
#include "events/document/measurement.h"
#include "events/names/sysroot.h"

namespace pmc {

// What the accounting is asked for: the command's options, resolved.
struct EnergySettings {
  std::string power_source = "auto";  // auto | perf | powercap | papi | none
  std::string power_from;             // a meter log FILE, or "ipmi"
  std::string sku;
  std::optional<double> price_per_hour_usd;
  std::optional<double> grid_g_per_kwh;
  std::string region;
  std::string catalog;       // a directory with skus.csv (and grid.csv), or a skus.csv file
  std::string data_dir;      // the shipped data directory (skus.csv, grid.csv); empty when none
  std::string gpus = "all";  // all | none | GPU indices (0,2 or 0-3): NVML's, then AMD SMI's
  // The GPU compute processes that are the command's: those under this process (0: under the
  // measuring process itself, i.e. the command it started). Unused for a system-wide target.
  pid_t command_root = 0;
};

// Bad input in the settings or the files they name (an option, catalog, grid or meter file), or
// a reading that failed: the message is one line, "FILE:LINE: …" where a file is at fault.
struct EnergyError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// One per command invocation: chooses the power sources (and checks every setting) when
// constructed, so that bad input stops the command before it runs; then measures each run.
class EnergyRecorder {
 public:
  // `machine` is this machine (logical CPUs, CPU model); throws EnergyError for bad settings.
  EnergyRecorder(const EnergySettings& settings, const SysRoot& root, const MachineInfo& machine,
                 bool system_wide);
  ~EnergyRecorder();
  EnergyRecorder(const EnergyRecorder&) = delete;
  EnergyRecorder& operator=(const EnergyRecorder&) = delete;

  // The sampling period the sources need (100 ms, 50 ms while a GPU's power is integrated), or
  // 0 without a source.
  int sample_ms() const;
  void sample();
  // Before each run: the sources' baselines and the machine's CPU times. Called as late as
  // possible (the session's RunOptions::on_start, when the counters are open and the command
  // forked), since the run's energy is what the sources read from here.
  void begin_run();
  // At each run's end (the session's RunOptions::on_stop): the sources' readings over the run and
  // the machine's CPU times, which complete_run then uses. Without it complete_run reads them
  // itself, and its window also holds whatever ran between the run's end and that call.
  void end_run();
  // Fills iv.energy from the sources (or the estimate) over the interval, and appends each
  // GPU's gpu_util, gpu_sm_clock_mhz, gpu_memory_clock_mhz, gpu_temperature_c and gpu_watts to
  // iv.metrics. The source's domains are judged as the run's are, over the run so far: where
  // they have read 0 J since begin_run (present, not counting), the interval carries the estimate
  // that the run will (docs/energy.md).
  void complete_interval(Interval& iv);
  // The same in two steps, for a run whose intervals nobody sees live (-q, no --interval-out):
  // mark_interval() at each interval's end reads only what must be read then (the sources, the
  // machine's CPU times); finish_intervals() fills every interval's energy after the run, with the
  // same figures complete_interval would have given. A tick then costs the measuring process
  // a few syscalls instead of building readings with cold caches (docs/PERFORMANCE.md).
  // Where the root cgroup's CPU-time counter exists, a mark reads it instead of /proc/stat and
  // the run's busy time from /proc/stat is shared among the intervals in proportion to it; the
  // notes say so (and when the counter does not cover the machine).
  // finish_intervals() may be called for batches, in order (each with the intervals marked since
  // the previous call), so that a long run never holds all its intervals: the busy time is then
  // shared within each batch, and the notes are given once per run.
  void mark_interval();
  void finish_intervals(std::vector<Interval>& intervals, std::vector<std::string>& notes);
  // Fills m.energy and the energy notes of one run from its events, duration and CPU times.
  // Throws EnergyError when the machine's source cannot be read at the end.
  void complete_run(Measurement& m);
  // joules_per_run, nj_per_instruction, cost_usd, co2_g, the GPUs' metrics and, for a command,
  // peak_rss_mb (its largest resident set) into m.metrics, with their basis in notes.
  void add_derived(Measurement& m) const;
  // The GPUs measured (machine.gpus of the document), and the host CPU identified behind a
  // masked CPU model (machine.host_cpu, host_cpu_ghz, host_cpu_confidence).
  void describe(MachineInfo& machine) const;

  // For a command that keeps its own rows of intervals (calibrate), after begin_run(): what the
  // machine's power source read since the previous call (or begin_run), each domain's joules and
  // average watts over that window, with the source's method ("measured:powercap"…) and scope
  // machine, as measure's intervals have them before any command share or estimate. Empty
  // without a source, and for a window the source could not cover (its notes say so). A source
  // that fails gives no readings and a line in `notes`, never an exception.
  std::vector<EnergyReading> read_machine_interval(std::vector<std::string>& notes);
  // The same for the GPUs (for calibrate's GPU columns): each selected GPU's reading over the
  // window since the previous call (or begin_run), scope machine, and its activity over that
  // window (utilisation, clocks, temperature), the GPUs sampled once more at its end so that no
  // window lacks a sample. Empty without a GPU; a read that fails gives no readings and a line
  // in `notes`.
  struct GpuInterval {
    std::vector<EnergyReading> energy;  // one per GPU with a reading
    std::vector<GpuActivity> activity;  // one per GPU
  };
  GpuInterval read_gpu_interval(std::vector<std::string>& notes);
  // The machine's power source: its method, empty when there is none.
  std::string machine_method() const;
  // What the estimate would be made from where no meter is read (doctor): the machine's curve
  // (method, domain, watts, uncertainty, basis: the SKU, the identified host CPU or the TDP
  // rule), or why there is none. Waits for the catalog.
  struct EstimatePlan {
    std::string method;                                 // empty when there is no curve
    std::string domain;                                 // "wall" or "package"
    double idle_watts = 0, full_watts = 0;              // at 0 and 100 % load
    double idle_uncertainty = 0, full_uncertainty = 0;  // relative half-widths there
    std::string basis;
    std::string problem;  // why there is no curve; empty with one
  };
  EstimatePlan estimate_plan();
  // Why no source could be used (empty when one is).
  std::string machine_reason_if_none() const;
  // How the source was chosen (a source skipped, and why): the first of measure's energy notes.
  std::vector<std::string> choice_notes() const;
  // The source's own notes as they stand now (nested domains, wraps, uncovered intervals);
  // empty without a source.
  std::vector<std::string> machine_source_notes() const;

 private:
  static void add_peak_rss(Measurement& m);
  struct State;
  std::unique_ptr<State> state_;
};

// The energy of several runs of one command: each domain's joules and watts averaged.
std::vector<EnergyReading> average_energy(const std::vector<std::vector<EnergyReading>>& runs);

}  // namespace pmc
