// What compare shows people: costs per run in words a person uses, the SVG's intervals as error
// bars with projected rows marked apart from measured ones, and the command's peak RSS recorded
// by measure so that compare can leave out SKUs without that memory.
#include <doctest/doctest.h>

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "cli/compare_svg.h"
#include "models/fleet/recommendations.h"
#include "test_support.h"

using namespace pmc;
using namespace pmc::test;

namespace {

ComparisonRow row(std::string machine, std::string kind, double cost, double cost_spread,
                  double joules, double joule_spread, int rank) {
  ComparisonRow r;
  r.workload = "w";
  r.machine = std::move(machine);
  r.kind = std::move(kind);
  r.cost_usd = cost;
  r.duration_uncertainty = cost_spread;
  r.joules = joules;
  r.uncertainty = joule_spread;
  r.rank = rank;
  return r;
}

size_t count(const std::string& text, const std::string& what) {
  size_t n = 0;
  for (size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
  return n;
}

}  // namespace

TEST_SUITE("pure") {
  TEST_CASE("a cost per run reads as a person says it: per run, per 1,000 or per million runs") {
    CHECK(human_cost_usd(0.0123) == "0.0123 USD/run");
    CHECK(human_cost_usd(1.5) == "1.5 USD/run");
    CHECK(human_cost_usd(0.0004) == "0.4 USD/1k runs");
    CHECK(human_cost_usd(0.00001) == "0.01 USD/1k runs");
    CHECK(human_cost_usd(1.085e-06) == "1.08 USD/1M runs");  // 1.085 to 3 figures (binary)
    CHECK(human_cost_usd(2.4e-9) == "0.0024 USD/1M runs");
    CHECK(human_cost_usd(0) == "0 USD/run");
  }

  TEST_CASE("the compare SVG draws each interval as an error bar and marks projected rows") {
    // Two rows; the chart's scale is the largest upper end: cost 2e-6 × 1.5 = 3e-6 USD over 340
    // px, energy 100 J × 1.1 = 110 J over 340 px. Cost bars start at x = 300, energy at 740.
    std::vector<ComparisonRow> rows = {row("m1", "measured", 1e-6, 0.1, 100, 0.1, 1),
                                       row("sku-a", "projected", 2e-6, 0.5, 50, 0.3, 2)};
    auto svg = cli::comparison_svg(rows, Objective::cost);
    // measured cost: 1e-6 → 113.3 px; whiskers 0.9e-6..1.1e-6 → x 402.0..424.7, row 0 at y 60 +
    // 9 (the middle of an 18 px row, the first row's top at 10 + 60).
    CHECK(svg.find(R"(<rect x="300" y="72" width="113.3")") != std::string::npos);
    CHECK(svg.find(R"(<path d="M402.0 79H424.7M402.0 75V83M424.7 75V83" class="e"/>)") !=
          std::string::npos);
    // projected cost: 2e-6 → 226.7 px, whiskers 1e-6..3e-6 → 413.3..640.0, row 1 at y 88+9.
    CHECK(svg.find(R"(<path d="M413.3 97H640.0M413.3 93V101M640.0 93V101" class="e"/>)") !=
          std::string::npos);
    // energy: 100 J → 309.1 px from 740; whiskers 90..110 J → 1018.2..1080.0.
    CHECK(svg.find(R"(<path d="M1018.2 79H1080.0M1018.2 75V83M1080.0 75V83" class="e"/>)") !=
          std::string::npos);
    CHECK(svg.find("1 USD/1M runs ±10%") != std::string::npos);
    CHECK(svg.find("2 USD/1M runs ±50%") != std::string::npos);
    CHECK(svg.find("e-06") == std::string::npos);
    // Only the projected row is light and dashed, and named projected.
    CHECK(count(svg, "stroke-dasharray") == 2);  // its cost bar and its energy bar
    CHECK(count(svg, R"(<tspan class="p">projected</tspan>)") == 1);
    CHECK(svg.find("sku-a <tspan") != std::string::npos);
    CHECK(svg.find("m1 <tspan") == std::string::npos);
  }
}

TEST_SUITE("kernel") {
  TEST_CASE("measure records the command's peak RSS for compare's memory rule") {
    auto dir = make_temp_dir("peak-rss");
    auto out = (dir / "run.json").string();
    // The shell keeps a 64 MiB string (67,108,864 bytes) in memory: at least 64 MB resident.
    auto r =
        run_process(pmcmodel({"measure", "-e", "task-clock", "--json", out, "--", "/bin/sh", "-c",
                              "x=$(head -c 67108864 /dev/zero | tr '\\0' a); echo ${#x}"}));
    INFO(r.err);
    REQUIRE(r.exit_code == 0);
    auto doc = nlohmann::json::parse(read_file(out));
    double peak = -1;
    for (const auto& m : doc["metrics"])
      if (m["name"] == "peak_rss_mb") peak = m["value"].get<double>();
    CHECK(peak >= 64);
    std::filesystem::remove_all(dir);
  }
}
