#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <optional>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "events/perfstat/import_perfstat.h"
#include "events/text/input_file.h"
#include "test_support.h"

using namespace pmc;

namespace {

std::string fixture(const std::string& name) {
  return std::string(PMC_TEST_DATA) + "/perfstat/" + name;
}

ImportResult load(const std::string& name, ImportOptions options = {}) {
  return import_perf_stat(test::read_file(fixture(name)), name, options);
}

const EventCount& event(const std::vector<EventCount>& events, std::string_view name) {
  for (const auto& e : events) {
    if (e.name == name) return e;
  }
  FAIL("no event " << name);
  static EventCount none;
  return none;
}

const Metric& metric(const std::vector<Metric>& metrics, std::string_view name) {
  for (const auto& m : metrics) {
    if (m.name == name) return m;
  }
  FAIL("no metric " << name);
  static Metric none;
  return none;
}

std::string error_of(std::string_view text, std::string_view name, ImportOptions options = {}) {
  try {
    import_perf_stat(text, name, options);
  } catch (const ImportError& e) {
    return e.what();
  }
  return "(no error)";
}

}  // namespace

TEST_SUITE("pure") {
  TEST_CASE("import: 001.txt (SPR system-wide, TopdownL1/L2 metric groups) reads as printed") {
    auto r = load("001.txt");
    const auto& m = r.measurement;
    CHECK(m.source == "perf-stat");
    CHECK(m.target == MeasurementTarget::system_wide);
    CHECK(m.command.empty());
    CHECK(m.duration_s == 1.006529767);
    const auto& clock = event(m.events, "cpu-clock");
    CHECK(clock.value == 226054.13);
    CHECK(clock.unit == "msec");
    CHECK(clock.raw == 226054130000ull);  // ns, the kernel's unit
    CHECK(clock.running_fraction() == 1.0);
    CHECK(event(m.events, "context-switches").value == 932);
    CHECK(event(m.events, "cycles").value == 45940682);
    CHECK(event(m.events, "instructions").raw == 36676047);
    CHECK(event(m.events, "branch-misses").value == 62169);
    CHECK(m.events.size() == 8);
    CHECK(metric(m.reported, "cpus_utilized").value == 224.588);
    CHECK(metric(m.reported, "cpus_utilized").unit == "CPUs");
    CHECK(metric(m.reported, "ipc").value == 0.80);
    CHECK(metric(m.reported, "ipc").unit == "insn/cycle");
    CHECK(metric(m.reported, "ghz").value == 0.0);
    CHECK(metric(m.reported, "context-switches_per_sec").value == 4.123);
    CHECK(metric(m.reported, "context-switches_per_sec").unit == "/s");
    CHECK(metric(m.reported, "branches_per_sec").value == doctest::Approx(31163.0));
    CHECK(metric(m.reported, "branch_miss_rate").value == doctest::Approx(0.0088));
    CHECK(metric(m.reported, "branch_miss_rate").unit == "ratio");
    CHECK(metric(m.reported, "tma_backend_bound").value == doctest::Approx(0.687));
    CHECK(metric(m.reported, "tma_retiring").value == doctest::Approx(0.152));
    CHECK(metric(m.reported, "tma_memory_bound").value == doctest::Approx(0.491));
    CHECK(metric(m.reported, "tma_machine_clears").value == doctest::Approx(0.004));
    CHECK(m.reported.size() == 20);
    CHECK(r.skipped.empty());
  }

  TEST_CASE("import: 003.json and 005.csv (the same SPR run as -j and -x,) read as printed") {
    SUBCASE("json, string metric-value") {
      auto m = load("003.json").measurement;
      CHECK(event(m.events, "cpu-clock").value == 225904.823297);
      CHECK(event(m.events, "cpu-clock").unit == "msec");
      CHECK(event(m.events, "cycles").value == 48433482);
      CHECK(event(m.events, "branch-misses").value == 54747);
      CHECK(metric(m.reported, "ipc").value == 0.797391);
      CHECK(metric(m.reported, "branch_miss_rate").value == doctest::Approx(0.00742889));
      CHECK(metric(m.reported, "branches_per_sec").value == doctest::Approx(32622.026));
      CHECK(metric(m.reported, "tma_backend_bound").value == doctest::Approx(0.69950631));
      CHECK(metric(m.reported, "tma_memory_bound").value == doctest::Approx(0.5022086));
      CHECK(m.reported.size() == 20);
    }
    SUBCASE("csv with metric-group and metric-only rows") {
      auto m = load("005.csv").measurement;
      CHECK(event(m.events, "cpu-clock").value == 225851.20);
      CHECK(event(m.events, "context-switches").value == 976);
      CHECK(event(m.events, "instructions").value == 37977214);
      CHECK(m.events.size() == 8);
      CHECK(metric(m.reported, "cpus_utilized").value == 224.431);
      CHECK(metric(m.reported, "ipc").value == 0.73);
      CHECK(metric(m.reported, "branch_miss_rate").value == doctest::Approx(0.0070));
      CHECK(metric(m.reported, "tma_backend_bound").value == doctest::Approx(0.701));
      CHECK(metric(m.reported, "tma_bad_speculation").value == doctest::Approx(0.027));
      CHECK(m.reported.size() == 20);
    }
  }

  TEST_CASE("import: 008.txt (ARM big.LITTLE) keeps <not counted> as a status with 0% running") {
    auto m = load("008.txt").measurement;
    CHECK(m.command == std::vector<std::string>{"build/tests"});
    CHECK(m.user_s == 1.325971);
    CHECK(m.sys_s == 1.055181);
    const auto& little = event(m.events, "armv8_pmuv3_0/instructions/");
    CHECK(little.status == EventStatus::not_counted);
    CHECK(little.pmu == "armv8_pmuv3_0");
    CHECK(little.time_running_ns == 0);
    const auto& big = event(m.events, "armv8_pmuv3_1/instructions/");
    CHECK(big.counted());
    CHECK(big.value == 10522826144.0);
    CHECK(event(m.events, "task-clock").value == 2082958624.0);  // printed without a unit: ns
    CHECK(event(m.events, "task-clock").unit.empty());
    CHECK(metric(m.reported, "stalled_cycles_per_insn").value == 0.61);
    CHECK(metric(m.reported, "frontend_stall_ratio").value == doctest::Approx(0.0188));
    CHECK(metric(m.reported, "backend_stall_ratio").value == doctest::Approx(0.8131));
    CHECK(metric(m.reported, "armv8_pmuv3_1/branches_per_sec").value == doctest::Approx(919.238e6));
    CHECK(metric(m.reported, "page-faults_per_sec").value == doctest::Approx(276530.0));
  }

  TEST_CASE(
      "import: 009.txt (perf 4.1) reads MiB, Joules, insns per cycle and '28.471 % of all cache "
      "refs'") {
    auto m = load("009.txt").measurement;
    CHECK(m.target == MeasurementTarget::system_wide);
    CHECK(m.duration_s == 20.001303829);
    CHECK(event(m.events, "cycles").value == 40852874976.0);
    CHECK(event(m.events, "cycles").running_fraction() == 1.0);
    const auto& reads = event(m.events, "uncore_imc/data_reads/");
    CHECK(reads.value == 44831.61);
    CHECK(reads.unit == "MiB");
    CHECK(reads.pmu == "uncore_imc");
    const auto& pkg = event(m.events, "power/energy-pkg/");
    CHECK(pkg.value == 490.48);
    CHECK(pkg.unit == "Joules");
    CHECK(metric(m.reported, "ipc").value == 0.86);
    CHECK(metric(m.reported, "cache_miss_rate").value == doctest::Approx(0.28471));
  }

  // perf's "( +- x% )" is the standard error of the mean: sem = value x pct / 100, and the runs'
  // stddev = sem x sqrt(N) where the header says N.
  TEST_CASE("import: 011.txt and 024.txt (-r N) give sem = value x pct / 100 and runs") {
    auto m = load("011.txt").measurement;
    CHECK(m.runs == 10);
    CHECK(m.duration_s == 34.922801);
    CHECK(event(m.events, "power/energy-cores/").value == 52.67);
    CHECK(*event(m.events, "power/energy-cores/").spread->sem ==
          doctest::Approx(52.67 * 1.24 / 100));
    CHECK(*event(m.events, "power/energy-pkg/").spread->sem == doctest::Approx(85.09 * 0.83 / 100));
    CHECK(*event(m.events, "power/energy-pkg/").spread->stddev ==
          doctest::Approx(85.09 * 0.83 / 100 * std::sqrt(10.0)));
    auto arm = load("024.txt").measurement;
    CHECK(arm.runs == 5);
    CHECK(arm.command == std::vector<std::string>{"out/shecc-stage1.elf", "tests/fib.c"});
    CHECK(event(arm.events, "branches:u").value == 2308457);
    CHECK(*event(arm.events, "branches:u").spread->sem == 0.0);
    CHECK(*event(arm.events, "branch-misses:u").spread->sem ==
          doctest::Approx(459550 * 0.02 / 100));
    CHECK(metric(arm.reported, "branch_miss_rate").value == doctest::Approx(0.1991));
    CHECK(metric(arm.reported, "branches:u_per_sec").value == doctest::Approx(33.270e6));
  }

  TEST_CASE(
      "import: 013.txt (Ice Lake -r 3 -ddd) reads multiplexing exactly and the topdown-* rows") {
    auto m = load("013.txt").measurement;
    CHECK(m.runs == 3);
    CHECK(m.command.front() == "taskset");
    CHECK(m.command.size() == 8);
    const auto& clock = event(m.events, "task-clock");
    CHECK(clock.value == 21945.59);
    CHECK(*clock.spread->sem == doctest::Approx(21945.59 * 19.25 / 100));
    const auto& cycles = event(m.events, "cycles");
    CHECK(cycles.value == 56513364885.0);
    CHECK(cycles.time_enabled_ns == 1000000000);
    CHECK(cycles.time_running_ns == 384400000);  // (38.44%)
    CHECK(event(m.events, "iTLB-load-misses").time_running_ns == 307500000);
    CHECK(event(m.events, "topdown-be-bound").value == 246679210776.0);
    CHECK(metric(m.reported, "tma_retiring").value == doctest::Approx(0.038));
    CHECK(metric(m.reported, "tma_bad_speculation").value == doctest::Approx(0.115));
    CHECK(metric(m.reported, "tma_frontend_bound").value == doctest::Approx(0.008));
    CHECK(metric(m.reported, "tma_backend_bound").value == doctest::Approx(0.84));
    CHECK(metric(m.reported, "l1d_miss_ratio").value == doctest::Approx(6.9117));  // perf's 691.17%
    CHECK(metric(m.reported, "slots_per_sec").value == doctest::Approx(19.320e9));
    CHECK(metric(m.reported, "llc_miss_ratio").value == doctest::Approx(0.1036));
  }

  TEST_CASE("import: 014.txt (AMD) takes +- and pct printed on a continuation row for its event") {
    auto m = load("014.txt").measurement;
    const auto& insn = event(m.events, "instructions");
    CHECK(insn.value == 874896010.0);
    CHECK(insn.time_running_ns == 333600000);
    CHECK(*insn.spread->sem == doctest::Approx(874896010.0 * 1.23 / 100));
    CHECK_FALSE(event(m.events, "cpu-migrations").spread->sem.has_value());
    CHECK(metric(m.reported, "stalled_cycles_per_insn").value == 0.05);
    CHECK(metric(m.reported, "itlb_miss_ratio").value == doctest::Approx(2620.3846));
    CHECK(metric(m.reported, "iTLB-loads_per_sec").value == 1.145);
  }

  TEST_CASE(
      "import: 016.txt (-I with --topdown metric-only columns) gives one interval per timestamp") {
    auto m = load("016.txt").measurement;
    REQUIRE(m.intervals.size() == 6);
    CHECK(m.intervals[0].time_s == 1.001141351);
    CHECK(m.intervals[0].duration_s == 1.001141351);
    CHECK(m.intervals[1].duration_s == doctest::Approx(2.006141972 - 1.001141351));
    CHECK(metric(m.intervals[0].reported, "tma_retiring").value == doctest::Approx(0.115));
    CHECK(metric(m.intervals[0].reported, "tma_backend_bound").value == doctest::Approx(0.349));
    CHECK(metric(m.intervals[0].reported, "tma_frontend_bound").value == doctest::Approx(0.469));
    CHECK(metric(m.intervals[5].reported, "tma_bad_speculation").value == doctest::Approx(0.073));
    CHECK(m.duration_s == 5.704818971);
    CHECK(m.notes.size() == 1);  // the "..." the doc's author wrote
  }

  TEST_CASE("import: 029.txt (pt_BR locale) reads '.' grouping and ',' decimals") {
    auto m = load("029.txt").measurement;
    CHECK(event(m.events, "L1-dcache-load-misses").value == 26230214);
    CHECK(event(m.events, "L1-dcache-load-misses").time_running_ns == 857400000);  // (85,74%)
    CHECK(event(m.events, "LLC-load-misses").value == 14699);
    CHECK(event(m.events, "task-clock").value == 3148.94);
    CHECK(event(m.events, "instructions").value == 20883553427.0);
    CHECK(metric(m.reported, "l2_rqsts.miss_per_sec").value == doctest::Approx(1.868e6));
    CHECK(metric(m.reported, "ghz").value == 3.086);
    CHECK(metric(m.reported, "ipc").value == 2.15);
    CHECK(m.duration_s == 3.171346072);
    CHECK(m.user_s == 3.144026);
    CHECK(m.sys_s == 0.00801);
  }

  TEST_CASE("import: 031.txt and 040.txt (AMD default and -d) with <not supported>") {
    auto m = load("031.txt").measurement;
    CHECK(event(m.events, "task-clock:u").value == 0.36);
    CHECK(event(m.events, "instructions:u").value == 306168);
    CHECK(metric(m.reported, "stalled_cycles_per_insn").value == 0.61);
    CHECK(metric(m.reported, "frontend_stall_ratio").value == doctest::Approx(0.5723));
    auto d = load("040.txt").measurement;
    const auto& llc = event(d.events, "LLC-loads");
    CHECK(llc.status == EventStatus::not_supported);
    CHECK(llc.time_enabled_ns == 0);
    CHECK(event(d.events, "LLC-load-misses").status == EventStatus::not_supported);
    CHECK(event(d.events, "cycles").time_running_ns == 624400000);
    CHECK(event(d.events, "instructions").time_running_ns == 625100000);  // on its continuation row
    CHECK(metric(d.reported, "branches_per_sec").value == doctest::Approx(1.403e9));
    CHECK(d.command.back() == "[!benchmark][SSE2Pi]");
  }

  TEST_CASE("import: 044.json, perf 6.12's trailing comma in a record wrapped over three lines") {
    auto r = load("044.json");
    REQUIRE(r.measurement.events.size() == 1);
    const auto& e = r.measurement.events[0];
    CHECK(e.name == "armv8_pmuv3_1/branch-misses/");
    CHECK(e.pmu == "armv8_pmuv3_1");
    CHECK(e.value == 3112);
    CHECK(r.measurement.reported.empty());
  }

  TEST_CASE("import: -I text and CSV group rows into intervals and sum them for the run") {
    for (const char* name :
         {"synthetic/interval.txt", "synthetic/interval.csv", "synthetic/json_numeric.json"}) {
      CAPTURE(name);
      auto m = load(name).measurement;
      REQUIRE(m.intervals.size() == 2);
      const auto& first = m.intervals[0];
      CHECK(first.duration_s == first.time_s);
      CHECK(m.intervals[1].duration_s == doctest::Approx(m.intervals[1].time_s - first.time_s));
      CHECK(m.duration_s == m.intervals[1].time_s);
      const auto& clock = event(m.events, "task-clock");
      CHECK(clock.value == doctest::Approx(event(first.events, "task-clock").value +
                                           event(m.intervals[1].events, "task-clock").value));
    }
    auto text = load("synthetic/interval.txt").measurement;
    CHECK(text.intervals[0].time_s == 1.001010034);
    CHECK(event(text.intervals[0].events, "cycles").value == 3204567890.0);
    CHECK(event(text.intervals[0].events, "cycles").time_running_ns == 833300000);
    CHECK(event(text.intervals[0].events, "instructions").time_running_ns == 833300000);
    CHECK(event(text.intervals[1].events, "instructions").status == EventStatus::not_counted);
    CHECK(metric(text.intervals[0].reported, "stalled_cycles_per_insn").value == 0.10);
    CHECK(metric(text.intervals[1].reported, "ghz").value == 3.106);
    auto csv = load("synthetic/interval.csv").measurement;
    CHECK(csv.intervals[0].time_s == 0.100123456);
    CHECK(event(csv.intervals[1].events, "cycles").status == EventStatus::not_counted);
    CHECK(event(csv.events, "instructions").value == 640913578.0 + 319000000.0);
    auto json = load("synthetic/json_numeric.json").measurement;
    CHECK(metric(json.intervals[0].reported, "cpus_utilized").value == 1.001);
    CHECK(json.intervals[0].reported.size() == 1);  // -nan and "" metric units are no metric
    CHECK(event(json.intervals[1].events, "LLC-loads").status == EventStatus::not_supported);
  }

  TEST_CASE("import: aggregation prefixes become <aggr>/<event> rows plus one total per event") {
    SUBCASE("--per-core text") {
      auto m = load("synthetic/per_core.txt").measurement;
      const auto& c0 = event(m.events, "S0-D0-C0/cycles");
      CHECK(c0.value == 250123456);
      CHECK(c0.reason == "aggregate of 2 CPUs");
      CHECK(event(m.events, "S0-D0-C1/instructions").status == EventStatus::not_counted);
      const auto& cycles = event(m.events, "cycles");
      CHECK(cycles.value == 250123456.0 + 150000000.0);
      CHECK(cycles.running_fraction() == doctest::Approx(0.75));
      CHECK(event(m.events, "instructions").value == 200098765.0);
      CHECK(event(m.events, "cpu-clock").value == doctest::Approx(2004.85 + 2004.91));
      CHECK(metric(m.reported, "S0-D0-C0/ipc").value == 0.80);
      CHECK(metric(m.reported, "S0-D0-C1/ghz").value == 0.075);
    }
    SUBCASE("-A CSV") {
      auto m = load("synthetic/per_cpu.csv").measurement;
      CHECK(event(m.events, "CPU1/cycles").value == 22345678);
      CHECK(event(m.events, "cycles").value == 12345678.0 + 22345678.0);
      CHECK(metric(m.reported, "CPU0/ghz").value == 0.012);
    }
    SUBCASE("--per-socket -I CSV") {
      auto m = load("synthetic/per_socket_interval.csv").measurement;
      REQUIRE(m.intervals.size() == 2);
      CHECK(event(m.intervals[0].events, "S1/cycles").time_running_ns == 750000000);
      CHECK(event(m.intervals[0].events, "cycles").value == 4000000);
      CHECK(event(m.intervals[1].events, "cycles").value == 6000000);
      CHECK(event(m.events, "cycles").value == 10000000);
    }
    SUBCASE("JSON socket and cpu keys, -r variance") {
      auto m = load("synthetic/json_aggregate.json").measurement;
      CHECK(event(m.events, "S0/cpu-clock").value == 8012.34);
      CHECK(event(m.events, "S0/cpu-clock").reason == "aggregate of 8 CPUs");
      CHECK(event(m.events, "cpu-clock").value == doctest::Approx(8012.34 + 8011.0));
      CHECK(*event(m.events, "CPU3/branches").spread->sem == doctest::Approx(25.0));
      CHECK(metric(m.reported, "CPU3/branches_per_sec").value == 1000.0);
    }
  }

  TEST_CASE("import: locales, old layouts and other separators") {
    SUBCASE("Indian grouping 1,23,45,678") {
      auto m = load("synthetic/indian.txt").measurement;
      CHECK(event(m.events, "branch-misses").value == 12345678);
      CHECK(event(m.events, "cycles").value == 9718310406.0);
      CHECK(event(m.events, "task-clock").value == 3148.94);
    }
    SUBCASE("perf 4.x 'task-clock (msec)'") {
      auto m = load("synthetic/perf4_msec.txt").measurement;
      CHECK(event(m.events, "task-clock").unit == "msec");
      CHECK(event(m.events, "task-clock").value == 0.923450);
      CHECK(metric(m.reported, "page-faults_per_sec").value == doctest::Approx(112000.0));
      CHECK(metric(m.reported, "branch_miss_rate").value == doctest::Approx(0.042));
    }
    SUBCASE("perf 3.x '[71.92%]' and msec without a unit") {
      auto m = load("synthetic/perf3_brackets.txt").measurement;
      CHECK(event(m.events, "cycles").time_running_ns == 719200000);
      CHECK(event(m.events, "instructions").time_running_ns == 999800000);
      CHECK(event(m.events, "task-clock").unit == "msec");
      CHECK(metric(m.reported, "ipc").value == 0.72);
    }
    SUBCASE("-r -x ';' with the stddev field") {
      auto m = load("synthetic/repeat_semicolon.csv").measurement;
      CHECK(event(m.events, "cycles").value == 4012345678.0);
      CHECK(*event(m.events, "cycles").spread->sem == doctest::Approx(4012345678.0 * 0.012));
      CHECK(event(m.events, "LLC-loads").status == EventStatus::not_supported);
      CHECK(metric(m.reported, "ghz").value == 3.25);
    }
    SUBCASE("hybrid PMUs, Joules, '# started on'") {
      auto m = load("synthetic/hybrid.txt").measurement;
      CHECK(event(m.events, "cpu_atom/cycles/").pmu == "cpu_atom");
      CHECK(event(m.events, "cpu_atom/cycles/").time_running_ns == 400000);
      CHECK(event(m.events, "power/energy-pkg/").unit == "Joules");
      CHECK(event(m.events, "power/energy-pkg/").value == 12.74);
      CHECK(m.start_time == "2023-06-13T10:00:00");
      CHECK(metric(m.reported, "cpu_core/cycles_per_sec").value == doctest::Approx(10.741e6));
    }
    SUBCASE("fr_FR: no-break-space grouping and ',' decimal") {
      std::string text =
          " Performance counter stats for 'true':\n\n"
          "     1\u202f234\u202f567      cycles          #    3,10 GHz     (50,00%)\n\n"
          "       0,001000000 seconds time elapsed\n";
      auto m = import_perf_stat(text, "fr.txt").measurement;
      CHECK(event(m.events, "cycles").value == 1234567);
      CHECK(event(m.events, "cycles").time_running_ns == 500000000);
      CHECK(metric(m.reported, "ghz").value == 3.10);
      CHECK(m.duration_s == 0.001);
    }
    SUBCASE("any one-character separator") {
      for (char sep : {',', ';', ':', '|', '\t', '!'}) {
        CAPTURE(sep);
        std::string row =
            "1234#msec#task-clock#1234000#100.00#0.998#CPUs utilized\n"
            "5678##cycles#1234000#50.00##\n";
        for (auto& c : row) c = c == '#' ? sep : c;
        CHECK(detect_format(row) == PerfStatFormat::csv);
        auto m = import_perf_stat(row, "sep.csv").measurement;
        CHECK(event(m.events, "cycles").value == 5678);
        CHECK(event(m.events, "cycles").time_running_ns == 500000000);
        CHECK(metric(m.reported, "cpus_utilized").value == 0.998);
      }
    }
  }

  TEST_CASE("import: an -I recording's power/energy-* rows are each interval's energy[]") {
    // Hand-written -x -I rows in perf's shape (no real -I recording with the power PMU is in
    // tests/data): the package counted in the first and third intervals, not counted in the
    // second, and no power row in the fourth.
    std::string csv =
        "1.001000000,12.50,Joules,power/energy-pkg/,1001000000,100.00,,\n"
        "1.001000000,1000,,cycles,1001000000,100.00,,\n"
        "2.002000000,<not counted>,Joules,power/energy-pkg/,0,0.00,,\n"
        "2.002000000,1000,,cycles,1001000000,100.00,,\n"
        "3.003000000,20.02,Joules,power/energy-pkg/,1001000000,100.00,,\n"
        "3.003000000,1000,,cycles,1001000000,100.00,,\n"
        "4.004000000,1000,,cycles,1001000000,100.00,,\n";
    auto check = [](const std::vector<Interval>& intervals) {
      REQUIRE(intervals.size() == 4);
      REQUIRE(intervals[0].energy.size() == 1);
      CHECK(intervals[0].energy[0].domain == "package");
      CHECK(intervals[0].energy[0].method == "measured:rapl");
      CHECK(intervals[0].energy[0].joules == 12.50);
      CHECK(intervals[0].energy[0].average_watts == doctest::Approx(12.50 / 1.001));
      CHECK(intervals[1].energy.empty());
      REQUIRE(intervals[2].energy.size() == 1);
      CHECK(intervals[2].energy[0].joules == 20.02);
      CHECK(intervals[2].energy[0].average_watts == doctest::Approx(20.02 / 1.001));
      CHECK(intervals[3].energy.empty());
    };
    check(import_perf_stat(csv, "power.csv").measurement.intervals);
    // Read in parts on two threads and streamed in batches: the same.
    ImportOptions small;
    small.min_part_bytes = 16;
    small.threads = 2;
    check(import_perf_stat(csv, "power.csv", small).measurement.intervals);
    std::vector<Interval> streamed;
    import_perf_stat_streamed(csv, "power.csv", small, [&](size_t, std::vector<Interval>&& b) {
      for (auto& iv : b) streamed.push_back(std::move(iv));
    });
    check(streamed);
  }

  TEST_CASE("import: -I intervals far past one step are one step long (the median gap)") {
    // Hand-written -x, rows every ~1.001 s, the first at 5.001 s (taken from the middle of a
    // run) and two intervals left out before 9.005 s: gaps 1.001, 3.003 and 1.001 s, whose
    // median is the step.
    std::string csv =
        "5.001000000,100.00,msec,cpu-clock,100000000,100.00,,\n"
        "6.002000000,100.00,msec,cpu-clock,100000000,100.00,,\n"
        "9.005000000,100.00,msec,cpu-clock,100000000,100.00,,\n"
        "10.006000000,100.00,msec,cpu-clock,100000000,100.00,,\n";
    auto m = import_perf_stat(csv, "mid.csv").measurement;
    REQUIRE(m.intervals.size() == 4);
    CHECK(m.intervals[0].duration_s == doctest::Approx(1.001));  // not 5.001
    CHECK(m.intervals[1].duration_s == doctest::Approx(1.001));
    CHECK(m.intervals[2].duration_s == doctest::Approx(1.001));  // not 3.003
    CHECK(m.intervals[3].duration_s == doctest::Approx(1.001));
    // The run spans 10.006 - (5.001 - 1.001) s; perf's period is 1 s (1.001 s less its delay).
    CHECK(m.duration_s == doctest::Approx(6.006));
    REQUIRE(m.interval_step_s);
    CHECK(*m.interval_step_s == 1.0);
    auto noted = [&](std::string_view part) {
      return std::any_of(m.notes.begin(), m.notes.end(),
                         [&](const std::string& n) { return n.find(part) != std::string::npos; });
    };
    CHECK(noted("the recording starts at t = 5.001 s"));
    CHECK(noted("intervals are missing before t = 9.005 s"));
    // Streamed in batches of one interval, each read by a builder of its own: the same step,
    // lengths and notes (the step is read from the head of the text, not from a batch's gaps).
    ImportOptions small;
    small.min_part_bytes = 16;
    for (unsigned threads : {1u, 2u}) {
      CAPTURE(threads);
      small.threads = threads;
      std::vector<Interval> intervals;
      size_t batches = 0;
      auto s = import_perf_stat_streamed(csv, "mid.csv", small,
                                         [&](size_t, std::vector<Interval>&& batch) {
                                           ++batches;
                                           for (auto& iv : batch) intervals.push_back(iv);
                                         });
      CHECK(batches > 1);
      REQUIRE(intervals.size() == 4);
      for (size_t i = 0; i < 4; ++i) {
        CHECK(intervals[i].duration_s == m.intervals[i].duration_s);
        CHECK(intervals[i].period_s == std::optional<double>(1.0));
      }
      CHECK(s.measurement.interval_step_s == m.interval_step_s);
      CHECK(s.measurement.notes == m.notes);
    }
  }

  TEST_CASE("import: a running percentage alone on the line under its row belongs to that row") {
    // synthetic/not_counted_lone_pct.txt (hand-made in the shape of an Arm hybrid perf of 2023):
    // lines 5 and 8 hold only "(0.00%)" under `<not counted>` rows, line 11 "(50.00%)" under
    // the branches row (456,789, line 10).
    auto m = load("synthetic/not_counted_lone_pct.txt").measurement;
    const auto& little = event(m.events, "armv8_cortex_a53/cycles/");
    CHECK(little.status == EventStatus::not_counted);
    CHECK(little.time_running_ns == 0);
    CHECK(event(m.events, "armv8_cortex_a53/instructions/").status == EventStatus::not_counted);
    CHECK(event(m.events, "armv8_cortex_a72/cycles/").value == 1234567.0);
    CHECK(event(m.events, "armv8_cortex_a72/instructions/").running_fraction() == 1.0);
    const auto& branches = event(m.events, "armv8_cortex_a72/branches/");
    CHECK(branches.value == 456789.0);
    CHECK(branches.running_fraction() == doctest::Approx(0.5));
    CHECK(m.duration_s == 0.001234567);
    // Not under a row (after a blank line), the same line is still refused.
    std::string detached =
        "\n Performance counter stats for 'ls':\n\n         1,234      cycles\n\n"
        "                          (0.00%)\n\n       0.1 seconds time elapsed\n";
    CHECK(error_of(detached, "d.txt").starts_with("d.txt:6: expected a counter row"));
  }

  TEST_CASE("import: a -j record whose event name is empty is refused with its line") {
    // The -x form cannot hold such a row (an empty event field is a metric row); -j could.
    for (const char* name : {"\"\"", "\"  \""}) {
      CAPTURE(name);
      std::string text = fmt::format(
          "{{\"counter-value\" : \"5\", \"unit\" : \"\", \"event\" : \"instructions\"}}\n"
          "{{\"counter-value\" : \"7\", \"unit\" : \"\", \"event\" : {}}}\n",
          name);
      CHECK(error_of(text, "e.json")
                .starts_with("e.json:2: expected \"event\" beside \"counter-value\""));
    }
  }

  TEST_CASE("import: -x with a separator of two characters reads the fields perf printed") {
    // perf's -x takes a string: `perf stat -x '::' -I 100 -e task-clock,page-faults:u -- sleep
    // 0.15` (perf 6.1 on the project's VM) printed these rows, an empty unit as "::::" and a
    // modifier's ':' inside a field.
    const std::string text =
        "# started on Tue Dec  8 02:48:31 2026\n\n"
        "     0.100254582::0.97::msec::task-clock::965697::100.00::0.010::CPUs utilized\n"
        "     0.100254582::73::::page-faults:u::965697::100.00::75.593::K/sec\n"
        "     0.152020590::0.07::msec::task-clock::70214::100.00::0.001::CPUs utilized\n"
        "     0.152020590::0::::page-faults:u::70214::100.00::0.000::/sec\n";
    auto m = import_perf_stat(text, "colons.csv").measurement;
    REQUIRE(m.intervals.size() == 2);
    CHECK(event(m.events, "task-clock").value == doctest::Approx(0.97 + 0.07));
    CHECK(event(m.events, "task-clock").unit == "msec");
    CHECK(event(m.events, "page-faults:u").value == 73);
    CHECK(event(m.intervals[1].events, "page-faults:u").value == 0);
    CHECK(metric(m.intervals[0].reported, "cpus_utilized").value == doctest::Approx(0.010));
  }

  TEST_CASE("import: a pmcmodel measurement document is named as one, not as an open record") {
    // What `pmcmodel measure --json` or `import --json` writes, given back to import by mistake.
    std::string doc =
        "{\n  \"schema\": \"pmcmodel.measurement/1\",\n  \"source\": \"pmcmodel\",\n"
        "  \"events\": []\n}\n";
    ImportOptions lenient;
    lenient.lenient = true;
    for (const auto& options : {ImportOptions{}, lenient}) {
      CAPTURE(options.lenient);
      std::string error = error_of(doc, "run.json", options);
      CHECK(
          error.starts_with("run.json:2: expected a perf stat recording, found a pmcmodel "
                            "document"));
      CHECK(error.find("pmcmodel report") != std::string::npos);
    }
  }

  TEST_CASE("import: a running percentage outside 0 to 100 is refused in text, -x and -j") {
    // perf prints 100 * running / enabled, and a counter never runs longer than it is enabled:
    // 250 % or -5 % is damage, not a running time to clamp to 100 % or 0 %.
    const std::string why = "expected the percentage of the time the counter ran, 0 to 100";
    ImportOptions lenient;
    lenient.lenient = true;
    for (const char* pct : {"250.00", "-5.00", "100.01"}) {
      CAPTURE(pct);
      struct Form {
        std::string name, text, at;
      };
      for (const Form& f :
           {Form{"p.txt",
                 fmt::format(" Performance counter stats for 'x':\n\n  5 instructions\n"
                             "  7 cycles  ({}%)\n\n  1.0 seconds time elapsed\n",
                             pct),
                 "p.txt:4: "},
            Form{"p.csv", fmt::format("5,,instructions,100,100.00,,\n7,,cycles,100,{},,\n", pct),
                 "p.csv:2: "},
            Form{"p.json",
                 fmt::format("{{\"counter-value\" : \"5\", \"unit\" : \"\", \"event\" : "
                             "\"instructions\", \"pcnt-running\" : 100.00}}\n"
                             "{{\"counter-value\" : \"7\", \"unit\" : \"\", \"event\" : "
                             "\"cycles\", \"pcnt-running\" : {}}}\n",
                             pct),
                 "p.json:2: "}}) {
        CAPTURE(f.name);
        CHECK(error_of(f.text, f.name).starts_with(f.at + why));
        auto r = import_perf_stat(f.text, f.name, lenient);
        REQUIRE(r.skipped.size() == 1);
        CHECK(r.skipped[0].starts_with(f.at + why));
        REQUIRE(r.measurement.events.size() == 1);
        CHECK(r.measurement.events[0].name == "instructions");
      }
    }
    // -j's "pcnt-running" that is not a number is refused too, not taken as 100 %.
    std::string text =
        "{\"counter-value\" : \"7\", \"unit\" : \"\", \"event\" : \"cycles\", "
        "\"pcnt-running\" : \"x\"}\n";
    CHECK(error_of(text, "x.json").starts_with("x.json:1: expected a number in \"pcnt-running\""));
    // The bounds themselves are perf's: 0 % and 100 % read as printed.
    auto r = import_perf_stat("5,,instructions,100,100.00,,\n7,,cycles,0,0.00,,\n", "b.csv");
    CHECK(event(r.measurement.events, "instructions").running_fraction() == 1.0);
    CHECK(event(r.measurement.events, "cycles").time_running_ns == 0);
  }

  TEST_CASE("import: topdown tables and metric groups map to tma_* fractions") {
    SUBCASE("legacy --topdown table") {
      auto m = load("synthetic/topdown_legacy.txt").measurement;
      CHECK(m.events.empty());
      CHECK(metric(m.reported, "S0-D0-C0/tma_retiring").value == doctest::Approx(0.376));
      CHECK(metric(m.reported, "S0-D0-C1/tma_backend_bound").value == doctest::Approx(0.534));
      CHECK(m.reported.size() == 8);
    }
    SUBCASE("legacy --topdown -I with an empty cell") {
      auto m = load("synthetic/topdown_legacy_interval.txt").measurement;
      REQUIRE(m.intervals.size() == 1);
      const auto& r = m.intervals[0].reported;
      CHECK(metric(r, "S0-D0-C0/tma_bad_speculation").value == doctest::Approx(0.018));
      CHECK(metric(r, "S0-D0-C1/tma_retiring").value == doctest::Approx(0.20));
      CHECK(metric(r, "S0-D0-C1/tma_frontend_bound").value == doctest::Approx(0.30));
      CHECK(r.size() == 7);
    }
    SUBCASE("6.x --metric-only") {
      auto m = load("synthetic/metric_only.txt").measurement;
      CHECK(metric(m.reported, "tma_retiring").value == doctest::Approx(0.116));
      CHECK(metric(m.reported, "tma_bad_speculation").value == doctest::Approx(0.070));
    }
    SUBCASE("AMD -M PipelineL1") {
      auto m = load("synthetic/amd_pipeline.txt").measurement;
      CHECK(metric(m.reported, "tma_bad_speculation").value == doctest::Approx(0.124));
      CHECK(metric(m.reported, "tma_frontend_bound").value == doctest::Approx(0.291));
      CHECK(event(m.events, "ls_not_halted_cyc").time_running_ns == 499900000);
      CHECK(event(m.events, "de_no_dispatch_per_slot.no_ops_from_frontend").value == 25797512172.0);
    }
  }

  TEST_CASE("import: detect_format tells JSON, CSV and text apart") {
    CHECK(detect_format(test::read_file(fixture("003.json"))) == PerfStatFormat::json);
    CHECK(detect_format(test::read_file(fixture("044.json"))) == PerfStatFormat::json);
    CHECK(detect_format(test::read_file(fixture("005.csv"))) == PerfStatFormat::csv);
    CHECK(detect_format(test::read_file(fixture("synthetic/interval.csv"))) == PerfStatFormat::csv);
    for (const char* name : {"001.txt", "009.txt", "016.txt", "029.txt", "synthetic/interval.txt",
                             "synthetic/per_core.txt", "synthetic/indian.txt"}) {
      CAPTURE(name);
      CHECK(detect_format(test::read_file(fixture(name))) == PerfStatFormat::text);
    }
  }

  TEST_CASE("import: every byte perf never writes is found at every offset, no other byte is") {
    // Lines shorter than the 16-byte blocks the check reads, so a byte lands at every position of
    // a block and blocks span line ends. Expected: controls other than \t \n \f \r, and DEL.
    const std::string head = " Performance counter stats for 'x':\n\n   12  cycles\n";
    for (int b = 0; b < 256; ++b) {
      bool perf_never_writes =
          (b < 0x20 && b != '\t' && b != '\n' && b != '\r' && b != '\f') || b == 0x7f;
      for (size_t offset = 0; offset < 40; offset += 3) {
        CAPTURE(b);
        CAPTURE(offset);
        std::string text = head;
        std::string tail = "   13  instructions\n   14  branches\n   15  branch-misses\n";
        tail[offset] = char(b);
        text += tail;
        std::string error = error_of(text, "bytes.txt");
        if (perf_never_writes) {
          size_t line = 4 + size_t(std::count(tail.begin(), tail.begin() + long(offset), '\n'));
          CHECK(error == fmt::format("bytes.txt:{}: expected perf stat text, found binary byte "
                                     "0x{:02x}",
                                     line, b));
        } else {
          CHECK(error.find("binary byte") == std::string::npos);
        }
      }
    }
  }

  TEST_CASE("import: bad input stops with FILE:LINE and what was expected") {
    CHECK(error_of("", "empty.txt") ==
          "empty.txt:1: expected perf stat output, found an empty file");
    CHECK(error_of("\n  \n", "blank.txt").starts_with("blank.txt:1: expected perf stat output"));
    CHECK(error_of(std::string("\x7f"
                               "ELF\x02\x01\x01\0\0",
                               9),
                   "a.out") == "a.out:1: expected perf stat text, found binary byte 0x7f");
    CHECK(error_of(" Performance counter stats for 'x':\n\n   12  cycles\n\x01\x02\n", "bin.txt")
              .starts_with("bin.txt:4: expected perf stat text, found binary byte 0x01"));
    auto read = [](const char* name) { return test::read_file(fixture(name)); };
    CHECK(error_of(read("bad/truncated.txt"), "truncated.txt") ==
          "truncated.txt:8: expected the end of the last line, found '36,676,0' and no line "
          "end: the recording is cut in the middle of its last line");
    CHECK(error_of(read("bad/wrapped.txt"), "wrapped.txt")
              .starts_with("wrapped.txt:2: expected a counter row '<count> [unit] <event> [# "
                           "<metric>]', found "
                           "'--huge 1'"));
    CHECK(error_of(read("bad/foreign.txt"), "README.md")
              .starts_with("README.md:3: expected a counter row"));
    CHECK(error_of(read("bad/truncated.json"), "t.json") ==
          "t.json:2: expected '}' closing the record before the end of the input: the recording is "
          "truncated");
    CHECK(error_of(read("bad/short_row.csv"), "s.csv") ==
          "s.csv:2: expected ',run-time,pct-running' after the event, found '5678,,instructions'");
    SUBCASE("a text recording trimmed before its elapsed line imports and says so") {
      std::string text = " Performance counter stats for 'x':\n\n     1,234      cycles\n";
      auto r = import_perf_stat(text, "cut.txt");
      CHECK(event(r.measurement.events, "cycles").value == 1234);
      CHECK(r.measurement.duration_s == 0);
      REQUIRE(!r.measurement.notes.empty());
      CHECK(r.measurement.notes.back().find("elapsed time is absent") != std::string::npos);
    }
    SUBCASE("a last row without its line end is cut") {
      CHECK(error_of(" Performance counter stats for 'x':\n\n     1,234      cyc", "cut.txt") ==
            "cut.txt:3: expected the end of the last line, found '1,234      cyc' and no line "
            "end: the recording is cut in the middle of its last line");
      CHECK(error_of("1,,cycles,100,100.00,,\n2,,instru", "cut.csv")
                .starts_with("cut.csv:2: expected the end of the last line"));
    }
    SUBCASE("a JSON line that is not JSON") {
      CHECK(error_of(
                "{\"counter-value\" : \"1\", \"event\" : \"cycles\"}\n{\"counter-value\" : \n}\n",
                "j.json")
                .starts_with("j.json:2: expected one JSON object per line"));
    }
    SUBCASE("forced text format on CSV") {
      ImportOptions text;
      text.format = PerfStatFormat::text;
      CHECK(error_of(read("005.csv"), "005.csv", text)
                .starts_with("005.csv:1: expected a counter row"));
    }
  }

  TEST_CASE("import: lenient imports the good part and lists what it skipped") {
    ImportOptions lenient;
    lenient.lenient = true;
    auto r = load("bad/lenient.txt", lenient);
    REQUIRE(r.skipped.size() == 3);
    CHECK(r.skipped[0].starts_with("bad/lenient.txt:9: expected a counter row"));
    CHECK(r.skipped[1].starts_with("bad/lenient.txt:15: expected '# <value> <description>'"));
    CHECK(r.skipped[2].starts_with("bad/lenient.txt:16: "));
    const auto& m = r.measurement;
    CHECK(event(m.events, "stalled-cycles-backend").value == 123237512);
    CHECK(event(m.events, "instructions").time_running_ns == 625100000);
    CHECK(event(m.events, "L1-dcache-load-misses").value == 120534495);
    CHECK(m.events.size() == 13);  // all but the hard-wrapped L1-dcache-loads row
    for (const auto& e : m.events) CHECK(e.name != "L1-dcache-loads");
    CHECK(m.duration_s == 5.560120045);
    SUBCASE("a file with nothing good still fails") {
      CHECK_THROWS_AS(import_perf_stat("no perf here\n", "x.txt", lenient), ImportError);
    }
    SUBCASE("a truncated file keeps the rows before the cut") {
      auto cut = load("bad/truncated.txt", lenient);
      CHECK(cut.measurement.events.size() == 5);
      CHECK(cut.skipped.size() == 1);
    }
  }

  TEST_CASE("import: a line longer than 1 MiB is refused with its line, --lenient or not") {
    // kMaxLineBytes is 1 MiB (events/text/input_file.h); the length is the bytes before "\n".
    REQUIRE(kMaxLineBytes == 1048576);
    const std::string expected = ": a line longer than 1048576 bytes; expected ";
    ImportOptions lenient;
    lenient.lenient = true;
    const std::string header = " Performance counter stats for 'x':\n\n";
    // A row perf would print, padded to `bytes` with the blanks perf aligns its columns with.
    auto padded = [](std::string row, size_t bytes) {
      return std::string(bytes - row.size(), ' ') + row;
    };
    SUBCASE("text") {
      std::string at_limit = header + padded("1,234      cycles", kMaxLineBytes) +
                             "\n\n       1.000 seconds time elapsed\n";
      auto r = import_perf_stat(at_limit, "limit.txt");
      CHECK(event(r.measurement.events, "cycles").value == 1234);
      std::string over = header + "  5 instructions\n" +
                         padded("1,234      cycles", kMaxLineBytes + 1) +
                         "\n\n       1.000 seconds time elapsed\n";
      for (const auto& options : {ImportOptions{}, lenient}) {
        CAPTURE(options.lenient);
        CHECK(error_of(over, "over.txt", options).starts_with("over.txt:4" + expected));
      }
      // The line of an energy name wrapped onto the next one (perf 4.x) is checked too.
      std::string wrapped = header + "              0.00 Joules\n" +
                            padded("power/energy-cores/", kMaxLineBytes + 1) + "\n";
      CHECK(error_of(wrapped, "wrapped.txt").starts_with("wrapped.txt:4" + expected));
      // Not split into words first: a megabyte of one-letter words.
      std::string words = header;
      for (size_t i = 0; i <= kMaxLineBytes / 2; ++i) words += "a ";
      CHECK(error_of(words + "\n", "words.txt", lenient).starts_with("words.txt:3" + expected));
    }
    SUBCASE("-x CSV, the first row and a later one, as a whole file and streamed") {
      std::string row = "1234,,cycles,100,100.00,,";
      std::string at_limit = padded(row, kMaxLineBytes) + "\n";
      CHECK(event(import_perf_stat(at_limit, "limit.csv").measurement.events, "cycles").value ==
            1234);
      std::string first = padded(row, kMaxLineBytes + 1) + "\n" + row + "\n";
      std::string later = row + "\n" + row + "\n" + std::string(kMaxLineBytes + 1, ',') + "\n";
      for (const auto& options : {ImportOptions{}, lenient}) {
        CAPTURE(options.lenient);
        CHECK(error_of(first, "first.csv", options).starts_with("first.csv:1" + expected));
        CHECK(error_of(later, "later.csv", options).starts_with("later.csv:3" + expected));
        std::string streamed_error;
        try {
          import_perf_stat_streamed(later, "later.csv", options, [](size_t, auto&&) {});
        } catch (const ImportError& e) {
          streamed_error = e.what();
        }
        CHECK(streamed_error.starts_with("later.csv:3" + expected));
      }
    }
    SUBCASE("-j JSON") {
      std::string record = R"({"counter-value" : "1234", "unit" : "", "event" : "cycles"})";
      std::string text = record + "\n" + record + "\n{" + std::string(kMaxLineBytes, ' ') + "}\n";
      for (const auto& options : {ImportOptions{}, lenient}) {
        CAPTURE(options.lenient);
        CHECK(error_of(text, "long.json", options).starts_with("long.json:3" + expected));
      }
    }
  }

  TEST_CASE(
      "import: negative counts, times and energies are refused, and --lenient drops their line") {
    // perf prints counts from the kernel's u64 values (task-clock's msec and RAPL's Joules too):
    // a negative one is damage. Its metrics can be below 0 and are kept.
    ImportOptions lenient;
    lenient.lenient = true;
    const std::string header = " Performance counter stats for 'x':\n\n";
    const std::string elapsed = "\n       1.000 seconds time elapsed\n";
    struct Case {
      std::string row;
      std::string why;
    };
    SUBCASE("text") {
      for (const Case& c : {Case{"  -5.00 msec task-clock  #  0.5 CPUs utilized",
                                 "the time is negative; expected a time of 0 or more"},
                            Case{"  -1,234      cycles",
                                 "the count is negative; expected a count "
                                 "of 0 or more"},
                            Case{"  -12.74 Joules power/energy-pkg/",
                                 "the energy is negative; expected an energy of 0 or more"},
                            Case{"  -inf      cycles", "the count is negative"}}) {
        CAPTURE(c.row);
        std::string text = header + "  5 instructions\n" + c.row + "\n" + elapsed;
        CHECK(error_of(text, "neg.txt").starts_with("neg.txt:4: " + c.why));
        auto r = import_perf_stat(text, "neg.txt", lenient);
        REQUIRE(r.skipped.size() == 1);
        CHECK(r.skipped[0].starts_with("neg.txt:4: " + c.why));
        REQUIRE(r.measurement.events.size() == 1);  // the line is dropped, the import goes on
        CHECK(r.measurement.events[0].name == "instructions");
        CHECK(r.measurement.reported.empty());  // and the metric printed on it
        CHECK(r.measurement.duration_s == 1.0);
      }
    }
    SUBCASE("text: a negative time line") {
      for (const char* line : {"      -1.000 seconds time elapsed", "      -0.5 seconds user",
                               "      -0.5 seconds sys"}) {
        CAPTURE(line);
        std::string text = header + "  5 instructions\n\n" + line + "\n";
        CHECK(error_of(text, "t.txt")
                  .starts_with("t.txt:5: the time is negative; expected a time of 0 or more"));
        auto r = import_perf_stat(text, "t.txt", lenient);
        REQUIRE(r.skipped.size() == 1);
        CHECK(r.skipped[0].starts_with("t.txt:5: the time is negative"));
        CHECK_FALSE(r.measurement.has_duration);
        CHECK_FALSE(r.measurement.has_user);
        CHECK_FALSE(r.measurement.has_sys);
      }
    }
    SUBCASE("-x CSV, whole and streamed") {
      std::string text =
          "5,,instructions,100,100.00,,\n-1234,,cycles,100,100.00,3.1,GHz\n"
          "-0.50,Joules,power/energy-pkg/,100,100.00,,\n";
      CHECK(error_of(text, "neg.csv") ==
            "neg.csv:2: the count is negative; expected a count of 0 or more, found "
            "'-1234,,cycles,100,100.00,3.1,GHz'");
      auto r = import_perf_stat(text, "neg.csv", lenient);
      REQUIRE(r.skipped.size() == 2);
      CHECK(r.skipped[0].starts_with("neg.csv:2: the count is negative"));
      CHECK(r.skipped[1].starts_with("neg.csv:3: the energy is negative"));
      REQUIRE(r.measurement.events.size() == 1);
      CHECK(r.measurement.events[0].name == "instructions");
      CHECK(r.measurement.reported.empty());
      auto s = import_perf_stat_streamed(text, "neg.csv", lenient, [](size_t, auto&&) {});
      CHECK(s.skipped == r.skipped);
    }
    SUBCASE("-j JSON") {
      std::string text =
          R"({"counter-value" : "5.000000", "unit" : "", "event" : "instructions"})"
          "\n"
          R"({"counter-value" : "-5.000000", "unit" : "msec", "event" : "task-clock"})"
          "\n";
      CHECK(error_of(text, "neg.json")
                .starts_with("neg.json:2: the time is negative; expected a time of 0 or more"));
      auto r = import_perf_stat(text, "neg.json", lenient);
      REQUIRE(r.skipped.size() == 1);
      CHECK(r.skipped[0].starts_with("neg.json:2: the time is negative"));
      REQUIRE(r.measurement.events.size() == 1);
      CHECK(r.measurement.events[0].name == "instructions");
    }
    SUBCASE("an infinite count in every form") {
      // A count is the kernel's u64 (perf prints <not counted> where it has none): "inf" is
      // damage, and a document cannot hold it (the writer's null beside status counted is what
      // the document reader refuses).
      const std::string why = "the count is infinite; expected a finite count";
      struct Form {
        std::string name, text;
      };
      for (const Form& f :
           {Form{"inf.txt", header + "  5 instructions\n  inf      cycles\n" + elapsed},
            Form{"inf.csv", "5,,instructions,100,100.00,,\ninf,,cycles,100,100.00,,\n"},
            Form{"inf.json",
                 R"({"counter-value" : "5.000000", "unit" : "", "event" : "instructions"})"
                 "\n"
                 R"({"counter-value" : "inf", "unit" : "", "event" : "cycles"})"
                 "\n"}}) {
        CAPTURE(f.name);
        // The line of the cycles row: the text's header takes two lines.
        std::string at = f.name + (f.name == "inf.txt" ? ":4: " : ":2: ");
        CHECK(error_of(f.text, f.name).starts_with(at + why));
        auto r = import_perf_stat(f.text, f.name, lenient);
        REQUIRE(r.skipped.size() == 1);
        CHECK(r.skipped[0].starts_with(at + why));
        REQUIRE(r.measurement.events.size() == 1);
        CHECK(r.measurement.events[0].name == "instructions");
      }
    }
    SUBCASE("negative metrics, nan and -nan stay as perf printed them") {
      // tma_bad_speculation is 1 minus the other three level-1 categories, below 0 when they
      // overshoot; perf 6.0-6.3 printed a metric without a denominator as -nan.
      std::string text = header +
                         "  1,000      cycles    #  -0.05  stalled cycles per insn\n"
                         "             TopdownL1    #     -2.1 %  tma_bad_speculation\n"
                         "  -nan       instructions\n" +
                         elapsed;
      auto r = import_perf_stat(text, "metrics.txt");
      CHECK(metric(r.measurement.reported, "stalled_cycles_per_insn").value == -0.05);
      CHECK(metric(r.measurement.reported, "tma_bad_speculation").value == doctest::Approx(-0.021));
      CHECK(event(r.measurement.events, "instructions").status == EventStatus::not_counted);
      std::string csv =
          "1000,,cycles,100,100.00,-0.05,stalled cycles per insn\n"
          ",,,,,-2.1,%  tma_bad_speculation\n-nan,,instructions,100,100.00,,\n";
      auto c = import_perf_stat(csv, "metrics.csv");
      CHECK(metric(c.measurement.reported, "stalled_cycles_per_insn").value == -0.05);
      CHECK(metric(c.measurement.reported, "tma_bad_speculation").value == doctest::Approx(-0.021));
      CHECK(event(c.measurement.events, "instructions").status == EventStatus::not_counted);
    }
  }

  TEST_CASE("import: perf -v's CPUID line in a -x or -j recording gives the machine") {
    // synthetic/cpuid_042.csv and cpuid_017.json: the real wild/042.csv and wild/017.json with
    // a "Using CPUID GenuineIntel-<family>-<model>-<stepping>" line added by hand (README.md).
    struct Case {
      const char* with_cpuid;
      const char* original;
      const char* line;
      int family, model, stepping;
    };
    for (const Case& c : {Case{"synthetic/cpuid_042.csv", "wild/042.csv",
                               "Using CPUID GenuineIntel-6-8F-8", 6, 0x8f, 8},
                          Case{"synthetic/cpuid_017.json", "wild/017.json",
                               "Using CPUID GenuineIntel-6-97-2", 6, 0x97, 2}}) {
      CAPTURE(c.with_cpuid);
      auto original = load(c.original).measurement;
      auto check = [&](const Measurement& m) {
        CHECK(m.machine.vendor == "GenuineIntel");
        CHECK(m.machine.family == c.family);
        CHECK(m.machine.model == c.model);
        CHECK(m.machine.stepping == c.stepping);
        CHECK(std::count(m.notes.begin(), m.notes.end(), std::string(c.line)) == 1);
        // The rest is the recording's, as without the line.
        REQUIRE(m.events.size() == original.events.size());
        for (size_t i = 0; i < m.events.size(); ++i) {
          CHECK(m.events[i].name == original.events[i].name);
          CHECK(m.events[i].value == original.events[i].value);
        }
        CHECK(m.reported.size() == original.reported.size());
        REQUIRE(m.intervals.size() == original.intervals.size());
        for (size_t i = 0; i < m.intervals.size(); ++i) {
          CHECK(m.intervals[i].events.size() == original.intervals[i].events.size());
          CHECK(m.intervals[i].reported.size() == original.intervals[i].reported.size());
        }
      };
      check(load(c.with_cpuid).measurement);  // the format told from the rows after the line
      // Among the rows (a 2>&1 capture can interleave it): after the first three.
      std::string text = test::read_file(fixture(c.original));
      size_t at = 0;
      for (int k = 0; k < 3; ++k) at = text.find('\n', at) + 1;
      text.insert(at, std::string(c.line) + "\n");
      check(import_perf_stat(text, c.original).measurement);
    }
    CHECK(load("wild/042.csv").measurement.machine.vendor.empty());
  }

  TEST_CASE("import: an empty -x metric value beside its unit is perf's unshown value, not nan") {
    // wild/040.csv's cycles row "6766433,,cpu_core/cycles/,16067551558,100.00,0.000,GHz" with
    // its value field emptied, as print_metric_csv prints a nan, inf or negative GHz, and the
    // instructions row with both fields empty, as perf prints a row without a metric.
    std::string text =
        "6766433,,cpu_core/cycles/,16067551558,100.00,,GHz\n"
        "4688595,,cpu_core/instructions/,16067558976,100.00,,\n";
    auto m = import_perf_stat(text, "edited-040.csv").measurement;
    CHECK(m.events.size() == 2);
    CHECK(m.reported.empty());
    REQUIRE(m.notes.size() == 1);
    CHECK(m.notes[0].starts_with("perf's -x printed no value for cpu_core/ghz:"));
  }
}
