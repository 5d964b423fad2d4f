#pragma once
// Kernels compiled into the binary that span what counters see: integer ALU, scalar and vector
// floating point, pointer chasing over working sets sized to live in L1, L2, the LLC and DRAM,
// streaming read and read/write, branch mispredictions, a mixed kernel and idle. `measure` counts
// one by default; `calibrate` runs the suite.
#include <cstddef>
#include <string>
#include <vector>

#include "engine/system/cache_sizes.h"
#include "events/names/sysroot.h"

namespace pmc {

// Bytes of each chase's working set: L1 = L1d/2; L2 = max(2·L1d, L2/2); LLC = max(2·L2, LLC/2);
// DRAM = 2·LLC clamped to [64 MiB, 1 GiB]. The streams' arrays together span the DRAM size:
// stream-read's one array all of it, stream-rw's two half each.
struct WorkingSets {
  size_t l1 = 0, l2 = 0, llc = 0, dram = 0;
};
WorkingSets working_sets(const CacheSizes& caches);

struct WorkloadInfo {
  std::string name;
  std::string description;
  bool in_suite = true;  // run by calibrate (aliases are not)
};

const std::vector<WorkloadInfo>& workloads();
std::vector<std::string> workload_names();
std::vector<std::string> suite_workloads();

// The instruction set the vector-fp kernel uses on this CPU: "avx512f", "avx2" or "sse2" (chosen
// at run time with __builtin_cpu_supports), "generic" off x86.
std::string vector_isa();

// Runs workload `name` on `threads` threads for about `seconds` (the wall time includes building
// a chase's chain or touching a stream's arrays). Returns a checksum of the work (so the compiler
// cannot drop it). Throws std::invalid_argument for an unknown name.
double run_workload(const std::string& name, int threads, double seconds, const WorkingSets& sets);

}  // namespace pmc
