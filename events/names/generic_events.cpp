#include "events/names/generic_events.h"

#include <linux/perf_event.h>

#include <algorithm>
#include <cctype>

namespace pmc {
namespace {

struct NamedEvent {
  const char* name;
  uint32_t type;
  uint64_t config;
};

// tools/perf/util/parse-events.c: event_symbols_hw and event_symbols_sw, aliases included.
constexpr NamedEvent kSymbolEvents[] = {
    {"cpu-cycles", PERF_TYPE_HARDWARE, PERF_COUNT_HW_CPU_CYCLES},
    {"cycles", PERF_TYPE_HARDWARE, PERF_COUNT_HW_CPU_CYCLES},
    {"instructions", PERF_TYPE_HARDWARE, PERF_COUNT_HW_INSTRUCTIONS},
    {"cache-references", PERF_TYPE_HARDWARE, PERF_COUNT_HW_CACHE_REFERENCES},
    {"cache-misses", PERF_TYPE_HARDWARE, PERF_COUNT_HW_CACHE_MISSES},
    {"branch-instructions", PERF_TYPE_HARDWARE, PERF_COUNT_HW_BRANCH_INSTRUCTIONS},
    {"branches", PERF_TYPE_HARDWARE, PERF_COUNT_HW_BRANCH_INSTRUCTIONS},
    {"branch-misses", PERF_TYPE_HARDWARE, PERF_COUNT_HW_BRANCH_MISSES},
    {"bus-cycles", PERF_TYPE_HARDWARE, PERF_COUNT_HW_BUS_CYCLES},
    {"stalled-cycles-frontend", PERF_TYPE_HARDWARE, PERF_COUNT_HW_STALLED_CYCLES_FRONTEND},
    {"idle-cycles-frontend", PERF_TYPE_HARDWARE, PERF_COUNT_HW_STALLED_CYCLES_FRONTEND},
    {"stalled-cycles-backend", PERF_TYPE_HARDWARE, PERF_COUNT_HW_STALLED_CYCLES_BACKEND},
    {"idle-cycles-backend", PERF_TYPE_HARDWARE, PERF_COUNT_HW_STALLED_CYCLES_BACKEND},
    {"ref-cycles", PERF_TYPE_HARDWARE, PERF_COUNT_HW_REF_CPU_CYCLES},
    {"cpu-clock", PERF_TYPE_SOFTWARE, PERF_COUNT_SW_CPU_CLOCK},
    {"task-clock", PERF_TYPE_SOFTWARE, PERF_COUNT_SW_TASK_CLOCK},
    {"page-faults", PERF_TYPE_SOFTWARE, PERF_COUNT_SW_PAGE_FAULTS},
    {"faults", PERF_TYPE_SOFTWARE, PERF_COUNT_SW_PAGE_FAULTS},
    {"minor-faults", PERF_TYPE_SOFTWARE, PERF_COUNT_SW_PAGE_FAULTS_MIN},
    {"major-faults", PERF_TYPE_SOFTWARE, PERF_COUNT_SW_PAGE_FAULTS_MAJ},
    {"context-switches", PERF_TYPE_SOFTWARE, PERF_COUNT_SW_CONTEXT_SWITCHES},
    {"cs", PERF_TYPE_SOFTWARE, PERF_COUNT_SW_CONTEXT_SWITCHES},
    {"cpu-migrations", PERF_TYPE_SOFTWARE, PERF_COUNT_SW_CPU_MIGRATIONS},
    {"migrations", PERF_TYPE_SOFTWARE, PERF_COUNT_SW_CPU_MIGRATIONS},
    {"alignment-faults", PERF_TYPE_SOFTWARE, PERF_COUNT_SW_ALIGNMENT_FAULTS},
    {"emulation-faults", PERF_TYPE_SOFTWARE, PERF_COUNT_SW_EMULATION_FAULTS},
    {"dummy", PERF_TYPE_SOFTWARE, PERF_COUNT_SW_DUMMY},
    {"cgroup-switches", PERF_TYPE_SOFTWARE, PERF_COUNT_SW_CGROUP_SWITCHES},
};

// tools/perf/util/evsel.c: evsel__hw_cache (canonical names only) and evsel__hw_cache_stat, which
// says which operations each cache supports (no L1-icache stores, iTLB and branch only loads).
struct CacheKind {
  const char* name;
  uint64_t id;
  bool load, store, prefetch;
};
constexpr CacheKind kCaches[] = {
    {"L1-dcache", PERF_COUNT_HW_CACHE_L1D, true, true, true},
    {"L1-icache", PERF_COUNT_HW_CACHE_L1I, true, false, true},
    {"LLC", PERF_COUNT_HW_CACHE_LL, true, true, true},
    {"dTLB", PERF_COUNT_HW_CACHE_DTLB, true, true, true},
    {"iTLB", PERF_COUNT_HW_CACHE_ITLB, true, false, false},
    {"branch", PERF_COUNT_HW_CACHE_BPU, true, false, false},
    {"node", PERF_COUNT_HW_CACHE_NODE, true, true, true},
};
struct CacheOp {
  const char* access;  // result ACCESS
  const char* miss;    // result MISS
  uint64_t op;
};
constexpr CacheOp kCacheOps[] = {
    {"-loads", "-load-misses", PERF_COUNT_HW_CACHE_OP_READ},
    {"-stores", "-store-misses", PERF_COUNT_HW_CACHE_OP_WRITE},
    {"-prefetches", "-prefetch-misses", PERF_COUNT_HW_CACHE_OP_PREFETCH},
};

bool supports(const CacheKind& cache, uint64_t op) {
  if (op == PERF_COUNT_HW_CACHE_OP_READ) return cache.load;
  if (op == PERF_COUNT_HW_CACHE_OP_WRITE) return cache.store;
  return cache.prefetch;
}

// config layout from include/uapi/linux/perf_event.h: id | op << 8 | result << 16.
uint64_t cache_config(uint64_t id, uint64_t op, uint64_t result) {
  return id | (op << 8) | (result << 16);
}

struct Catalog {
  std::vector<std::string> names;
  std::vector<GenericEvent> events;
};

Catalog build_catalog() {
  Catalog catalog;
  for (const NamedEvent& e : kSymbolEvents) {
    catalog.names.emplace_back(e.name);
    catalog.events.push_back({e.type, e.config});
  }
  for (const CacheKind& cache : kCaches) {
    for (const CacheOp& op : kCacheOps) {
      if (!supports(cache, op.op)) continue;
      catalog.names.push_back(std::string(cache.name) + op.access);
      catalog.events.push_back(
          {PERF_TYPE_HW_CACHE, cache_config(cache.id, op.op, PERF_COUNT_HW_CACHE_RESULT_ACCESS)});
      catalog.names.push_back(std::string(cache.name) + op.miss);
      catalog.events.push_back(
          {PERF_TYPE_HW_CACHE, cache_config(cache.id, op.op, PERF_COUNT_HW_CACHE_RESULT_MISS)});
    }
  }
  return catalog;
}

const Catalog& catalog() {
  static const Catalog instance = build_catalog();
  return instance;
}

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

}  // namespace

std::optional<GenericEvent> find_generic_event(std::string_view name) {
  const Catalog& c = catalog();
  for (size_t i = 0; i < c.names.size(); ++i)
    if (iequals(c.names[i], name)) return c.events[i];
  return std::nullopt;
}

const std::vector<std::string>& generic_event_names() {
  return catalog().names;
}

bool is_hardware_type(uint32_t type) {
  return type == PERF_TYPE_HARDWARE || type == PERF_TYPE_HW_CACHE;
}

}  // namespace pmc
