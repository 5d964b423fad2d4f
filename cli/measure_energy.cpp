#include "cli/measure_energy.h"

#include <fmt/format.h>

#include "cli/commands.h"
#include "cli/option_checks.h"
#include "engine/system/data_dir.h"
#include "events/document/energy_basis.h"

namespace pmc::cli {
namespace {

std::string percent(double fraction) {
  return fmt::format("{:.1f}%", fraction * 100);
}

}  // namespace

void add_energy_options(CLI::App* cmd, EnergyOptions& o) {
  cmd->add_option("--power-source", o.power_source,
                  "Energy from: auto (perf power PMU, then powercap, then an estimate), perf, "
                  "powercap, papi, none (estimate only)")
      ->check(CLI::IsMember({"auto", "perf", "powercap", "papi", "none"}));
  cmd->add_option("--power-from", o.power_from,
                  "Wall energy from a meter log FILE (CSV timestamp,watts or timestamp,joules) or "
                  "'ipmi' (ipmitool dcmi power reading)");
  cmd->add_option("--sku", o.sku, "SKU id of this machine in the catalog (power curve, price)");
  cmd->add_option("--price-per-hour", o.price_per_hour_usd, "USD per hour of this machine")
      ->check(non_negative_number());
  cmd->add_option("--grid-intensity", o.grid_g_per_kwh, "Grid carbon intensity, g CO2e per kWh")
      ->check(CLI::Range(0.0, 2000.0));
  cmd->add_option("--region", o.region, "Grid region for CO2e (data/grid.csv: us-east-1, FRA…)");
  cmd->add_option("--catalog", o.catalog,
                  "Directory with skus.csv and grid.csv, or a skus.csv file (default: the shipped "
                  "data/)");
  cmd->add_option("--gpus", o.gpus,
                  "GPUs to measure, NVIDIA's through NVML and AMD's through AMD SMI: all (default: "
                  "every GPU either sees), none, or a list of indices such as 0,2 or 0-3 (NVIDIA's "
                  "first, then AMD's)");
}

std::string default_data_dir() {
  return find_data_dir().path;
}

std::string format_energy_rows(const std::vector<EnergyReading>& energy, std::string_view prefix) {
  std::string out;
  for (const auto& e : energy) {
    std::string domain = e.scope == EnergyScope::command ? e.domain + " (command share)" : e.domain;
    std::string line = fmt::format("{}{:>20.6f} J      {:<30} # {:9.3f} W  {}", prefix, e.joules,
                                   domain, e.average_watts, e.method);
    if (e.uncertainty > 0) line += fmt::format("  (±{})", percent(e.uncertainty));
    out += line + "\n";
  }
  return out;
}

std::string format_gpu_activity_rows(const std::vector<Metric>& metrics, std::string_view prefix) {
  constexpr std::string_view kUtil = "gpu_util.", kSmClock = "gpu_sm_clock_mhz.";
  std::string out;
  for (const auto& m : metrics) {
    std::string_view name = m.name;
    if (name.starts_with(kUtil))
      out += fmt::format("{}{:>20.1f} {:<6} {} utilisation\n", prefix, m.value * 100, "%",
                         name.substr(kUtil.size()));
    else if (name.starts_with(kSmClock))
      out += fmt::format("{}{:>20.0f} {:<6} {} SM clock\n", prefix, m.value, "MHz",
                         name.substr(kSmClock.size()));
  }
  return out;
}

std::string format_energy_block(const std::vector<EnergyReading>& energy) {
  if (energy.empty()) return {};
  bool estimated = false, gpus = false;
  for (const auto& e : energy) {
    estimated |= classify_method(e.method) == MethodKind::estimated;
    gpus |= is_gpu_card_domain(e.domain);
  }
  // "counted", not "was read": a meter that was read but stayed at 0 J ("present, not counting",
  // a VM's psys) also leaves the run to the estimate.
  std::string out =
      estimated && gpus
          ? "\n Energy (CPU ESTIMATED, no CPU power meter counted; GPUs measured; see the notes):\n"
      : estimated ? "\n Energy (ESTIMATED, no power meter counted; see the notes):\n"
                  : "\n Energy (measured; nested domains are parts, never add them):\n";
  out += format_energy_rows(energy, "");
  // Beside the GPUs, the total that stands for the run: what joules_per_run is.
  if (auto basis = energy_basis(energy); basis && gpus && basis->parts.size() > 1) {
    std::string parts;
    for (const auto& p : basis->parts) parts += (parts.empty() ? "" : " + ") + p.domain;
    std::string what =
        (basis->scope == EnergyScope::command ? "command total: " : "machine total: ") + parts;
    out += fmt::format("{:>20.6f} J      {:<30} # {:9.3f} W  (±{})\n", basis->joules, what,
                       basis->average_watts, percent(basis->uncertainty));
  }
  return out;
}

}  // namespace pmc::cli
