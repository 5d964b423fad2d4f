#pragma once
// Identity of the machine a measurement was taken on, read through the SysRoot.
#include "events/document/measurement.h"
#include "events/names/sysroot.h"

namespace pmc {

MachineInfo read_machine_info(const SysRoot& root);

// Fields of /proc/cpuinfo's first processor block ("vendor_id", "cpu family", "model",
// "model name", "stepping"; Arm's "CPU implementer"/"CPU part"), and the processor count.
void parse_cpuinfo(std::string_view text, MachineInfo& info);

}  // namespace pmc
