#include "derived_metrics.h"

#include <initializer_list>
#include <optional>
#include <string_view>

namespace pmc {
namespace {

// The counted value of the first event named any of `names` (perf's aliases), bare or with
// :u/:k modifiers.
std::optional<double> find(const std::vector<EventCount>& events,
                           std::initializer_list<std::string_view> names) {
  for (auto want : names) {
    for (const auto& e : events) {
      std::string_view n = e.name;
      if (auto colon = n.find(':'); colon != std::string_view::npos) n = n.substr(0, colon);
      if (n == want && e.counted()) return e.value;
    }
  }
  return std::nullopt;
}

// Clock events count nanoseconds; the resolver shows them in msec.
std::optional<double> seconds_of(const std::vector<EventCount>& events,
                                 std::initializer_list<std::string_view> names) {
  for (auto want : names) {
    for (const auto& e : events) {
      if (e.name != want || !e.counted()) continue;
      if (e.unit == "msec") return e.value * 1e-3;
      if (e.unit == "ns" || e.unit.empty()) return e.value * 1e-9;
    }
  }
  return std::nullopt;
}

void ratio(std::vector<Metric>& out, const char* name, std::optional<double> num,
           std::optional<double> den, double factor, const char* unit) {
  if (num && den && *den != 0) out.push_back({name, *num / *den * factor, unit});
}

}  // namespace

std::vector<Metric> derive_metrics(const std::vector<EventCount>& events, double duration_s) {
  std::vector<Metric> out;
  auto cycles = find(events, {"cycles", "cpu-cycles"});
  auto instructions = find(events, {"instructions"});
  auto task_s = seconds_of(events, {"task-clock", "cpu-clock"});
  ratio(out, "ipc", instructions, cycles, 1, "insn/cycle");
  ratio(out, "cpi", cycles, instructions, 1, "cycles/insn");
  ratio(out, "ghz", cycles, task_s, 1e-9, "GHz");
  if (duration_s > 0) ratio(out, "cpus_utilized", task_s, duration_s, 1, "CPUs");
  ratio(out, "branch_miss_rate", find(events, {"branch-misses"}),
        find(events, {"branches", "branch-instructions"}), 1, "ratio");
  ratio(out, "cache_miss_rate", find(events, {"cache-misses"}), find(events, {"cache-references"}),
        1, "ratio");
  return out;
}

}  // namespace pmc
