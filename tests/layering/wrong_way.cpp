// Compiled by the layering test, and expected to fail: events/metrics must not reach the kernel
// side, so engine/counting's headers are not on its include path.
#include "engine/counting/perf_event.h"

int layering_wrong_way() { return 0; }
