// The human table's metric column (cli/output.cpp), on measurements built in memory.
#include <doctest/doctest.h>

#include <cmath>

#include "cli/output.h"

using pmc::Measurement;
using pmc::Metric;

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
}
