#pragma once
// AMD GPUs through AMD SMI, loaded at run time with dlopen (the library $PMCMODEL_AMDSMI_LIBRARY
// names, else libamd_smi.so as ROCm installs it), so that the build needs no ROCm and a machine
// without AMD GPUs runs as before. Each GPU's energy comes from the best reading it answers:
//   measured:amdsmi        its energy accumulator's advance times its resolution,
//                          amdsmi_get_energy_count (AMD SMI "Power Queries": energy in µJ =
//                          accumulator × counter_resolution; not supported in VM guests);
//   measured:amdsmi-power  where the counter does not answer, amdsmi_get_power_info's current
//                          socket power (whole watts, MI300 and later) integrated by trapezoids
//                          between samples taken at >= 10 Hz, with an uncertainty.
// Older firmware
// keeps the accumulator in 32 bits (the gpu_metrics field went from 32 to 64 bits), so a counter
// that goes back from below 2^32 has wrapped at 32 bits; one that goes back from above is reset.
// On dual-die parts (MI250X: two GCDs in one package) one die reports the package's energy and
// its sibling on the same socket reads 0: that die gets no reading of its own, and a note says
// which reading holds its energy, so it is neither counted twice nor called 0 W.
// The command's share of a GPU comes from amdsmi_get_gpu_process_list (ROCm 6.1 and later): all
// of its energy when the command's processes are the only ones listed on it, else split by the
// GFX engine time each process used (command_share in gpu_source.h, as NVML's split by SM time).
#include <cstdint>

#include "engine/power/gpu_source.h"

namespace pmc {

// The advance of an accumulator from `previous` to `now`, in counts: a decrease from below 2^32
// is a 32-bit wrap; from above, a reset, after which `now` counts from 0.
struct CounterAdvance {
  uint64_t counts = 0;
  bool wrapped = false;
  bool reset = false;
};
CounterAdvance accumulator_advance(uint64_t previous, uint64_t now);

// Loads AMD SMI and opens the selected GPUs, numbered from `first_index` in the order of AMD
// SMI's sockets and their processors (selection indices are in that numbering). Never throws: an
// index beyond AMD SMI's GPUs is another library's or nobody's.
GpuChoice open_amdsmi_gpus(const GpuSelection& selection, unsigned first_index);

// For `doctor`: the library found or why not, the driver, each GPU (numbered from
// `first_index`) and whether its energy counter answers.
GpuLibraryStatus amdsmi_status(unsigned first_index);

}  // namespace pmc
