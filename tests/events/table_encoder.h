#pragma once
// A native-name table for a CPU this machine is not: what libpfm4 gives for an event there
// (its perf type and config, libpfm's PMU name), without this host's libpfm tables.
#include <map>
#include <string>
#include <utility>

#include "events/names/libpfm_encoder.h"

namespace pmc::test {

class TableEncoder : public NativeEncoder {
 public:
  explicit TableEncoder(std::map<std::string, PfmEncoding> table) : table_(std::move(table)) {}
  PfmResult encode(const std::string& name) const override {
    PfmResult result;
    auto it = table_.find(name);
    if (it == table_.end()) {
      result.not_found = true;
      result.error = "event not found";
    } else {
      result.encoding = it->second;
    }
    return result;
  }
  bool has_core_pmu() const override { return true; }

 private:
  std::map<std::string, PfmEncoding> table_;
};

// libpfm4's perf encoding of an event: pfm_get_os_event_encoding sets exclude_guest by default.
inline PfmEncoding pfm_encoding(uint32_t type, uint64_t config, const char* pmu) {
  PfmEncoding e;
  e.type = type;
  e.config = config;
  e.exclude_guest = true;
  e.pmu = pmu;
  return e;
}

}  // namespace pmc::test
