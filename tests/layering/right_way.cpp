// Compiled by the layering test: events/metrics links events/document, so this include resolves.
#include "events/document/measurement.h"

int layering_right_way() { return static_cast<int>(sizeof(pmc::Measurement)); }
