// A masked VM CPU identified from /proc/cpuinfo (tests/data/proc-cpuinfo/README.md says where
// each file came from) against the shipped tables. The expected host CPUs were worked out from
// data/cpu_facts.csv by the rule (a generation's name patterns, base clock within 50 MHz of cpu
// MHz, then the most cores, then the median TDP) with a separate script:
//   python3: [r for r in csv.DictReader(open('data/cpu_facts.csv')) if r['cores'] and
//            any(fnmatch(r['cpu_key'], p) for p in patterns) and abs(float(r['base_ghz']) - ghz) <=
//            0.05]
#include <doctest/doctest.h>

#include <algorithm>
#include <string>

#include "models/fleet/cpu_identity.h"
#include "sku_curve_holdout.h"
#include "test_support.h"

using namespace pmc;

namespace {

const std::string kData = std::string(PMC_SOURCE_DIR) + "/data/";
const std::string kCpuinfo = std::string(PMC_TEST_DATA) + "/proc-cpuinfo/";

CpuInfo cpuinfo(const std::string& name) {
  return parse_cpuinfo(pmc::test::read_file(kCpuinfo + name));
}

struct Tables {
  CpuGenerationTable generations = CpuGenerationTable::load(kData + "cpu_generations.csv");
  CpuFactsTable facts = CpuFactsTable::load(kData + "cpu_facts.csv");
  SkuCatalog catalog = SkuCatalog::load(kData + "skus.csv");
};

// The L3 of one CCX (one CCD's on Zen 3 and later) of each EPYC generation, from AMD's
// architecture descriptions (not from data/): Naples 8 MB per 4-core CCX, Rome 16 MB per 4-core
// CCX, Milan, Genoa and Turin 32 MB per CCD (96 MB with 3D V-Cache: the X parts), Bergamo (Zen
// 4c) 16 MB per 8-core CCX, Turin dense (Zen 5c) 32 MB per 16-core CCD. 0: not an EPYC generation.
double ccx_l3_mb(const CpuGeneration& g, const CpuFacts& f) {
  if (g.vendor != "AuthenticAMD") return 0;
  bool vcache = !f.key.empty() && f.key.back() == 'x';
  if (g.name.find("Naples") == 0) return 8;
  if (g.name.find("Rome") == 0) return 16;
  if (g.name.find("Bergamo") == 0) return 16;
  return vcache ? 96 : 32;
}

bool has(const std::vector<std::string>& lines, const std::string& text) {
  for (const auto& l : lines)
    if (l.find(text) != std::string::npos) return true;
  return false;
}

}  // namespace

