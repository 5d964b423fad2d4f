#pragma once
// NVIDIA GPUs through NVML, loaded at run time with dlopen (the library $PMCMODEL_NVML_LIBRARY
// names, else libnvidia-ml.so.1), so that the build needs no CUDA and a machine without NVIDIA
// runs as before. Each GPU's energy comes from the best reading it answers:
//   measured:nvml        nvmlDeviceGetTotalEnergyConsumption, mJ since the driver loaded (Volta
//                        and later); it advances about every 100 ms and is right over any window;
//   measured:nvml-power  field NVML_FI_DEV_POWER_INSTANT (186), integrated by trapezoids between
//                        samples taken at >= 10 Hz, where the counter answers NOT_SUPPORTED;
//   measured:nvml-average  nvmlDeviceGetPowerUsage integrated the same way, only where neither
//                        answers: on Hopper it is a ~1 s moving average that reads 40-90% high in
//                        the seconds after a load ends, so a note says so and the uncertainty is
//                        wider (docs/energy.md, the H200 trace in tests/data/gpu/).
// The command's share of a GPU comes from the compute processes NVML lists on it.
#include <string>
#include <vector>

#include "engine/power/gpu_source.h"
#include "events/document/measurement.h"

namespace pmc {

// Loads NVML and opens the selected GPUs among those it sees, numbered from `first_index`
// (selection indices are in that numbering: NVML's GPU k is GPU first_index + k, domain gpuN).
// Never throws: an index beyond NVML's GPUs is another library's or nobody's.
GpuChoice open_nvml_gpus(const GpuSelection& selection, unsigned first_index);

// NVML's GPUs alone, numbered from 0. Throws std::invalid_argument when `selection` names an
// index NVML does not see; every other failure is reason_if_none.
GpuChoice open_nvml_source(const GpuSelection& selection);

// For `doctor`: the library found or why not, the driver, each GPU and its energy method.
GpuLibraryStatus nvml_status();

}  // namespace pmc
