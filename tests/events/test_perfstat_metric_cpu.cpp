// infer_metric_cpu on real recordings (tests/data/perfstat, wild/INDEX.md names each machine):
// the CPU family its top-down events belong to, as INDEX.md records it from the source. And old
// -M top-down values printed without '%' are fractions.
#include <doctest/doctest.h>

#include <stdexcept>
#include <string>

#include "events/perfstat/import_perfstat.h"
#include "events/perfstat/metric_cpu.h"
#include "events/text/text.h"
#include "test_support.h"

using namespace pmc;

namespace {

Measurement load(const std::string& name) {
  return import_perf_stat(test::read_file(std::string(PMC_TEST_DATA) + "/perfstat/" + name), name)
      .measurement;
}

double reported(const Measurement& m, std::string_view name) {
  for (const auto& r : m.reported)
    if (r.name == name) return r.value;
  FAIL("no reported " << name);
  return 0;
}

}  // namespace

TEST_SUITE("pure") {
  TEST_CASE("the CPU family of a recording's top-down events chooses the metric file") {
    struct Case {
      const char* file;
      const char* cpu;    // INDEX.md's machine
      const char* event;  // the event the note names
    };
    const Case cases[] = {
        {"wild/065.txt", "zen4", "de_src_op_disp.all"},  // AMD Zen 4, -M PipelineL1
        {"wild/037.txt", "zen4", "de_src_op_disp.all"},  // AMD Zen 4, -M PipelineL2
        {"wild/060.txt", "skylake", "uops_issued.any"},  // perf 5.7, Skylake-family
        {"wild/063.txt", "skylake", "uops_issued.any"},  // Skylake-family, -M topdownl1
        {"013.txt", "icelake", "slots"},                 // Ice Lake-SP, topdown-* rows
        {"wild/066.txt", "neoverse-n2", "stall_slot"},   // Arm Neoverse, -M TopDownL1
    };
    for (const auto& c : cases) {
      CAPTURE(c.file);
      auto cpu = infer_metric_cpu(load(c.file));
      REQUIRE(cpu);
      CHECK(cpu->cpu == c.cpu);
      CHECK(cpu->why.find(c.event) != std::string::npos);
    }
    // Alder Lake, perf 6.4-dev: TopdownL1 printed, but no top-down event in the recording.
    CHECK_FALSE(infer_metric_cpu(load("wild/016.txt")));
  }

  TEST_CASE("slots or topdown-* on a hybrid core PMU are Intel's hybrid parts") {
    Measurement m;
    for (const char* name : {"cpu_core/slots/", "cpu_core/topdown-retiring/", "cpu_atom/cycles/"}) {
      EventCount e;
      e.name = name;
      e.status = EventStatus::counted;
      m.events.push_back(e);
    }
    auto cpu = infer_metric_cpu(m);
    REQUIRE(cpu);
    CHECK(cpu->cpu == "alderlake");
    m.events.erase(m.events.begin() + 2);
    for (auto& e : m.events) e.name = e.name.substr(e.name.find('/') + 1);
    CHECK(infer_metric_cpu(m)->cpu == "icelake");
  }

  TEST_CASE("old -M top-down values printed without '%' are fractions") {
    // wild/060.txt: "#     0.14 Retiring", "#     0.41 Backend_Bound" (perf 5.7).
    auto m = load("wild/060.txt");
    CHECK(reported(m, "tma_retiring") == doctest::Approx(0.14));
    CHECK(reported(m, "tma_backend_bound") == doctest::Approx(0.41));
    // wild/063.txt: "#     0.09 Retiring".
    CHECK(reported(load("wild/063.txt"), "tma_retiring") == doctest::Approx(0.09));
    // 013.txt: "#      3.8% Retiring" stays a percentage.
    CHECK(reported(load("013.txt"), "tma_retiring") == doctest::Approx(0.038));
  }

  TEST_CASE("import without --cpu takes the files the top-down events show when they derive it") {
    // 013.txt: Ice Lake-SP with slots and topdown-* rows (INDEX.md).
    const char* kTopdown = R"([{"MetricName": "tma_retiring", "MetricGroup": "topdown",
                                "MetricExpr": "topdown\\-retiring / slots"}])";
    const char* kIpc =
        R"([{"MetricName": "ipc", "MetricExpr": "instructions / cycles", "MetricGroup": "ipc"}])";
    LoadedMetrics generic{MetricSet::parse(kIpc, "generic.json"), {"generic.json"}, {}};
    LoadedMetrics icelake{
        MetricSet::parse(kTopdown, "icelake.json"), {"generic.json", "icelake.json"}, {}};
    Measurement m = load("013.txt");
    auto cpu = infer_metric_cpu(m);
    REQUIRE(cpu);
    size_t notes = m.notes.size();
    std::vector<std::string> asked;
    auto load_as = [&](const LoadedMetrics& files) {
      return [&asked, files](const std::string& name) {
        asked.push_back(name);
        return files;
      };
    };
    SUBCASE("the icelake files derive top-down: taken, with why") {
      auto chosen = infer_metric_files(m, &generic, load_as(icelake));
      REQUIRE(chosen);
      CHECK(chosen->files == icelake.files);
      CHECK(asked == std::vector<std::string>{"icelake"});
      REQUIRE(m.notes.size() == notes + 1);
      CHECK(m.notes.back() == "metric file: icelake's (" + join(icelake.files, " + ") +
                                  "), chosen without --cpu because " + cpu->why +
                                  "; --cpu MODEL chooses another");
    }
    SUBCASE("without given files the same") {
      CHECK(infer_metric_files(m, nullptr, load_as(icelake)));
    }
    SUBCASE("files that derive no top-down from the recording are not taken") {
      CHECK_FALSE(infer_metric_files(m, &generic, load_as(generic)));
      REQUIRE(m.notes.size() == notes + 1);
      CHECK(m.notes.back() == "icelake's metric file was not used although " + cpu->why +
                                  ": it derives no top-down from the recorded events; "
                                  "generic.json's metrics only");
    }
    SUBCASE("files that do not load: a note, and the given ones stay") {
      auto failing = [](const std::string&) -> LoadedMetrics {
        throw std::runtime_error("icelake.json:3: expected a metric");
      };
      CHECK_FALSE(infer_metric_files(m, &generic, failing));
      REQUIRE(m.notes.size() == notes + 1);
      CHECK(m.notes.back() == "the recording's events show a icelake (" + cpu->why +
                                  "), but its metric file did not load: icelake.json:3: "
                                  "expected a metric");
    }
    SUBCASE("given files that derive top-down already: nothing is loaded") {
      CHECK_FALSE(infer_metric_files(m, &icelake, load_as(icelake)));
      CHECK(asked.empty());
      CHECK(m.notes.size() == notes);
    }
    SUBCASE("a recording without top-down events: nothing is loaded") {
      Measurement alder = load("wild/016.txt");
      size_t before = alder.notes.size();
      CHECK_FALSE(infer_metric_files(alder, &generic, load_as(icelake)));
      CHECK(asked.empty());
      CHECK(alder.notes.size() == before);
    }
  }
}