TEST_SUITE("pure") {
  TEST_CASE("the shipped tables' keys are their names' cpu_model_key, which identification reads") {
    // pick_host and pick_catalog_sku match a generation against the stored keys (cpu_key of
    // cpu_facts.csv, Sku::cpu_key) instead of making one per row at every start-up: a row whose
    // key is not its name's would be matched differently.
    Tables t;
    size_t facts = 0;
    for (const auto& f : t.facts.all()) {
      CHECK_MESSAGE(cpu_model_key(f.name) == f.key, f.name);
      ++facts;
    }
    CHECK(facts > 1000);
    for (const auto& sku : t.catalog.skus()) CHECK(sku.cpu_key == cpu_model_key(sku.cpu_model));
    // names_key on a key is names on the name.
    for (const auto& g : t.generations.all())
      for (const auto& f : t.facts.all())
        if (g.names(f.name) != g.names_key(f.key)) FAIL_CHECK(g.name << " / " << f.name);
  }

  TEST_CASE("no CPU of the facts table is named by two generations' patterns") {
    // A CPU two generations' patterns name is a candidate for a VM of the wrong one: Genoa's
    // epyc9??4* once named Bergamo's 97x4, Ice Lake's platinum83* Cooper Lake's 83xxH, and the
    // rule's "most cores" took them.
    Tables t;
    for (const auto& f : t.facts.all()) {
      std::string named;
      int count = 0;
      for (const auto& g : t.generations.all())
        if (g.names_key(f.key)) named += (count++ ? "; " : "") + g.name;
      CHECK_MESSAGE(count <= 1, f.name << ": " << named);
    }
  }

  TEST_CASE("/proc/cpuinfo of a masked Emerald Rapids VM: the first block's fields, 4 processors") {
    auto c = cpuinfo("emr-vm-masked.cpuinfo");
    CHECK(c.vendor == "GenuineIntel");
    CHECK(c.model_name == "Intel(R) Xeon(R) Processor");
    CHECK(c.family == 6);
    CHECK(c.model == 207);
    CHECK(c.stepping == 2);
    CHECK(c.mhz == doctest::Approx(2400.0));
    CHECK(c.cache_kb == doctest::Approx(327680));
    CHECK(c.processors == 4);
    CHECK(c.flags.count("amx_tile") == 1);
    CHECK(c.flags.count("hypervisor") == 1);
    CHECK(c.flags.count("vnmi") == 1);  // from flags, not from "vmx flags"… both list it
    CHECK(c.flags.count("preemption_timer") == 0);  // "vmx flags" only
  }

  TEST_CASE("a masked VM CPU: the generation from family/model, the host from the facts table") {
    Tables t;
    SUBCASE("family 6 model 207 with amx_tile and avx512_fp16 shown: Emerald Rapids, medium") {
      auto id = identify_cpu(cpuinfo("emr-vm-masked.cpuinfo"), t.generations, t.facts, &t.catalog);
      REQUIRE(id);
      REQUIRE(id->generation != nullptr);
      CHECK(id->generation->name.find("Emerald Rapids") == 0);
      // 2.4 GHz: Platinum 8571N (52 cores) and Silver 4510 (12 cores); the most cores.
      REQUIRE(id->facts != nullptr);
      CHECK(id->facts->key == "platinum8571n");
      CHECK(id->candidates == 2);
      CHECK(id->confidence == "medium");
      CHECK(id->sku == nullptr);  // the catalog has no SPECpower result of this generation
      CHECK(has(id->evidence, "flags amx_tile, avx512_fp16 shown"));
      CHECK(has(id->evidence, "L3 320 MB"));
      CHECK(id->describe().find("host CPU identified as Intel Xeon Platinum 8571N Processor "
                                "(medium confidence)") == 0);
    }
    SUBCASE("an Intel guest's L3 (cpuinfo cache size) narrows by ARK's cache figure") {
      // At 2.4 GHz: the Platinum 8571N has 300 MB of L3, the Silver 4510 30 MB (ARK).
      auto c = cpuinfo("emr-vm-masked.cpuinfo");
      c.cache_kb = 30 * 1024;
      auto id = identify_cpu(c, t.generations, t.facts, &t.catalog);
      REQUIRE(id);
      REQUIRE(id->facts != nullptr);
      CHECK(id->facts->key == "silver4510");
      CHECK(has(id->evidence, "1 of those 2 has the L3 of 30 MB"));
      // This VM's 320 MB is neither's (a cloud part?): both kept, the most cores taken.
      id = identify_cpu(cpuinfo("emr-vm-masked.cpuinfo"), t.generations, t.facts, &t.catalog);
      REQUIRE(id);
      CHECK(has(id->evidence, "none of those 2 has an L3 of 320 MB in the facts table: all kept"));
      CHECK(id->facts->key == "platinum8571n");
    }
    SUBCASE("cpufreq's max frequency, where its driver gives the turbo, narrows the candidates") {
      // Of the two Emerald Rapids CPUs at 2.4 GHz base, Intel ARK gives the Platinum 8571N a
      // 4.0 GHz turbo and the Silver 4510 4.1 GHz (data/cpu_facts.csv). intel_pstate's
      // cpuinfo_max_freq is the highest turbo ratio × 100 MHz.
      auto c = cpuinfo("emr-vm-masked.cpuinfo");
      c.freq_driver = "intel_pstate";
      c.max_mhz = 4100;
      auto id = identify_cpu(c, t.generations, t.facts, &t.catalog);
      REQUIRE(id);
      REQUIRE(id->facts != nullptr);
      CHECK(id->facts->key == "silver4510");  // not the 8571N, which has more cores
      CHECK(id->candidates == 1);
      // Two clocks matching one CPU of the facts table: still medium (cloud-only parts have no
      // clocks in the tables).
      CHECK(id->confidence == "medium");
      CHECK(has(id->evidence, "max frequency 4.10 GHz (cpufreq, intel_pstate: the highest turbo)"));
      CHECK(has(id->evidence, "1 of those 2 has the turbo clock 4.10 GHz"));
      c.max_mhz = 4000;
      c.freq_driver = "intel_cpufreq";  // intel_pstate in passive mode: the same maximum
      id = identify_cpu(c, t.generations, t.facts, &t.catalog);
      REQUIRE(id);
      CHECK(id->facts->key == "platinum8571n");
      CHECK(id->candidates == 1);
      SUBCASE("a maximum no candidate has: all kept, and said") {
        c.max_mhz = 3500;
        id = identify_cpu(c, t.generations, t.facts, &t.catalog);
        REQUIRE(id);
        CHECK(id->facts->key == "platinum8571n");
        CHECK(id->candidates == 2);
        CHECK(has(id->evidence, "none of those 2 has a turbo clock of 3.50 GHz"));
      }
      SUBCASE("acpi-cpufreq's maximum is the top P-state, not the turbo: not used") {
        c.freq_driver = "acpi-cpufreq";
        c.max_mhz = 4100;  // even one that equals a candidate's turbo
        id = identify_cpu(c, t.generations, t.facts, &t.catalog);
        REQUIRE(id);
        CHECK(id->facts->key == "platinum8571n");
        CHECK(id->candidates == 2);
        CHECK(has(id->evidence,
                  "max frequency 4.10 GHz not used (cpufreq, acpi-cpufreq: the top "
                  "ACPI P-state"));
        CHECK(max_turbo_ghz(c) == 0);
      }
      SUBCASE("no cpufreq: nothing said about a max frequency") {
        c.max_mhz = 0;
        id = identify_cpu(c, t.generations, t.facts, &t.catalog);
        REQUIRE(id);
        CHECK(id->candidates == 2);
        CHECK_FALSE(has(id->evidence, "max frequency"));
      }
    }
    SUBCASE("an AWS 8575C whose hypervisor hides amx_tile: low confidence, the flags named") {
      auto id = identify_cpu(cpuinfo("emr-8575c-flags-masked.cpuinfo"), t.generations, t.facts,
                             &t.catalog);
      REQUIRE(id);
      CHECK(id->generation->name.find("Emerald Rapids") == 0);
      CHECK(id->confidence == "low");
      CHECK(has(id->evidence, "flags amx_tile, avx512_fp16 not shown"));
      // 3.2 GHz: Gold 5515+ (8 cores) and Gold 6558Q (32 cores).
      REQUIRE(id->facts != nullptr);
      CHECK(id->facts->key == "gold6558q");
    }
    SUBCASE("this project's own VM, an 'AMD EPYC' on family 26 model 2: Turin") {
      auto id =
          identify_cpu(cpuinfo("turin-vm-masked.cpuinfo"), t.generations, t.facts, &t.catalog);
      REQUIRE(id);
      CHECK(id->generation->name == "Turin (5th Gen EPYC)");
      // 2096 MHz: no Zen 5 Turin has a 2.1 GHz base clock (the EPYC 9845's is, but it is a Zen 5c
      // Turin dense part, family 26 model 17), so all are kept and the one with the most cores,
      // the 128-core EPYC 9755, is taken.
      REQUIRE(id->facts != nullptr);
      CHECK(id->facts->key == "epyc9755");
      CHECK(has(id->evidence, "none of its"));
      CHECK(id->confidence == "medium");
      // Its cpuinfo says "cache size : 1024 KB": Zen 5's L2 per core, not an L3.
      CHECK(has(id->evidence, "cache size 1024 KB not used (AuthenticAMD: the L2 of one core"));
      for (const auto& e : id->evidence) CHECK_MESSAGE(e.find("L3 1 MB") == std::string::npos, e);
    }
    SUBCASE("this project's Genoa VM: the L3 of one CCX (sysfs) rules out the 3D V-Cache parts") {
      // family 25 model 17, cpu MHz 2596: only the EPYC 9684X (2.55 GHz, 1152 MB L3) has that
      // base clock. Its sysfs cache/index3 shows a 32 MB L3: the 9684X's 1152 MB would be 36
      // such CCXs of 2.67 cores each, so it is not this host (AMD's table: 12 CCDs of 96 MB).
      auto c = cpuinfo("genoa-vm-masked.cpuinfo");
      auto id = identify_cpu(c, t.generations, t.facts, &t.catalog);
      REQUIRE(id);
      CHECK(id->generation->name == "Genoa (4th Gen EPYC)");
      REQUIRE(id->facts != nullptr);
      CHECK(id->facts->key == "epyc9684x");  // without the L3: the base clock alone
      c.l3_instance_kb = 32768;
      id = identify_cpu(c, t.generations, t.facts, &t.catalog);
      REQUIRE(id);
      CHECK(has(id->evidence, "L3 32 MB per CCX (sysfs cache/index3)"));
      CHECK(has(id->evidence,
                "3 of its 21 CPUs in the facts table ruled out by the L3 of 32 MB "
                "per CCX"));
      CHECK(has(id->evidence, "AMD EPYC 9684X 1152 MB"));
      CHECK(has(id->evidence, "none of those 18 CPUs in the facts table has a base clock of 2.60"));
      // Then the most cores, 96: the 9654 and 9654P (360 W both), the first of the two.
      REQUIRE(id->facts != nullptr);
      CHECK(id->facts->key == "epyc9654");
      // Not Bergamo's 128-core 9754: Zen 4c is family 25 model 160, a generation of its own.
      c.l3_instance_kb = 98304;  // a Genoa-X guest: 96 MB per CCX
      id = identify_cpu(c, t.generations, t.facts, &t.catalog);
      REQUIRE(id);
      CHECK(id->facts->key == "epyc9684x");
      CHECK(has(id->evidence, "of its 21 CPUs in the facts table ruled out by the L3 of 96 MB"));
      SUBCASE("an Intel guest's sysfs L3 is not read as a CCX's") {
        auto intel = cpuinfo("emr-vm-masked.cpuinfo");
        intel.l3_instance_kb = 32768;
        auto i = identify_cpu(intel, t.generations, t.facts, &t.catalog);
        REQUIRE(i);
        CHECK_FALSE(has(i->evidence, "per CCX"));
        CHECK(i->facts->key == "platinum8571n");
      }
    }
    SUBCASE("an AMD guest's cache size equal to a catalog EPYC's L3 is not taken for it") {
      // Linux shows an AMD CPU's L2 per core as cache size, so a number equal to a catalog
      // EPYC's whole-chip L3 says nothing about the host; before, it chose that catalog SKU.
      const Sku* epyc = nullptr;
      const CpuGeneration* gen = nullptr;
      for (const auto& s : t.catalog.skus()) {
        if (!s.llc_mb || !s.base_ghz || !s.sockets) continue;
        for (const auto& g : t.generations.all())
          if (g.vendor == "AuthenticAMD" && g.names_key(s.cpu_key)) {
            epyc = &s;
            gen = &g;
          }
        if (epyc != nullptr) break;
      }
      REQUIRE(epyc != nullptr);
      CpuInfo c;
      c.vendor = "AuthenticAMD";
      c.model_name = "AMD EPYC Processor";
      c.family = gen->family;
      c.model = gen->model;
      c.stepping = gen->stepping_min;
      c.mhz = *epyc->base_ghz * 1000;
      c.cache_kb = *epyc->llc_mb * 1024;
      for (const auto& flag : gen->marker_flags) c.flags.insert(flag);
      auto id = identify_cpu(c, t.generations, t.facts, &t.catalog);
      REQUIRE(id);
      CHECK(id->sku == nullptr);
      REQUIRE(id->facts != nullptr);  // from the facts table by base clock, as without a cache size
      CHECK(id->confidence == "medium");
    }
    SUBCASE("QEMU's Cascadelake model with the host's L3 and base clock: a catalog SKU, high") {
      // What QEMU's named CPU model shows a guest of a Xeon Platinum 8280 host (38.5 MB L3,
      // 2.7 GHz base). The catalog has 8280 servers with 2, 4 and 8 sockets, and 8280L servers
      // with the same L3 and clock: two CPU models, so medium; a 2-socket SKU is taken.
      CpuInfo c;
      c.vendor = "GenuineIntel";
      c.model_name = "Intel Xeon Processor (Cascadelake)";
      c.family = 6;
      c.model = 85;
      c.stepping = 7;
      c.mhz = 2693.670;
      c.cache_kb = 39424;
      c.flags = {"avx512f", "avx512_vnni", "hypervisor"};
      auto id = identify_cpu(c, t.generations, t.facts, &t.catalog);
      REQUIRE(id);
      CHECK(id->generation->name.find("Cascade Lake") == 0);
      REQUIRE(id->sku != nullptr);
      CHECK(id->sku->cpu_model.find("Intel Xeon Platinum 8280") == 0);
      CHECK(*id->sku->sockets == 2);
      CHECK(id->candidates == 2);
      CHECK(id->confidence == "medium");
      SUBCASE("a max turbo the 8280's (4.0 GHz, ARK) is not rules the catalog SKU out") {
        c.freq_driver = "intel_pstate";
        c.max_mhz = 3300;
        auto other = identify_cpu(c, t.generations, t.facts, &t.catalog);
        REQUIRE(other);
        CHECK(other->sku == nullptr);
        CHECK(has(other->evidence, "none of those"));  // the facts table's turn, all kept
        c.max_mhz = 4000;
        auto same = identify_cpu(c, t.generations, t.facts, &t.catalog);
        REQUIRE(same);
        REQUIRE(same->sku != nullptr);
        CHECK(same->sku->cpu_model.find("Intel Xeon Platinum 8280") == 0);
        CHECK(has(same->evidence, ", and its CPU the turbo clock of the max frequency"));
        CHECK(same->confidence == "medium");  // the 8280L has the same turbo
      }
      SUBCASE("stepping 4 on the same model number is Skylake-SP, whose names do not match") {
        c.stepping = 4;
        auto sky = identify_cpu(c, t.generations, t.facts, &t.catalog);
        REQUIRE(sky);
        CHECK(sky->generation->name.find("Skylake-SP") == 0);
        CHECK(sky->sku == nullptr);
        CHECK(has(sky->evidence, "flags avx512bw not shown"));
      }
    }
    SUBCASE("a model name that names a CPU of the facts table: high, whatever the family says") {
      CpuInfo c;
      c.vendor = "GenuineIntel";
      c.model_name = "Intel(R) Xeon(R) Platinum 8592+";
      auto id = identify_cpu(c, t.generations, t.facts, &t.catalog);
      REQUIRE(id);
      CHECK(id->facts->key == "platinum8592+");
      CHECK(id->confidence == "high");
    }
    SUBCASE("an unknown family/model and an unknown name: not identified") {
      CpuInfo c;
      c.vendor = "GenuineIntel";
      c.model_name = "Intel(R) Xeon(R) Processor";
      c.family = 6;
      c.model = 1;
      CHECK_FALSE(identify_cpu(c, t.generations, t.facts, &t.catalog));
    }
  }

  TEST_CASE("the identified host's curve is scaled by the VM's share of the host's threads") {
    Tables t;
    auto model = SkuCurveModel::load(kData + "sku_curve.json");
    auto id = identify_cpu(cpuinfo("emr-vm-masked.cpuinfo"), t.generations, t.facts, &t.catalog);
    REQUIRE(id);
    auto curve = identified_host_curve(*id, &model, t.facts, 4);
    // A 2-socket host of 52-core 8571Ns with SMT 2: 208 threads, 4 of them this VM's; 2 GB of
    // memory per core.
    ServerSpecs host{"Intel Xeon Platinum 8571N Processor", 2, 104, 208};
    auto whole = model.estimate(host, t.facts);
    for (size_t i = 0; i < kPowerCurvePoints; ++i)
      CHECK(curve.watts[i] == doctest::Approx(whole.watts[i] * 4 / 208));
    CHECK(curve.method == "estimated:sku-curve:model:platinum8571n");
    CHECK(curve.domain == "wall");
    // At each load, the held-out 90 % interval's half-width (recomputed from the held-out
    // results), plus 0.1 for medium confidence.
    auto half = test::holdout_half_widths(kData);
    for (size_t i = 0; i < kPowerCurvePoints; ++i)
      CHECK(curve.uncertainty[i] == doctest::Approx(half[i] + 0.1).epsilon(1e-6));
    CHECK(curve.basis.find("scaled by this machine's 4 of its 208 threads") != std::string::npos);
  }

  TEST_CASE("a generations table with a bad row names its file and line") {
    const std::string header =
        "vendor,family,model,stepping_min,stepping_max,generation,launch_year,marker_flags,"
        "name_keys,source\n";
    CHECK_THROWS_WITH(
        CpuGenerationTable::parse(header + "GenuineIntel,6,85,7,5,X,2019,a,b,c\n", "gen.csv"),
        doctest::Contains("gen.csv:2"));
    CHECK_THROWS_WITH(
        CpuGenerationTable::parse(header + "GenuineIntel,six,85,0,4,X,2019,a,b,c\n", "gen.csv"),
        doctest::Contains("gen.csv:2"));
  }
}

