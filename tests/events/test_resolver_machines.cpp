// Event names on the machines of tests/data/sysfs (see its README.md): PMU cpumasks for native
// names, Arm's PMU and upper-case names, uncore instances, hybrid raw events and the fallback for
// kernels without extended hardware types, `?` terms, and metric files' own event definitions.
// Expected encodings come from the fixtures' format/ and events/ files (the kernel's attributes)
// and the vendors' event lists named at each check.
#include <doctest/doctest.h>
#include <linux/perf_event.h>

#include <map>
#include <memory>
#include <set>
#include <string>

#include "events/metrics/metric_set.h"
#include "events/names/libpfm_encoder.h"
#include "events/names/resolver.h"
#include "events/table_encoder.h"

namespace {

pmc::SysRoot fixture(const std::string& name) {
  pmc::SysRoot root;
  root.sys = std::string(PMC_TEST_DATA) + "/sysfs/" + name;
  root.proc = std::string(PMC_TEST_DATA) + "/sysfs/no-such-proc";
  return root;
}

template <typename Fn>
std::string error_of(Fn&& fn) {
  try {
    fn();
  } catch (const pmc::ResolveError& e) {
    return e.what();
  }
  return "";
}

using pmc::test::TableEncoder;
constexpr auto encoding = pmc::test::pfm_encoding;

}  // namespace

