#pragma once
// The one rule for the energy that stands for a run: what `measure` reports as joules_per_run
// (and nj_per_instruction, co2_g) and what `compare` ranks. docs/energy.md ("The energy of a
// run").
//
// Of the command's share (scope command) when the readings have one, else of the machine:
//   1. wall (a meter at the plug: everything, the GPU cards included), alone; a wall figure
//      estimated from a SKU's power curve (a server without cards) gets the GPU cards added; else
//   2. psys (RAPL's platform domain: the SoC, DRAM and more, no PCIe card); else
//   3. the package total "package" (the sum of the sockets), else the sum of the package-N zones
//      (one per socket, or per die), plus every dram domain (DRAM is outside the package);
//   plus, unless the basis is wall, every GPU card of the same scope (gpu0, gpu1…: no RAPL
//   domain contains one). Without any of 1–3 the GPU cards alone. core, uncore, RAPL's
//   integrated gpu and other zones are parts of a package, or unknown: never added.
// The joules and watts are the parts' sums, the uncertainty their joule-weighted mean.
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "events/document/measurement.h"

namespace pmc {

// A power domain, by the name its source gives it (docs/formats.md, energy[].domain).
enum class DomainKind {
  wall,           // "wall": a meter, ipmi or a SKU curve measured at the plug
  psys,           // "psys": the platform
  package_total,  // "package": the sum of the package-N zones, or a TDP estimate
  package,        // "package-N", "package-N-die-M": one socket (or die)
  dram,           // "dram", "dram-N"
  gpu_card,       // "gpu0", "gpu1"…: a GPU card read on its own (NVML)
  other,          // core, uncore, RAPL's integrated "gpu" (also "gpu-N"), a PAPI zone…
};
DomainKind classify_domain(std::string_view domain);

// perf's power PMU events (arch/x86/events/rapl.c, rapl_events_*) and the kind of RAPL domain
// each counts, in report order: energy-pkg → package, energy-cores → core, energy-gpu → gpu (the
// integrated one), energy-ram → dram, energy-psys → psys. `measure` numbers a kind per socket
// (rapl_domain_name); an imported perf stat total (every socket's) is named by the kind alone.
struct PowerEventKind {
  std::string_view event;
  std::string_view kind;
};
inline constexpr PowerEventKind kPowerEvents[] = {
    {"energy-pkg", "package"}, {"energy-cores", "core"}, {"energy-gpu", "gpu"},
    {"energy-ram", "dram"},    {"energy-psys", "psys"},
};

// Whether a domain is a GPU card read on its own (gpu0, gpu1…), beside the CPU's domains; RAPL's
// "gpu" (an integrated GPU inside the package) is not.
bool is_gpu_card_domain(std::string_view domain);

// Whether a domain can stand for the whole machine's CPU side: wall, psys, package, package-N.
bool stands_for_machine(std::string_view domain);

struct EnergyBasis {
  EnergyScope scope = EnergyScope::machine;
  double joules = 0;
  double average_watts = 0;
  double uncertainty = 0;            // joule-weighted over the parts
  std::vector<EnergyReading> parts;  // the CPU-side domains first (when there are any)
  // The parts' distinct methods in order, joined with '+': "measured:powercap+measured:nvml".
  std::string method() const;
  // "command energy of domains package (measured:powercap, ±0.0%) + gpu0 (measured:nvml, ±1.0%)"
  std::string describe() const;
};
// nullopt when no reading of the chosen scope is wall, psys, a package or a GPU card.
std::optional<EnergyBasis> energy_basis(const std::vector<EnergyReading>& energy);

}  // namespace pmc
