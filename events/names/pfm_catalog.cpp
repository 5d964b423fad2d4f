#include "events/names/pfm_catalog.h"

#include <perfmon/pfmlib.h>

#include <cstring>

namespace pmc {
namespace {

bool initialized() { return pfm_initialize() == PFM_SUCCESS; }  // idempotent in libpfm4

}  // namespace

std::vector<NativePmu> libpfm_pmus() {
  std::vector<NativePmu> out;
  if (!initialized()) return out;
  for (int p = 0; p < PFM_PMU_MAX; ++p) {
    pfm_pmu_info_t info;
    std::memset(&info, 0, sizeof info);
    info.size = sizeof info;
    if (pfm_get_pmu_info(pfm_pmu_t(p), &info) != PFM_SUCCESS || !info.is_present) continue;
    out.push_back({info.name, info.desc ? info.desc : "", info.type == PFM_PMU_TYPE_CORE});
  }
  return out;
}

std::vector<NativeEvent> libpfm_events(const std::string& pmu) {
  std::vector<NativeEvent> out;
  if (!initialized()) return out;
  for (int p = 0; p < PFM_PMU_MAX; ++p) {
    pfm_pmu_info_t pinfo;
    std::memset(&pinfo, 0, sizeof pinfo);
    pinfo.size = sizeof pinfo;
    if (pfm_get_pmu_info(pfm_pmu_t(p), &pinfo) != PFM_SUCCESS || !pinfo.is_present) continue;
    if (!pmu.empty() && pmu != pinfo.name) continue;
    for (int e = pinfo.first_event; e != -1; e = pfm_get_event_next(e)) {
      pfm_event_info_t einfo;
      std::memset(&einfo, 0, sizeof einfo);
      einfo.size = sizeof einfo;
      if (pfm_get_event_info(e, PFM_OS_NONE, &einfo) != PFM_SUCCESS) continue;
      out.push_back({std::string(pinfo.name) + "::" + einfo.name, einfo.desc ? einfo.desc : ""});
    }
  }
  return out;
}

}  // namespace pmc