TEST_SUITE("pure") {
  TEST_CASE("native names on a PMU with a cpumask carry its CPUs and count CPU-wide") {
    SUBCASE("RAPL: libpfm4's rapl::RAPL_ENERGY_PKG is the power PMU (type 13 here)") {
      pmc::EventResolver resolver(
          fixture("intel-client"),
          std::make_unique<TableEncoder>(std::map<std::string, pmc::PfmEncoding>{
              {"rapl::RAPL_ENERGY_PKG", encoding(13, 0x2, "rapl")}}));
      auto spec = resolver.resolve("rapl::RAPL_ENERGY_PKG");
      CHECK(spec.source == "libpfm4");
      CHECK(spec.pmu == "power");
      CHECK(spec.cpus == std::vector<int>{0});
      CHECK(spec.cpu_wide_only);
      CHECK_FALSE(spec.hardware);  // RAPL is free-running (arch/x86/events/rapl.c)
      CHECK(bool(spec.attr.exclude_guest));
    }
    SUBCASE("uncore: one memory controller box of a two-socket Sapphire Rapids") {
      pmc::EventResolver resolver(
          fixture("spr-2s"),
          std::make_unique<TableEncoder>(std::map<std::string, pmc::PfmEncoding>{
              {"spr_unc_imc1::UNC_M_CAS_COUNT:RD", encoding(31, 0xcf05, "spr_unc_imc1")}}));
      auto spec = resolver.resolve("spr_unc_imc1::UNC_M_CAS_COUNT:RD");
      CHECK(spec.pmu == "uncore_imc_1");
      CHECK(spec.cpus == std::vector<int>{0, 32});
      CHECK(spec.cpu_wide_only);
      CHECK(spec.hardware);
    }
    SUBCASE("a core event keeps its CPUs off the cpumask rule") {
      pmc::EventResolver resolver(
          fixture("neoverse-n2"),
          std::make_unique<TableEncoder>(std::map<std::string, pmc::PfmEncoding>{
              {"CPU_CYCLES_NATIVE", encoding(PERF_TYPE_RAW, 0x11, "arm_n2")}}));
      auto spec = resolver.resolve("CPU_CYCLES_NATIVE");
      CHECK(spec.pmu == "armv8_pmuv3_0");
      CHECK(spec.cpus.size() == 64);
      CHECK_FALSE(spec.cpu_wide_only);
    }
  }

  TEST_CASE("Arm: Arm's upper-case names and cpu/NAME/ find the armv8_pmuv3_0 aliases") {
    pmc::EventResolver resolver(fixture("neoverse-n2"));
    // Arm ARM D17 common events: CPU_CYCLES 0x0011, STALL_SLOT_FRONTEND 0x003E.
    for (const char* name :
         {"CPU_CYCLES", "cpu_cycles", "cpu/CPU_CYCLES/", "armv8_pmuv3_0/CPU_CYCLES/"}) {
      CAPTURE(name);
      auto spec = resolver.resolve(name);
      CHECK(spec.pmu == "armv8_pmuv3_0");
      CHECK(spec.attr.type == 8);
      CHECK(spec.attr.config == 0x11);
    }
    CHECK(resolver.resolve("STALL_SLOT_FRONTEND:u").attr.config == 0x3e);
    CHECK(bool(resolver.resolve("STALL_SLOT_FRONTEND:u").attr.exclude_kernel));
  }

  TEST_CASE("uncore_imc/…/ is one event per uncore_imc_N box, named alike so they are summed") {
    pmc::EventResolver resolver(fixture("spr-2s"));
    for (const char* name : {"uncore_imc/cas_count_read/", "cas_count_read"}) {
      CAPTURE(name);
      auto specs = resolver.resolve_all(name);
      REQUIRE(specs.size() == 8);
      for (size_t i = 0; i < specs.size(); ++i) {
        CHECK(specs[i].name == name);
        CHECK(specs[i].pmu == "uncore_imc_" + std::to_string(i));
        CHECK(specs[i].attr.type == 30 + i);
        CHECK(specs[i].attr.config == 0xcf05);  // event=0x05,umask=0xcf
        CHECK(specs[i].scale == doctest::Approx(6.103515625e-5));
        CHECK(specs[i].unit == "MiB");
        CHECK(specs[i].cpus == std::vector<int>{0, 32});
        CHECK(specs[i].cpu_wide_only);
      }
    }
    CHECK(error_of([&] { resolver.resolve("uncore_im/cas_count_read/"); }).find("unknown PMU") !=
          std::string::npos);
  }

  TEST_CASE("a ? term in an alias takes the value the user gives") {
    pmc::EventResolver resolver(fixture("arm-cmn"));
    auto spec = resolver.resolve("arm_cmn_0/hnf_cache_miss_by_node,nodeid=0x24/");
    // type=0x5 (config:0-15), eventid=0x1 (config:16-26), bynodeid (config:31), nodeid 0x24
    // (config:32-47).
    CHECK(spec.attr.config == (0x5 | (0x1ull << 16) | (1ull << 31) | (0x24ull << 32)));
    std::string missing = error_of([&] { resolver.resolve("arm_cmn_0/hnf_cache_miss_by_node/"); });
    CHECK(missing.find("needs a value for term 'nodeid'") != std::string::npos);
    // The missing term is carried apart from the words, for list's perf-style name.
    std::string term;
    try {
      resolver.resolve("arm_cmn_0/hnf_cache_miss_by_node/");
    } catch (const pmc::MissingTermError& e) {
      term = e.term;
    }
    CHECK(term == "nodeid");
  }

  TEST_CASE("perf's G and H modifiers on a native name override libpfm4's exclude_guest") {
    // libpfm4 encodes host-only counting (exclude_guest = 1) by default. perf's G means guest
    // only (exclude_host = 1, exclude_guest = 0), H host only, GH both (parse-events.c); an
    // event with both bits set counts nothing on Intel, and AMD's core.c clears its enable bits.
    pmc::EventResolver resolver(
        fixture("skylake"), std::make_unique<TableEncoder>(std::map<std::string, pmc::PfmEncoding>{
                                {"INST_RETIRED:ANY_P", encoding(PERF_TYPE_RAW, 0xc0, "skl")}}));
    struct Want {
      const char* name;
      bool exclude_guest, exclude_host;
    };
    for (Want want :
         {Want{"INST_RETIRED:ANY_P", true, false}, Want{"INST_RETIRED:ANY_P:G", false, true},
          Want{"INST_RETIRED:ANY_P:H", true, false}, Want{"INST_RETIRED:ANY_P:GH", false, false},
          Want{"INST_RETIRED:ANY_P:uG", false, true},
          Want{"cpu/INST_RETIRED:ANY_P/G", false, true}}) {
      CAPTURE(want.name);
      auto spec = resolver.resolve(want.name);
      CHECK(spec.attr.config == 0xc0);
      CHECK(bool(spec.attr.exclude_guest) == want.exclude_guest);
      CHECK(bool(spec.attr.exclude_host) == want.exclude_host);
    }
    // The generic names start from neither bit set, and end the same way.
    CHECK(resolver.resolve("cycles:G").attr.exclude_guest == 0);
    CHECK(resolver.resolve("cycles:G").attr.exclude_host == 1);
    CHECK(resolver.resolve("cycles:H").attr.exclude_guest == 1);
    CHECK(resolver.resolve("cycles:H").attr.exclude_host == 0);
  }

  TEST_CASE("hybrid: a raw event is one event per core PMU, each in its PMU's type") {
    pmc::EventResolver resolver(fixture("hybrid"));
    auto specs = resolver.resolve_all("r1a:u");
    REQUIRE(specs.size() == 2);
    CHECK(specs[0].name == "cpu_core/r1a/u");
    CHECK(specs[0].attr.type == 4);
    CHECK(specs[0].cpus.front() == 0);
    CHECK(specs[1].name == "cpu_atom/r1a/u");
    CHECK(specs[1].attr.type == 8);
    CHECK(specs[1].cpus.front() == 16);
    for (const auto& spec : specs) {
      CHECK(spec.attr.config == 0x1a);
      CHECK(bool(spec.attr.exclude_kernel));
    }
    auto groups = resolver.resolve_list("{r1a,r2b}");
    REQUIRE(groups.size() == 2);
    CHECK(groups[0].events.size() == 2);
    CHECK(groups[0].events[0].pmu == "cpu_core");
    CHECK(groups[1].events[0].pmu == "cpu_atom");
  }

  TEST_CASE(
      "hybrid: a generic event carries its legacy encoding for kernels without extended types") {
    pmc::EventResolver resolver(fixture("hybrid"));
    auto specs = resolver.resolve_all("cycles:k");
    REQUIRE(specs.size() == 2);
    for (const auto& spec : specs) {
      REQUIRE(spec.without_extended_type);
      // cpu_core/events/cpu-cycles and cpu_atom/events/cpu-cycles are event=0x3c.
      CHECK(spec.without_extended_type->config == 0x3c);
      CHECK(spec.without_extended_type->exclude_user == 1);
      CHECK((spec.attr.config >> PERF_PMU_TYPE_SHIFT) == spec.without_extended_type->type);
    }
    CHECK(specs[0].without_extended_type->type == 4);
    CHECK(specs[1].without_extended_type->type == 8);
    // One core PMU: no extended type, nothing to fall back to.
    pmc::EventResolver single(fixture("neoverse-n2"));
    CHECK_FALSE(single.resolve("cycles").without_extended_type);
  }

  TEST_CASE("metric files' event definitions resolve through the core PMU's format terms") {
    SUBCASE("zen4: an extended event select and a cmask term on top of a named event") {
      auto set = pmc::MetricSet::load(std::string(PMC_SOURCE_DIR) + "/data/metrics/zen4.json");
      std::string spelling =
          set.resolver_spelling("cpu/de_no_dispatch_per_slot.no_ops_from_frontend,cmask=0x6/");
      pmc::EventResolver resolver(fixture("amd-zen"));
      auto spec = resolver.resolve(spelling);
      // AMD PPR family 19h PERF_CTL: EventSelect[7:0] bits 7:0, UnitMask 15:8, CntMask 31:24,
      // EventSelect[11:8] bits 35:32. PMCx1A0 umask 0x01 cmask 6.
      CHECK(spec.attr.config == 0x1060001a0ull);
      CHECK(spec.name == "cpu/de_no_dispatch_per_slot.no_ops_from_frontend,cmask=0x6/");
      CHECK(resolver.resolve(set.resolver_spelling("ex_ret_instr")).attr.config == 0xc0);
      CHECK(resolver.resolve(set.resolver_spelling("ex_ret_instr")).name == "ex_ret_instr");
    }
    SUBCASE("tigerlake: a file's event with perf's modifiers after its bare name") {
      auto set = pmc::MetricSet::load(std::string(PMC_SOURCE_DIR) + "/data/metrics/tigerlake.json");
      pmc::EventResolver resolver(fixture("intel-client"));
      // Intel SDM vol. 3B, Tiger Lake events: BR_INST_RETIRED.FAR_BRANCH is event C4H umask 40H;
      // perf's ":u" counts user mode only (exclude_kernel and exclude_hv).
      auto user = resolver.resolve(set.resolver_spelling("BR_INST_RETIRED.FAR_BRANCH:u"));
      CHECK(user.attr.config == 0x40c4);
      CHECK(int(user.attr.exclude_kernel) == 1);
      CHECK(int(user.attr.exclude_hv) == 1);
      CHECK(int(user.attr.exclude_user) == 0);
      CHECK(user.name == "BR_INST_RETIRED.FAR_BRANCH:u");
      auto kernel = resolver.resolve(set.resolver_spelling("CPU_CLK_UNHALTED.THREAD_P:k"));
      CHECK(kernel.attr.config == 0x3c);  // event 3CH umask 00H
      CHECK(int(kernel.attr.exclude_user) == 1);
      CHECK(int(kernel.attr.exclude_kernel) == 0);
      // A colon followed by what is not a modifier is left to the resolver as written.
      CHECK(set.resolver_spelling("BR_INST_RETIRED.FAR_BRANCH:x1") ==
            "BR_INST_RETIRED.FAR_BRANCH:x1");
    }
    SUBCASE("emeraldrapids: MSRValue goes to the offcore_rsp or frontend term") {
      auto set =
          pmc::MetricSet::load(std::string(PMC_SOURCE_DIR) + "/data/metrics/emeraldrapids.json");
      pmc::EventResolver resolver(fixture("spr-2s"));
      // Intel perfmon EMR/events/emeraldrapids_core.json: OCR.DEMAND_DATA_RD.L3_HIT.SNOOP_HITM is
      // EventCode 0x2A UMask 0x01 with MSR 0x1a6 = 0x10003C0001; FRONTEND_RETIRED.L2_MISS is
      // 0xC6/0x01 with MSR 0x3F7 = 0x13. The fixture's offcore_rsp and frontend are config1.
      auto ocr = resolver.resolve(set.resolver_spelling("OCR.DEMAND_DATA_RD.L3_HIT.SNOOP_HITM"));
      CHECK(ocr.attr.config == 0x012a);
      CHECK(ocr.attr.config1 == 0x10003c0001ull);
      auto fe = resolver.resolve(set.resolver_spelling("FRONTEND_RETIRED.L2_MISS"));
      CHECK(fe.attr.config == 0x01c6);
      CHECK(fe.attr.config1 == 0x13);
    }
    SUBCASE("sapphirerapids: an uncore event by its bare name, with its box, with terms after") {
      auto set =
          pmc::MetricSet::load(std::string(PMC_SOURCE_DIR) + "/data/metrics/sapphirerapids.json");
      pmc::EventResolver resolver(fixture("spr-2s"));
      // Intel perfmon SPR/events/sapphirerapids_uncore.json: UNC_CHA_TOR_INSERTS.IA_MISS_DRD is
      // CHA event 0x35, UMask 0x01, UMaskExt 0xC817FE; spr_uncore_cha's umask is
      // config:8-15,32-63, so UMaskExt lands at bit 32. One event per CHA box (32 here).
      uint64_t config = 0x35 | 0x01 << 8 | 0xc817feull << 32;
      for (const char* written :
           {"UNC_CHA_TOR_INSERTS.IA_MISS_DRD", "cha/UNC_CHA_TOR_INSERTS.IA_MISS_DRD/",
            "UNC_CHA_TOR_INSERTS.IA_MISS_DRD/thresh=1/"}) {
        std::string shown = written;
        CAPTURE(shown);
        auto specs = resolver.resolve_all(set.resolver_spelling(written));
        REQUIRE(specs.size() == 32);
        std::set<std::string> boxes;
        for (const auto& spec : specs) boxes.insert(spec.pmu);
        CHECK(boxes.size() == 32);
        CHECK(boxes.count("uncore_cha_0") == 1);
        CHECK(boxes.count("uncore_cha_31") == 1);
        // thresh is config:24-31 (thresh8)
        CHECK(specs[5].attr.config ==
              (config | (std::string(written).find("thresh") != std::string::npos ? 1 << 24 : 0)));
      }
      // perf matches an uncore PMU without its uncore_ prefix (pmu.c perf_pmu__match).
      auto box = resolver.resolve_all("cha_0/event=0x1/");
      REQUIRE(box.size() == 1);
      CHECK(box[0].pmu == "uncore_cha_0");
    }
    SUBCASE("zen4: a data-fabric event's 12-bit unit mask on the PerfMonV2 amd_df") {
      auto set = pmc::MetricSet::load(std::string(PMC_SOURCE_DIR) + "/data/metrics/zen4.json");
      pmc::EventResolver resolver(fixture("amd-zen4"));
      // perf's amdzen4/data-fabric.json: local_processor_read_data_beats_cs0 is event 0x1f, umask
      // 0x7fe; amd/uncore.c umask12 is config:8-15,24-27 (0x7fe: 0xfe at bit 8, 0x7 at bit 24).
      auto df = resolver.resolve_all(set.resolver_spelling("local_processor_read_data_beats_cs0"));
      REQUIRE(df.size() == 1);
      CHECK(df[0].pmu == "amd_df");
      CHECK(df[0].attr.config == 0x0700fe1full);
    }
    SUBCASE("neoverse-n1: an event the kernel does not list in sysfs, by its entry") {
      auto set =
          pmc::MetricSet::load(std::string(PMC_SOURCE_DIR) + "/data/metrics/neoverse-n1.json");
      pmc::EventResolver resolver(fixture("neoverse-n1"));
      // Arm ARM, PMU common events: ASE_SPEC is 0x0074; arm_pmuv3.c has no sysfs alias for it.
      CHECK_FALSE(error_of([&] { resolver.resolve("ASE_SPEC"); }).empty());
      auto spec = resolver.resolve(set.resolver_spelling("ASE_SPEC"));
      CHECK(spec.pmu == "armv8_pmuv3_0");
      CHECK(spec.attr.type == 8);
      CHECK(spec.attr.config == 0x74);
    }
    SUBCASE("alderlake: the same name on each core type, per its Unit") {
      auto set = pmc::MetricSet::load(std::string(PMC_SOURCE_DIR) + "/data/metrics/alderlake.json");
      pmc::EventResolver resolver(fixture("alderlake-p"));
      auto core = resolver.resolve(set.resolver_spelling("cpu_core/INT_MISC.UOP_DROPPING/"));
      CHECK(core.attr.type == 4);
      CHECK(core.attr.config == 0x10ad);
      CHECK(core.name == "cpu_core/INT_MISC.UOP_DROPPING/");
      CHECK(core.cpus.front() == 0);
      auto atom = resolver.resolve(set.resolver_spelling("cpu_atom/TOPDOWN_FE_BOUND.ALL/"));
      CHECK(atom.attr.type == 8);
      CHECK(atom.attr.config == 0x71);
      CHECK(atom.cpus.front() == 16);
    }
  }
}
