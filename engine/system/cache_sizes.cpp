#include "engine/system/cache_sizes.h"

#include <cstdlib>

namespace pmc {

size_t parse_cache_size(const std::string& text) {
  size_t i = 0, value = 0;
  while (i < text.size() && text[i] >= '0' && text[i] <= '9')
    value = value * 10 + size_t(text[i++] - '0');
  if (i == 0) return 0;
  std::string unit = text.substr(i);
  if (unit.empty()) return value;
  if (unit == "K") return value << 10;
  if (unit == "M") return value << 20;
  if (unit == "G") return value << 30;
  return 0;
}

CacheSizes read_cache_sizes(const SysRoot& root) {
  CacheSizes out;
  bool l1 = false, l2 = false;
  int top = 0;
  size_t top_size = 0;
  for (int index = 0; index < 16; ++index) {
    auto dir = root.sys_path("devices/system/cpu/cpu0/cache/index" + std::to_string(index));
    auto level = read_text(dir / "level"), type = read_text(dir / "type"),
         size = read_text(dir / "size");
    if (!level || !type || !size) continue;
    if (*type == "Instruction") continue;
    size_t bytes = parse_cache_size(*size);
    int lv = std::atoi(level->c_str());
    if (bytes == 0 || lv < 1) continue;
    if (lv == 1) out.l1d = bytes, l1 = true;
    if (lv == 2) out.l2 = bytes, l2 = true;
    if (lv > top) top = lv, top_size = bytes;
  }
  if (!l1) out.defaulted.push_back("L1d");
  if (!l2) out.defaulted.push_back("L2");
  if (top >= 2) {
    out.llc = top_size;
    out.llc_level = top;
  } else {
    out.defaulted.push_back("LLC");
  }
  return out;
}

}  // namespace pmc
