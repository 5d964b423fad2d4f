// infer_metric_cpu on real recordings (tests/data/perfstat, wild/INDEX.md names each machine):
// the CPU family its top-down events belong to, as INDEX.md records it from the source. And old
// -M top-down values printed without '%' are fractions.
#include <doctest/doctest.h>

#include <string>

#include "events/perfstat/import_perfstat.h"
#include "events/perfstat/metric_cpu.h"
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
}
