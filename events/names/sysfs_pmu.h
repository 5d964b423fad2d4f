#pragma once
// Dynamic PMUs under <sys>/bus/event_source/devices: their type, cpumask, event aliases and the
// format/ files that say where each term's bits go in perf_event_attr (Linux
// Documentation/ABI/testing/sysfs-bus-event_source-devices-{format,events}).
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "events/names/resolver.h"
#include "events/names/sysroot.h"

namespace pmc {

struct SysfsPmu {
  PmuInfo info;
  std::filesystem::path dir;
  // perf's is_pmu_core(): the PMU called "cpu", or one with a `cpus` file (hybrid x86, Arm).
  bool core = false;
};

// Every PMU directory, sorted by name; empty when the root has no bus/event_source.
std::vector<SysfsPmu> scan_pmus(const SysRoot& root);

// CPU numbers above this are refused: Linux builds for at most 8192 CPUs (CONFIG_NR_CPUS on
// x86 with MAXSMP), and a list like "0-2000000000" would otherwise be expanded into 8 GB.
inline constexpr int kMaxCpuNumber = 65535;

// "0-3,8" → {0,1,2,3,8}; nullopt when malformed or a CPU number is above kMaxCpuNumber.
std::optional<std::vector<int>> parse_cpu_list(std::string_view text);

// A format/<term> file, e.g. "config:0-7" or "config:0-7,32-35" (low value bits go in the first
// range).
struct FormatField {
  int word = 0;                             // 0 config, 1 config1, 2 config2
  std::vector<std::pair<int, int>> ranges;  // inclusive bit ranges, in value order
  std::string text;                         // the file's content, for messages
  int width() const;
};
std::optional<FormatField> parse_format(std::string_view text);

// A term inside pmu/…/ or an events/ file: "event=0x3c", "edge" (value 1), "name=foo".
struct Term {
  std::string name;
  std::optional<std::string> value;
};
std::vector<Term> split_terms(std::string_view text);

// config, config1, config2 built from terms on one PMU. Event aliases (terms naming a file in
// events/) expand in place; an alias's `term=?` takes the value the terms give for that term.
// Throws ResolveError for an unknown term or a value that does not fit.
struct PmuConfig {
  uint64_t words[3] = {0, 0, 0};
  std::string alias;  // the events/ name used, if any (for .scale and .unit)
};
PmuConfig encode_terms(const SysfsPmu& pmu, const std::vector<Term>& terms);

// The file under the PMU's events/ directory that `name` names, matched without regard to case
// as perf does ("CPU_CYCLES" finds armv8_pmuv3_0/events/cpu_cycles); nullopt when none.
std::optional<std::string> find_event_alias(const SysfsPmu& pmu, std::string_view name);
// True when find_event_alias() finds one.
bool has_event_alias(const SysfsPmu& pmu, std::string_view name);
// True when `name` is a file under the PMU's format/ directory.
bool has_format(const SysfsPmu& pmu, std::string_view name);

}  // namespace pmc
