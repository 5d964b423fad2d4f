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
    std::string table = pmc::cli::format_table(m);
    CHECK(table.find("0.000123 cost_usd (USD)") != std::string::npos);
    CHECK(table.find("12.500 joules_per_run (J)") != std::string::npos);
    CHECK(table.find("0.000 co2_g (g)") != std::string::npos);
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
