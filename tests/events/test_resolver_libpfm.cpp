// libpfm4 native names through EventResolver, with real CPUs' event tables selected by
// LIBPFM_FORCE_PMU. libpfm reads that variable once, in pfm_initialize(), so each case resolves
// in a fresh process (libpfm_forced.h) and reads the results back as text.
//
// Expected event codes are from the vendors' documentation, not from libpfm:
// - Intel: SDM Vol. 3B ch. 20/21 event tables and the perfmon event files
// (github.com/intel/perfmon,
//   SKL/ICL/SPR core JSON): INST_RETIRED.ANY_P EventCode 0xC0 UMask 0x00,
//   CPU_CLK_UNHALTED.THREAD_P 0x3C/0x00, LONGEST_LAT_CACHE.MISS 0x2E/0x41,
//   BR_MISP_RETIRED.ALL_BRANCHES 0xC5/0x00, MEM_LOAD_RETIRED.L3_MISS 0xD1/0x20 (ICL, SPR).
// - AMD: Processor Programming Reference for family 19h (Zen 3), core PMC events:
//   PMCx0C0 Retired Instructions, PMCx076 Cycles not in Halt, PMCx0C2 Retired Branch Instructions,
//   PMCx0C3 Retired Branch Instructions Mispredicted; EventSelect[7:0] is PERF_CTL bits 7:0 and
//   EventSelect[11:8] bits 35:32, UnitMask bits 15:8.
#include <doctest/doctest.h>
#include <linux/perf_event.h>
#include <perfmon/pfmlib.h>

#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "events/names/resolver.h"
#include "libpfm_forced.h"

