#pragma once
// Energy in `pmcmodel measure`: the power options and how energy readings are shown. The
// accounting itself (sources, the command's share, the estimate, derived figures) is
// engine/power/energy_accounting.h. docs/energy.md.
#include <CLI/CLI.hpp>

#include <string>
#include <string_view>
#include <vector>

#include "engine/power/energy_accounting.h"
#include "events/document/measurement.h"

namespace pmc::cli {

using EnergyOptions = EnergySettings;

// --power-source, --power-from, --sku, --price-per-hour, --grid-intensity, --region, --catalog,
// --gpus.
void add_energy_options(CLI::App* cmd, EnergyOptions& options);

// The data directory (engine/system/data_dir.h: $PMCMODEL_DATA_DIR, the installed share/pmcmodel,
// the build tree's data/); empty when there is none.
std::string default_data_dir();

// Table rows for energy readings: joules, domain, average watts, method, uncertainty, scope.
std::string format_energy_rows(const std::vector<EnergyReading>& energy, std::string_view prefix);

// Table rows for each GPU's activity over an interval, from its gpu_util.gpuN and
// gpu_sm_clock_mhz.gpuN metrics (docs/formats.md): the utilisation in % and the SM clock in MHz,
// one row each, in the order of the metrics; nothing for a GPU that gave neither. The GPU's joules
// and watts are its energy rows.
std::string format_gpu_activity_rows(const std::vector<Metric>& metrics, std::string_view prefix);

// The run's "Energy:" block of the table, its heading saying whether it was measured or
// estimated, with the total that stands for the run when GPUs are beside the CPU; empty without
// readings.
std::string format_energy_block(const std::vector<EnergyReading>& energy);

}  // namespace pmc::cli
