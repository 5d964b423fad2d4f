#pragma once
// cpu0's cache sizes from sysfs, through the SysRoot: the workloads size their working sets by
// them, and a masked AMD VM's identification reads its L3 instance (one CCX's) from them.
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

}  // namespace pmc
