#pragma once
// Measured-mode comparison (`pmcmodel compare RUN.json…`): the runs of one workload on different
// machines side by side — duration, throughput, watts, joules, cost, CO2, IPC, top-down L1 and
// cache MPKI — ranked by an objective with the ratio to the best. Pure: the caller reads the files.
#include <map>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "events/document/measurement.h"
#include "models/fleet/sku_catalog.h"

namespace pmc {

// Input the comparison refuses (mixed workloads, an unknown objective…): what() is one line.
struct ComparisonError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

enum class Objective { time, energy, cost, co2 };
std::optional<Objective> parse_objective(std::string_view text);
const char* to_string(Objective objective);

// What the comparison needs from one measurement document.
struct RunProfile {
  std::string source;   // file name, for messages
  std::string machine;  // hostname, else the CPU model, else the source
  std::string cpu_model;
  int logical_cpus = 0;
  std::string workload;
  double duration_s = 0;
  int repeats = 1;                  // perf -r / measure -r count of the document
  double duration_uncertainty = 0;  // relative, from the document's -r spread (task-clock stddev)
  std::optional<double> joules;     // energy_basis of energy[] (events/document/energy_basis.h)
  std::string energy_method;        // the basis's methods
  double energy_uncertainty = 0;
  std::optional<double> ipc;
  std::optional<double> cpus_utilized;  // task-clock / wall time: CPUs kept busy
  std::optional<double> ghz;            // cycles / task-clock
  std::optional<double> tma_retiring, tma_bad_speculation, tma_frontend_bound, tma_backend_bound;
  std::optional<double> tma_memory_bound;
  std::optional<double> backend_stall_ratio;  // stalled-cycles-backend / cycles (AMD, Arm)
  std::optional<double> llc_mpki, l1d_mpki;
  std::optional<double> peak_rss_mb;  // the command's largest resident set (metric peak_rss_mb)
  // The host CPU measure identified behind a masked CPU model (machine.host_cpu…): its name,
  // clock (turbo, else base GHz) and the identification's confidence.
  std::string host_cpu;
  std::optional<double> host_cpu_ghz;
  std::string host_cpu_confidence;
  // How the measured command failed ("exit status 3", "killed by SIGSEGV (exit status 139)");
  // empty when it exited 0 or the document does not say (a perf stat import).
  std::string failure;
};

// Metrics are taken from metrics[] first, then from what perf printed (reported[]), then derived
// from counted events (instructions, cycles, LLC-load-misses, topdown-*). Energy: a "wall" or
// "psys" domain when present (they include the rest of the system), else the sum of package and
// DRAM domains, else the first entry; machine-scoped entries are preferred to command shares.
RunProfile profile_run(const Measurement& m, std::string source, std::string workload);

// How a run names its workload, for grouping.
struct WorkloadClaim {
  std::string source;
  std::optional<std::string> workload;  // the document's top-level "workload" field
  std::string command;                  // argv joined by spaces
};

// One workload name per claim: `label` for all when given; else every run's own workload field;
// else, when no run has one, the common command. Throws ComparisonError naming two runs when
// workloads differ without a label (some with a field and some without, or different commands).
std::vector<std::string> assign_workloads(std::span<const WorkloadClaim> claims,
                                          const std::optional<std::string>& label);

struct CompareOptions {
  Objective objective = Objective::cost;
  std::optional<double> work_units;      // --work N: units of work per run
  std::optional<double> grid_g_per_kwh;  // --grid-intensity or --region
  std::string grid_source;               // "--grid-intensity" or "region:<name>"
  // --price MACHINE=USD_PER_HOUR, keyed by machine name or SKU id; beats the catalog price.
  std::map<std::string, double, std::less<>> price_per_hour;
};

struct ComparisonRow {
  std::string workload;
  std::string machine;  // measured machine, or the SKU id in projected mode
  std::string
      kind;  // "measured", "projected"; GPU rows "gpu-measured", "gpu-projected", "gpu-instance"
  std::string sku_id;          // catalog row used for price / energy / projection; empty for none
  std::string projected_from;  // projected: the measured machine the projection starts from
  int runs = 1;                // documents (× their repeats) behind the row
  double duration_s = 0;
  double duration_uncertainty = 0;  // relative half-width
  std::optional<double> throughput_per_s;
  std::optional<double> average_watts;
  std::optional<double> joules;
  std::optional<double> cost_usd;
  std::optional<double> co2_g;
  std::string method;  // of the energy figure: measured:…, estimated:sku-curve:<sku>, projected:…
  std::string price_source;  // "--price", "catalog:<sku> (<price source>)", empty without price
  double uncertainty = 0;    // relative half-width of joules and CO2 (cost: duration_uncertainty)
  std::optional<double> ipc, tma_retiring, tma_bad_speculation, tma_frontend_bound;
  std::optional<double> tma_backend_bound, llc_mpki;
  std::optional<double> utilisation;  // CPUs busy / CPUs of the machine
  std::optional<int> rank;            // 1 = best within the workload; absent without the figure
  std::optional<double> ratio_to_best;
  std::vector<std::string> missing_inputs;
  // Measured rows: "FILE: killed by SIGSEGV (exit status 139)" for each document behind the row
  // whose command failed (compared only when asked, CompareRequest::allow_failed).
  std::vector<std::string> failed;
  // GPU rows only (gpu_comparison_rows): the catalog GPU, the GPUs the job ran on, the
  // instance's GPUs and the watts of one GPU.
  std::string gpu_id;
  std::optional<int> gpus, instance_gpus;
  std::optional<double> watts_per_gpu;
};

struct Comparison {
  Objective objective = Objective::cost;
  std::vector<ComparisonRow> rows;  // grouped by workload, ranked rows first in rank order
  std::vector<std::string> notes;
};

// Rows per (workload, machine): runs of one machine are averaged, their spread (sample stddev over
// the mean) is the duration uncertainty. A run without energy gets it from the matched SKU's power
// curve at its utilisation (method estimated:sku-curve:<sku>, uncertainty 0.3); without a match
// its energy stays absent, with a note. `catalog` may be null (no prices, no estimates).
Comparison compare_measured(std::span<const RunProfile> runs, const SkuCatalog* catalog,
                            const CompareOptions& options);

// One profile per (workload, machine), in order of first appearance: durations, energy and
// metrics averaged, the documents' spread as duration_uncertainty, repeats added.
std::vector<RunProfile> merge_repeats(std::span<const RunProfile> runs);

// The objective's figure of a row, if it has one.
std::optional<double> objective_value(const ComparisonRow& row, Objective objective);

// Indices of the rows of each workload, workloads in order of first appearance.
std::vector<std::vector<size_t>> indices_by_workload(std::span<const ComparisonRow> rows);

// Ranks rows within each workload by the objective (ties keep input order) and orders each
// workload's rows: ranked ones by rank, then the rest. ratio_to_best = value / best; absent on
// every row of a workload whose best is 0.
void rank_rows(std::vector<ComparisonRow>& rows, Objective objective);

// One note per workload of ranked `rows` whose best figure is 0, saying why its rows have no
// ratio_to_best.
std::vector<std::string> zero_best_notes(std::span<const ComparisonRow> rows, Objective objective);

}  // namespace pmc
