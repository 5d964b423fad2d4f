// Recordings of perf stat published by others (tests/data/perfstat/wild, sources in INDEX.md):
// every value checked here is one perf printed in the recording.
#include <doctest/doctest.h>

#include <cmath>
#include <string>

#include "events/document/energy_basis.h"
#include "events/metrics/derived_metrics.h"
#include "events/perfstat/import_perfstat.h"
#include "events/perfstat/import_perfstat_common.h"
#include "test_support.h"

using namespace pmc;

namespace {

std::string wild(const std::string& name) {
  return std::string(PMC_TEST_DATA) + "/perfstat/wild/" + name;
}

ImportResult load(const std::string& name, bool lenient = false) {
  ImportOptions options;
  options.lenient = lenient;
  return import_perf_stat(test::read_file(wild(name)), name, options);
}

std::string error_of(const std::string& name) {
  try {
    load(name);
  } catch (const ImportError& e) {
    return e.what();
  }
  return "(no error)";
}

double value_of(const std::vector<EventCount>& events, std::string_view name) {
  for (const auto& e : events)
    if (e.name == name) return e.value;
  FAIL("no event " << name);
  return 0;
}

double value_of(const std::vector<Metric>& metrics, std::string_view name) {
  for (const auto& m : metrics)
    if (m.name == name) return m.value;
  FAIL("no metric " << name);
  return 0;
}

bool has_note(const Measurement& m, std::string_view part) {
  for (const auto& n : m.notes)
    if (n.find(part) != std::string::npos) return true;
  return false;
}

}  // namespace

