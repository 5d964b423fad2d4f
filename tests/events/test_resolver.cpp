// Event names → EventSpec against the sysfs fixtures in tests/data/sysfs (see its README.md).
// Expected encodings come from include/uapi/linux/perf_event.h constants and from the format/ and
// events/ files of the fixtures (which model the kernel's arch/x86/events attributes).
#include <doctest/doctest.h>
#include <linux/perf_event.h>

#include <algorithm>
#include <map>
#include <string>

#include "events/names/event_list.h"
#include "events/names/resolver.h"
#include "events/names/sysfs_pmu.h"

namespace {

pmc::SysRoot fixture(const std::string& name) {
  pmc::SysRoot root;
  root.sys = std::string(PMC_TEST_DATA) + "/sysfs/" + name;
  root.proc = std::string(PMC_TEST_DATA) + "/sysfs/no-such-proc";
  return root;
}

// The message of the ResolveError thrown by `fn`, or "" when nothing was thrown.
template <typename Fn>
std::string error_of(Fn&& fn) {
  try {
    fn();
  } catch (const pmc::ResolveError& e) {
    return e.what();
  }
  return "";
}

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

constexpr uint64_t cache_config(uint64_t id, uint64_t op, uint64_t result) {
  return id | (op << 8) | (result << 16);
}

}  // namespace

