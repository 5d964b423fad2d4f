#include "events/names/libpfm_encoder.h"

#include <perfmon/pfmlib_perf_event.h>

#include <cstring>

namespace pmc {
namespace {

// pfm_initialize() is not thread-safe (libpfm4 pfm_initialize(3)); serialise it across encoders.
std::mutex& pfm_init_mutex() {
  static std::mutex m;
  return m;
}

std::string pmu_name(int event_index) {
  pfm_event_info_t event;
  std::memset(&event, 0, sizeof event);
  event.size = sizeof event;
  if (pfm_get_event_info(event_index, PFM_OS_PERF_EVENT_EXT, &event) != PFM_SUCCESS) return {};
  pfm_pmu_info_t pmu;
  std::memset(&pmu, 0, sizeof pmu);
  pmu.size = sizeof pmu;
  if (pfm_get_pmu_info(event.pmu, &pmu) != PFM_SUCCESS || pmu.name == nullptr) return {};
  return pmu.name;
}

}  // namespace

bool LibpfmEncoder::initialize() const {
  std::call_once(init_once_, [this] {
    std::lock_guard lock(pfm_init_mutex());
    available_ = pfm_initialize() == PFM_SUCCESS;
  });
  return available_;
}

PfmResult LibpfmEncoder::encode(const std::string& name) const {
  PfmResult result;
  if (!initialize()) {
    result.not_found = true;
    result.error = "libpfm4 could not be initialised";
    return result;
  }
  perf_event_attr attr;
  std::memset(&attr, 0, sizeof attr);
  pfm_perf_encode_arg_t arg;
  std::memset(&arg, 0, sizeof arg);
  arg.attr = &attr;
  arg.size = sizeof arg;
  // Count user and kernel by default, like perf; ":u"/":k" in the name narrow it.
  int rc =
      pfm_get_os_event_encoding(name.c_str(), PFM_PLM0 | PFM_PLM3, PFM_OS_PERF_EVENT_EXT, &arg);
  if (rc != PFM_SUCCESS) {
    result.not_found = rc == PFM_ERR_NOTFOUND;
    result.error = pfm_strerror(rc);
    return result;
  }
  PfmEncoding enc;
  enc.type = attr.type;
  enc.config = attr.config;
  enc.config1 = attr.config1;
  enc.config2 = attr.config2;
  enc.exclude_user = attr.exclude_user;
  enc.exclude_kernel = attr.exclude_kernel;
  enc.exclude_hv = attr.exclude_hv;
  enc.exclude_guest = attr.exclude_guest;
  enc.exclude_host = attr.exclude_host;
  enc.precise_ip = static_cast<uint8_t>(attr.precise_ip);
  enc.pmu = pmu_name(arg.idx);
  result.encoding = std::move(enc);
  return result;
}

bool LibpfmEncoder::has_core_pmu() const {
  if (!initialize()) return false;
  pfm_pmu_info_t info;
  for (int p = PFM_PMU_NONE; p < PFM_PMU_MAX; ++p) {
    std::memset(&info, 0, sizeof info);
    info.size = sizeof info;
    if (pfm_get_pmu_info(static_cast<pfm_pmu_t>(p), &info) == PFM_SUCCESS && info.is_present &&
        info.type == PFM_PMU_TYPE_CORE)
      return true;
  }
  return false;
}

}  // namespace pmc