TEST_SUITE("pure") {
  TEST_CASE("wild: every collected recording imports, except the damaged ones, which name a line") {
    const char* imports[] = {"001.txt",  "002.txt",  "003.txt",  "004.txt",  "005.txt", "006.txt",
                             "008.txt",  "009.txt",  "010.txt",  "011.txt",  "012.csv", "013.csv",
                             "014.txt",  "015.txt",  "016.txt",  "017.json", "018.csv", "019.json",
                             "020.csv",  "021.json", "022.txt",  "023.txt",  "024.txt", "025.txt",
                             "026.txt",  "027.txt",  "028.txt",  "029.txt",  "030.txt", "031.txt",
                             "032.txt",  "033.txt",  "034.txt",  "035.txt",  "036.txt", "037.txt",
                             "038.txt",  "039.json", "040.csv",  "041.csv",  "042.csv", "043.txt",
                             "044.txt",  "045.txt",  "046.json", "047.json", "049.csv", "050.csv",
                             "051.json", "053.txt",  "055.txt",  "056.txt",  "057.txt", "059.txt",
                             "060.txt",  "061.txt",  "062.txt",  "063.txt",  "064.txt", "065.txt",
                             "066.txt",  "067.txt",  "068.txt",  "069.txt",  "070.csv", "071.txt",
                             "072.json", "073.csv",  "074.csv",  "075.txt",  "076.txt"};
    for (const char* name : imports) {
      CAPTURE(name);
      CHECK_NOTHROW(load(name));
    }
    // A script's lines between perf's, perf 2.6.31's event names with spaces, and perf's own
    // broken JSON are refused where they start; lenient keeps the rest.
    CHECK(error_of("007.txt").starts_with("007.txt:6: expected a counter row"));
    CHECK(error_of("052.txt").starts_with("052.txt:8: expected a counter row"));
    CHECK(error_of("054.txt").starts_with("054.txt:10: expected a counter row"));
    CHECK(error_of("058.txt").starts_with("058.txt:6: expected '<count> [unit] <event>'"));
    CHECK(error_of("048.json").starts_with("048.json:1: expected one JSON object per line"));
    auto r = load("054.txt", true);
    CHECK(r.skipped.size() == 2);  // the two "Rate of work" lines between intervals
    CHECK(value_of(r.measurement.intervals.front().events, "PM_EXEC_STALL") == 3004031488);
  }

  TEST_CASE("wild: aggregation modes keep perf's counts") {
    auto per_core = load("001.txt").measurement;
    CHECK(value_of(per_core.events, "S0-D0-C20/cpu_core/cycles/") == 2958461);
    CHECK(per_core.duration_s == 1.003597211);
    auto socket = load("004.txt").measurement;
    CHECK(value_of(socket.events, "S0/data_read") == 2484.96);
    auto instances = load("005.txt").measurement;
    CHECK(value_of(instances.events, "CPU0/uncore_imc_free_running_1/data_read/") == 1337.06);
    auto node = load("031.txt").measurement;
    CHECK(value_of(node.events, "N5/UNC_M_CLOCKTICKS") == 6421842618);
    auto die = load("068.txt").measurement;
    REQUIRE(die.intervals.size() == 5);
    CHECK(value_of(die.intervals.back().events, "S1-D1/llc_misses.mem_read") == 978432);
  }

  TEST_CASE("wild: a legacy --topdown table wrapped by a mailer keeps each core's values") {
    // 006.txt: perf 5.5 `--topdown -a` per core, header and rows wrapped after the second column.
    auto m = load("006.txt").measurement;
    CHECK(value_of(m.reported, "S0-D0-C0/tma_retiring") == doctest::Approx(0.249));
    CHECK(value_of(m.reported, "S0-D0-C0/tma_bad_speculation") == doctest::Approx(0.011));
    CHECK(value_of(m.reported, "S0-D0-C0/tma_frontend_bound") == doctest::Approx(0.161));
    CHECK(value_of(m.reported, "S0-D0-C0/tma_backend_bound") == doctest::Approx(0.579));
    CHECK(value_of(m.reported, "S1-D0-C7/tma_retiring") == doctest::Approx(0.236));
    CHECK(value_of(m.reported, "S1-D0-C7/tma_bad_speculation") == doctest::Approx(0.043));
    CHECK(value_of(m.reported, "S1-D0-C7/tma_frontend_bound") == doctest::Approx(0.172));
    CHECK(value_of(m.reported, "S1-D0-C7/tma_backend_bound") == doctest::Approx(0.550));
    CHECK(m.reported.size() == 16 * 4);
    CHECK(m.duration_s == 13.341823591);
    CHECK(has_note(m, "wrapped"));
  }

  TEST_CASE("wild: a legacy --topdown -x, table keeps each core's values, blanks left out") {
    // 070.csv:2 "S0-C0,1,151.0,3.9,26.0,," under the header of 070.csv:1: percentages without
    // '%', backend bound blank.
    auto m = load("070.csv").measurement;
    CHECK(m.events.empty());
    CHECK(value_of(m.reported, "S0-C0/tma_retiring") == doctest::Approx(1.510));
    CHECK(value_of(m.reported, "S0-C0/tma_bad_speculation") == doctest::Approx(0.039));
    CHECK(value_of(m.reported, "S0-C0/tma_frontend_bound") == doctest::Approx(0.260));
    CHECK(m.reported.size() == 3);
    // A row with more values than the header has columns is refused where it is.
    std::string wide = "core,cpus,retiring,bad speculation\nS0-C0,1,10.0,3.9,26.0,4.0,\n";
    try {
      import_perf_stat(wide, "wide.csv");
      FAIL("accepted");
    } catch (const ImportError& e) {
      CHECK(std::string(e.what()).starts_with("wide.csv:2: expected one value per column"));
    }
  }

  TEST_CASE("wild: an event counted in several groups keeps each group's count and its group") {
    // 064.txt: four groups, told apart by their running times (50.01 %, 50.00 %, 49.99 %,
    // 75.00 %), each with its ls_not_halted_cyc; each metric perf printed is in the group of its
    // row.
    auto m = load("064.txt").measurement;
    std::vector<std::pair<double, int>> cycles;
    for (const auto& e : m.events)
      if (e.name == "ls_not_halted_cyc") cycles.push_back({e.value, e.group.value_or(-1)});
    CHECK(cycles == std::vector<std::pair<double, int>>{
                        {29557874567, 0}, {29522675914, 1}, {29508518726, 2}, {29528187809, 3}});
    auto group_of = [&](std::string_view name) {
      for (const auto& r : m.reported)
        if (r.name == name) return r.group.value_or(-1);
      return -2;
    };
    CHECK(group_of("tma_bad_speculation") == 0);
    CHECK(group_of("tma_retiring") == 0);
    CHECK(group_of("smt_contention") == 1);
    CHECK(group_of("tma_frontend_bound") == 2);
    CHECK(group_of("tma_backend_bound") == 3);
    // 061.txt: a repeated event starts a group too; a recording without repeats has no groups.
    auto skl = load("061.txt").measurement;
    for (const auto& r : skl.reported)
      if (r.name == "slots") CHECK(r.group == 5);
    for (const auto& e : load("024.txt").measurement.events) CHECK_FALSE(e.group.has_value());
  }

  TEST_CASE("wild: hybrid TopdownL1 is kept per PMU in text, CSV and JSON") {
    auto text = load("038.txt").measurement;
    CHECK(value_of(text.reported, "cpu_atom/tma_frontend_bound") == doctest::Approx(0.411));
    CHECK(value_of(text.reported, "cpu_core/tma_bad_speculation") == 0);
    CHECK(value_of(text.reported, "cpu_atom/ipc") == 5.97);
    CHECK(value_of(text.reported, "cpu_core/ipc") == 0.71);
    CHECK(has_note(text, "perf printed nan for cpu_core/tma_backend_bound"));
    auto csv = load("040.csv").measurement;
    CHECK(value_of(csv.reported, "cpu_atom/tma_frontend_bound") == doctest::Approx(0.413));
    CHECK(value_of(csv.reported, "cpu_atom/tma_retiring") == doctest::Approx(0.054));
    // ",,,,,,%  tma_retiring": -x prints a nan, inf or negative value as an empty field
    // (stat-display.c print_metric_csv keeps only the leading digits and '.'), so the import
    // does not say which: no reported[] value and a note, not "nan". (038.txt, the same run as
    // text, shows "nan %" for these three.) The 0.0 % printed beside them is kept.
    CHECK(value_of(csv.reported, "cpu_core/tma_bad_speculation") == 0);
    for (const char* name :
         {"cpu_core/tma_backend_bound", "cpu_core/tma_frontend_bound", "cpu_core/tma_retiring"}) {
      CAPTURE(name);
      for (const auto& r : csv.reported) CHECK(r.name != name);
      CHECK(has_note(csv, std::string("perf's -x printed no value for ") + name + ":"));
      CHECK(has_note(text, std::string("perf printed nan for ") + name));
      CHECK_FALSE(has_note(csv, std::string("perf printed nan for ") + name));
    }
    auto json = load("039.json").measurement;
    CHECK(value_of(json.reported, "cpu_atom/tma_backend_bound") == doctest::Approx(0.39327764));
    CHECK(has_note(json, "perf printed nan for cpu_core/tma_frontend_bound"));
    auto perf619 = load("003.txt").measurement;
    CHECK(value_of(perf619.reported, "cpu_core/tma_backend_bound") == doctest::Approx(0.373));
    CHECK(value_of(perf619.reported, "cpu_core/ipc") == 2.3);
    CHECK(value_of(perf619.reported, "cpus_utilized") == 28.0);
  }

  TEST_CASE("wild: trimmed recordings import and say the elapsed time is absent") {
    for (const char* name : {"011.txt", "016.txt", "036.txt", "037.txt", "064.txt"}) {
      CAPTURE(name);
      auto m = load(name).measurement;
      CHECK(m.duration_s == 0);
      CHECK(has_note(m, "elapsed time is absent"));
    }
    auto m = load("011.txt").measurement;
    CHECK(value_of(m.events, "S0-D0-C0/power/energy-pkg/") == 2.09);
  }

  TEST_CASE("wild: quoted, prompted, wrapped and interrupted recordings") {
    auto quoted = load("034.txt").measurement;
    CHECK(value_of(quoted.events, "armv8_pmuv3_0/cycles/") == 965175);
    CHECK(has_note(quoted, "quote marks"));
    auto energy = load("043.txt").measurement;
    CHECK(value_of(energy.events, "power/energy-pkg/") == 178.64);
    CHECK(value_of(energy.events, "power/energy-ram/") == 6.39);
    CHECK(energy.duration_s == 10.003550180);
    auto interrupted = load("032.txt").measurement;
    CHECK(value_of(interrupted.events, "hv_24x7/pm_pb_cyc,chip=0/") == 25436820);
    CHECK(has_note(interrupted, "interrupted"));
    auto nmi = load("010.txt").measurement;
    CHECK(value_of(nmi.events, "S0-D0-C0/power/energy-pkg/") == 3.73);
    auto threshold = load("042.csv").measurement;
    CHECK(value_of(threshold.intervals.front().reported, "tma_frontend_bound") ==
          doctest::Approx(0.51));
    auto metric_only = load("046.json").measurement;
    CHECK(value_of(metric_only.reported, "S0/ghz") == 0.817);
  }

  TEST_CASE("wild: an -I recording pasted from the middle of a run has intervals of one step") {
    // 069.txt:1 is the prompt "# perf stat -a -d -d -d -I 1000" (a step of 1000 ms); its one
    // interval ends at t = 123.100852112 s (069.txt:3), with cpu-clock 8008.478891 msec.
    auto m = load("069.txt").measurement;
    REQUIRE(m.intervals.size() == 1);
    CHECK(m.intervals[0].time_s == 123.100852112);
    CHECK(m.intervals[0].duration_s == 1.0);
    CHECK(m.duration_s == doctest::Approx(1.0));
    CHECK(has_note(m, "the recording starts at t = 123.100852112 s"));
    // CPUs utilized: 8008.478891 ms of cpu-clock in a 1000 ms interval, not in 123.1 s.
    CHECK(value_of(derive_metrics(m.events, m.duration_s), "cpus_utilized") ==
          doctest::Approx(8008.478891 / 1000));
    CHECK(value_of(derive_metrics(m.intervals[0].events, m.intervals[0].duration_s),
                   "cpus_utilized") == doctest::Approx(8008.478891 / 1000));
    // A recording from perf's start keeps its first interval's own length (053.txt:3, the
    // first interval ends at 1.000520165 s).
    auto from_start = load("053.txt").measurement;
    CHECK(from_start.intervals.front().duration_s == doctest::Approx(1.000520165));
    CHECK_FALSE(has_note(from_start, "the recording starts at"));
  }

  TEST_CASE("wild: an -I recording whose first row is merely late starts at perf's start") {
    // The first timestamp of every -I recording from perf's start, as perf printed it: each
    // ends the first interval (no earlier one fits before two periods), however late.
    struct First {
      const char* file;
      double time_s;
    };
    for (First f : {First{"032.txt", 1.000054545}, First{"033.txt", 1.000101867},
                    First{"042.csv", 1.000103288}, First{"051.json", 1.001089747},
                    First{"052.txt", 1.001101062}, First{"053.txt", 1.000520165},
                    First{"054.txt", 1.029206442}, First{"056.txt", 1.000107281},
                    First{"068.txt", 1.001586691}, First{"071.txt", 1.005818121}}) {
      CAPTURE(f.file);
      auto m = load(f.file, true).measurement;
      REQUIRE_FALSE(m.intervals.empty());
      CHECK(m.intervals.front().time_s == f.time_s);
      CHECK(m.intervals.front().duration_s == doctest::Approx(f.time_s));
      CHECK_FALSE(has_note(m, "the recording starts at"));
    }
    // Hand-made shape (no real recording has it): 053.txt's rows at -I 100, its first row
    // 65 ms late (053.txt's worst delay, 9.326 s after 8.230 s less 1 s): 1.65 periods.
    std::string late =
        "$ perf stat -I 100 -a -e skb:kfree_skb -- sleep 1\n"
        "     0.165000000             10,108      skb:kfree_skb\n"
        "     0.266000000             11,178      skb:kfree_skb\n"
        "     0.367000000             10,770      skb:kfree_skb\n";
    auto m = import_perf_stat(late, "late.txt").measurement;
    REQUIRE(m.intervals.size() == 3);
    CHECK(m.intervals[0].duration_s == doctest::Approx(0.165));
    CHECK_FALSE(has_note(m, "the recording starts at"));
    CHECK(m.duration_s == doctest::Approx(0.367));
  }

  TEST_CASE("wild: an -I -D recording of perf before 6.2 has its delay in its timestamps") {
    // Hand-made shape: 053.txt's first rows as perf 4.x-6.1 printed them with -D 1000, which
    // took the timestamps' origin before sleeping the delay (__run_perf_stat read ref_time,
    // then enable_counters() slept): every timestamp one second later, the first at 2.000520165
    // s, two periods, yet perf's first interval of one period.
    std::string delayed =
        "$ perf stat -I 1000 -D 1000 -a -e skb:kfree_skb -- sleep 10\n"
        "#           time             counts unit events\n"
        "     2.000520165             10,108      skb:kfree_skb\n"
        "     3.010494526             11,178      skb:kfree_skb\n"
        "     4.075503743             10,770      skb:kfree_skb\n";
    auto m = import_perf_stat(delayed, "delayed.txt").measurement;
    REQUIRE(m.intervals.size() == 3);
    CHECK(m.intervals[0].duration_s == doctest::Approx(1.000520165));
    CHECK(m.intervals[1].duration_s == doctest::Approx(1.009974361));
    CHECK_FALSE(has_note(m, "the recording starts at"));
    // The counters ran from the end of the delay.
    CHECK(m.duration_s == doctest::Approx(3.075503743));
    // -D 500: perf before 6.2 printed its first row at 1.5 s, one period after the delay; perf
    // 6.2+ (the delay not in its timestamps) at 1.0 s. Both are intervals of one period.
    for (const char* first : {"1.500520165", "1.000520165"}) {
      CAPTURE(first);
      std::string half = delayed;
      half.replace(half.find("-D 1000"), 7, "-D 500");
      half.replace(half.find("2.000520165"), 11, first);
      auto h = import_perf_stat(half, "half.txt").measurement;
      REQUIRE(h.intervals.size() == 3);
      CHECK(h.intervals[0].duration_s == doctest::Approx(1.000520165));
      CHECK_FALSE(has_note(h, "the recording starts at"));
    }
    // Past delay + two periods the recording was still taken from the middle of a run.
    std::string pasted = delayed;
    pasted.replace(pasted.find("2.000520165"), 11, "3.000520165");
    CHECK(has_note(import_perf_stat(pasted, "pasted.txt").measurement,
                   "the recording starts at t = 3.000520165 s"));
  }

  TEST_CASE("wild: the -I step comes from the prompt above the rows, never from one below") {
    // perf prints none of its options: the prompt is the author's, above perf's output.
    for (const char* file :
         {"032.txt", "033.txt", "053.txt", "054.txt", "056.txt", "068.txt", "069.txt", "071.txt"}) {
      CAPTURE(file);
      auto step = perfstat::interval_step_of(test::read_file(wild(file)), PerfStatFormat::text);
      REQUIRE(step.step_s);
      CHECK(*step.step_s == 1.0);  // each prompt's -I 1000 (INDEX.md)
      CHECK(step.period_s == step.step_s);
    }
    // Hand-made shape: 052.txt (no prompt; perf 5.8's gaps of 1.0019 s) followed by another
    // run's prompt: that -I 500 is not 052.txt's step.
    std::string text = test::read_file(wild("052.txt")) + "$ perf stat -I 500 -a -- sleep 5\n";
    auto step = perfstat::interval_step_of(text, PerfStatFormat::text);
    REQUIRE(step.step_s);
    CHECK(*step.step_s > 1.0);
    CHECK(*step.step_s < 1.01);
    CHECK(step.period_s == 1.0);
  }

  TEST_CASE("wild: a recording without timestamps is read for its step no further than its head") {
    for (const char* file : {"022.txt", "018.csv", "072.json"}) {
      CAPTURE(file);
      std::string text = test::read_file(wild(file));
      auto format = detect_format(text);
      auto step = perfstat::interval_step_of(text, format);
      CHECK_FALSE(step.step_s);
      CHECK_FALSE(step.period_s);
    }
    // Hand-made shape: 022.txt's rows repeated past the head, then a prompt with -I: a whole
    // scan would take its 100 ms; the head scan stops before it.
    std::string rows = test::read_file(wild("022.txt"));
    std::string text;
    while (text.size() <= perfstat::kStepHeadBytes) text += rows;
    auto step = perfstat::interval_step_of(text + "$ perf stat -I 100 -a\n", PerfStatFormat::text);
    CHECK_FALSE(step.step_s);
    // Within the head, lines before the first row are passed over as before: 100 kB of a
    // workload's lines then 053.txt keep its prompt's step.
    std::string chatty;
    while (chatty.size() < 100000) chatty += "Rate of work: = 176\n";
    step =
        perfstat::interval_step_of(chatty + test::read_file(wild("053.txt")), PerfStatFormat::text);
    REQUIRE(step.step_s);
    CHECK(*step.step_s == 1.0);
  }

  TEST_CASE("wild: a printed perf stat command gives its -I and -D") {
    auto both = perfstat::printed_command_of("$ perf stat -a -D 200 -I 500 -- sleep 5");
    CHECK(both.interval_s == 0.5);
    CHECK(both.delay_s == 0.2);
    auto glued = perfstat::printed_command_of("# ./perf stat -I100 --delay=1000 -a");
    CHECK(glued.interval_s == 0.1);
    CHECK(glued.delay_s == 1.0);
    auto spelled = perfstat::printed_command_of("perf stat --interval-print 250 --delay 30 ls");
    CHECK(spelled.interval_s == 0.25);
    CHECK(spelled.delay_s == doctest::Approx(0.03));
    auto workload = perfstat::printed_command_of("perf stat -a -- ./app -I 5 -D 7");
    CHECK_FALSE(workload.interval_s);
    CHECK(workload.delay_s == 0);
    CHECK_FALSE(
        perfstat::printed_command_of("Performance counter stats for 'sleep 1':").interval_s);
  }

  TEST_CASE("wild: a printed command's options end where perf's parse_options ends them") {
    // perf stat stops reading options at the first word that is neither an option nor an
    // option's value: what follows is the command it runs, with or without `--`.
    auto after_workload = perfstat::printed_command_of("$ perf stat -e cycles ./bench -I 5 -D 7");
    CHECK_FALSE(after_workload.interval_s);
    CHECK(after_workload.delay_s == 0);
    auto taskset = perfstat::printed_command_of("$ perf stat  --topdown -a  taskset -c 0 -I 9");
    CHECK_FALSE(taskset.interval_s);
    // An option's value is not the command: -r 5, -C 0, -x, and a quoted event list.
    auto values = perfstat::printed_command_of("perf stat -r 5 -C 0 -x , -D 100 -I 200 sleep 1");
    CHECK(values.interval_s == 0.2);
    CHECK(values.delay_s == doctest::Approx(0.1));
    auto quoted =
        perfstat::printed_command_of("# perf stat -e '{cycles, instructions}' -I 1000 -a");
    CHECK(quoted.interval_s == 1.0);
    // wild/033.txt's prompt.
    auto wild_033 =
        perfstat::printed_command_of("command:# ./perf stat  -M PowerBUS_Frequency -C 0 -I 1000");
    CHECK(wild_033.interval_s == 1.0);
    // A cluster of short flags, the last taking the rest of the word or the next one.
    CHECK(perfstat::printed_command_of("perf stat -aI 250 sleep 1").interval_s == 0.25);
    CHECK(perfstat::printed_command_of("perf stat -aAI250 sleep 1").interval_s == 0.25);
    auto longs = perfstat::printed_command_of(
        "perf stat --repeat 3 --interval-count 2 --interval-print=50 taskset -c 0 ./a --delay 9");
    CHECK(longs.interval_s == 0.05);
    CHECK(longs.delay_s == 0);
    // A value too large for a double is no period (stod threw out_of_range on it).
    CHECK_FALSE(perfstat::printed_command_of("perf stat -I " + std::string(400, '9')).interval_s);
  }

  TEST_CASE("wild: a --per-thread -I recording keeps each thread's counts per interval") {
    // 071.txt:2,4,6,8: perf-8633's cycles 9,898,045 and instructions 693,298 (0.07 insn per
    // cycle) at 1.005818121 s, then 1,551,619 and 1,317,514 (0.85) at 2.007863743 s.
    auto m = load("071.txt").measurement;
    REQUIRE(m.intervals.size() == 2);
    const auto& first = m.intervals[0];
    const auto& second = m.intervals[1];
    CHECK(first.time_s == 1.005818121);
    CHECK(second.time_s == 2.007863743);
    CHECK(value_of(first.events, "perf-8633/cycles") == 9898045);
    CHECK(value_of(first.events, "perf-8633/instructions") == 693298);
    CHECK(value_of(second.events, "perf-8633/cycles") == 1551619);
    CHECK(value_of(second.events, "perf-8633/instructions") == 1317514);
    CHECK(value_of(first.reported, "perf-8633/ipc") == doctest::Approx(0.07));
    CHECK(value_of(second.reported, "perf-8633/ipc") == doctest::Approx(0.85));
    // The thread's rows add up to the interval's total, and the run's is the two intervals'.
    CHECK(value_of(second.events, "cycles") == 1551619);
    CHECK(value_of(m.events, "instructions") == 693298 + 1317514);
    // perf's 0.85 is the thread's instructions over its cycles in that interval.
    CHECK(value_of(derive_metrics(second.events, second.duration_s), "ipc") ==
          doctest::Approx(1317514.0 / 1551619).epsilon(0.001));
    CHECK(std::abs(1317514.0 / 1551619 - 0.85) < 0.005);
  }

  TEST_CASE("wild: a --per-thread -j recording keeps each thread's counts and perf's metrics") {
    // 072.json (perf 6.2-rc5, `perf stat -j --per-thread -a true`): one record per thread and
    // event, a blank line after each; thread names with '/' and ':' in the comm
    // ("ksoftirqd/1-22", "kworker/1:2-events-752") and a comm ending in '-'
    // ("gnome-terminal--2977").
    auto m = load("072.json").measurement;
    // line 21: perf-62294 cycles 36686750 (3.903413 GHz); line 27: instructions 7905940
    // (0.215499 insn per cycle); line 5: cpu-clock 9.398635 msec (0.900916 CPUs utilized).
    CHECK(value_of(m.events, "perf-62294/cycles") == 36686750);
    CHECK(value_of(m.events, "perf-62294/instructions") == 7905940);
    CHECK(value_of(m.events, "perf-62294/cpu-clock") == 9.398635);  // msec, as printed
    CHECK(value_of(m.reported, "perf-62294/ipc") == doctest::Approx(0.215499));
    CHECK(value_of(m.reported, "perf-62294/cpus_utilized") == doctest::Approx(0.900916));
    // line 19: ksoftirqd/1-22 cycles 23883 without a metric; line 25: its instructions 13360
    // (0.559394 insn per cycle), which is 13360 / 23883.
    CHECK(value_of(m.events, "ksoftirqd/1-22/cycles") == 23883);
    CHECK(value_of(m.events, "ksoftirqd/1-22/instructions") == 13360);
    CHECK(value_of(m.reported, "ksoftirqd/1-22/ipc") == doctest::Approx(0.559394));
    CHECK(std::abs(13360.0 / 23883 - 0.559394) < 1e-6);
    // line 39: kworker/1:2-events-752 branch-misses 121; line 9: gnome-terminal--2977
    // context-switches 1.
    CHECK(value_of(m.events, "kworker/1:2-events-752/branch-misses") == 121);
    CHECK(value_of(m.events, "gnome-terminal--2977/context-switches") == 1);
    // The threads' rows add up to the run's: cycles of lines 17, 19 and 21.
    CHECK(value_of(m.events, "cycles") == 41498 + 23883 + 36686750);
    CHECK(value_of(m.events, "branch-misses") == 279 + 153 + 121 + 52693);
  }

  TEST_CASE("wild: a --per-thread -x, recording of a hybrid's cpu_core events keeps each thread") {
    // 073.csv (perf 6.8.12, `perf stat --per-thread -p PID -x, -e
    // cpu_core/cycles/,cpu_core/instructions/,task-clock`): comm-tid first, comms with '-'
    // ("writer-0-3515547"), `# started on` and a blank line before the rows.
    auto m = load("073.csv").measurement;
    // line 4: writer-0-3515547 cpu_core/cycles/ 8271740307 (4.889 GHz); line 7: its
    // instructions 6378556346; line 10: task-clock 1692.07 msec (0.605 CPUs utilized).
    CHECK(value_of(m.events, "writer-0-3515547/cpu_core/cycles/") == 8271740307);
    CHECK(value_of(m.events, "writer-0-3515547/cpu_core/instructions/") == 6378556346);
    CHECK(value_of(m.events, "writer-0-3515547/task-clock") == 1692.07);  // msec
    CHECK(value_of(m.reported, "writer-0-3515547/cpu_core/ghz") == doctest::Approx(4.889));
    CHECK(value_of(m.reported, "writer-0-3515547/cpus_utilized") == doctest::Approx(0.605));
    // perf's 4.889 GHz is the thread's cycles over its task-clock.
    CHECK(std::abs(8271740307.0 / 1692.07e6 - 4.889) < 0.0005);
    // line 3: the main thread perthread-3515545, 8054099575 cycles.
    CHECK(value_of(m.events, "perthread-3515545/cpu_core/cycles/") == 8054099575);
    CHECK(value_of(m.events, "cpu_core/cycles/") == 8054099575.0 + 8271740307 + 8271632107);
    // 074.csv: the same program, four threads' cycles and no metric column values.
    auto late = load("074.csv").measurement;
    CHECK(value_of(late.events, "late-0-3515585/cpu_core/cycles/") == 4951107719);
    CHECK(value_of(late.events, "perthread-3515568/cpu_core/cycles/") == 15393);
    CHECK(late.reported.empty());
  }

  TEST_CASE("wild: an Arm big.LITTLE perf -v recording keeps the core type that did not count") {
    // 075.txt (Linux 6.7-rc2 perf, RK3399 Cortex-A53 + A72, `taskset -c 5,6 perf stat -v`):
    // line 10 `<not counted>` armv8_cortex_a53/cpu_cycles/ with (0.00%), line 11 the A72's
    // 2488961, line 13 0.003449266 s; -v's "name: count enabled running" lines 5-6 before.
    auto big = load("075.txt").measurement;
    const EventCount* a53 = nullptr;
    for (const auto& e : big.events)
      if (e.name == "armv8_cortex_a53/cpu_cycles/") a53 = &e;
    REQUIRE(a53 != nullptr);
    CHECK(a53->status == EventStatus::not_counted);
    CHECK(value_of(big.events, "armv8_cortex_a72/cpu_cycles/") == 2488961);
    CHECK(big.duration_s == 0.003449266);
    CHECK(big.user_s == 0.003502);
    // "Using CPUID 0x00000000410fd034": implementer 0x41, part 0xd03 (Cortex-A53).
    CHECK(big.machine.family == 0x41);
    CHECK(big.machine.model == 0xd03);
    // 076.txt: pinned to the little cores, the A72 is the one not counted (line 11).
    auto little = load("076.txt").measurement;
    CHECK(value_of(little.events, "armv8_cortex_a53/cpu_cycles/") == 2986601);
    for (const auto& e : little.events)
      if (e.name == "armv8_cortex_a72/cpu_cycles/") CHECK(e.status == EventStatus::not_counted);
    CHECK(little.duration_s == 0.011434508);
  }

  TEST_CASE("wild: perf's power/energy-* totals are the document's energy[]") {
    auto joules_of = [](const Measurement& m, std::string_view domain) {
      for (const auto& e : m.energy)
        if (e.domain == domain) {
          CHECK(e.method == "measured:rapl");
          return e.joules;
        }
      FAIL("no energy of " << domain);
      return 0.0;
    };
    // 008.txt:3-7: 3.59 J energy-cores, 8.18 J energy-ram, 1.63 J energy-gpu, 12.74 J
    // energy-pkg, 51.10 J energy-psys.
    auto laptop = load("008.txt").measurement;
    CHECK(laptop.energy.size() == 5);
    CHECK(joules_of(laptop, "core") == 3.59);
    CHECK(joules_of(laptop, "dram") == 8.18);
    CHECK(joules_of(laptop, "gpu") == 1.63);
    CHECK(joules_of(laptop, "package") == 12.74);
    CHECK(joules_of(laptop, "psys") == 51.10);
    auto laptop_basis = energy_basis(laptop.energy);
    REQUIRE(laptop_basis);
    CHECK(laptop_basis->joules == 51.10);  // psys covers the platform
    // 043.txt:12-15 (names wrapped onto the next line): 178.64 J energy-pkg, 6.39 J energy-ram
    // over 10.003550180 s (043.txt:17).
    auto server = load("043.txt").measurement;
    CHECK(joules_of(server, "package") == 178.64);
    CHECK(joules_of(server, "dram") == 6.39);
    for (const auto& e : server.energy)
      if (e.domain == "package") CHECK(e.average_watts == doctest::Approx(178.64 / 10.003550180));
    auto server_basis = energy_basis(server.energy);
    REQUIRE(server_basis);
    CHECK(server_basis->joules == doctest::Approx(178.64 + 6.39));
    // A trimmed recording (011.txt, no elapsed line) has no time to give watts: no energy[].
    CHECK(load("011.txt").measurement.energy.empty());
  }

  TEST_CASE("wild: a JSON file that is not a perf stat recording is refused") {
    try {
      import_perf_stat("{\"a\":1}\n", "a.json");
      FAIL("accepted");
    } catch (const ImportError& e) {
      CHECK(std::string(e.what()).starts_with("a.json:1: expected a perf stat -j record"));
    }
  }
}
