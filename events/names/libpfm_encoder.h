#pragma once
// libpfm4 native event names ("INST_RETIRED:ANY_P", "skl::…", "perf::TASK-CLOCK") → perf_event_attr
// fields. Kept apart from event_spec.h because libpfm's perfmon/perf_event.h redefines struct
// perf_event_attr and cannot share a translation unit with <linux/perf_event.h>.
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

namespace pmc {

struct PfmEncoding {
  uint32_t type = 0;
  uint64_t config = 0, config1 = 0, config2 = 0;
  bool exclude_user = false, exclude_kernel = false, exclude_hv = false;
  // libpfm's exclude_guest is set unless :mg asks for guest counting; :mh clears exclude_host's
  // counterpart; :precise=N sets precise_ip (libpfm4 perf_event(3) modifiers).
  bool exclude_guest = false, exclude_host = false;
  uint8_t precise_ip = 0;
  std::string pmu;  // libpfm PMU name, e.g. "skl", "amd64_fam19h_zen3", "perf"
};

struct PfmResult {
  std::optional<PfmEncoding> encoding;
  bool not_found = false;  // libpfm knows no such event (as opposed to a bad attribute)
  std::string error;       // pfm_strerror text when !encoding
};

// Native (vendor) event names → encodings: libpfm4 on a real run; tests give the resolver a
// table of their own (a CPU whose uncore or RAPL PMUs this machine lacks).
class NativeEncoder {
 public:
  virtual ~NativeEncoder() = default;
  virtual PfmResult encode(const std::string& name) const = 0;
  // Whether the encoder knows a core PMU of this CPU (or a forced one); false in most VMs.
  virtual bool has_core_pmu() const = 0;
};

// Initialises libpfm4 on the first encode() only, so names found by cheaper paths never pay for
// it. libpfm reads LIBPFM_FORCE_PMU itself at that moment.
class LibpfmEncoder : public NativeEncoder {
 public:
  PfmResult encode(const std::string& name) const override;
  bool has_core_pmu() const override;

 private:
  bool initialize() const;
  mutable std::once_flag init_once_;
  mutable bool available_ = false;
};

}  // namespace pmc
