#pragma once
// perf stat's aggregation ids, the prefix of an imported row's event name ("CPU3/cycles",
// "S0-D0-C1/task-clock"): the importer names rows with them, and the metric engine evaluates
// each aggregate's metrics from its own rows.
#include <string_view>

namespace pmc {

// "S0", "S0-D0-C1", "S0-D0-L3-ID0", "N0", "CPU3", or a --per-thread "comm-pid".
bool is_aggregate_id(std::string_view token);

}  // namespace pmc
