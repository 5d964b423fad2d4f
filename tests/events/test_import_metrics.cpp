// Agreement of pmcmodel's metric engine with the metrics perf printed, on the real recordings in
// tests/data/perfstat (INDEX.tsv says where each came from). For every metric that perf printed
// and pmcmodel derives from the imported counts, |ours - perf| must not exceed half a unit of
// perf's last printed digit, widened only by what the recording's own rounding of the inputs
// (and, with -r, the printed spread of the runs) can change in ours.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "events/metrics/derived_metrics.h"
#include "events/metrics/metric_set.h"
#include "events/perfstat/import_perfstat.h"
#include "test_support.h"

using namespace pmc;

namespace {

const std::filesystem::path kMetrics =
    std::filesystem::path(PMC_TEST_DATA) / ".." / ".." / "data" / "metrics";

// What perf printed, transcribed from the recording: the digits as printed ('.' for the decimal
// point also where the recording's locale used ','), and 100 where perf printed a percentage.
struct Printed {
  const char* file;
  const char* metric;    // pmcmodel's name
  const char* reported;  // the importer's name for perf's comment (reported[])
  const char* digits;
  double percent;
};

const Printed kPrinted[] = {
    // SPR system-wide, perf 6.4-dev: "#  224.588 CPUs utilized" on cpu-clock.
    {"001.txt", "cpus_utilized", "cpus_utilized", "224.588", 1},
    {"001.txt", "ghz", "ghz", "0.000", 1},
    {"001.txt", "ipc", "ipc", "0.80", 1},
    {"001.txt", "branch_miss_rate", "branch_miss_rate", "0.88", 100},
    // The same machine as -j (6 decimals, no elapsed line: no cpus_utilized) and as -x, .
    {"003.json", "ghz", "ghz", "0.000214", 1},
    {"003.json", "ipc", "ipc", "0.797391", 1},
    {"003.json", "branch_miss_rate", "branch_miss_rate", "0.742889", 100},
    {"005.csv", "ghz", "ghz", "0.000", 1},
    {"005.csv", "ipc", "ipc", "0.73", 1},
    {"005.csv", "branch_miss_rate", "branch_miss_rate", "0.70", 100},
    // Arm, two PMUs, only armv8_pmuv3_1 counted; task-clock printed in ns.
    {"008.txt", "cpus_utilized", "cpus_utilized", "0.874", 1},
    {"008.txt", "ipc", "ipc", "1.33", 1},
    {"008.txt", "stalled_cycles_per_insn", "stalled_cycles_per_insn", "0.61", 1},
    {"008.txt", "ghz", "ghz", "3.798", 1},
    {"008.txt", "frontend_stall_ratio", "frontend_stall_ratio", "1.88", 100},
    {"008.txt", "backend_stall_ratio", "backend_stall_ratio", "81.31", 100},
    {"008.txt", "branch_miss_rate", "branch_miss_rate", "0.20", 100},
    // Haswell, perf 4.1: "insns per cycle", "28.471 % of all cache refs".
    {"009.txt", "ipc", "ipc", "0.86", 1},
    {"009.txt", "cache_miss_rate", "cache_miss_rate", "28.471", 100},
    // Ice Lake-SP, -r 3 -ddd, multiplexed; topdown-* events with "Retiring" comments.
    {"013.txt", "cpus_utilized", "cpus_utilized", "2.999", 1},
    {"013.txt", "ghz", "ghz", "3.863", 1},
    {"013.txt", "ipc", "ipc", "0.07", 1},
    {"013.txt", "branch_miss_rate", "branch_miss_rate", "0.14", 100},
    {"013.txt", "tma_retiring", "tma_retiring", "3.8", 100},
    {"013.txt", "tma_bad_speculation", "tma_bad_speculation", "11.5", 100},
    {"013.txt", "tma_frontend_bound", "tma_frontend_bound", "0.8", 100},
    {"013.txt", "tma_backend_bound", "tma_backend_bound", "84.0", 100},
    {"013.txt", "l1d_miss_ratio", "l1d_miss_ratio", "691.17", 100},
    // Zen 3, -r 3 -ddd.
    {"014.txt", "cpus_utilized", "cpus_utilized", "1.000", 1},
    {"014.txt", "ghz", "ghz", "2.430", 1},
    {"014.txt", "frontend_stall_ratio", "frontend_stall_ratio", "0.29", 100},
    {"014.txt", "backend_stall_ratio", "backend_stall_ratio", "0.29", 100},
    {"014.txt", "ipc", "ipc", "0.07", 1},
    {"014.txt", "stalled_cycles_per_insn", "stalled_cycles_per_insn", "0.05", 1},
    {"014.txt", "branch_miss_rate", "branch_miss_rate", "0.22", 100},
    {"014.txt", "l1d_miss_ratio", "l1d_miss_ratio", "43.28", 100},
    // Cortex-A53, -r 5, :u events.
    {"024.txt", "branch_miss_rate", "branch_miss_rate", "19.91", 100},
    // pt_BR locale: printed "11,67%", "0,993", "3,086 GHz", "2,15".
    {"029.txt", "branch_miss_rate", "branch_miss_rate", "11.67", 100},
    {"029.txt", "cpus_utilized", "cpus_utilized", "0.993", 1},
    {"029.txt", "ghz", "ghz", "3.086", 1},
    {"029.txt", "ipc", "ipc", "2.15", 1},
    // AMD, :u events, instructions before cycles, 0.36 msec of task-clock.
    {"031.txt", "cpus_utilized", "cpus_utilized", "0.597", 1},
    {"031.txt", "ipc", "ipc", "0.94", 1},
    {"031.txt", "stalled_cycles_per_insn", "stalled_cycles_per_insn", "0.61", 1},
    {"031.txt", "ghz", "ghz", "0.911", 1},
    {"031.txt", "frontend_stall_ratio", "frontend_stall_ratio", "57.23", 100},
    {"031.txt", "branch_miss_rate", "branch_miss_rate", "6.52", 100},
    // Zen 4, -d, multiplexed, LLC <not supported>.
    {"040.txt", "cpus_utilized", "cpus_utilized", "1.000", 1},
    {"040.txt", "ghz", "ghz", "5.535", 1},
    {"040.txt", "frontend_stall_ratio", "frontend_stall_ratio", "0.01", 100},
    {"040.txt", "backend_stall_ratio", "backend_stall_ratio", "0.40", 100},
    {"040.txt", "ipc", "ipc", "1.98", 1},
    {"040.txt", "stalled_cycles_per_insn", "stalled_cycles_per_insn", "0.00", 1},
    {"040.txt", "branch_miss_rate", "branch_miss_rate", "0.06", 100},
    {"040.txt", "l1d_miss_ratio", "l1d_miss_ratio", "1.88", 100},
    // Alder Lake hybrid, perf 6.4/6.5-dev, -j ("metric-value" : "%f") and -x, (the comment's
    // "%.3f", "%.2f"): cpu_core's, as perf took them from cpu_core's counts (wild/INDEX.md).
    {"wild/017.json", "cpu_core/ghz", "cpu_core/ghz", "0.000199", 1},
    {"wild/017.json", "cpu_atom/ghz", "cpu_atom/ghz", "0.000094", 1},
    {"wild/017.json", "cpu_core/ipc", "cpu_core/ipc", "0.741336", 1},
    {"wild/017.json", "cpu_core/branch_miss_rate", "cpu_core/branch_miss_rate", "3.389521", 100},
    {"wild/039.json", "cpu_core/ghz", "cpu_core/ghz", "0.000582", 1},
    {"wild/039.json", "cpu_atom/ghz", "cpu_atom/ghz", "0.007955", 1},
    {"wild/039.json", "cpu_core/ipc", "cpu_core/ipc", "0.828981", 1},
    {"wild/039.json", "cpu_core/branch_miss_rate", "cpu_core/branch_miss_rate", "3.357530", 100},
    {"wild/018.csv", "cpu_core/ghz", "cpu_core/ghz", "0.000", 1},
    {"wild/018.csv", "cpu_core/ipc", "cpu_core/ipc", "1.07", 1},
    {"wild/018.csv", "cpu_core/branch_miss_rate", "cpu_core/branch_miss_rate", "2.07", 100},
};

const char* const kRecordings[] = {"001.txt", "003.json", "005.csv", "008.txt", "009.txt",
                                   "011.txt", "013.txt",  "014.txt", "016.txt", "024.txt",
                                   "029.txt", "031.txt",  "040.txt", "044.json"};

std::string text_of(const std::string& file) {
  return test::read_file(std::string(PMC_TEST_DATA) + "/perfstat/" + file);
}

const MetricSet& generic() {
  static const MetricSet set = MetricSet::load(kMetrics / "generic.json");
  return set;
}

std::vector<std::string> selection() {
  return available_selection(generic(), import_metric_groups());
}

// What `pmcmodel import FILE` derives (cli/cmd_import.cpp without --cpu).
Measurement imported(const std::string& file) {
  Measurement m = import_perf_stat(text_of(file), file).measurement;
  apply_metric_engine(m, generic(), selection());
  return m;
}

std::optional<double> value_of(const std::vector<Metric>& metrics, const std::string& name) {
  for (const auto& m : metrics)
    if (m.name == name) return m.value;
  return std::nullopt;
}

// Half a unit of the last digit of "12.345" → 0.0005.
double half_unit(const std::string& digits) {
  auto dot = digits.find('.');
  int decimals = dot == std::string::npos ? 0 : int(digits.size() - dot - 1);
  return 0.5 * std::pow(10.0, -decimals);
}

// Half a unit of the last digit perf printed for a count: counts are integers, clocks in msec
// have 2 decimals in text and CSV, 6 in JSON (perf's "%f").
double count_half_unit(const EventCount& e) {
  if (e.value == std::round(e.value)) return 0.5;
  double cents = e.value * 100;
  return std::abs(cents - std::round(cents)) < 1e-6 * std::max(1.0, std::abs(cents)) ? 0.005 : 5e-7;
}

// Half a unit of the elapsed time as printed ("7.31681 +- 0.00177 seconds time elapsed").
double elapsed_half_unit(const std::string& text) {
  auto at = text.find("seconds time elapsed");
  if (at == std::string::npos) return 0;
  auto line_start = text.rfind('\n', at);
  std::string line = text.substr(line_start == std::string::npos ? 0 : line_start + 1,
                                 at - (line_start == std::string::npos ? 0 : line_start + 1));
  auto begin = line.find_first_not_of(' ');
  auto end = line.find(' ', begin);
  std::string number = line.substr(begin, end - begin);
  std::replace(number.begin(), number.end(), ',', '.');
  return half_unit(number);
}

// How far each of our metrics can move when every input moves within what the recording leaves
// open: its rounding and, for -r, twice the printed standard deviation of the mean (perf's
// ratios under -r are not always the ratio of the printed means; see the README of this test's
// data). First-order: the sum over inputs of the change one input's shift makes.
std::map<std::string, double> input_slack(const Measurement& m, double elapsed_half) {
  auto base = compute_metrics(generic(), selection(), m.events, m.duration_s).metrics;
  std::map<std::string, double> slack;
  auto add = [&](const std::vector<EventCount>& events, double duration) {
    for (const auto& shifted : compute_metrics(generic(), selection(), events, duration).metrics)
      if (auto was = value_of(base, shifted.name))
        slack[shifted.name] += std::abs(shifted.value - *was);
  };
  for (size_t i = 0; i < m.events.size(); ++i) {
    if (!m.events[i].counted()) continue;
    double h = count_half_unit(m.events[i]);
    if (m.runs > 1 && m.events[i].spread->stddev) h += 2 * *m.events[i].spread->stddev;
    for (double sign : {-1.0, 1.0}) {
      auto events = m.events;
      events[i].value += sign * h;
      add(events, m.duration_s);
    }
  }
  for (double sign : {-1.0, 1.0}) add(m.events, m.duration_s + sign * elapsed_half);
  for (auto& [name, s] : slack) s /= 2;  // each input was shifted both ways
  return slack;
}

}  // namespace

