#pragma once
// Energy through PAPI's components (--power-source papi): `rapl` (RAPL MSRs; PACKAGE_ENERGY,
// DRAM_ENERGY, PP0_ENERGY, PP1_ENERGY, PSYS_ENERGY :PACKAGE<N>, in nJ; PAPI
// src/components/rapl/linux-rapl.c), `powercap` (powercap sysfs; ENERGY_UJ:ZONE<N>[_SUBZONE<M>]
// in µJ, wrapping at MAX_ENERGY_RANGE_UJ of the same zone, named by NAME's description;
// src/components/powercap/linux-powercap.c) and `nvml` (NVIDIA GPUs; <device>:device_<N>:power in
// mW, or an energy counter in mJ; src/components/nvml/linux-nvml.c).
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "engine/power/power_source.h"

namespace pmc {

// What one PAPI native event measures, when it is an energy or power reading this source uses.
struct PapiEnergyEvent {
  enum class Kind { energy, power };
  Kind kind = Kind::energy;
  std::string kind_name;    // "package", "core", "uncore", "dram", "psys", "gpu", or a zone's name
  int index = 0;            // package, zone or device number
  double scale = 1;         // joules per count (energy) or watts per unit (power)
  std::string range_event;  // the event holding the wrap range (powercap), "" when none
  std::string zone;         // powercap: "ZONE0_SUBZONE1", the suffix its NAME event shares
};

// Classifies native event `name` (with or without the "<component>:::" prefix) of `component`
// by its name and PAPI's `units`. nullopt for events that are not energy or power (limits, time
// windows, names, temperatures) and for raw *_CNT counts, whose unit is not given.
std::optional<PapiEnergyEvent> classify_papi_event(std::string_view component,
                                                   std::string_view name, std::string_view units);

// Reads every energy event of PAPI's enabled rapl or powercap component (rapl first; both read
// the same RAPL counters, so only one is used) and of nvml. No source when none is enabled or
// none can be started: reason_if_none names each component's state as papi_component_avail does.
// Loads $PMCMODEL_PAPI_LIBRARY or libpapi.so.7.0 (see papi_counters.h).
PowerChoice open_papi_power_source();
// The same with the first of `library_names` that dlopen finds (tests load a fake libpapi).
PowerChoice open_papi_power_source(const std::vector<std::string>& library_names);

}  // namespace pmc
