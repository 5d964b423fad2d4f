// Recordings made with perf 6.1 on the project's VM (tests/data/perfstat/local, commands in its
// README): forms an audit of the import found read wrong. Every value checked is one perf printed
// in the file, or arithmetic on them.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <string>

#include <fmt/format.h>

#include "events/perfstat/import_perfstat.h"
#include "events/perfstat/import_perfstat_common.h"
#include "test_support.h"

using namespace pmc;

namespace {

std::string local(const std::string& name) {
  return std::string(PMC_TEST_DATA) + "/perfstat/local/" + name;
}

Measurement load_text(const std::string& text, const std::string& name) {
  return import_perf_stat(text, name, ImportOptions{}).measurement;
}

Measurement load(const std::string& name) {
  return load_text(test::read_file(local(name)), name);
}

const EventCount* find(const std::vector<EventCount>& events, std::string_view name) {
  auto it = std::find_if(events.begin(), events.end(),
                         [&](const EventCount& e) { return e.name == name; });
  return it == events.end() ? nullptr : &*it;
}

bool any_note(const Measurement& m, std::string_view part) {
  return std::any_of(m.notes.begin(), m.notes.end(),
                     [&](const std::string& n) { return n.find(part) != std::string::npos; });
}

}  // namespace

TEST_SUITE("pure") {
  TEST_CASE("local: a -x -I '<not counted>' row with a unit is not read as a count of its time") {
    // "0.200453349,<not counted>,msec,task-clock,0,100.00,,": the timestamp is not the count.
    auto m = load("nc_interval.csv");
    REQUIRE(m.intervals.size() == 3);
    const auto& second = m.intervals[1].events;
    REQUIRE(second.size() == 2);
    REQUIRE(find(second, "task-clock") != nullptr);
    CHECK(find(second, "task-clock")->status == EventStatus::not_counted);
    REQUIRE(find(second, "page-faults") != nullptr);
    CHECK(find(second, "page-faults")->status == EventStatus::not_counted);
    CHECK(find(m.events, "msec") == nullptr);
    // The run: the sums of the counted intervals, 0.78 + 0.06 msec and 75 + 0 page faults.
    REQUIRE(find(m.events, "task-clock") != nullptr);
    CHECK(find(m.events, "task-clock")->value == doctest::Approx(0.84));
    REQUIRE(find(m.events, "page-faults") != nullptr);
    CHECK(find(m.events, "page-faults")->value == 75);
  }

  TEST_CASE("local: <not counted> intervals of a sleeping command are no multiplexing of the run") {
    // perf printed no percentage on any row: every counter ran whenever it was enabled, and the
    // <not counted> intervals are those the command spent asleep.
    for (const char* name : {"nc_interval.txt", "nc_interval.csv"}) {
      CAPTURE(name);
      auto m = load(name);
      for (const char* event : {"task-clock", "page-faults"}) {
        const EventCount* e = find(m.events, event);
        REQUIRE(e != nullptr);
        CHECK(e->status == EventStatus::counted);
        CHECK(e->running_fraction() == 1.0);
      }
      CHECK(find(m.events, "task-clock")->value == doctest::Approx(0.84));
      // A <not counted> row never ran, whatever percentage perf printed beside it.
      for (const auto& e : m.intervals[1].events) CHECK(e.time_running_ns == 0);
    }
  }

  TEST_CASE("local: a --per-thread thread that never ran is no multiplexing of the total") {
    // python3-27412, the main thread, waited in join: perf printed <not counted> for it and no
    // percentage on any row, so every counter ran whenever its thread did. The total is the two
    // spinning threads' sum and ran all of its time, as perf's rows say.
    struct Case {
      const char* name;
      double task_clock_ms;  // the counted threads' task-clock, as printed, summed by hand
      double switches;
    };
    for (const Case& c : {Case{"per_thread.txt", 229.57 + 225.40, 204 + 203},
                          Case{"per_thread.csv", 249.41 + 240.47, 237 + 236}}) {
      CAPTURE(c.name);
      auto m = load(c.name);
      const EventCount* idle = find(m.events, "python3-27412/task-clock");
      REQUIRE(idle != nullptr);
      CHECK(idle->status == EventStatus::not_counted);
      const EventCount* clock = find(m.events, "task-clock");
      const EventCount* switches = find(m.events, "context-switches");
      REQUIRE(clock != nullptr);
      REQUIRE(switches != nullptr);
      CHECK(clock->value == doctest::Approx(c.task_clock_ms));
      CHECK(switches->value == c.switches);
      CHECK(clock->running_fraction() == 1.0);
      CHECK(switches->running_fraction() == 1.0);
    }
  }

  TEST_CASE(
      "local: runs appended to one file by perf stat --append are refused where the second "
      "starts") {
    // append.txt, .csv and .json: `perf stat --append -o FILE` of sleep 0.1 then sleep 0.2. Read
    // as one, the two runs were one measurement, its events in two groups and its times the last
    // run's. The second run starts at its "# started on" line.
    const std::string why = "a second perf stat run starts here";
    ImportOptions lenient;
    lenient.lenient = true;
    for (const char* name : {"append.txt", "append.csv", "append.json"}) {
      CAPTURE(name);
      std::string text = test::read_file(local(name));
      size_t second = text.find("# started on", 1);
      REQUIRE(second != std::string::npos);
      auto line = size_t(std::count(text.begin(), text.begin() + std::ptrdiff_t(second), '\n')) + 1;
      std::string at = fmt::format("{}:{}: {}", name, line, why);
      for (const auto& options : {ImportOptions{}, lenient}) {
        CAPTURE(options.lenient);
        try {
          import_perf_stat(text, name, options);
          FAIL("imported");
        } catch (const ImportError& e) {
          CHECK(std::string(e.what()).starts_with(at));
        }
      }
      // One run alone, the file up to the second, imports as before.
      auto m = load_text(text.substr(0, second), name);
      CHECK(m.events.size() == 2);
    }
    // Text captured from stderr has no "# started on": its second header is where the run starts.
    std::string text = test::read_file(local("append.txt"));
    std::string stderr_text;
    for (size_t from = 0; from < text.size();) {
      size_t end = text.find('\n', from) + 1;
      std::string_view line(text.data() + from, end - from);
      if (!line.starts_with("# started on")) stderr_text += line;
      from = end;
    }
    size_t header =
        stderr_text.find("Performance counter stats", stderr_text.find("Performance") + 1);
    auto line = size_t(std::count(stderr_text.begin(), stderr_text.begin() + std::ptrdiff_t(header),
                                  '\n')) +
                1;
    try {
      import_perf_stat(stderr_text, "append.txt", ImportOptions{});
      FAIL("imported");
    } catch (const ImportError& e) {
      CHECK(std::string(e.what()).starts_with(fmt::format("append.txt:{}: {}", line, why)));
    }
  }

  TEST_CASE("local: perf stat -G rows keep their counts under the cgroup perf printed") {
    // perf prints the cgroup as -G named it ("audgrp", no '/') after the event name padded to
    // its column; -x prints an empty field for an event in no cgroup (-G audgrp,).
    SUBCASE("text") {
      auto m = load("cgroup.txt");
      const EventCount* clock = find(m.events, "audgrp/cpu-clock");
      REQUIRE(clock != nullptr);
      CHECK(clock->value == doctest::Approx(303.06));
      CHECK(clock->unit == "msec");
      REQUIRE(find(m.events, "audgrp/context-switches") != nullptr);
      CHECK(find(m.events, "audgrp/context-switches")->value == 271);
      REQUIRE(find(m.events, "audgrp/page-faults") != nullptr);
      CHECK(find(m.events, "audgrp/page-faults")->value == 0);
      CHECK(m.duration_s == doctest::Approx(0.305058874));
    }
    SUBCASE("text, <not counted> rows (their event padded to 25 characters)") {
      auto m = load("cgroup_not_counted.txt");
      for (const char* name : {"audgrp/cpu-clock", "audgrp/page-faults"}) {
        CAPTURE(name);
        REQUIRE(find(m.events, name) != nullptr);
        CHECK(find(m.events, name)->status == EventStatus::not_counted);
      }
    }
    SUBCASE("a cgroup that never ran is no multiplexing of the total") {
      // idlegrp had no task: perf printed <not counted> for it and no percentage on any row.
      for (const char* name : {"cgroup_idle.txt", "cgroup_idle.csv"}) {
        CAPTURE(name);
        auto m = load(name);
        REQUIRE(find(m.events, "idlegrp/cpu-clock") != nullptr);
        CHECK(find(m.events, "idlegrp/cpu-clock")->status == EventStatus::not_counted);
        const EventCount* total = find(m.events, "cpu-clock");
        REQUIRE(total != nullptr);
        CHECK(total->value == find(m.events, "audgrp/cpu-clock")->value);
        CHECK(total->running_fraction() == 1.0);
      }
    }
    SUBCASE("text -I") {
      auto m = load("cgroup_interval.txt");
      REQUIRE(m.intervals.size() == 3);
      const EventCount* clock = find(m.events, "audgrp/cpu-clock");
      REQUIRE(clock != nullptr);
      CHECK(clock->value == doctest::Approx(102.66 + 103.84 + 43.69));
      REQUIRE(find(m.intervals[2].events, "audgrp/cpu-clock") != nullptr);
      CHECK(find(m.intervals[2].events, "audgrp/cpu-clock")->value == doctest::Approx(43.69));
    }
    SUBCASE("-x with an event in no cgroup") {
      auto m = load("cgroup_mixed.csv");
      const EventCount* in_cgroup = find(m.events, "audgrp/cpu-clock");
      REQUIRE(in_cgroup != nullptr);
      CHECK(in_cgroup->value == doctest::Approx(201.47));
      // The row of no cgroup is the machine's: perf printed 409.36 msec, 2.007 CPUs utilized. It
      // is the one cpu-clock: no sum of the cgroups' rows (201.47) goes under its name too.
      auto named = std::count_if(m.events.begin(), m.events.end(),
                                 [](const EventCount& e) { return e.name == "cpu-clock"; });
      CHECK(named == 1);
      REQUIRE(find(m.events, "cpu-clock") != nullptr);
      CHECK(find(m.events, "cpu-clock")->value == 409.36);
    }
  }

  TEST_CASE(
      "local: perf's Events disabled and Events enabled lines of -D are notes in every form") {
    // -x and -j output goes to stderr, as do these two lines of -D (and --control): a recording
    // captured with 2> holds them above its rows, and --control toggles put them between rows.
    SUBCASE("-x") {
      auto m = load("delay.csv");
      REQUIRE(find(m.events, "task-clock") != nullptr);
      CHECK(find(m.events, "task-clock")->value == doctest::Approx(0.08));
      CHECK(any_note(m, "line 1: Events disabled"));
      CHECK(any_note(m, "line 2: Events enabled"));
    }
    SUBCASE("-x -I, and a toggle between intervals") {
      std::string text = test::read_file(local("delay_interval.csv"));
      size_t third = text.find("     0.251269926");
      REQUIRE(third != std::string::npos);
      text.insert(third, "Events disabled\n");
      auto m = load_text(text, "delay_interval.csv");
      CHECK(m.intervals.size() == 3);
      REQUIRE(find(m.events, "task-clock") != nullptr);
      CHECK(find(m.events, "task-clock")->value == doctest::Approx(0.08));
      CHECK(any_note(m, "line 5: Events disabled"));
    }
    SUBCASE("-j") {
      auto m = load("delay.json");
      REQUIRE(find(m.events, "task-clock") != nullptr);
      CHECK(find(m.events, "task-clock")->value == doctest::Approx(0.073119));
      CHECK(any_note(m, "Events enabled"));
    }
    SUBCASE("text, a toggle after a row") {
      std::string text =
          " Performance counter stats for 'x':\n\n  5      page-faults\nEvents disabled\n\n"
          "       0.100000000 seconds time elapsed\n";
      auto m = load_text(text, "t.txt");
      REQUIRE(find(m.events, "page-faults") != nullptr);
      CHECK(find(m.events, "page-faults")->value == 5);
      CHECK(any_note(m, "Events disabled"));
    }
  }

  TEST_CASE(
      "local: a second -I recording after the first, its timestamps from 0 again, is refused") {
    // nc_interval.txt and .csv, and delay.json's -j form with an "interval", each followed by
    // its own rows again (two captures in one file, without the "# started on" line that -o
    // writes): the first row of the second copy is refused, naming its line.
    for (const char* name : {"nc_interval.txt", "nc_interval.csv"}) {
      CAPTURE(name);
      std::string text = test::read_file(local(name));
      size_t rows = text.find("\n     0.");
      REQUIRE(rows != std::string::npos);
      std::string doubled = text + text.substr(rows + 1);
      auto line = size_t(std::count(text.begin(), text.end(), '\n')) + 1;
      try {
        load_text(doubled, name);
        FAIL("imported");
      } catch (const ImportError& e) {
        CHECK(std::string(e.what()).starts_with(
            fmt::format("{}:{}: expected a -I timestamp at or after the one before", name, line)));
      }
    }
    std::string json =
        "{\"interval\" : 1.000100000, \"counter-value\" : \"5\", \"unit\" : \"\", \"event\" : "
        "\"a\"}\n"
        "{\"interval\" : 2.000200000, \"counter-value\" : \"6\", \"unit\" : \"\", \"event\" : "
        "\"a\"}\n"
        "{\"interval\" : 1.000100000, \"counter-value\" : \"7\", \"unit\" : \"\", \"event\" : "
        "\"a\"}\n";
    try {
      load_text(json, "i.json");
      FAIL("imported");
    } catch (const ImportError& e) {
      CHECK(std::string(e.what()).starts_with("i.json:3: expected a -I timestamp at or after"));
    }
  }

  TEST_CASE("local: -I 1000 of sleep 1.5 under '# started on' is one period and a short last") {
    // 1.001238138 and 1.501662842: the first timestamp is two gaps, as a paste of intervals 2 and
    // 3 of a -I 500 run would be; perf's "# started on" says the file holds the run from its
    // start, so the first interval is the run's first, 1 s long, and the run lasted 1.50 s.
    auto m = load("short_last.csv");
    REQUIRE(m.intervals.size() == 2);
    CHECK(m.intervals[0].duration_s == doctest::Approx(1.001238138));
    CHECK(m.intervals[1].duration_s == doctest::Approx(1.501662842 - 1.001238138));
    CHECK(m.duration_s == doctest::Approx(1.501662842));
    CHECK(m.interval_step_s == doctest::Approx(1.0));
    CHECK_FALSE(any_note(m, "middle of a run"));
    // Without the line (a capture with 2>), the two readings stay possible and the import keeps
    // its reading of a paste from the middle of a run.
    std::string text = test::read_file(local("short_last.csv"));
    auto pasted = load_text(text.substr(text.find('\n') + 1), "short_last.csv");
    CHECK(any_note(pasted, "middle of a run"));
  }

  TEST_CASE("local: perf stat -r 3 --table imports, its runs' elapsed times in a note") {
    // "# Table of individual measurements:" and three rows "0.1017791 (-0.0001103) #", then
    // "# Final result:" above the elapsed time: 0.1018894 +- 0.0000581 s over 3 runs.
    auto m = load("run_table.txt");
    CHECK(m.runs == 3);
    CHECK(m.duration_s == doctest::Approx(0.1018894));
    const EventCount* clock = find(m.events, "task-clock");
    REQUIRE(clock != nullptr);
    CHECK(clock->value == doctest::Approx(1.11));
    CHECK(any_note(m, "0.1017791, 0.1019764, 0.1019127 s"));
    REQUIRE(m.duration_sem_s);
    CHECK(*m.duration_sem_s == doctest::Approx(0.0000581));
  }

  TEST_CASE("local: a perf stat -n null run imports its times, with no events") {
    // perf stat -n -r 3 times the command without counters: its header and elapsed line only.
    auto m = load("null_run.txt");
    CHECK(m.events.empty());
    CHECK(m.runs == 3);
    CHECK(m.has_duration);
    CHECK(m.duration_s == doctest::Approx(0.0519454));
    CHECK(any_note(m, "perf stat -n"));
    // A recording with neither rows nor times is still refused, as is one whose rows were all
    // skipped.
    std::string text = test::read_file(local("null_run.txt"));
    std::string no_time = text.substr(0, text.find("         0.0519454"));
    CHECK_THROWS_AS(load_text(no_time, "null_run.txt"), ImportError);
    ImportOptions lenient;
    lenient.lenient = true;
    std::string damaged = text;
    damaged.insert(damaged.find("\n         0.0519454"), "\n   5 6 7 8 9 cycles");
    CHECK_THROWS_AS(import_perf_stat(damaged, "null_run.txt", lenient), ImportError);
  }

  TEST_CASE("local: a comma in the command perf quotes does not make ',' the decimal") {
    // "Performance counter stats for 'printf %s 1,5':" above counts and a '.' elapsed time.
    auto m = load("cmd_comma.txt");
    REQUIRE(find(m.events, "page-faults") != nullptr);
    CHECK(find(m.events, "page-faults")->value == 77);
    CHECK(find(m.events, "context-switches")->value == 1);
    CHECK(m.duration_s == doctest::Approx(0.009497449));
  }

  TEST_CASE("local: a program's own output above a ',' recording does not make '.' its decimal") {
    // 029.txt (pt_BR locale: "3.148,94 msec", "3,171346072 seconds") under lines a program printed
    // with '.' decimals, more of them than the recording has numbers.
    std::string recording = test::read_file(std::string(PMC_TEST_DATA) + "/perfstat/029.txt");
    std::string program;
    for (int i = 0; i < 40; ++i) program += "step " + std::to_string(i) + ": 0.25 s, ratio 3.5\n";
    auto alone = load_text(recording, "029.txt");
    auto below = load_text(program + recording, "029.txt");
    CHECK(alone.duration_s == doctest::Approx(3.171346072));
    CHECK(below.duration_s == doctest::Approx(3.171346072));
    REQUIRE(find(below.events, "task-clock") != nullptr);
    CHECK(find(below.events, "task-clock")->value == doctest::Approx(3148.94));
    CHECK(find(below.events, "cycles")->value == 9718310406.0);
  }

  TEST_CASE("local: two -I rows, one whole interval and the run's short last one") {
    // -I 1000 -- sleep 1.3: 1.001081749 and 1.303497991. The step is the first interval's
    // second, not the last one's 0.3 s, and the recording starts at the run's start.
    auto m = load("two_intervals.csv");
    REQUIRE(m.interval_step_s.has_value());
    CHECK(*m.interval_step_s == doctest::Approx(1.0));
    REQUIRE(m.intervals.size() == 2);
    CHECK(m.intervals[0].duration_s == doctest::Approx(1.001081749));
    CHECK(m.intervals[1].duration_s == doctest::Approx(1.303497991 - 1.001081749));
    CHECK(m.duration_s == doctest::Approx(1.303497991));
    CHECK_FALSE(any_note(m, "middle of a run"));
    // 2002.62 + 604.72 msec of task-clock over 1.303497991 s: two CPUs busy, not 4.3.
    CHECK(find(m.events, "task-clock")->value / 1e3 / m.duration_s ==
          doctest::Approx((2002.62 + 604.72) / 1e3 / 1.303497991));
  }

  TEST_CASE("local: perf stat -j -o FILE, its '# started on' line first, imports as JSON") {
    std::string text = test::read_file(local("header.json"));
    CHECK(detect_format(text) == PerfStatFormat::json);
    auto m = load("header.json");
    REQUIRE(find(m.events, "task-clock") != nullptr);
    CHECK(find(m.events, "task-clock")->value == doctest::Approx(1.070522));
    CHECK(find(m.events, "page-faults")->value == 77);
    CHECK(m.start_time == "2026-12-07T20:57:35");
    // Every format takes the start time from that line.
    CHECK(load("nc_interval.csv").start_time == "2026-12-07T20:57:34");
    CHECK(load("per_cpu.txt").start_time == "2026-12-07T20:57:38");
  }

  TEST_CASE("local: -x -I --summary rows are the run's totals, not an aggregate 'summary'") {
    auto m = load("summary.csv");
    REQUIRE(m.intervals.size() == 3);
    REQUIRE(find(m.events, "task-clock") != nullptr);
    CHECK(find(m.events, "task-clock")->value == doctest::Approx(505.06));
    CHECK(find(m.events, "page-faults")->value == 11339);
    for (const auto& e : m.events) CHECK(e.name.find("summary") == std::string::npos);
    for (const auto& r : m.reported) CHECK(r.name.find("summary") == std::string::npos);
  }

  TEST_CASE("local: a UTF-8 byte order mark before a recording changes nothing") {
    for (const char* name : {"nc_interval.csv", "header.json", "per_cpu.txt"}) {
      CAPTURE(name);
      std::string text = test::read_file(local(name));
      auto plain = load_text(text, name);
      auto marked = load_text("\xef\xbb\xbf" + text, name);
      REQUIRE(marked.events.size() == plain.events.size());
      for (size_t i = 0; i < plain.events.size(); ++i) {
        CHECK(marked.events[i].name == plain.events[i].name);
        CHECK(marked.events[i].value == plain.events[i].value);
      }
      CHECK(marked.start_time == plain.start_time);
    }
  }
}
