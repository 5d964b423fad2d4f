#pragma once
// perf's generic event names (tools/perf/util/parse-events.c event_symbols_hw/sw, evsel.c
// evsel__hw_cache*): names whose encoding is a kernel ABI constant, so they need no sysfs or
// libpfm.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace pmc {

struct GenericEvent {
  uint32_t type = 0;    // PERF_TYPE_HARDWARE, PERF_TYPE_SOFTWARE or PERF_TYPE_HW_CACHE
  uint64_t config = 0;  // without the extended PMU type in bits 32-63
};

// Case-insensitive, e.g. "cycles", "task-clock", "LLC-load-misses".
std::optional<GenericEvent> find_generic_event(std::string_view name);

// Every accepted generic name (aliases included) in perf's order: hardware, software, cache.
const std::vector<std::string>& generic_event_names();

// True for events counted on the core PMU (PERF_TYPE_HARDWARE and PERF_TYPE_HW_CACHE).
bool is_hardware_type(uint32_t type);

}  // namespace pmc
