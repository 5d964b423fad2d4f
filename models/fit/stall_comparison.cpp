#include "models/fit/stall_comparison.h"

#include <fmt/format.h>

#include <cmath>
#include <limits>
#include <map>

namespace pmc {
namespace {

std::string lower_words(std::string_view name) {
  std::string out;
  bool pending = false;
  for (char c : name) {
    char l = (c >= 'A' && c <= 'Z') ? char(c - 'A' + 'a') : c;
    if (!((l >= 'a' && l <= 'z') || (l >= '0' && l <= '9'))) {
      pending = !out.empty();
      continue;
    }
    if (pending) out += '_';
    pending = false;
    out += l;
  }
  return out;
}

struct Sums {
  size_t rows = 0;
  double cycles = 0;
  std::vector<double> model;      // per compared level
  std::vector<double> measured;   // per compared level
  std::vector<double> reference;  // per reference counter
};

}  // namespace

const std::vector<StallCounter>& stall_counters() {
  // Descriptions from perf's pmu-events (tools/perf/pmu-events/arch/x86/skylake/pipeline.json and
  // memory.json, event 0xA3); the same events exist from Skylake on, under these names.
  static const std::vector<StallCounter> counters = {
      {1, "CYCLE_ACTIVITY:STALLS_L1D_MISS", "cycle_activity_stalls_l1d_miss",
       "execution stalls while an L1d demand-load miss is outstanding"},
      {2, "CYCLE_ACTIVITY:STALLS_L2_MISS", "cycle_activity_stalls_l2_miss",
       "execution stalls while an L2 demand-load miss is outstanding"},
      {3, "CYCLE_ACTIVITY:STALLS_L3_MISS", "cycle_activity_stalls_l3_miss",
       "execution stalls while an L3 demand-load miss is outstanding"},
      {0, "CYCLE_ACTIVITY:STALLS_MEM_ANY", "cycle_activity_stalls_mem_any",
       "execution stalls while the memory subsystem has an outstanding load"},
      {0, "CYCLE_ACTIVITY:STALLS_TOTAL", "cycle_activity_stalls_total", "total execution stalls"},
  };
  return counters;
}

int cache_level_of(std::string_view miss_column) {
  std::string words = lower_words(miss_column);
  if (words.rfind("cache_misses", 0) == 0) return 3;
  std::string first = words.substr(0, words.find('_'));
  if (first == "l1" || first == "l1d") return 1;
  if (first == "l2") return 2;
  if (first == "l3" || first == "llc") return 3;
  if (first == "dram") return 4;
  return 0;
}

StallComparison compare_stall_counters(const Dataset& data,
                                       const std::vector<std::string>& miss_columns,
                                       const std::vector<double>& penalty_cycles,
                                       const std::vector<double>& cycles,
                                       const std::vector<std::string>& group_of_row,
                                       std::string_view suffix) {
  StallComparison out;
  std::vector<int> level_of;
  for (const auto& m : miss_columns) level_of.push_back(cache_level_of(m));
  for (size_t l = 0; l < miss_columns.size(); ++l)
    if (level_of[l] == 0)
      out.notes.push_back(
          fmt::format("{}: cache level not known from its name, left out of every cumulative sum",
                      miss_columns[l]));

  struct Compared {
    const StallCounter* counter;
    std::string column;
    std::vector<size_t> terms;  // miss columns at or beyond the level
  };
  std::vector<Compared> compared;
  std::vector<std::string> reference_columns;
  bool any_counter = false;
  for (const auto& c : stall_counters()) {
    std::string column = std::string(c.column) + std::string(suffix);
    if (!data.has_column(column)) continue;
    any_counter = true;
    if (c.level == 0) {
      reference_columns.push_back(column);
      continue;
    }
    bool exact = false;
    Compared k{&c, column, {}};
    for (size_t l = 0; l < miss_columns.size(); ++l) {
      exact |= level_of[l] == c.level;
      if (level_of[l] >= c.level) k.terms.push_back(l);
    }
    if (!exact) {
      out.notes.push_back(fmt::format(
          "{}: not compared: the model has no L{} miss level, so its stalls beyond L{} cannot be "
          "told from those of the levels below",
          column, c.level, c.level));
      continue;
    }
    compared.push_back(std::move(k));
  }
  if (!any_counter) return {};
  if (compared.empty() || data.rows() == 0) return out;
  out.reference = reference_columns;

  std::vector<const std::vector<double>*> misses, measured, reference;
  for (const auto& m : miss_columns) misses.push_back(&data.column(m));
  for (const auto& k : compared) measured.push_back(&data.column(k.column));
  for (const auto& r : reference_columns) reference.push_back(&data.column(r));

  std::vector<std::string> names;
  std::map<std::string, size_t> index;
  std::vector<Sums> sums;
  auto blank = [&] {
    Sums s;
    s.model.assign(compared.size(), 0);
    s.measured.assign(compared.size(), 0);
    s.reference.assign(reference.size(), 0);
    return s;
  };
  Sums all = blank();
  for (size_t r = 0; r < data.rows(); ++r) {
    const std::string& g = r < group_of_row.size() ? group_of_row[r] : std::string("all");
    auto [it, fresh] = index.emplace(g, sums.size());
    if (fresh) {
      names.push_back(g);
      sums.push_back(blank());
    }
    for (Sums* s : {&sums[it->second], &all}) {
      ++s->rows;
      s->cycles += cycles[r];
      for (size_t k = 0; k < compared.size(); ++k) {
        for (size_t l : compared[k].terms) s->model[k] += penalty_cycles[l] * (*misses[l])[r];
        s->measured[k] += (*measured[k])[r];
      }
      for (size_t i = 0; i < reference.size(); ++i) s->reference[i] += (*reference[i])[r];
    }
  }
  if (sums.size() > 1 || names.front() != "all") {
    names.emplace_back("all");
    sums.push_back(all);
  }

  const double nan = std::numeric_limits<double>::quiet_NaN();
  for (size_t g = 0; g < sums.size(); ++g) {
    const Sums& s = sums[g];
    double c = s.cycles != 0 ? s.cycles : nan;
    GroupStallComparison gc{names[g], s.rows, {}, {}};
    for (size_t k = 0; k < compared.size(); ++k) {
      LevelComparison lc;
      lc.level = compared[k].counter->level;
      lc.counter = compared[k].column;
      for (size_t l : compared[k].terms) lc.model_levels.push_back(miss_columns[l]);
      lc.model_share = s.model[k] / c;
      lc.measured_share = s.measured[k] / c;
      lc.difference = lc.model_share - lc.measured_share;
      lc.relative_error_percent =
          s.measured[k] != 0 ? 100 * (s.model[k] - s.measured[k]) / s.measured[k] : nan;
      gc.levels.push_back(std::move(lc));
    }
    for (double v : s.reference) gc.reference_share.push_back(v / c);
    out.groups.push_back(std::move(gc));
  }
  return out;
}

bool is_stall_counter_column(const std::string& name) {
  for (const auto& c : stall_counters())
    if (name == c.column || name == std::string(c.column) + "_per_s") return true;
  return false;
}

}  // namespace pmc
