#pragma once
// Kernels compiled into the binary that span what counters see: integer ALU, scalar and vector
// floating point, pointer chasing over working sets sized to live in L1, L2, the LLC and DRAM,
// streaming read and read/write, branch mispredictions, a mixed kernel and idle. `measure` counts
// one by default; `calibrate` runs the suite.
#include <cstddef>
#include <string>
#include <vector>

#include "events/names/sysroot.h"

namespace pmc {

// Data/unified cache sizes of cpu0 in bytes, from SYS/devices/system/cpu/cpu0/cache/index*/
// {level,type,size}; a level that cannot be read keeps the default and is named in `defaulted`.
struct CacheSizes {
  size_t l1d = 32u << 10;
  size_t l2 = 1u << 20;
  size_t llc = 8u << 20;  // the highest level found (L3, or L2 when there is no L3)
  int llc_level = 3;
  std::vector<std::string> defaulted;  // "L1d", "L2", "LLC" when not found in sysfs
};

CacheSizes read_cache_sizes(const SysRoot& root);

// "48K" → 49152; sysfs writes K, M or G suffixes. 0 when the text is not a size.
size_t parse_cache_size(const std::string& text);

// Bytes of each chase's working set: L1 = L1d/2; L2 = max(2·L1d, L2/2); LLC = max(2·L2, LLC/2);
// DRAM = 2·LLC clamped to [64 MiB, 1 GiB]. The streams use the DRAM size for their two arrays.
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