TEST_SUITE("pure") {
  TEST_CASE("generic hardware and software names encode to the perf_event.h constants") {
    pmc::EventResolver resolver(fixture("intel-client"));
    struct Row {
      const char* name;
      uint32_t type;
      uint64_t config;
    };
    const Row rows[] = {
        {"cycles", PERF_TYPE_HARDWARE, PERF_COUNT_HW_CPU_CYCLES},
        {"cpu-cycles", PERF_TYPE_HARDWARE, PERF_COUNT_HW_CPU_CYCLES},
        {"instructions", PERF_TYPE_HARDWARE, PERF_COUNT_HW_INSTRUCTIONS},
        {"cache-references", PERF_TYPE_HARDWARE, PERF_COUNT_HW_CACHE_REFERENCES},
        {"cache-misses", PERF_TYPE_HARDWARE, PERF_COUNT_HW_CACHE_MISSES},
        {"branches", PERF_TYPE_HARDWARE, PERF_COUNT_HW_BRANCH_INSTRUCTIONS},
        {"branch-instructions", PERF_TYPE_HARDWARE, PERF_COUNT_HW_BRANCH_INSTRUCTIONS},
        {"branch-misses", PERF_TYPE_HARDWARE, PERF_COUNT_HW_BRANCH_MISSES},
        {"bus-cycles", PERF_TYPE_HARDWARE, PERF_COUNT_HW_BUS_CYCLES},
        {"ref-cycles", PERF_TYPE_HARDWARE, PERF_COUNT_HW_REF_CPU_CYCLES},
        {"stalled-cycles-frontend", PERF_TYPE_HARDWARE, PERF_COUNT_HW_STALLED_CYCLES_FRONTEND},
        {"idle-cycles-frontend", PERF_TYPE_HARDWARE, PERF_COUNT_HW_STALLED_CYCLES_FRONTEND},
        {"stalled-cycles-backend", PERF_TYPE_HARDWARE, PERF_COUNT_HW_STALLED_CYCLES_BACKEND},
        {"idle-cycles-backend", PERF_TYPE_HARDWARE, PERF_COUNT_HW_STALLED_CYCLES_BACKEND},
        {"cpu-clock", PERF_TYPE_SOFTWARE, PERF_COUNT_SW_CPU_CLOCK},
        {"task-clock", PERF_TYPE_SOFTWARE, PERF_COUNT_SW_TASK_CLOCK},
        {"page-faults", PERF_TYPE_SOFTWARE, PERF_COUNT_SW_PAGE_FAULTS},
        {"faults", PERF_TYPE_SOFTWARE, PERF_COUNT_SW_PAGE_FAULTS},
        {"minor-faults", PERF_TYPE_SOFTWARE, PERF_COUNT_SW_PAGE_FAULTS_MIN},
        {"major-faults", PERF_TYPE_SOFTWARE, PERF_COUNT_SW_PAGE_FAULTS_MAJ},
        {"context-switches", PERF_TYPE_SOFTWARE, PERF_COUNT_SW_CONTEXT_SWITCHES},
        {"cs", PERF_TYPE_SOFTWARE, PERF_COUNT_SW_CONTEXT_SWITCHES},
        {"cpu-migrations", PERF_TYPE_SOFTWARE, PERF_COUNT_SW_CPU_MIGRATIONS},
        {"migrations", PERF_TYPE_SOFTWARE, PERF_COUNT_SW_CPU_MIGRATIONS},
        {"alignment-faults", PERF_TYPE_SOFTWARE, PERF_COUNT_SW_ALIGNMENT_FAULTS},
        {"emulation-faults", PERF_TYPE_SOFTWARE, PERF_COUNT_SW_EMULATION_FAULTS},
    };
    for (const Row& row : rows) {
      CAPTURE(row.name);
      pmc::EventSpec spec = resolver.resolve(row.name);
      CHECK(spec.name == row.name);
      CHECK(spec.attr.type == row.type);
      CHECK(spec.attr.config == row.config);
      CHECK(spec.source == "generic");
      CHECK(spec.cpus.empty());
      const bool hw = row.type == PERF_TYPE_HARDWARE;
      CHECK(spec.hardware == hw);
      CHECK(spec.pmu == (hw ? "cpu" : "software"));
      CHECK_FALSE(bool(spec.attr.exclude_user));
      CHECK_FALSE(bool(spec.attr.exclude_kernel));
    }
  }

  TEST_CASE("clock events are scaled from the kernel's nanoseconds to msec") {
    pmc::EventResolver resolver(fixture("intel-client"));
    for (const char* name : {"task-clock", "cpu-clock"}) {
      CAPTURE(name);
      pmc::EventSpec spec = resolver.resolve(name);
      CHECK(spec.unit == "msec");
      CHECK(spec.scale == doctest::Approx(1e-6));
    }
    pmc::EventSpec faults = resolver.resolve("page-faults");
    CHECK(faults.unit.empty());
    CHECK(faults.scale == 1.0);
  }

  TEST_CASE("hardware cache names are id | op << 8 | result << 16") {
    pmc::EventResolver resolver(fixture("intel-client"));
    struct Row {
      const char* name;
      uint64_t config;
    };
    const Row rows[] = {
        {"LLC-load-misses", cache_config(PERF_COUNT_HW_CACHE_LL, PERF_COUNT_HW_CACHE_OP_READ,
                                         PERF_COUNT_HW_CACHE_RESULT_MISS)},
        {"LLC-loads", cache_config(PERF_COUNT_HW_CACHE_LL, PERF_COUNT_HW_CACHE_OP_READ,
                                   PERF_COUNT_HW_CACHE_RESULT_ACCESS)},
        {"L1-dcache-loads", cache_config(PERF_COUNT_HW_CACHE_L1D, PERF_COUNT_HW_CACHE_OP_READ,
                                         PERF_COUNT_HW_CACHE_RESULT_ACCESS)},
        {"L1-dcache-store-misses",
         cache_config(PERF_COUNT_HW_CACHE_L1D, PERF_COUNT_HW_CACHE_OP_WRITE,
                      PERF_COUNT_HW_CACHE_RESULT_MISS)},
        {"L1-icache-load-misses", cache_config(PERF_COUNT_HW_CACHE_L1I, PERF_COUNT_HW_CACHE_OP_READ,
                                               PERF_COUNT_HW_CACHE_RESULT_MISS)},
        {"dTLB-prefetch-misses",
         cache_config(PERF_COUNT_HW_CACHE_DTLB, PERF_COUNT_HW_CACHE_OP_PREFETCH,
                      PERF_COUNT_HW_CACHE_RESULT_MISS)},
        {"iTLB-loads", cache_config(PERF_COUNT_HW_CACHE_ITLB, PERF_COUNT_HW_CACHE_OP_READ,
                                    PERF_COUNT_HW_CACHE_RESULT_ACCESS)},
        {"branch-load-misses", cache_config(PERF_COUNT_HW_CACHE_BPU, PERF_COUNT_HW_CACHE_OP_READ,
                                            PERF_COUNT_HW_CACHE_RESULT_MISS)},
        {"node-stores", cache_config(PERF_COUNT_HW_CACHE_NODE, PERF_COUNT_HW_CACHE_OP_WRITE,
                                     PERF_COUNT_HW_CACHE_RESULT_ACCESS)},
        {"node-prefetches", cache_config(PERF_COUNT_HW_CACHE_NODE, PERF_COUNT_HW_CACHE_OP_PREFETCH,
                                         PERF_COUNT_HW_CACHE_RESULT_ACCESS)},
    };
    for (const Row& row : rows) {
      CAPTURE(row.name);
      pmc::EventSpec spec = resolver.resolve(row.name);
      CHECK(spec.attr.type == PERF_TYPE_HW_CACHE);
      CHECK(spec.attr.config == row.config);
      CHECK(spec.hardware);
      CHECK(spec.pmu == "cpu");
    }
    SUBCASE("combinations perf's evsel__hw_cache_stat rejects are unknown") {
      CHECK(contains(error_of([&] { resolver.resolve("L1-icache-stores"); }), "unknown event"));
      CHECK(contains(error_of([&] { resolver.resolve("iTLB-stores"); }), "unknown event"));
    }
  }

  TEST_CASE("a root without bus/event_source still resolves generic and software names") {
    pmc::EventResolver resolver(fixture("no-pmu"));
    CHECK(resolver.pmus().empty());
    pmc::EventSpec cycles = resolver.resolve("cycles");
    CHECK(cycles.attr.type == PERF_TYPE_HARDWARE);
    CHECK(cycles.attr.config == PERF_COUNT_HW_CPU_CYCLES);
    CHECK(cycles.pmu == "cpu");
    CHECK(resolver.resolve("LLC-load-misses").attr.type == PERF_TYPE_HW_CACHE);
    pmc::EventSpec clock = resolver.resolve("task-clock");
    CHECK(clock.attr.type == PERF_TYPE_SOFTWARE);
    CHECK(clock.attr.config == PERF_COUNT_SW_TASK_CLOCK);
    for (const std::string& name : pmc::default_event_names(true))
      CHECK_NOTHROW(resolver.resolve(name));
    for (const std::string& name : resolver.known_names())
      CHECK(name.find('/') == std::string::npos);
    CHECK(contains(error_of([&] { resolver.resolve("cpu/event=0x3c/"); }), "unknown PMU 'cpu'"));
  }

  TEST_CASE("sysfs terms are packed into config words per the PMU's format files") {
    pmc::EventResolver resolver(fixture("intel-client"));
    SUBCASE("event, umask and cmask (config:0-7, 8-15, 24-31)") {
      pmc::EventSpec spec = resolver.resolve("cpu/event=0x3c,umask=0x1,cmask=2/");
      CHECK(spec.attr.type == 4u);
      CHECK(spec.attr.config == 0x0200013cULL);
      CHECK(spec.pmu == "cpu");
      CHECK(spec.source == "sysfs");
      CHECK(spec.hardware);
      CHECK(spec.name == "cpu/event=0x3c,umask=0x1,cmask=2/");
    }
    SUBCASE("terms without a value mean 1 (edge = config:18, inv = config:23)") {
      CHECK(resolver.resolve("cpu/event=0xc0,edge,inv/").attr.config ==
            (0xc0ULL | 1ULL << 18 | 1ULL << 23));
    }
    SUBCASE("decimal values") {
      CHECK(resolver.resolve("cpu/event=192,umask=1/").attr.config == 0x01c0ULL);
    }
    SUBCASE("config1 fields (offcore_rsp = config1:0-63)") {
      pmc::EventSpec spec = resolver.resolve("cpu/event=0xb7,umask=0x1,offcore_rsp=0x10003c0091/");
      CHECK(spec.attr.config == 0x01b7ULL);
      CHECK(spec.attr.config1 == 0x10003c0091ULL);
    }
    SUBCASE("event aliases from events/") {
      CHECK(resolver.resolve("cpu/cpu-cycles/").attr.config == 0x3cULL);
      CHECK(resolver.resolve("cpu/instructions/").attr.config == 0xc0ULL);
      CHECK(resolver.resolve("cpu/ref-cycles/").attr.config == 0x0300ULL);
      CHECK(resolver.resolve("cpu/topdown-retiring/").attr.config == 0x8000ULL);
      pmc::EventSpec loads = resolver.resolve("cpu/mem-loads/");
      CHECK(loads.attr.config == 0x01cdULL);
      CHECK(loads.attr.config1 == 3u);  // ldlat = config1:0-15
    }
    SUBCASE("terms after an alias override its fields") {
      CHECK(resolver.resolve("cpu/cpu-cycles,cmask=1,inv/").attr.config ==
            (0x3cULL | 1ULL << 24 | 1ULL << 23));
      CHECK(resolver.resolve("cpu/cpu-cycles,event=0xc0/").attr.config == 0xc0ULL);
    }
    SUBCASE("config= sets the whole word") {
      CHECK(resolver.resolve("cpu/config=0x5300c0/").attr.config == 0x5300c0ULL);
    }
    SUBCASE("name= sets the display name") {
      pmc::EventSpec spec = resolver.resolve("cpu/event=0xc0,name=insts/");
      CHECK(spec.name == "insts");
      CHECK(spec.attr.config == 0xc0ULL);
    }
    SUBCASE("a generic hardware name as a core PMU's term") {
      pmc::EventSpec spec = resolver.resolve("cpu/cycles/");
      CHECK(spec.attr.type == PERF_TYPE_HARDWARE);
      CHECK(spec.attr.config == PERF_COUNT_HW_CPU_CYCLES);
    }
  }

  TEST_CASE("RAPL and MSR events carry the PMU type and scale and unit and cpumask") {
    pmc::EventResolver resolver(fixture("intel-client"));
    pmc::EventSpec pkg = resolver.resolve("power/energy-pkg/");
    CHECK(pkg.attr.type == 13u);
    CHECK(pkg.attr.config == 0x02u);
    CHECK(pkg.scale == 2.3283064365386962890625e-10);  // exactly 2^-32, as rapl.c prints it
    CHECK(pkg.scale == 0x1p-32);
    CHECK(pkg.unit == "Joules");
    CHECK(pkg.cpus == std::vector<int>{0});
    CHECK(pkg.pmu == "power");
    CHECK_FALSE(pkg.hardware);
    CHECK(resolver.resolve("power/energy-psys/").attr.config == 0x05u);
    CHECK(resolver.resolve("power/energy-cores/").attr.config == 0x01u);

    pmc::EventSpec tsc = resolver.resolve("msr/tsc/");
    CHECK(tsc.attr.type == 9u);
    CHECK(tsc.attr.config == 0u);
    CHECK(tsc.cpus.empty());
    CHECK(tsc.unit.empty());
    CHECK(tsc.scale == 1.0);
    CHECK_FALSE(tsc.hardware);
    CHECK(resolver.resolve("msr/mperf/").attr.config == 2u);
  }

  TEST_CASE("split format ranges fill the low bits first (AMD event = config:0-7 and 32-35)") {
    pmc::EventResolver resolver(fixture("amd-zen"));
    // EventSelect 0x120: bits 7:0 = 0x20 in config 7:0, bits 11:8 = 0x1 in config 35:32.
    CHECK(resolver.resolve("cpu/event=0x120/").attr.config == 0x100000020ULL);
    CHECK(resolver.resolve("cpu/event=0xc0/").attr.config == 0xc0ULL);
    CHECK(contains(error_of([&] { resolver.resolve("cpu/event=0x1000/"); }), "12 bits"));
    pmc::EventSpec l3 =
        resolver.resolve("amd_l3/event=0x04,umask=0xff,slicemask=0xf,threadmask=0xff/");
    CHECK(l3.attr.type == 11u);
    CHECK(l3.attr.config == (0x04ULL | 0xffULL << 8 | 0xfULL << 48 | 0xffULL << 56));
    CHECK(l3.cpus == std::vector<int>{0, 8, 16, 24});
  }

  TEST_CASE("modifiers set the exclude bits") {
    pmc::EventResolver resolver(fixture("intel-client"));
    auto check_levels = [&](const char* name, bool ex_user, bool ex_kernel, bool ex_hv) {
      CAPTURE(name);
      pmc::EventSpec spec = resolver.resolve(name);
      CHECK(bool(spec.attr.exclude_user) == ex_user);
      CHECK(bool(spec.attr.exclude_kernel) == ex_kernel);
      CHECK(bool(spec.attr.exclude_hv) == ex_hv);
    };
    check_levels("cycles:u", false, true, true);
    check_levels("cycles:k", true, false, true);
    check_levels("cycles:uk", false, false, true);
    check_levels("cycles:h", true, true, false);
    check_levels("task-clock:u", false, true, true);
    check_levels("LLC-load-misses:k", true, false, true);
    check_levels("cpu/event=0x3c/u", false, true, true);
    check_levels("cpu/cpu-cycles/:k", true, false, true);
    check_levels("power/energy-pkg/", false, false, false);
    CHECK(resolver.resolve("cycles:u").attr.config == PERF_COUNT_HW_CPU_CYCLES);
    CHECK(resolver.resolve("cycles:u").name == "cycles:u");
    CHECK(unsigned(resolver.resolve("cycles:pp").attr.precise_ip) == 2u);
    CHECK(contains(error_of([&] { resolver.resolve("cpu/cpu-cycles/x"); }), "modifier 'x'"));
  }

  TEST_CASE("hybrid: a generic hardware name stands for one event per core PMU") {
    pmc::EventResolver resolver(fixture("hybrid"));
    std::vector<pmc::EventSpec> specs = resolver.resolve_all("cycles");
    REQUIRE(specs.size() == 2);
    CHECK(specs[0].name == "cpu_core/cycles/");
    CHECK(specs[0].pmu == "cpu_core");
    CHECK(specs[0].attr.type == PERF_TYPE_HARDWARE);
    CHECK(specs[0].attr.config == (4ULL << PERF_PMU_TYPE_SHIFT | PERF_COUNT_HW_CPU_CYCLES));
    CHECK(specs[0].cpus.size() == 16);
    CHECK(specs[1].name == "cpu_atom/cycles/");
    CHECK(specs[1].attr.config == (8ULL << PERF_PMU_TYPE_SHIFT | PERF_COUNT_HW_CPU_CYCLES));
    CHECK(specs[1].cpus.front() == 16);
    CHECK(specs[1].cpus.back() == 23);
    CHECK(resolver.resolve("cycles").name == "cpu_core/cycles/");

    SUBCASE("cache events get the extended type too, software events do not") {
      auto llc = resolver.resolve_all("LLC-load-misses");
      REQUIRE(llc.size() == 2);
      CHECK(llc[1].attr.type == PERF_TYPE_HW_CACHE);
      CHECK(llc[1].attr.config == (8ULL << PERF_PMU_TYPE_SHIFT |
                                   cache_config(PERF_COUNT_HW_CACHE_LL, PERF_COUNT_HW_CACHE_OP_READ,
                                                PERF_COUNT_HW_CACHE_RESULT_MISS)));
      auto clock = resolver.resolve_all("task-clock");
      REQUIRE(clock.size() == 1);
      CHECK(clock[0].attr.config == PERF_COUNT_SW_TASK_CLOCK);
    }
    SUBCASE("the expanded names resolve back to the same encoding") {
      pmc::EventSpec atom = resolver.resolve("cpu_atom/cycles/");
      CHECK(atom.attr.type == specs[1].attr.type);
      CHECK(atom.attr.config == specs[1].attr.config);
      CHECK(atom.pmu == "cpu_atom");
    }
    SUBCASE("modifiers carry into each expansion") {
      auto user = resolver.resolve_all("instructions:u");
      REQUIRE(user.size() == 2);
      for (const pmc::EventSpec& s : user) {
        CHECK(bool(s.attr.exclude_kernel));
        CHECK_FALSE(bool(s.attr.exclude_user));
      }
      CHECK(user[1].name == "cpu_atom/instructions/u");
    }
    SUBCASE("sysfs events use each PMU's own encoding and cpus") {
      pmc::EventSpec core = resolver.resolve("cpu_core/topdown-retiring/");
      CHECK(core.attr.type == 4u);
      CHECK(core.attr.config == 0x8000ULL);
      CHECK(core.cpus.size() == 16);
      pmc::EventSpec atom = resolver.resolve("cpu_atom/topdown-retiring/");
      CHECK(atom.attr.type == 8u);
      CHECK(atom.attr.config == 0xc2ULL);
      CHECK(atom.cpus.size() == 8);
      CHECK(contains(error_of([&] { resolver.resolve("cpu_atom/in_tx=1/"); }), "cpu_atom"));
    }
    SUBCASE("lists: one group per expansion, a {group} split per core PMU") {
      auto groups = resolver.resolve_list("cycles,instructions");
      REQUIRE(groups.size() == 4);
      CHECK(groups[0].events.size() == 1);
      CHECK_FALSE(groups[0].explicit_group);
      CHECK(groups[1].events[0].name == "cpu_atom/cycles/");
      CHECK(groups[2].events[0].name == "cpu_core/instructions/");

      auto grouped = resolver.resolve_list("{cycles,instructions,task-clock}");
      REQUIRE(grouped.size() == 2);
      CHECK(grouped[0].explicit_group);
      REQUIRE(grouped[0].events.size() == 3);
      CHECK(grouped[0].events[0].pmu == "cpu_core");
      CHECK(grouped[0].events[1].pmu == "cpu_core");
      CHECK(grouped[0].events[2].pmu == "software");
      REQUIRE(grouped[1].events.size() == 2);
      CHECK(grouped[1].events[0].name == "cpu_atom/cycles/");
      CHECK(grouped[1].events[1].name == "cpu_atom/instructions/");
    }
    SUBCASE("pmus() reports both core PMUs with their cpus") {
      const auto& pmus = resolver.pmus();
      auto atom =
          std::find_if(pmus.begin(), pmus.end(), [](auto& p) { return p.name == "cpu_atom"; });
      REQUIRE(atom != pmus.end());
      CHECK(atom->type == 8);
      CHECK(atom->cpus.size() == 8);
      CHECK(atom->cpus.front() == 16);
    }
  }

  TEST_CASE("event lists: top-level commas and groups and group modifiers") {
    pmc::EventResolver resolver(fixture("intel-client"));
    SUBCASE("a group and a single event") {
      auto groups = resolver.resolve_list("{cycles,instructions},task-clock");
      REQUIRE(groups.size() == 2);
      CHECK(groups[0].explicit_group);
      REQUIRE(groups[0].events.size() == 2);
      CHECK(groups[0].events[0].attr.config == PERF_COUNT_HW_CPU_CYCLES);
      CHECK(groups[0].events[1].attr.config == PERF_COUNT_HW_INSTRUCTIONS);
      CHECK_FALSE(groups[1].explicit_group);
      CHECK(groups[1].events[0].attr.type == PERF_TYPE_SOFTWARE);
    }
    SUBCASE("commas inside pmu/…/ do not split") {
      auto groups = resolver.resolve_list("cpu/event=0x3c,umask=0x1/, instructions ,msr/tsc/");
      REQUIRE(groups.size() == 3);
      CHECK(groups[0].events[0].attr.config == 0x013cULL);
      CHECK(groups[1].events[0].name == "instructions");
      CHECK(groups[2].events[0].pmu == "msr");
    }
    SUBCASE("{a,b}:u applies the modifiers to every member") {
      auto groups = resolver.resolve_list("{cycles,cpu/event=0xc0/}:u");
      REQUIRE(groups.size() == 1);
      for (const pmc::EventSpec& s : groups[0].events) {
        CHECK(bool(s.attr.exclude_kernel));
        CHECK_FALSE(bool(s.attr.exclude_user));
      }
      CHECK(groups[0].events[0].name == "cycles:u");
      CHECK(groups[0].events[1].name == "cpu/event=0xc0/u");
    }
    SUBCASE("a group's modifier adds to a member's own, as perf combines them") {
      // perf's tests/parse-events.c test__group2: {faults:k,cache-references}:u counts faults in
      // user and kernel, cache-references in user only; test__group4: {cycles:u,...:kp}:p adds p.
      auto groups = resolver.resolve_list("{cycles:k,instructions,cpu/event=0xc0/k}:u");
      REQUIRE(groups.size() == 1);
      REQUIRE(groups[0].events.size() == 3);
      const auto& both = groups[0].events[0].attr;
      CHECK_FALSE(bool(both.exclude_user));
      CHECK_FALSE(bool(both.exclude_kernel));
      CHECK(bool(both.exclude_hv));
      CHECK(groups[0].events[0].name == "cycles:ku");
      const auto& user = groups[0].events[1].attr;
      CHECK_FALSE(bool(user.exclude_user));
      CHECK(bool(user.exclude_kernel));
      CHECK_FALSE(bool(groups[0].events[2].attr.exclude_user));
      CHECK_FALSE(bool(groups[0].events[2].attr.exclude_kernel));
      CHECK(groups[0].events[2].name == "cpu/event=0xc0/ku");
      auto precise = resolver.resolve_list("{cycles:u,instructions:kp}:p");
      CHECK(int(precise[0].events[0].attr.precise_ip) == 1);
      CHECK(int(precise[0].events[1].attr.precise_ip) == 2);
      CHECK(precise[0].events[1].name == "instructions:kpp");
      auto same = resolver.resolve_list("{cycles:u}:u");
      CHECK(same[0].events[0].name == "cycles:u");
      CHECK(contains(error_of([&] { resolver.resolve_list("{cycles:pp}:pp"); }), "3 'p'"));
    }
    SUBCASE("a weak group {a,b}:W is accepted and changes no event") {
      auto groups = resolver.resolve_list("{cycles,instructions}:W");
      REQUIRE(groups.size() == 1);
      CHECK(groups[0].explicit_group);
      CHECK(groups[0].events[0].name == "cycles");
      CHECK(groups[0].events[1].name == "instructions");
      CHECK_FALSE(bool(groups[0].events[0].attr.exclude_kernel));
      auto weak_user = resolver.resolve_list("{cycles,instructions}:uW");
      CHECK(weak_user[0].events[1].name == "instructions:u");
      CHECK(contains(error_of([&] { resolver.resolve_list("cycles:W"); }), "{a,b}:W"));
      CHECK(contains(error_of([&] { resolver.resolve_list("cpu/event=0xc0/W"); }), "{a,b}:W"));
    }
    SUBCASE("I sets exclude_idle, e sets exclusive on the group leader only") {
      auto groups = resolver.resolve_list("{cycles,instructions}:eI,task-clock:I");
      REQUIRE(groups.size() == 2);
      CHECK(bool(groups[0].events[0].attr.exclusive));
      CHECK_FALSE(bool(groups[0].events[1].attr.exclusive));
      CHECK(bool(groups[0].events[0].attr.exclude_idle));
      CHECK(bool(groups[0].events[1].attr.exclude_idle));
      CHECK(bool(groups[1].events[0].attr.exclude_idle));
      CHECK_FALSE(bool(groups[1].events[0].attr.exclusive));
    }
    SUBCASE("perf's D, S and P are refused with the reason") {
      CHECK(contains(error_of([&] { resolver.resolve_list("{cycles,instructions}:D"); }),
                     "D (pinned) is not supported"));
      CHECK(contains(error_of([&] { resolver.resolve_list("cycles:S"); }), "S (sample read)"));
      CHECK(contains(error_of([&] { resolver.resolve_list("cpu/event=0xc0/P"); }),
                     "P (maximum precision)"));
    }
    SUBCASE("a group with pmu terms") {
      auto groups =
          resolver.resolve_list("{cpu/event=0x3c,umask=0x0/,cpu/event=0xc0/},power/energy-pkg/");
      REQUIRE(groups.size() == 2);
      CHECK(groups[0].events.size() == 2);
      CHECK(groups[1].events[0].unit == "Joules");
    }
  }

  TEST_CASE("bad lists and names are one-line ResolveErrors that name the problem") {
    pmc::EventResolver resolver(fixture("intel-client"));
    auto list_error = [&](const char* list) {
      return error_of([&] { resolver.resolve_list(list); });
    };
    CHECK(contains(list_error(""), "empty event list"));
    CHECK(contains(list_error("  "), "empty event list"));
    CHECK(contains(list_error("{}"), "empty group"));
    CHECK(contains(list_error("{cycles"), "unbalanced '{'"));
    CHECK(contains(list_error("cycles}"), "unbalanced '}'"));
    CHECK(contains(list_error("{cycles,{instructions}}"), "nest"));
    CHECK(contains(list_error("cycles,,instructions"), "empty event name"));
    CHECK(contains(list_error("cycles,"), "empty event name"));
    CHECK(contains(list_error("cpu/event=0x3c"), "unterminated"));
    CHECK(contains(list_error("{cycles}:q"), "modifier 'q'"));
    // A generic name with a suffix that is not perf's modifiers says which and what is allowed.
    for (std::string bad : {"cycles:z", "task-clock:pppp", "LLC-loads:uq", "cycles:"}) {
      CAPTURE(bad);
      std::string why = error_of([&] { resolver.resolve(bad); });
      std::string letters = bad.substr(bad.rfind(':') + 1);
      CHECK(contains(why, "unknown modifier '" + letters + "' in '" + bad + "'"));
      CHECK(contains(why, "u, k, h, G, H"));
      CHECK_FALSE(contains(why, "libpfm"));
    }
    CHECK(contains(error_of([&] { resolver.resolve(""); }), "empty event name"));

    std::string bogus = error_of([&] { resolver.resolve("cpu/bogus=1/"); });
    CHECK(contains(bogus, "unknown term 'bogus'"));
    CHECK(contains(bogus, "PMU 'cpu'"));
    CHECK(contains(bogus, "umask"));  // lists the terms the PMU has

    std::string overflow = error_of([&] { resolver.resolve("cpu/event=0x1ff/"); });
    CHECK(contains(overflow, "'event'"));
    CHECK(contains(overflow, "8 bits"));
    CHECK(contains(error_of([&] { resolver.resolve("cpu/edge=2/"); }), "1 bits"));
    CHECK(contains(error_of([&] { resolver.resolve("cpu/event=zz/"); }), "bad value 'zz'"));
    CHECK(contains(error_of([&] { resolver.resolve("nope/event=1/"); }), "unknown PMU 'nope'"));
    CHECK(contains(error_of([&] { resolver.resolve("cpu//"); }), "no terms"));

    std::string typo = error_of([&] { resolver.resolve("cycels"); });
    CHECK(contains(typo, "unknown event 'cycels'"));
    CHECK(contains(typo, "did you mean: cycles"));
    CHECK(typo.find('\n') == std::string::npos);
    CHECK(contains(error_of([&] { resolver.resolve("instrucions:u"); }), "instructions"));
    CHECK(contains(error_of([&] { resolver.resolve("LLC-load-mises"); }), "LLC-load-misses"));
    CHECK(contains(error_of([&] { resolver.resolve("energy-pkgg"); }), "power/energy-pkg/"));
    std::string far = error_of([&] { resolver.resolve("zzzzzzzzzzzzzzzz"); });
    CHECK(contains(far, "unknown event 'zzzzzzzzzzzzzzzz'"));
    CHECK_FALSE(contains(far, "did you mean"));
    // A caller that drops the message asks for no suggestions: the same error, without them.
    std::string quiet = error_of([&] { resolver.resolve_all("cycels", false); });
    CHECK(contains(quiet, "unknown event 'cycels'"));
    CHECK_FALSE(contains(quiet, "did you mean"));
  }

  TEST_CASE("known_names and pmus list what the fixture holds") {
    pmc::EventResolver resolver(fixture("intel-client"));
    std::vector<std::string> names = resolver.known_names();
    auto has = [&](const char* n) {
      return std::find(names.begin(), names.end(), n) != names.end();
    };
    CHECK(has("cycles"));
    CHECK(has("task-clock"));
    CHECK(has("LLC-load-misses"));
    CHECK(has("power/energy-pkg/"));
    CHECK(has("msr/tsc/"));
    CHECK(has("cpu/topdown-retiring/"));
    CHECK_FALSE(has("power/energy-pkg.scale/"));
    CHECK_FALSE(has("power/energy-pkg.unit/"));
    for (const std::string& n : names) CHECK_NOTHROW(resolver.resolve(n));

    const auto& pmus = resolver.pmus();
    std::vector<std::string> pmu_names;
    for (const auto& p : pmus) pmu_names.push_back(p.name);
    CHECK(pmu_names == std::vector<std::string>{"breakpoint", "cpu", "cstate_core", "cstate_pkg",
                                                "msr", "power", "software", "tracepoint",
                                                "uncore_arb", "uncore_cbox_0", "uncore_cbox_1",
                                                "uncore_cbox_2", "uncore_cbox_3", "uncore_clock"});
    const pmc::PmuInfo& power = pmus[5];
    CHECK(power.type == 13);
    CHECK(power.cpus == std::vector<int>{0});
    CHECK(power.events == std::vector<std::string>{"energy-cores", "energy-gpu", "energy-pkg",
                                                   "energy-psys", "energy-ram"});
    CHECK(pmus[6].type == PERF_TYPE_SOFTWARE);
    CHECK(pmus[6].events.empty());
  }

  TEST_CASE("only a cpumask PMU counts CPU-wide only, a core PMU's cpus file does not make one") {
    // The hybrid fixture's cpu_core has `cpus` 0-15 and cpu_atom 16-23 (perf's is_pmu_core), its
    // power PMU a `cpumask` of 0 (arch/x86/events/rapl.c); Arm's armv8_pmuv3_0 has `cpus` too.
    auto wide = [](const char* machine) {
      pmc::EventResolver resolver(fixture(machine));
      std::map<std::string, bool> out;
      for (const auto& p : resolver.pmus())
        if (!p.cpus.empty()) out[p.name] = p.cpu_wide_only;
      return out;
    };
    CHECK(wide("hybrid") ==
          std::map<std::string, bool>{{"cpu_atom", false}, {"cpu_core", false}, {"power", true}});
    CHECK(wide("neoverse-n2").at("armv8_pmuv3_0") == false);
    pmc::EventResolver hybrid(fixture("hybrid"));
    CHECK_FALSE(hybrid.resolve("cpu_core/cpu-cycles/").cpu_wide_only);
    CHECK(hybrid.resolve("power/energy-pkg/").cpu_wide_only);
  }

  TEST_CASE("default event names") {
    std::vector<std::string> hw = pmc::default_event_names(true);
    CHECK(hw == std::vector<std::string>{"task-clock", "context-switches", "cpu-migrations",
                                         "page-faults", "cycles", "instructions", "branches",
                                         "branch-misses", "cache-references", "cache-misses"});
    std::vector<std::string> sw = pmc::default_event_names(false);
    CHECK(sw == std::vector<std::string>{"task-clock", "context-switches", "cpu-migrations",
                                         "page-faults", "minor-faults", "major-faults"});
    pmc::EventResolver resolver(fixture("intel-client"));
    for (const std::string& name : sw) CHECK_FALSE(resolver.resolve(name).hardware);
  }

  TEST_CASE("format and cpu list and term parsing") {
    auto split = pmc::parse_format("config:0-7,32-35");
    REQUIRE(split);
    CHECK(split->word == 0);
    CHECK(split->width() == 12);
    auto bit = pmc::parse_format("config:21");
    REQUIRE(bit);
    CHECK(bit->width() == 1);
    auto wide = pmc::parse_format("config1:0-63\n");
    REQUIRE(wide);
    CHECK(wide->word == 1);
    CHECK(wide->width() == 64);
    CHECK_FALSE(pmc::parse_format("config5:0-7"));
    CHECK_FALSE(pmc::parse_format("config:7-0"));
    CHECK_FALSE(pmc::parse_format("config:0-64"));

    CHECK(pmc::parse_cpu_list("0-3,8") == std::vector<int>{0, 1, 2, 3, 8});
    CHECK(pmc::parse_cpu_list("0\n") == std::vector<int>{0});
    CHECK(pmc::parse_cpu_list("") == std::vector<int>{});
    CHECK_FALSE(pmc::parse_cpu_list("3-1"));
    // A range is expanded only up to the largest CPU number Linux can have: "0-2000000000"
    // took 8 GB, and a range ending at INT_MAX never ended.
    CHECK(pmc::parse_cpu_list("65534-65535") == std::vector<int>{65534, 65535});
    CHECK_FALSE(pmc::parse_cpu_list("0-2000000000"));
    CHECK_FALSE(pmc::parse_cpu_list("2147483647"));
    CHECK_FALSE(pmc::parse_cpu_list("a"));

    auto terms = pmc::split_terms("event=0x3c, umask=0x00,edge");
    REQUIRE(terms.size() == 3);
    CHECK(terms[1].name == "umask");
    CHECK(terms[1].value == "0x00");
    CHECK_FALSE(terms[2].value);

    auto items = pmc::parse_event_list("a,{b,c}:k,d/x=1,y=2/");
    REQUIRE(items.size() == 3);
    CHECK(items[1].group);
    CHECK(items[1].names == std::vector<std::string>{"b", "c"});
    CHECK(items[1].group_modifiers == "k");
    CHECK(items[2].names.front() == "d/x=1,y=2/");
  }

}  // TEST_SUITE("pure")