namespace {

pmc::SysRoot no_pmu_root() {
  pmc::SysRoot root;
  root.sys = std::string(PMC_TEST_DATA) + "/sysfs/no-pmu";
  return root;
}

struct Encoded {
  bool ok = false;
  std::string error;
  uint32_t type = 0;
  uint64_t config = 0, config1 = 0;
  bool exclude_user = false, exclude_kernel = false;
  std::string pmu, source;
  bool hardware = false;
  uint64_t event_select() const { return config & 0xff; }
  uint64_t umask() const { return (config >> 8) & 0xff; }
};

std::string describe(const pmc::EventSpec& s) {
  std::ostringstream out;
  out << "ok " << s.attr.type << ' ' << s.attr.config << ' ' << s.attr.config1 << ' '
      << s.attr.exclude_user << ' ' << s.attr.exclude_kernel << ' ' << s.pmu << ' ' << s.source
      << ' ' << s.hardware << '\n';
  return out.str();
}

// Child body: resolves each line of `input` and describes the result, one line each.
std::string encode_body(const std::string& input) {
  pmc::EventResolver resolver(no_pmu_root());
  std::string out;
  std::istringstream names(input);
  for (std::string name; std::getline(names, name);) {
    try {
      out += describe(resolver.resolve(name));
    } catch (const pmc::ResolveError& e) {
      out += std::string("error ") + e.what() + '\n';
    }
  }
  return out;
}
const bool kEncodeBody = pmc::test::register_child_body("libpfm-encode", encode_body);

// Resolves each name under LIBPFM_FORCE_PMU=`forced` in a fresh process.
std::vector<Encoded> encode(const char* forced, const std::vector<std::string>& names) {
  std::string input;
  for (const std::string& name : names) input += name + '\n';
  std::string text = pmc::test::run_forced(forced, "libpfm-encode", input);
  std::vector<Encoded> results;
  std::istringstream lines(text);
  std::string line;
  while (std::getline(lines, line)) {
    Encoded e;
    std::istringstream in(line);
    std::string tag;
    in >> tag;
    if (tag == "ok") {
      e.ok = true;
      in >> e.type >> e.config >> e.config1 >> e.exclude_user >> e.exclude_kernel >> e.pmu >>
          e.source >> e.hardware;
    } else {
      e.error = line;
    }
    results.push_back(e);
  }
  REQUIRE(results.size() == names.size());
  return results;
}

void check_intel(const Encoded& e, uint64_t event, uint64_t umask, const char* pmu) {
  INFO(e.error);
  REQUIRE(e.ok);
  CHECK(e.type == PERF_TYPE_RAW);
  CHECK(e.event_select() == event);
  CHECK(e.umask() == umask);
  CHECK(e.pmu == pmu);
  CHECK(e.source == "libpfm4");
  CHECK(e.hardware);
}

const bool kLibpfmLazyInit =
    pmc::test::register_child_body("libpfm-lazy-init", [](const std::string&) -> std::string {
      pmc::EventResolver resolver(pmc::SysRoot{std::string(PMC_TEST_DATA) + "/sysfs/intel-client"});
      resolver.resolve_list("cycles,task-clock,LLC-load-misses,power/energy-pkg/,msr/tsc/");
      pfm_pmu_info_t info{};
      info.size = sizeof info;
      int before = pfm_get_pmu_info(PFM_PMU_PERF_EVENT, &info);
      pmc::EventSpec spec = resolver.resolve("perf::TASK-CLOCK");
      info = pfm_pmu_info_t{};
      info.size = sizeof info;
      int after = pfm_get_pmu_info(PFM_PMU_PERF_EVENT, &info);
      return std::to_string(before) + " " + std::to_string(after) + " " + spec.source;
    });

const bool kLibpfmThreads =
    pmc::test::register_child_body("libpfm-threads", [](const std::string&) -> std::string {
      pmc::EventResolver resolver(no_pmu_root());
      std::vector<uint64_t> configs(4);
      std::vector<std::thread> threads;
      for (size_t i = 0; i < configs.size(); ++i)
        threads.emplace_back(
            [&, i] { configs[i] = resolver.resolve("INST_RETIRED:ANY_P").attr.config; });
      for (std::thread& t : threads) t.join();
      std::string text;
      for (uint64_t c : configs) text += std::to_string(c & 0xffff) + " ";
      return text;
    });

const bool kLibpfmUnknownHint =
    pmc::test::register_child_body("libpfm-unknown-hint", [](const std::string&) -> std::string {
      pmc::EventResolver resolver(no_pmu_root());
      std::string result;
      try {
        result = "ok " + std::to_string(resolver.resolve("INST_RETIRED:ANY_P").attr.config & 0xff);
      } catch (const pmc::ResolveError& e) {
        result = e.what();
      }
      bool core = false;
      for (int p = PFM_PMU_NONE; p < PFM_PMU_MAX; ++p) {
        pfm_pmu_info_t info{};
        info.size = sizeof info;
        if (pfm_get_pmu_info(static_cast<pfm_pmu_t>(p), &info) == PFM_SUCCESS && info.is_present &&
            info.type == PFM_PMU_TYPE_CORE)
          core = true;
      }
      return std::string(core ? "core " : "none ") + result;
    });

const bool kLibpfmGuestPrecise =
    pmc::test::register_child_body("libpfm-guest-precise", [](const std::string&) -> std::string {
      pmc::EventResolver resolver(no_pmu_root());
      std::string text;
      for (const char* name : {"INST_RETIRED:ANY_P", "INST_RETIRED:ANY_P:mg",
                               "INST_RETIRED:ANY_P:mh", "INST_RETIRED:ANY_P:precise=2"}) {
        auto spec = resolver.resolve(name);
        text += std::to_string(spec.attr.exclude_guest) + std::to_string(spec.attr.exclude_host) +
                std::to_string(spec.attr.precise_ip) + " ";
      }
      return text;
    });

const bool kLibpfmDotted =
    pmc::test::register_child_body("libpfm-dotted", [](const std::string&) -> std::string {
      pmc::EventResolver resolver(no_pmu_root());
      auto spec = resolver.resolve("IDQ_UOPS_NOT_DELIVERED.CYCLES_0_UOPS_DELIV.CORE");
      return std::to_string(spec.attr.config & 0xffffffff);
    });

}  // namespace