TEST_SUITE("pure") {
  TEST_CASE("import metrics: pmcmodel's metrics agree with what perf printed, to its precision") {
    std::map<std::string, Measurement> docs;
    for (const auto& row : kPrinted) {
      std::string file = row.file, metric = row.metric;
      CAPTURE(file);
      CAPTURE(metric);
      if (!docs.count(row.file)) docs[row.file] = imported(row.file);
      const Measurement& m = docs[row.file];
      double perf = std::stod(row.digits) / row.percent;
      double printed_half = half_unit(row.digits) / row.percent;

      // The table is what the importer read: perf's comment, as a fraction for percentages.
      auto reported = value_of(m.reported, row.reported);
      std::string perf_name = row.reported;
      CHECK_MESSAGE(reported.has_value(), "perf's " << perf_name << " was not imported");
      if (reported) CHECK(*reported == doctest::Approx(perf).epsilon(1e-12));
      // And the precision perf printed it with, in the fraction for percentages.
      for (const auto& r : m.reported)
        if (r.name == perf_name && r.decimals) {
          auto dot = std::string(row.digits).find('.');
          int printed = dot == std::string::npos ? 0 : int(std::strlen(row.digits) - dot - 1);
          CHECK(*r.decimals == printed + (row.percent == 100 ? 2 : 0));
        }

      auto ours = value_of(m.metrics, row.metric);
      CHECK_MESSAGE(ours.has_value(), "pmcmodel derived no " << metric);
      if (!ours) continue;
      double slack = input_slack(m, elapsed_half_unit(text_of(row.file)))[row.metric];
      INFO("ours " << *ours << ", perf " << row.digits << (row.percent == 100 ? "%" : "")
                   << ", allowed " << printed_half << " + " << slack << " from the inputs");
      CHECK(std::abs(*ours - perf) <= printed_half + slack + 1e-12);
    }
  }

  TEST_CASE("import metrics: every metric perf printed and pmcmodel derives is in the table") {
    // Names the importer gives perf's comments that pmcmodel derives under another name (none:
    // reported[] uses the metric engine's names, so a user compares like with like).
    const std::map<std::string, std::string> ours_for = {};
    for (const char* recording : kRecordings) {
      std::string file = recording;
      CAPTURE(file);
      Measurement m = imported(file);
      for (const auto& r : m.reported) {
        auto it = ours_for.find(r.name);
        std::string name = it == ours_for.end() ? r.name : it->second;
        if (!value_of(m.metrics, name)) continue;
        bool listed = std::any_of(std::begin(kPrinted), std::end(kPrinted), [&](const Printed& p) {
          return p.file == file && p.metric == name;
        });
        CHECK_MESSAGE(listed, name << " is derived and perf printed it, but is not compared");
      }
    }
  }

  TEST_CASE("import metrics: the allowance is the inputs' rounding, not a free tolerance") {
    // 031.txt prints 0.36 msec of task-clock: GHz = 324,526 cycles / 0.36 ms = 0.901, perf's
    // 0.911 came from the unrounded clock, and 324,526 / 0.355..0.365 ms spans 0.889..0.914.
    Measurement m = imported("031.txt");
    auto slack = input_slack(m, elapsed_half_unit(text_of("031.txt")));
    CHECK(*value_of(m.metrics, "ghz") == doctest::Approx(324526 / 0.36e6));
    CHECK(slack["ghz"] == doctest::Approx(324526 / 0.36e6 * 0.005 / 0.36).epsilon(0.01));
    // Integer counts leave ipc almost nothing: 306,168 / 324,526 ± 0.5 of each.
    CHECK(slack["ipc"] < 1e-5);
  }

  TEST_CASE("import metrics: top-down level 1 from topdown-* events, as perf stat computes it") {
    // 013.txt's four topdown-* counts; each fraction is the event over their sum.
    Measurement m = imported("013.txt");
    double fe = 2231092499, bad = 34358400894, ret = 11048627225, be = 246679210776;
    double sum = fe + bad + ret + be;
    CHECK(*value_of(m.metrics, "tma_frontend_bound") == doctest::Approx(fe / sum));
    CHECK(*value_of(m.metrics, "tma_bad_speculation") == doctest::Approx(bad / sum));
    CHECK(*value_of(m.metrics, "tma_retiring") == doctest::Approx(ret / sum));
    CHECK(*value_of(m.metrics, "tma_backend_bound") == doctest::Approx(be / sum));
  }

  TEST_CASE("import metrics: Skylake's legacy topdown-total-slots events give level 1 too") {
    std::vector<EventCount> events;
    auto add = [&](const char* name, double value) {
      EventCount e;
      e.name = name;
      e.value = value;
      e.status = EventStatus::counted;
      events.push_back(e);
    };
    add("topdown-total-slots", 4000);
    add("topdown-slots-issued", 2500);
    add("topdown-slots-retired", 2000);
    add("topdown-fetch-bubbles", 800);
    add("topdown-recovery-bubbles", 100);
    auto metrics = compute_metrics(generic(), {"topdown"}, events, 1).metrics;
    CHECK(*value_of(metrics, "tma_frontend_bound") == doctest::Approx(800.0 / 4000));
    CHECK(*value_of(metrics, "tma_retiring") == doctest::Approx(2000.0 / 4000));
    CHECK(*value_of(metrics, "tma_bad_speculation") ==
          doctest::Approx((2500.0 - 2000 + 100) / 4000));
    CHECK(*value_of(metrics, "tma_backend_bound") ==
          doctest::Approx(1 - (800.0 + 2500 + 100) / 4000));
  }

  TEST_CASE("import metrics: per-PMU events are evaluated per PMU, modifiers are dropped") {
    std::vector<EventCount> events;
    auto add = [&](const char* name, double value, const char* unit = "") {
      EventCount e;
      e.name = name;
      e.value = value;
      e.unit = unit;
      e.status = EventStatus::counted;
      if (std::string(unit) == "msec") e.unit_scale = 1e-6;
      events.push_back(e);
    };
    SUBCASE("two core PMUs: one ipc each, prefixed") {
      add("cpu_core/instructions/", 300);
      add("cpu_core/cycles/", 100);
      add("cpu_atom/instructions/", 50);
      add("cpu_atom/cycles/", 100);
      auto metrics = compute_metrics(generic(), {"ipc"}, events, 1).metrics;
      CHECK(*value_of(metrics, "cpu_core/ipc") == doctest::Approx(3.0));
      CHECK(*value_of(metrics, "cpu_atom/ipc") == doctest::Approx(0.5));
      CHECK_FALSE(value_of(metrics, "ipc"));
    }
    SUBCASE(":u events, task-clock in msec read as ns") {
      add("task-clock:u", 2.0, "msec");
      add("cycles:u", 4e6);
      auto metrics = compute_metrics(generic(), {"ghz", "cpus_utilized"}, events, 0.004).metrics;
      CHECK(*value_of(metrics, "ghz") == doctest::Approx(2.0));
      CHECK(*value_of(metrics, "cpus_utilized") == doctest::Approx(0.5));
    }
    SUBCASE("events of different modifiers are not paired, as perf stat's find_stat skips them") {
      // 1e6 user instructions over 4e6 cycles of user and kernel is no IPC: perf prints none.
      add("instructions:u", 1e6);
      add("cycles", 4e6);
      add("task-clock", 2.0, "msec");
      auto mixed = compute_metrics(generic(), {"ipc", "cpi"}, events, 0.004);
      CHECK_FALSE(value_of(mixed.metrics, "ipc"));
      CHECK_FALSE(value_of(mixed.metrics, "cpi"));
      // The same modifiers on both, with task-clock beside them as measure counts it: 1e6 / 4e6.
      events.clear();
      add("instructions:u", 1e6);
      add("cycles:u", 4e6);
      add("task-clock", 2.0, "msec");
      add("user_time", 0.002);  // perf's tool event, and an uncore count, take no modifiers
      add("UNC_ARB_TRK_REQUESTS.ALL", 5e3);
      auto same = compute_metrics(generic(), {"ipc"}, events, 0.004).metrics;
      REQUIRE(value_of(same, "ipc"));
      CHECK(*value_of(same, "ipc") == doctest::Approx(0.25));
    }
    SUBCASE("what was not counted is absent with its reason, never 0") {
      add("instructions", 300);
      EventCount cycles;
      cycles.name = "cycles";
      cycles.status = EventStatus::not_supported;
      cycles.reason = "ENOENT";
      events.push_back(cycles);
      auto computed = compute_metrics(generic(), {"ipc"}, events, 1);
      CHECK_FALSE(value_of(computed.metrics, "ipc"));
      REQUIRE_FALSE(computed.absent.empty());
      CHECK(computed.absent.front().reason.find("not_supported") != std::string::npos);
    }
  }

  TEST_CASE("import metrics: intervals get their own metrics") {
    Measurement m = import_perf_stat(text_of("synthetic/interval.csv"), "interval.csv").measurement;
    apply_metric_engine(m, generic(), selection());
    REQUIRE(m.intervals.size() == 2);
    // 640,913,578 instructions / 320,456,789 cycles in the first interval; cycles not counted
    // in the second.
    CHECK(*value_of(m.intervals[0].metrics, "ipc") == doctest::Approx(2.0));
    CHECK_FALSE(value_of(m.intervals[1].metrics, "ipc"));
  }
}
