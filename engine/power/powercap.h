#pragma once
// RAPL energy through powercap sysfs: <sys>/class/powercap/<type>:N[:M]/{name,energy_uj,
// max_energy_range_uj} (Linux drivers/powercap/intel_rapl_common.c; `intel-rapl` zones from MSRs,
// also used for AMD family 17h/19h, `intel-rapl-mmio` on client parts with MMIO RAPL).
//
// energy_uj is a 32-bit hardware count (MSR_PKG_ENERGY_STATUS bits 31:0) times the energy status
// unit (MSR_RAPL_POWER_UNIT bits 12:8; Intel SDM vol. 3B, "RAPL Interfaces"): 2^-16 J = 15.3 µJ on
// servers and AMD, 2^-14 J = 61 µJ on client parts. It wraps after 2^32 units: 65536 J with the
// 15.3 µJ unit, i.e. about 5.5 minutes at 200 W or 65 s at 1 kW. Sampling every 100 ms sees
// every wrap by a wide margin; a read costs one pread (an MSR read in the kernel).
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "engine/power/power_source.h"
#include "events/names/sysroot.h"

namespace pmc {

struct PowercapZone {
  std::string id;  // directory name, e.g. "intel-rapl:0:1"
  std::filesystem::path dir;
  std::string name;    // the zone's `name` file: "package-0", "core", "uncore", "dram", "psys"
  std::string domain;  // report name: "package-0", "core", "dram-1", "psys"…
  std::string parent;  // id of the enclosing zone, empty for a top-level zone
  uint64_t max_energy_range_uj = 0;  // 0 when the file is missing (treated as "does not wrap")
};

struct PowercapScan {
  std::vector<PowercapZone> zones;  // with an energy_uj file, top-level zones before their children
  std::vector<std::string> notes;   // zones left out (MMIO duplicates) and why
};

// Reads the zone tree; opens no counter. Empty when <sys>/class/powercap has no RAPL zone.
PowercapScan scan_powercap(const SysRoot& root);

// What the report must say about the zones: which are parts of which, what a total covers.
std::vector<std::string> describe_powercap_zones(const std::vector<PowercapZone>& zones);

// Opens energy_uj of every zone (kept open; sample() preads them). No source when there is no
// zone, or none is readable: reason_if_none says why (root-only since Linux 5.10) and how to fix it.
PowerChoice open_powercap_source(const SysRoot& root);

// Why energy_uj at `path` could not be read by this user, and how to grant access safely.
std::string powercap_permission_reason(const std::filesystem::path& path);

}  // namespace pmc
