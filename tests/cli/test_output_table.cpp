// The human table's metric column (cli/output.cpp), on measurements built in memory.
#include <doctest/doctest.h>

#include <cmath>
#include <sstream>

#include "cli/output.h"

using pmc::EventCount;
using pmc::EventStatus;
using pmc::Measurement;
using pmc::Metric;

namespace {
EventCount counted(const char* name, double value, const char* unit, double unit_scale) {
  EventCount e;
  e.name = name;
  e.value = value;
  e.unit = unit;
  e.unit_scale = unit_scale;
  e.status = EventStatus::counted;
  return e;
}
}  // namespace

TEST_SUITE("pure") {
  TEST_CASE("the table shows small metric values with significant digits, not as 0.000") {
    Measurement m;
    m.duration_s = 1;
    m.metrics.push_back(Metric{"cost_usd", 0.000123, "USD"});
    m.metrics.push_back(Metric{"joules_per_run", 12.5, "J"});
    m.metrics.push_back(Metric{"co2_g", 0, "g"});
    m.metrics.push_back(Metric{"joules_per_run_small", 0.00931, "J"});
    std::string table = pmc::cli::format_table(m);
    // A cost under a cent is said per 1,000 runs (0.123 USD), as compare says it.
    CHECK(table.find("   0.123 cost_usd (USD/1k runs)") != std::string::npos);
    CHECK(table.find("12.500 joules_per_run (J)") != std::string::npos);
    CHECK(table.find("0.000 co2_g (g)") != std::string::npos);  // 0 is 0 per run
    CHECK(table.find("0.00931 joules_per_run_small (J)") != std::string::npos);
  }

  TEST_CASE("a run's tiny cost and CO2e read per million runs, not as 5.42e-06") {
    // measure -- sleep 0.1 at 0.192 USD/h: 5.42e-06 USD; 0.27 µg… of CO2e.
    Measurement m;
    m.duration_s = 0.1;
    m.metrics.push_back(Metric{"cost_usd", 5.42e-06, "USD"});
    m.metrics.push_back(Metric{"co2_g", 2.9e-07, "gCO2e"});
    m.metrics.push_back(Metric{"co2_g", 0.5, "gCO2e"});  // from a cent up: per run
    std::string table = pmc::cli::format_table(m);
    CHECK(table.find("5.42 cost_usd (USD/1M runs)") != std::string::npos);
    CHECK(table.find("0.29 co2_g (gCO2e/1M runs)") != std::string::npos);
    CHECK(table.find("0.500 co2_g (gCO2e)") != std::string::npos);
    CHECK(table.find("e-0") == std::string::npos);
  }

  TEST_CASE("a metric shown without an event beside it says what it is") {
    Measurement m;
    m.duration_s = 1;
    m.metrics.push_back(Metric{"joules_per_run", 2.3, "J"});
    m.metrics.push_back(Metric{"co2_g", 0.5, "gCO2e"});
    m.metrics.push_back(Metric{"model:m.json:base_cpi", 0.7, "cycles/insn"});
    std::string table = pmc::cli::format_table(m);
    CHECK(table.find("2.300 joules_per_run (J): energy of the run") != std::string::npos);
    CHECK(table.find("co2_g (gCO2e): CO2e of that energy") != std::string::npos);
    CHECK(table.find("base_cpi (cycles/insn): estimated by the model file") != std::string::npos);
  }
  TEST_CASE("a NaN metric is shown nan, as perf prints it, with its reason") {
    Measurement m;
    m.duration_s = 1;
    Metric nan_metric{"tma_frontend_bound", std::nan(""), "ratio"};
    nan_metric.note.set().reason = "division by zero in slots (in a / slots)";
    m.metrics.push_back(nan_metric);
    m.metrics.push_back(Metric{"ipc", std::nan(""), "insn/cycle"});
    std::string table = pmc::cli::format_table(m);
    CHECK(table.find("nan% tma_frontend_bound [division by zero in slots (in a / slots)]") !=
          std::string::npos);
    CHECK(table.find("nan ipc (insn/cycle)") != std::string::npos);
  }

  TEST_CASE(
      "counts are printed as perf stat prints them, grouped, with decimals only for a fractional "
      "scale") {
    Measurement m;
    m.duration_s = 1;
    // 013.txt's perf printed "21,945.59 msec task-clock".
    m.events.push_back(counted("task-clock", 21945.59, "msec", 1e-6));
    // A multiplexed count: 2e9 raw over 3 of 7 ns enabled is 4,666,666,666.67, which perf's
    // "%'.0f" prints whole.
    EventCount cycles = counted("cycles", 2e9 * 7 / 3, "", 1);
    cycles.raw = 2000000000;
    cycles.time_enabled_ns = 7;
    cycles.time_running_ns = 3;
    m.events.push_back(cycles);
    // The mean of -r 3 runs of 165, 161 and 165 page faults: perf prints 164.
    m.events.push_back(counted("page-faults", (165.0 + 161 + 165) / 3, "", 1));
    // RAPL's scale 2^-32 J: two decimals.
    m.events.push_back(counted("power/energy-pkg/", 1234.5678, "Joules", 0x1p-32));
    // An imported MiB count keeps the two decimals perf printed (009.txt).
    m.events.push_back(counted("uncore_imc/data_reads/", 44831.61, "MiB", 1));
    std::string table = pmc::cli::format_table(m);
    CHECK(table.find("21,945.59 msec") != std::string::npos);
    CHECK(table.find("4,666,666,667        cycles") != std::string::npos);
    CHECK(table.find("(42.86%)") != std::string::npos);
    CHECK(table.find("  164        page-faults") != std::string::npos);
    CHECK(table.find("1,234.57 Joules power/energy-pkg/") != std::string::npos);
    CHECK(table.find("44,831.61 MiB    uncore_imc/data_reads/") != std::string::npos);
    CHECK(pmc::cli::group_thousands(1e15) == "1,000,000,000,000,000");
    CHECK(pmc::cli::group_thousands(0.0001, 2) == "0.00");
    CHECK(pmc::cli::group_thousands(999.996, 2) == "1,000.00");
  }

  TEST_CASE("metrics perf printed are shown in its units and with its decimals, never more") {
    // 013.txt's perf printed these; the import keeps each value in pmcmodel's units and the
    // decimals its text gave.
    Measurement m;
    m.duration_s = 1;
    auto printed = [&](const char* name, double value, const char* unit, int16_t decimals) {
      Metric r{name, value, unit};
      r.decimals = decimals;
      m.reported.push_back(r);
    };
    printed("page-faults_per_sec", 13546, "/s", 0);                     // 13.546 K/sec
    printed("branches_per_sec", 40005000, "/s", -3);                    // 40.005 M/sec
    printed("slots_per_sec", 19320000000, "/s", -6);                    // 19.320 G/sec
    printed("context-switches_per_sec", 2.324, "/s", 3);                // 2.324 /sec
    printed("tma_retiring", 0.038, "ratio", 3);                         // 3.8% Retiring
    printed("branch_miss_rate", 0.0014, "ratio", 4);                    // 0.14% of all branches
    printed("ipc", 0.07, "insn/cycle", 2);                              // 0.07 insn per cycle
    m.reported.push_back(Metric{"msr/tsc_per_sec", 2573000000, "/s"});  // no decimals known
    std::string table = pmc::cli::format_table(m);
    CHECK(table.find("  13.546 page-faults_per_sec (K/sec)") != std::string::npos);
    CHECK(table.find("  40.005 branches_per_sec (M/sec)") != std::string::npos);
    CHECK(table.find("  19.320 slots_per_sec (G/sec)") != std::string::npos);
    CHECK(table.find("   2.324 context-switches_per_sec (/sec)") != std::string::npos);
    CHECK(table.find("     3.8% tma_retiring") != std::string::npos);
    CHECK(table.find("    0.14% branch_miss_rate") != std::string::npos);
    CHECK(table.find("    0.07 ipc (insn/cycle)") != std::string::npos);
    CHECK(table.find("   2.573 msr/tsc_per_sec (G/sec)") != std::string::npos);
    CHECK(table.find("000.000") == std::string::npos);
  }

  TEST_CASE("the header names the target as perf stat does, and no empty command") {
    Measurement m;
    m.duration_s = 1;
    m.target = pmc::MeasurementTarget::system_wide;
    CHECK(
        pmc::cli::format_table(m).starts_with("\n Performance counter stats for 'system wide':\n"));
    m.target = pmc::MeasurementTarget::command;
    m.command = {"ls", "-l"};
    m.runs = 3;
    CHECK(pmc::cli::format_table(m).starts_with(
        "\n Performance counter stats for 'ls -l' (3 runs):\n"));
    // perf's -x and -j recordings print no header: the import has no command to name.
    m.command.clear();
    m.runs = 1;
    std::string table = pmc::cli::format_table(m);
    CHECK(table.find("''") == std::string::npos);
    CHECK(table.starts_with(
        "\n Performance counter stats (the recording does not name its command):\n"));
  }

  TEST_CASE("a metric is printed beside its event with modifiers or a PMU, as perf prints it") {
    // 031.txt (perf stat as a user: ':u' events) and a hybrid machine's cpu_core/cycles/: perf
    // prints GHz beside cycles:u and cpu_core/cycles/, insn per cycle beside instructions:u.
    Measurement m;
    m.duration_s = 1;
    m.events.push_back(counted("cycles:u", 324526, "", 1));
    m.events.push_back(counted("instructions:u", 306168, "", 1));
    m.events.push_back(counted("cpu_core/cycles/", 43262466, "", 1));
    m.events.push_back(counted("cpu_atom/cycles/", 45047838, "", 1));
    m.events.push_back(counted("sched:sched_switch", 4, "", 1));
    m.metrics.push_back(Metric{"ghz", 0.901, "GHz"});
    m.metrics.push_back(Metric{"ipc", 0.943, "insn/cycle"});
    m.metrics.push_back(Metric{"cpu_atom/ghz", 0.011, "GHz"});
    m.metrics.push_back(Metric{"cpu_core/ghz", 0.012, "GHz"});
    std::string table = pmc::cli::format_table(m);
    auto line_of = [&](const std::string& what) {
      auto at = table.find(what);
      REQUIRE(at != std::string::npos);
      auto begin = table.rfind('\n', at) + 1;
      return table.substr(begin, table.find('\n', at) - begin);
    };
    CHECK(line_of("cycles:u").find("# ") != std::string::npos);
    CHECK(line_of("cycles:u").find("0.901 ghz") != std::string::npos);
    CHECK(line_of("instructions:u").find("0.943 ipc") != std::string::npos);
    CHECK(line_of("cpu_core/cycles/").find("0.012 cpu_core/ghz") != std::string::npos);
    CHECK(line_of("cpu_atom/cycles/").find("0.011 cpu_atom/ghz") != std::string::npos);
    CHECK(line_of("sched:sched_switch").find('#') == std::string::npos);
    // Each is printed once, beside its event, not again below.
    for (const char* shown : {"0.901 ghz", "0.943 ipc", "cpu_core/ghz", "cpu_atom/ghz"})
      CHECK(table.find(shown) == table.rfind(shown));
    CHECK(table.find("derived from the counts") == std::string::npos);
  }

  TEST_CASE("a huge metric or a document's huge decimals print a figure, not hundreds of digits") {
    Measurement m;
    m.duration_s = 1;
    m.metrics.push_back(Metric{"ipc", 1e300, "insn/cycle"});
    m.metrics.push_back(Metric{"l1d_miss_ratio", 2e20, "ratio"});
    Metric many{"ghz", 0.5, "GHz"};
    many.decimals = 32767;  // the most a document may hold
    m.reported.push_back(many);
    Metric rate{"x_per_sec", 1e300, "/s"};
    rate.decimals = -32767;
    m.reported.push_back(rate);
    std::string table = pmc::cli::format_table(m);
    std::istringstream lines(table);
    for (std::string line; std::getline(lines, line);) CHECK(line.size() < 160);
    CHECK(table.find("1.000e+300 ipc (insn/cycle)") != std::string::npos);
    CHECK(table.find("2.000e+22% l1d_miss_ratio") != std::string::npos);
    CHECK(table.find("0.500000000 ghz (GHz)") != std::string::npos);
    CHECK(table.find("1.000e+291 x_per_sec (G/sec)") != std::string::npos);
  }

  TEST_CASE(
      "an import's per-CPU row shows its own metric, and the total's stays beside the total") {
    // local/per_cpu.txt: perf printed CPUs utilized beside CPU0's and CPU1's task-clock; the
    // import names those rows CPU0/task-clock and their metrics CPU0/cpus_utilized.
    Measurement m;
    m.duration_s = 1;
    m.target = pmc::MeasurementTarget::system_wide;
    m.events.push_back(counted("CPU0/task-clock", 102.91, "msec", 1e-6));
    m.events.push_back(counted("CPU1/task-clock", 102.92, "msec", 1e-6));
    m.events.push_back(counted("task-clock", 205.83, "msec", 1e-6));
    m.metrics.push_back(Metric{"CPU0/cpus_utilized", 1.001, "CPUs"});
    m.metrics.push_back(Metric{"cpus_utilized", 2.002, "CPUs"});
    std::string table = pmc::cli::format_table(m);
    auto line_of = [&](const std::string& event) {
      auto at = table.find(" " + event + " ");
      if (at == std::string::npos) at = table.find(" " + event + "\n");
      REQUIRE(at != std::string::npos);
      auto begin = table.rfind('\n', at) + 1;
      return table.substr(begin, table.find('\n', at) - begin);
    };
    CHECK(line_of("CPU0/task-clock").find("1.001 CPU0/cpus_utilized") != std::string::npos);
    // CPU1 has no metric of its own: the total's is not taken for it.
    CHECK(line_of("CPU1/task-clock").find('#') == std::string::npos);
    CHECK(line_of("task-clock").find("2.002 cpus_utilized") != std::string::npos);
  }

  TEST_CASE("stall and cache miss ratios are printed beside their events, as perf prints them") {
    // 014.txt: perf printed "0.29% frontend cycles idle" beside stalled-cycles-frontend and
    // "% of all L1-dcache accesses" beside L1-dcache-load-misses.
    Measurement m;
    m.duration_s = 1;
    m.events.push_back(counted("cycles", 12730694768, "", 1));
    m.events.push_back(counted("stalled-cycles-frontend", 36709243, "", 1));
    m.events.push_back(counted("stalled-cycles-backend", 37520225, "", 1));
    m.events.push_back(counted("L1-dcache-loads", 2495566569, "", 1));
    m.events.push_back(counted("L1-dcache-load-misses", 1079711798, "", 1));
    // 36,709,243 / 12,730,694,768 = 0.288 %; 37,520,225 / 12,730,694,768 = 0.295 %;
    // 1,079,711,798 / 2,495,566,569 = 43.27 %.
    m.metrics.push_back(Metric{"frontend_stall_ratio", 36709243.0 / 12730694768, "ratio"});
    m.metrics.push_back(Metric{"backend_stall_ratio", 37520225.0 / 12730694768, "ratio"});
    m.metrics.push_back(Metric{"l1d_miss_ratio", 1079711798.0 / 2495566569, "ratio"});
    std::string table = pmc::cli::format_table(m);
    CHECK(table.find("stalled-cycles-frontend        #     0.29% frontend_stall_ratio") !=
          std::string::npos);
    CHECK(table.find("stalled-cycles-backend         #     0.29% backend_stall_ratio") !=
          std::string::npos);
    CHECK(table.find("L1-dcache-load-misses          #    43.27% l1d_miss_ratio") !=
          std::string::npos);
    CHECK(table.find("derived from the counts") == std::string::npos);
  }
}