TEST_SUITE("pure") {
  TEST_CASE("libpfm4 Intel core events match the SDM / perfmon event codes") {
    const std::vector<std::string> names = {"INST_RETIRED:ANY_P", "CPU_CLK_UNHALTED:THREAD_P",
                                            "LONGEST_LAT_CACHE:MISS",
                                            "BR_MISP_RETIRED:ALL_BRANCHES"};
    for (const char* pmu : {"skl", "icl", "spr"}) {
      CAPTURE(pmu);
      std::vector<Encoded> e = encode(pmu, names);
      check_intel(e[0], 0xc0, 0x00, pmu);
      check_intel(e[1], 0x3c, 0x00, pmu);
      check_intel(e[2], 0x2e, 0x41, pmu);
      check_intel(e[3], 0xc5, 0x00, pmu);
    }
    for (const char* pmu : {"icl", "spr"}) {
      CAPTURE(pmu);
      check_intel(encode(pmu, {"MEM_LOAD_RETIRED:L3_MISS"})[0], 0xd1, 0x20, pmu);
    }
  }

  TEST_CASE("libpfm4 names: PMU prefix and :u and :k and bad attributes") {
    std::vector<Encoded> e =
        encode("skl", {"skl::INST_RETIRED:ANY_P", "INST_RETIRED:ANY_P:u", "INST_RETIRED:ANY_P:k",
                       "INST_RETIRED:ANY_P", "INST_RETIRED:BOGUS", "cycles"});
    check_intel(e[0], 0xc0, 0x00, "skl");
    check_intel(e[1], 0xc0, 0x00, "skl");
    CHECK(e[1].exclude_kernel);
    CHECK_FALSE(e[1].exclude_user);
    check_intel(e[2], 0xc0, 0x00, "skl");
    CHECK(e[2].exclude_user);
    CHECK_FALSE(e[2].exclude_kernel);
    CHECK_FALSE(e[3].exclude_user);
    CHECK_FALSE(e[3].exclude_kernel);
    CHECK_FALSE(e[4].ok);
    CHECK(e[4].error.find("libpfm4") != std::string::npos);
    CHECK(e[4].error.find("INST_RETIRED:BOGUS") != std::string::npos);
    // Generic names still win over libpfm, even with a forced PMU.
    REQUIRE(e[5].ok);
    CHECK(e[5].type == PERF_TYPE_HARDWARE);
    CHECK(e[5].source == "generic");
  }

  TEST_CASE("libpfm4 AMD family 19h events match the PPR") {
    const char* pmu = "amd64_fam19h_zen3";
    std::vector<Encoded> e =
        encode(pmu, {"RETIRED_INSTRUCTIONS", "CYCLES_NOT_IN_HALT", "RETIRED_BRANCH_INSTRUCTIONS",
                     "RETIRED_BRANCH_INSTRUCTIONS_MISPREDICTED",
                     "amd64_fam19h_zen3::RETIRED_INSTRUCTIONS:u"});
    const uint64_t expected[] = {0x0c0, 0x076, 0x0c2, 0x0c3, 0x0c0};
    for (size_t i = 0; i < e.size(); ++i) {
      CAPTURE(i);
      INFO(e[i].error);
      REQUIRE(e[i].ok);
      CHECK(e[i].type == PERF_TYPE_RAW);
      CHECK(e[i].event_select() == (expected[i] & 0xff));
      CHECK(((e[i].config >> 32) & 0xf) == (expected[i] >> 8));
      CHECK(e[i].umask() == 0);
      CHECK(e[i].pmu == pmu);
    }
    CHECK(e[4].exclude_kernel);
    CHECK_FALSE(e[4].exclude_user);
  }

  TEST_CASE("libpfm4's perf:: pseudo-PMU gives kernel generic encodings") {
    std::vector<Encoded> e = encode(nullptr, {"perf::TASK-CLOCK", "perf::CYCLES:u"});
    REQUIRE(e[0].ok);
    CHECK(e[0].type == PERF_TYPE_SOFTWARE);
    CHECK(e[0].config == PERF_COUNT_SW_TASK_CLOCK);
    CHECK(e[0].pmu == "perf");
    CHECK_FALSE(e[0].hardware);
    REQUIRE(e[1].ok);
    CHECK(e[1].type == PERF_TYPE_HARDWARE);
    CHECK(e[1].config == PERF_COUNT_HW_CPU_CYCLES);
    CHECK(e[1].exclude_kernel);
    CHECK(e[1].hardware);
  }

  TEST_CASE("libpfm4 is initialised only when a name needs it") {
    std::string out = pmc::test::run_forced(nullptr, "libpfm-lazy-init");
    CHECK(out == std::to_string(PFM_ERR_NOINIT) + " " + std::to_string(PFM_SUCCESS) + " libpfm4");
  }

  TEST_CASE("one resolver encodes libpfm names from several threads") {
    std::string out = pmc::test::run_forced("skl", "libpfm-threads");
    CHECK(out == "192 192 192 192 ");  // 0xC0, INST_RETIRED.ANY_P
  }

  TEST_CASE("an unknown native name says how to select a libpfm PMU when none was found") {
    std::string out = pmc::test::run_forced(nullptr, "libpfm-unknown-hint");
    // A VM has no core PMU libpfm knows: the message points at LIBPFM_FORCE_PMU. On an Intel
    // machine the name encodes (INST_RETIRED.ANY_P is 0xC0 on every Intel core since Nehalem); on
    // AMD it is simply unknown.
    if (out.rfind("none ", 0) == 0) {
      CHECK(out.find("unknown event 'INST_RETIRED:ANY_P'") != std::string::npos);
      CHECK(out.find("LIBPFM_FORCE_PMU") != std::string::npos);
      // Forcing another CPU's table encodes with that CPU's codes: the hint offers the encoding
      // first and says the forced table must be this CPU's.
      CHECK(out.find("cpu/event=") != std::string::npos);
      CHECK(out.find("must name that CPU") != std::string::npos);
    } else {
      CHECK((out == "core ok 192" || out.find("unknown event") != std::string::npos));
    }
  }

  TEST_CASE("a libpfm4 name's :e is perf's exclusive, and :e=1 libpfm4's edge detect") {
    // SDM Vol. 3B 20.2.1.1 (IA32_PERFEVTSELx): E, edge detect, is bit 18, CMASK bits 24-31;
    // libpfm4 takes e=1 only with a counter mask.
    std::vector<Encoded> e =
        encode("skl", {"INST_RETIRED:ANY_P:e", "INST_RETIRED:ANY_P:e=1:c=1", "INST_RETIRED:ANY_P"});
    INFO(e[1].error);
    REQUIRE(e[0].ok);
    REQUIRE(e[1].ok);
    REQUIRE(e[2].ok);
    CHECK(e[0].config == e[2].config);
    CHECK(e[1].config == (e[2].config | (1ull << 18) | (1ull << 24)));
  }

  TEST_CASE("libpfm4's exclude_guest, :mg, :mh and :precise= reach the attr") {
    std::string out = pmc::test::run_forced("skl", "libpfm-guest-precise");
    // libpfm4 perf_event(3): host-only counting (exclude_guest) unless :mg; :mg without :mh
    // excludes the host; precise=2 is precise_ip 2.
    CHECK(out == "100 010 100 102 ");
  }

  TEST_CASE("Intel's dotted names with a dot inside the unit mask reach libpfm4") {
    std::string out = pmc::test::run_forced("skl", "libpfm-dotted");
    // Intel Skylake core events: EventCode 0x9C, UMask 0x01, CounterMask 4 (cmask is bits 24-31).
    CHECK(out == std::to_string(0x0400019c));
  }

}  // TEST_SUITE("pure")
