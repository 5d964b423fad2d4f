#pragma once
// Kernels compiled into the binary, so `pmcmodel measure` has something real to count with no
// argument, and calibration (later) has workloads that span what counters see.
#include <string>
#include <vector>

namespace pmc {

struct WorkloadInfo {
  std::string name;
  std::string description;
};

const std::vector<WorkloadInfo>& workloads();

// Runs workload `name` on `threads` threads for about `seconds`. Returns a checksum of the work
// (so the compiler cannot drop it). Throws std::invalid_argument for an unknown name.
double run_workload(const std::string& name, int threads, double seconds);

}  // namespace pmc
