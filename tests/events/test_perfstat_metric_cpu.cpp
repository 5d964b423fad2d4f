// infer_metric_cpu on real recordings (tests/data/perfstat, wild/INDEX.md names each machine):
// the CPU family its top-down events belong to, as INDEX.md records it from the source. And old
// -M top-down values printed without '%' are fractions.
#include <doctest/doctest.h>

#include <stdexcept>
#include <string>

#include "events/perfstat/import_perfstat.h"
#include "events/perfstat/import_perfstat_common.h"
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

// The Neoverse core a recording names, its slot count, and the metric file chosen for it.
void check_neoverse(const Measurement& m, const std::string& cpu, int slots) {
  auto core = neoverse_in_recording(m);
  REQUIRE(core);
  CHECK(core->cpu == cpu);
  CHECK(core->slots == slots);
  CHECK(infer_metric_cpu(m)->cpu == cpu);
}

// A recording of these events, each counted once.
Measurement counted_events(std::initializer_list<const char*> names) {
  Measurement m;
  for (const char* name : names) {
    EventCount e;
    e.name = name;
    e.status = EventStatus::counted;
    e.value = 1e9;
    m.events.push_back(e);
  }
  return m;
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

  TEST_CASE("an Arm recording's Neoverse core and #slots: PMU name, perf's CPUID, printed values") {
    SUBCASE("wild/066.txt: perf's printed backend_bound gives 5 slots, N2's") {
      // "3,415,528,440 cpu_cycles # 68.8 % backend_bound" beside "11,746,647,747
      // stall_slot_backend": 11,746,647,747 / (5 * 3,415,528,440) = 68.78 %, printed 68.8; with
      // 8 slots it would be 42.99 %.
      auto m = load("wild/066.txt");
      auto core = neoverse_in_recording(m);
      REQUIRE(core);
      CHECK(core->cpu == "neoverse-n2");
      CHECK(core->slots == 5);
      CHECK(core->why.find("backend_bound 68.8 %") != std::string::npos);
      auto cpu = infer_metric_cpu(m);
      REQUIRE(cpu);
      CHECK(cpu->cpu == "neoverse-n2");
      CHECK(cpu->why.find("Neoverse N2's 5 slots") != std::string::npos);
    }
    SUBCASE("perf -v's CPUID line names the core: Neoverse V1, 8 slots") {
      // synthetic/neoverse_v1_cpuid.txt: "Using CPUID 0x00000000410fd401" is MIDR implementer
      // 0x41, part 0xd40 (Neoverse V1), revision 1.
      auto m = load("synthetic/neoverse_v1_cpuid.txt");
      CHECK(m.machine.vendor == "ARM");
      CHECK(m.machine.family == 0x41);
      CHECK(m.machine.model == 0xd40);
      check_neoverse(m, "neoverse-v1", 8);
      // Without the line, perf's "25.0 % backend_bound" over 4,000,000,000 stall_slot_backend
      // and 2,000,000,000 cpu_cycles gives 8 slots (5 would give 40.0 %): V1 or V2, not told
      // apart, so SBSA's formulas with #slots 8.
      m.machine = MachineInfo{};
      check_neoverse(m, "neoverse", 8);
    }
    SUBCASE("an event on a Neoverse core's devicetree PMU names it") {
      Measurement m =
          counted_events({"armv8_neoverse_v2/cpu_cycles/", "armv8_neoverse_v2/stall_slot/"});
      check_neoverse(m, "neoverse-v2", 8);
    }
    SUBCASE("a recording that cannot tell says so, and is taken as N2") {
      Measurement m = counted_events({"cpu_cycles", "stall_slot", "stall_slot_backend"});
      CHECK_FALSE(neoverse_in_recording(m));
      auto cpu = infer_metric_cpu(m);
      REQUIRE(cpu);
      CHECK(cpu->cpu == "neoverse-n2");
      CHECK(cpu->why.find("nothing in it tells which core or how many slots") != std::string::npos);
      CHECK(cpu->why.find("neoverse-v1 or neoverse-v2") != std::string::npos);
    }
  }

  TEST_CASE("perf -v's 'Using CPUID' line gives the machine as /proc/cpuinfo would") {
    MachineInfo arm;
    REQUIRE(perfstat::read_cpuid_line("Using CPUID 0x00000000410fd4f0", arm));
    CHECK(arm.vendor == "ARM");
    CHECK(arm.family == 0x41);
    CHECK(arm.model == 0xd4f);  // Neoverse V2
    MachineInfo intel;
    REQUIRE(perfstat::read_cpuid_line("Using CPUID GenuineIntel-6-55-4", intel));
    CHECK(intel.vendor == "GenuineIntel");
    CHECK(intel.family == 6);
    CHECK(intel.model == 0x55);
    CHECK(intel.stepping == 4);
    MachineInfo amd;
    REQUIRE(perfstat::read_cpuid_line("Using CPUID AuthenticAMD-25-11-1", amd));
    CHECK(amd.family == 25);  // printed in decimal: 0x19, Zen 4 with model 0x11
    CHECK(amd.model == 0x11);
    MachineInfo untouched;
    CHECK_FALSE(perfstat::read_cpuid_line("Using CPUID", untouched));
    CHECK_FALSE(perfstat::read_cpuid_line("Using CPUID GenuineIntel", untouched));
    CHECK_FALSE(perfstat::read_cpuid_line("WARNING: Using CPUID 0x410fd4f0", untouched));
    CHECK(untouched.vendor.empty());
    CHECK(untouched.family == -1);
  }
}