TEST_SUITE("pure") {
  TEST_CASE("every EPYC of the shipped generations has an L3 of whole CCXs of its generation's") {
    // What the L3 rule needs: a guest shown its host's CCX L3 never rules the host's CPU out.
    Tables t;
    size_t checked = 0;
    for (const auto& g : t.generations.all())
      for (const auto& f : t.facts.all()) {
        if (!g.names_key(f.key) || !f.l3_mb || !f.cores || ccx_l3_mb(g, f) == 0) continue;
        ++checked;
        CHECK_MESSAGE(l3_fits_ccxs(*f.l3_mb, *f.cores, ccx_l3_mb(g, f)),
                      f.name << " " << *f.l3_mb << " MB, " << *f.cores << " cores");
      }
    CHECK(checked > 80);  // AMD's EPYC table: every server EPYC from Naples to Turin
    // And the rule rules out: 9684X (1152 MB, 96 cores) is not 32 MB CCXs; 7763 not 96 MB ones.
    CHECK_FALSE(l3_fits_ccxs(1152, 96, 32));
    CHECK(l3_fits_ccxs(1152, 96, 96));
    CHECK_FALSE(l3_fits_ccxs(256, 64, 96));
    CHECK(l3_fits_ccxs(256, 64, 32));
    CHECK_FALSE(l3_fits_ccxs(16, 4, 32));  // less than one CCX
  }

  TEST_CASE(
      "identification of every known CPU of the shipped generations, masked as a VM shows it") {
    // Each CPU of data/cpu_facts.csv that a generation's name patterns cover, shown as a VM shows
    // it: the generation's vendor/family/model, its marker flags, its base clock as cpu MHz, and
    // on Intel its L3 (ARK's, or a catalog SKU's) (on AMD, its generation's L3 per CCX as
    // sysfs shows it: ccx_l3_mb); then again with its turbo clock as the
    // max frequency of a cpufreq driver that gives the turbo (intel_pstate, amd-pstate-epp).
    // What the confidence promises is checked: "high" must name the CPU itself. The rates are
    // printed (doctest -s) for docs/energy.md.
    Tables t;
    struct Rates {
      size_t cpus = 0, exact = 0, high = 0, same_tdp = 0;
      std::vector<double> tdp_error;
    };
    auto identify_all = [&](bool with_turbo) {
      Rates r;
      for (const auto& g : t.generations.all()) {
        for (const auto& f : t.facts.all()) {
          if (!g.names_key(f.key) || !f.base_ghz || !f.cores || f.tdp_w <= 0) continue;
          CpuInfo info;
          info.vendor = g.vendor;
          info.model_name =
              g.vendor == "AuthenticAMD" ? "AMD EPYC Processor" : "Intel(R) Xeon(R) Processor";
          info.family = g.family;
          info.model = g.model;
          info.stepping = g.stepping_min;
          info.mhz = *f.base_ghz * 1000;
          // Linux's cache size is the L3 on Intel only (ARK's cache figure, else a catalog SKU's
          // llc_mb); an AMD guest shows its cores' L2.
          if (g.vendor == "GenuineIntel" && f.l3_mb) info.cache_kb = *f.l3_mb * 1024;
          for (const auto& s : t.catalog.skus())
            if (s.cpu_key == f.key && s.llc_mb && info.cache_kb == 0)
              info.cache_kb = g.vendor == "GenuineIntel" ? *s.llc_mb * 1024 : 1024;
          for (const auto& flag : g.marker_flags) info.flags.insert(flag);
          info.processors = 4;
          info.l3_instance_kb = ccx_l3_mb(g, f) * 1024;  // sysfs cache/index3 of an AMD guest
          if (with_turbo && f.turbo_ghz) {
            info.max_mhz = *f.turbo_ghz * 1000;
            info.freq_driver = g.vendor == "GenuineIntel" ? "intel_pstate" : "amd-pstate-epp";
          }
          auto id = identify_cpu(info, t.generations, t.facts, &t.catalog);
          REQUIRE_MESSAGE(id, f.name);
          REQUIRE(id->generation != nullptr);
          CHECK_MESSAGE(id->generation->name == g.name,
                        f.name << " identified as " << id->generation->name << ", not " << g.name);
          ++r.cpus;
          bool is_it = id->facts != nullptr && id->facts->key == f.key;
          r.exact += is_it;
          if (id->confidence == "high") {
            ++r.high;
            CHECK_MESSAGE(is_it, f.name << " identified with high confidence as " << id->host_cpu);
          }
          if (id->facts != nullptr) {
            double e = std::abs(id->facts->tdp_w - f.tdp_w) / f.tdp_w;
            r.tdp_error.push_back(e);
            r.same_tdp += e == 0;
          }
        }
      }
      return r;
    };
    for (bool with_turbo : {false, true}) {
      Rates r = identify_all(with_turbo);
      CHECK(r.cpus > 100);
      std::sort(r.tdp_error.begin(), r.tdp_error.end());
      auto q = [&](double p) { return r.tdp_error[size_t(p * double(r.tdp_error.size() - 1))]; };
      REQUIRE(!r.tdp_error.empty());
      MESSAGE(std::string(with_turbo ? "with the turbo as max frequency, " : "base clock only, ")
              << r.cpus << " CPUs: " << r.exact << " identified exactly, " << r.high
              << " with high confidence, " << r.same_tdp << " with the same TDP; TDP error median "
              << q(0.5) << ", p90 " << q(0.9) << ", max " << r.tdp_error.back());
    }
    // The second clock must find more CPUs than the base clock alone, and never fewer with the
    // same TDP: it only removes candidates whose turbo differs from the CPU's own.
    Rates base = identify_all(false), turbo = identify_all(true);
    CHECK(turbo.cpus == base.cpus);
    CHECK(turbo.exact > base.exact);
    CHECK(turbo.same_tdp >= base.same_tdp);
  }
}
