// `pmcmodel serve`'s library: the exposition formats, the --cgroups selection, and the sampler over
// fixture powercap, cgroup and /proc/stat trees moved by hand between samples, and GPUs from
// tests/engine/fake_nvml.c (a libnvidia-ml replaying a real H200 trace) and
// tests/engine/fake_amdsmi.c (an AMD SMI whose accumulator advances at a set power) moved by a
// clock file.
#include <doctest/doctest.h>
#include <fcntl.h>
#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <set>
#include <string>

#include "engine/serve/cgroups.h"
#include "engine/serve/exposition.h"
#include "engine/serve/sampler.h"
#include "engine/serve/server.h"
#include "gpu_test_support.h"

using namespace pmc;
using namespace pmc::serve;
using pmc::test::FakeAmdSmi;
using pmc::test::FakeNvml;
namespace fs = std::filesystem;

namespace {

struct TempTree {
  fs::path path;
  explicit TempTree(const std::string& name)
      : path(fs::temp_directory_path() / ("pmc-serve-" + std::to_string(getpid()) + "-" + name)) {
    fs::remove_all(path);
    fs::create_directories(path);
  }
  ~TempTree() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
};

void write_file(const fs::path& p, const std::string& text) {
  fs::create_directories(p.parent_path());
  std::ofstream(p) << text;
}

// Overwrites a file in place (same inode, same length): the sampler keeps its files open and
// preads them, as it does the kernel's.
void overwrite(const fs::path& p, const std::string& text) {
  int fd = ::open(p.c_str(), O_WRONLY);
  REQUIRE(fd >= 0);
  REQUIRE(::pwrite(fd, text.data(), text.size(), 0) == ssize_t(text.size()));
  ::close(fd);
}

std::string uj(uint64_t v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%012llu\n", static_cast<unsigned long long>(v));
  return buf;
}

// The cpu line with `busy` ticks of user time and a fixed idle time, padded to one length.
std::string proc_stat(uint64_t busy_ticks) {
  char buf[128];
  std::snprintf(buf, sizeof buf, "cpu  %010llu 0 0 0000100000 0 0 0 0 0 0\n",
                static_cast<unsigned long long>(busy_ticks));
  return buf;
}

std::string cpu_stat(uint64_t usage_usec) {
  char buf[128];
  std::snprintf(buf, sizeof buf, "usage_usec %012llu\nuser_usec 0\nsystem_usec 0\n",
                static_cast<unsigned long long>(usage_usec));
  return buf;
}

const Sample* find(const Snapshot& s, const std::string& family,
                   const std::vector<std::pair<std::string, std::string>>& labels) {
  for (const auto& f : s.families)
    if (f.name == family)
      for (const auto& sample : f.samples)
        if (sample.labels == labels) return &sample;
  return nullptr;
}

// A cgroup v2 tree with two followed services, a and b, and the processes that the stand-in GPU
// libraries list on their GPUs: PIDs 101 and 103 are a's (103 in a child cgroup of a), 102 is
// b's, 104 is in no followed cgroup. The sampler follows system.slice/*.service and logs to `log`.
struct GpuCgroupRig {
  TempTree t;
  SysRoot root;
  SamplerSettings settings;
  std::vector<std::string> log;
  explicit GpuCgroupRig(const std::string& name) : t(name) {
    auto cg = t.path / "sys/fs/cgroup";
    write_file(cg / "cgroup.controllers", "cpu\n");
    write_file(cg / "system.slice/a.service/cpu.stat", cpu_stat(0));
    write_file(cg / "system.slice/b.service/cpu.stat", cpu_stat(0));
    write_file(t.path / "proc/stat", proc_stat(1000));
    write_file(t.path / "proc/101/cgroup", "0::/system.slice/a.service\n");
    write_file(t.path / "proc/102/cgroup", "0::/system.slice/b.service\n");
    write_file(t.path / "proc/103/cgroup", "0::/system.slice/a.service/worker\n");
    write_file(t.path / "proc/104/cgroup", "0::/user.slice\n");
    root.sys = t.path / "sys";
    root.proc = t.path / "proc";
    settings.cgroups.patterns = {"system.slice/*.service"};
    settings.cgroup_counters = false;
    settings.log = [this](const std::string& line) { log.push_back(line); };
  }
  // The machine's busy ticks move on, as between two samples.
  void busy(uint64_t ticks) { overwrite(t.path / "proc/stat", proc_stat(ticks)); }
};

bool logged(const std::vector<std::string>& log, const std::string& start) {
  for (const auto& l : log)
    if (l.rfind(start, 0) == 0) return true;
  return false;
}

size_t count(const Snapshot& s, const std::string& family) {
  for (const auto& f : s.families)
    if (f.name == family) return f.samples.size();
  return 0;
}

}  // namespace

TEST_SUITE("pure") {
  TEST_CASE("the text format 0.0.4: HELP, TYPE, counters named with _total, escaped labels") {
    std::vector<MetricFamily> families = {
        {"pmcmodel_energy_joules",
         MetricType::counter,
         "joules",
         "Energy\nper domain",
         {{{{"domain", "package-0"}, {"method", "measured:powercap"}}, 12.5},
          {{{"domain", "a\"b\\c\nd"}, {"method", "m"}}, 0.1}}},
        {"pmcmodel_build_info", MetricType::gauge, "", "Version", {{{{"version", "0.1.0"}}, 1}}},
        {"pmcmodel_cgroup_cycles", MetricType::counter, "", "Cycles", {}},
    };
    CHECK(format_metrics(families, ExpositionFormat::text_0_0_4) ==
          "# HELP pmcmodel_energy_joules_total Energy\\nper domain\n"
          "# TYPE pmcmodel_energy_joules_total counter\n"
          "pmcmodel_energy_joules_total{domain=\"package-0\",method=\"measured:powercap\"} 12.5\n"
          "pmcmodel_energy_joules_total{domain=\"a\\\"b\\\\c\\nd\",method=\"m\"} 0.1\n"
          "# HELP pmcmodel_build_info Version\n"
          "# TYPE pmcmodel_build_info gauge\n"
          "pmcmodel_build_info{version=\"0.1.0\"} 1\n"
          "# HELP pmcmodel_cgroup_cycles_total Cycles\n"
          "# TYPE pmcmodel_cgroup_cycles_total counter\n");
  }

  TEST_CASE("OpenMetrics 1.0.0: the family without _total, UNIT, and # EOF at the end") {
    std::vector<MetricFamily> families = {
        {"pmcmodel_energy_joules",
         MetricType::counter,
         "joules",
         "Energy",
         {{{{"domain", "psys"}}, 3}}},
        {"pmcmodel_power_watts",
         MetricType::gauge,
         "watts",
         "Power",
         {{{{"domain", "psys"}}, 1.5}}},
    };
    CHECK(format_metrics(families, ExpositionFormat::openmetrics_1_0_0) ==
          "# HELP pmcmodel_energy_joules Energy\n"
          "# TYPE pmcmodel_energy_joules counter\n"
          "# UNIT pmcmodel_energy_joules joules\n"
          "pmcmodel_energy_joules_total{domain=\"psys\"} 3\n"
          "# HELP pmcmodel_power_watts Power\n"
          "# TYPE pmcmodel_power_watts gauge\n"
          "# UNIT pmcmodel_power_watts watts\n"
          "pmcmodel_power_watts{domain=\"psys\"} 1.5\n"
          "# EOF\n");
  }

  TEST_CASE("a label value that is not UTF-8 is written as \\xHH text, so that the scrape parses") {
    // A cgroup directory's name is any bytes; Prometheus refuses a whole scrape with one label
    // value that is not UTF-8. Each byte that does not start a well-formed UTF-8 sequence is
    // written as the four characters \xHH (escaped as a label value: \\xHH).
    CHECK(escape_label_value("/system.slice/bad\xff.service") ==
          "/system.slice/bad\\\\xff.service");
    // Well-formed: é (2 bytes), € (3), U+1F600 (4) are kept as they are.
    CHECK(escape_label_value("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80") ==
          "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80");
    // An overlong '/', a surrogate, a sequence cut short, a lone continuation byte.
    CHECK(escape_label_value("\xc0\xaf") == "\\\\xc0\\\\xaf");
    CHECK(escape_label_value("\xed\xa0\x80") == "\\\\xed\\\\xa0\\\\x80");
    CHECK(escape_label_value("a\xe2\x82") == "a\\\\xe2\\\\x82");
    CHECK(escape_label_value("\x80\"") == "\\\\x80\\\"");
  }

  TEST_CASE("values read back exactly, NaN and infinities are spelled as Prometheus reads them") {
    CHECK(format_value(0.1) == "0.1");
    CHECK(format_value(65536.000015) == "65536.000015");
    CHECK(format_value(1e21) == "1e+21");
    CHECK(format_value(std::nan("")) == "NaN");
    CHECK(format_value(1.0 / 0.0) == "+Inf");
    CHECK(format_value(-1.0 / 0.0) == "-Inf");
  }

  TEST_CASE("OpenMetrics only when the Accept header asks for it, as Prometheus sends it") {
    // Prometheus 2.42's scrape Accept header (scrape/scrape.go, scrapeAcceptHeader).
    CHECK(negotiate_format("application/openmetrics-text;version=1.0.0,application/"
                           "openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,"
                           "*/*;q=0.1") == ExpositionFormat::openmetrics_1_0_0);
    CHECK(negotiate_format("") == ExpositionFormat::text_0_0_4);
    CHECK(negotiate_format("*/*") == ExpositionFormat::text_0_0_4);
    CHECK(negotiate_format("text/plain;version=0.0.4") == ExpositionFormat::text_0_0_4);
    CHECK(negotiate_format("Application/OpenMetrics-Text; q=0") == ExpositionFormat::text_0_0_4);
    CHECK(std::string(content_type(ExpositionFormat::text_0_0_4)) ==
          "text/plain; version=0.0.4; charset=utf-8");
  }

  TEST_CASE("--listen: HOST:PORT, :PORT and [V6]:PORT") {
    std::string host;
    int port = -1;
    CHECK(parse_listen_address("127.0.0.1:9648", &host, &port));
    CHECK(host == "127.0.0.1");
    CHECK(port == 9648);
    CHECK(parse_listen_address(":0", &host, &port));
    CHECK(host.empty());
    CHECK(port == 0);
    CHECK(parse_listen_address("[::1]:80", &host, &port));
    CHECK(host == "::1");
    CHECK_FALSE(parse_listen_address("9648", &host, &port));
    CHECK_FALSE(parse_listen_address("::1:80", &host, &port));
    CHECK_FALSE(parse_listen_address("h:65536", &host, &port));
    CHECK_FALSE(parse_listen_address("h:8x", &host, &port));
  }

  TEST_CASE("the address serve says it listens on reads back as --listen takes it") {
    CHECK(format_listen_address("127.0.0.1", 9648) == "127.0.0.1:9648");
    CHECK(format_listen_address("", 9648) == "*:9648");
    CHECK(format_listen_address("::1", 9648) == "[::1]:9648");
    for (std::string text : {"127.0.0.1:80", "[::1]:80", "[fe80::1%eth0]:9648", "localhost:0"}) {
      CAPTURE(text);
      std::string host;
      int port = -1;
      REQUIRE(parse_listen_address(text, &host, &port));
      CHECK(format_listen_address(host, port) == text);
    }
  }

  TEST_CASE("--cgroups: paths, globs, auto, '..' and empty components are refused") {
    std::string error;
    auto sel = parse_cgroup_selection("/system.slice/a.service, user.slice/*", &error);
    REQUIRE(sel);
    CHECK(sel->patterns == std::vector<std::string>{"system.slice/a.service", "user.slice/*"});
    auto a = parse_cgroup_selection("auto", &error);
    REQUIRE(a);
    CHECK(a->patterns == auto_cgroup_patterns());
    CHECK_FALSE(parse_cgroup_selection("system.slice/../x", &error));
    CHECK(error.find("'..'") != std::string::npos);
    CHECK_FALSE(parse_cgroup_selection("a//b", &error));
  }

  TEST_CASE("cgroups are expanded from the tree as it is now: globs per component, auto layouts") {
    TempTree t("expand");
    auto cg = t.path / "fs/cgroup";
    write_file(cg / "cgroup.controllers", "cpu\n");
    for (const char* d :
         {"system.slice/nginx.service", "system.slice/sshd.service", "system.slice/x.mount",
          "system.slice/docker-0123.scope", "user.slice/user-1000.slice",
          "kubepods.slice/kubepods-burstable.slice/kubepods-burstable-podabc.slice",
          "kubepods.slice/kubepods-podgg.slice", "kubepods/besteffort/pod42", "init.scope"})
      fs::create_directories(cg / d);
    auto root = find_cgroup2_root(t.path);
    REQUIRE(root);
    CHECK(*root == cg);
    std::string error;
    CHECK(
        expand_cgroups(cg, *parse_cgroup_selection("system.slice/*.service,init.scope", &error)) ==
        std::vector<std::string>{"/init.scope", "/system.slice/nginx.service",
                                 "/system.slice/sshd.service"});
    CHECK(expand_cgroups(cg, *parse_cgroup_selection("auto", &error)) ==
          std::vector<std::string>{
              "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-podabc.slice",
              "/kubepods.slice/kubepods-podgg.slice", "/kubepods/besteffort/pod42",
              "/system.slice/docker-0123.scope", "/system.slice/nginx.service",
              "/system.slice/sshd.service", "/user.slice/user-1000.slice"});
    CHECK(expand_cgroups(cg, *parse_cgroup_selection("nothing/here", &error)).empty());
    CHECK_FALSE(find_cgroup2_root(t.path / "nowhere"));
  }

  TEST_CASE(
      "the sampler: energy across a wrap, each cgroup's share of the busy CPU time, "
      "cgroups followed as they come and go") {
    TempTree t("sampler");
    auto zone = t.path / "sys/class/powercap/intel-rapl:0";
    write_file(zone / "name", "package-0\n");
    write_file(zone / "max_energy_range_uj", "262143328850\n");
    write_file(zone / "energy_uj", uj(262140000000));
    write_file(t.path / "sys/class/powercap/intel-rapl/enabled", "1\n");
    auto cg = t.path / "sys/fs/cgroup";
    write_file(cg / "cgroup.controllers", "cpu\n");
    write_file(cg / "system.slice/a.service/cpu.stat", cpu_stat(1000000));
    write_file(cg / "system.slice/b.service/cpu.stat", cpu_stat(0));
    write_file(t.path / "proc/stat", proc_stat(1000));
    SysRoot root;
    root.sys = t.path / "sys";
    root.proc = t.path / "proc";
    SamplerSettings settings;
    settings.cgroups.patterns = {"system.slice/*.service"};
    settings.cgroup_counters = false;
    settings.gpus.kind = GpuSelection::Kind::none;
    settings.version = "9.9.9";
    std::vector<std::string> log;
    settings.log = [&](const std::string& line) { log.push_back(line); };
    Sampler sampler(root, settings);
    sampler.sample_once();
    auto s0 = sampler.snapshot();
    const std::vector<std::pair<std::string, std::string>> pkg = {{"domain", "package-0"},
                                                                  {"method", "measured:powercap"}};
    REQUIRE(find(*s0, "pmcmodel_energy_joules", pkg) != nullptr);
    CHECK(find(*s0, "pmcmodel_energy_joules", pkg)->value == 0);
    CHECK(find(*s0, "pmcmodel_build_info", {{"version", "9.9.9"}})->value == 1);
    CHECK(find(*s0, "pmcmodel_source_up", {{"source", "powercap"}})->value == 1);
    CHECK(find(*s0, "pmcmodel_source_up", {{"source", "cgroups"}})->value == 1);
    CHECK(
        find(*s0, "pmcmodel_cgroup_cpu_seconds", {{"cgroup", "/system.slice/a.service"}})->value ==
        1.0);

    // 2 J in the package; the machine busy 2 s (200 ticks at USER_HZ 100), a 0.5 s of it and
    // b 1.5 s: a is given 2 J × 0.5/2 = 0.5 J and b 1.5 J.
    overwrite(zone / "energy_uj", uj(262142000000));
    overwrite(t.path / "proc/stat", proc_stat(1200));
    overwrite(cg / "system.slice/a.service/cpu.stat", cpu_stat(1500000));
    overwrite(cg / "system.slice/b.service/cpu.stat", cpu_stat(1500000));
    sampler.sample_once();
    auto s1 = sampler.snapshot();
    CHECK(find(*s1, "pmcmodel_energy_joules", pkg)->value == doctest::Approx(2.0).epsilon(1e-12));
    const std::vector<std::pair<std::string, std::string>> a_pkg = {
        {"cgroup", "/system.slice/a.service"},
        {"domain", "package-0"},
        {"method", "measured:powercap+share:busy-cpu"}};
    const std::vector<std::pair<std::string, std::string>> b_pkg = {
        {"cgroup", "/system.slice/b.service"},
        {"domain", "package-0"},
        {"method", "measured:powercap+share:busy-cpu"}};
    REQUIRE(find(*s1, "pmcmodel_cgroup_energy_joules", a_pkg) != nullptr);
    CHECK(find(*s1, "pmcmodel_cgroup_energy_joules", a_pkg)->value ==
          doctest::Approx(0.5).epsilon(1e-12));
    CHECK(find(*s1, "pmcmodel_cgroup_energy_joules", b_pkg)->value ==
          doctest::Approx(1.5).epsilon(1e-12));
    CHECK(
        find(*s1, "pmcmodel_cgroup_cpu_seconds", {{"cgroup", "/system.slice/b.service"}})->value ==
        1.5);

    // The counter wraps: from 262142000000 up to the range 262143328850 (1.32885 J) and on to
    // 671150 µJ: 2 J in all. b vanishes, c appears (its baseline: no energy yet).
    overwrite(zone / "energy_uj", uj(671150));
    overwrite(t.path / "proc/stat", proc_stat(1300));
    overwrite(cg / "system.slice/a.service/cpu.stat", cpu_stat(2500000));
    fs::remove_all(cg / "system.slice/b.service");
    write_file(cg / "system.slice/c.service/cpu.stat", cpu_stat(7000000));
    sampler.sample_once();
    auto s2 = sampler.snapshot();
    CHECK(find(*s2, "pmcmodel_energy_joules", pkg)->value == doctest::Approx(4.0).epsilon(1e-12));
    // a ran 1 s of the machine's 1 s busy: all of the 2 J.
    CHECK(find(*s2, "pmcmodel_cgroup_energy_joules", a_pkg)->value ==
          doctest::Approx(2.5).epsilon(1e-12));
    CHECK(find(*s2, "pmcmodel_cgroup_energy_joules", b_pkg) == nullptr);
    CHECK(
        find(*s2, "pmcmodel_cgroup_cpu_seconds", {{"cgroup", "/system.slice/c.service"}})->value ==
        7.0);
    CHECK(count(*s2, "pmcmodel_cgroup_cpu_seconds") == 2);
    CHECK(count(*s2, "pmcmodel_cgroup_energy_joules") == 1);  // c has had no interval yet
    CHECK(s2->samples == 3);
    // The first snapshot is unchanged: a scrape holding it is never disturbed.
    CHECK(find(*s0, "pmcmodel_energy_joules", pkg)->value == 0);
  }

  TEST_CASE("a cgroup removed and made again between two samples is read anew, not the old one") {
    // systemctl restart within one interval: the service's cgroup is removed and made again
    // under the same name, so it is there at both samples. Its old cpu.stat (held open) must not
    // stand for the new one: in the kernel it answers only ENODEV, here its last content.
    TempTree t("recreated");
    auto zone = t.path / "sys/class/powercap/intel-rapl:0";
    write_file(zone / "name", "package-0\n");
    write_file(zone / "max_energy_range_uj", "262143328850\n");
    write_file(zone / "energy_uj", uj(1000000));
    write_file(t.path / "sys/class/powercap/intel-rapl/enabled", "1\n");
    auto cg = t.path / "sys/fs/cgroup";
    auto a = cg / "system.slice/a.service";
    write_file(cg / "cgroup.controllers", "cpu\n");
    write_file(a / "cpu.stat", cpu_stat(5000000));
    write_file(t.path / "proc/stat", proc_stat(1000));
    SysRoot root;
    root.sys = t.path / "sys";
    root.proc = t.path / "proc";
    SamplerSettings settings;
    settings.cgroups.patterns = {"system.slice/*.service"};
    settings.cgroup_counters = false;
    settings.gpus.kind = GpuSelection::Kind::none;
    Sampler sampler(root, settings);
    sampler.sample_once();
    const std::vector<std::pair<std::string, std::string>> cpu = {
        {"cgroup", "/system.slice/a.service"}};
    const std::vector<std::pair<std::string, std::string>> a_pkg = {
        {"cgroup", "/system.slice/a.service"},
        {"domain", "package-0"},
        {"method", "measured:powercap+share:busy-cpu"}};

    // Restarted: the new cgroup has run 0.2 s; 3 J and 1 s busy meanwhile.
    fs::remove_all(a);
    write_file(a / "cpu.stat", cpu_stat(200000));
    overwrite(zone / "energy_uj", uj(4000000));
    overwrite(t.path / "proc/stat", proc_stat(1100));
    sampler.sample_once();
    auto s1 = sampler.snapshot();
    REQUIRE(find(*s1, "pmcmodel_cgroup_cpu_seconds", cpu) != nullptr);
    CHECK(find(*s1, "pmcmodel_cgroup_cpu_seconds", cpu)->value == doctest::Approx(0.2));

    // The new cgroup runs 0.5 s of the machine's 2 s busy (200 ticks) while 4 J go by: 1 J.
    overwrite(a / "cpu.stat", cpu_stat(700000));
    overwrite(zone / "energy_uj", uj(8000000));
    overwrite(t.path / "proc/stat", proc_stat(1300));
    sampler.sample_once();
    auto s2 = sampler.snapshot();
    CHECK(find(*s2, "pmcmodel_cgroup_cpu_seconds", cpu)->value == doctest::Approx(0.7));
    REQUIRE(find(*s2, "pmcmodel_cgroup_energy_joules", a_pkg) != nullptr);
    CHECK(find(*s2, "pmcmodel_cgroup_energy_joules", a_pkg)->value ==
          doctest::Approx(1.0).epsilon(1e-12));
  }

  TEST_CASE(
      "a powercap counter unreadable for a while: the others' energy still counts, its own "
      "when it is back, and no power until a whole interval is read") {
    TempTree t("outage");
    auto sys = t.path / "sys";
    auto p0 = sys / "class/powercap/intel-rapl:0";
    auto p1 = sys / "class/powercap/intel-rapl:1";
    for (const auto& [zone, name] : {std::pair{p0, "package-0"}, std::pair{p1, "package-1"}}) {
      write_file(zone / "name", std::string(name) + "\n");
      write_file(zone / "max_energy_range_uj", "262143328850\n");
      write_file(zone / "energy_uj", uj(1000000));
    }
    write_file(sys / "class/powercap/intel-rapl/enabled", "1\n");
    SysRoot root;
    root.sys = sys;
    root.proc = t.path / "proc";
    SamplerSettings settings;
    settings.gpus.kind = GpuSelection::Kind::none;
    Sampler sampler(root, settings);
    sampler.sample_once();
    auto domain = [](const char* d) {
      return std::vector<std::pair<std::string, std::string>>{{"domain", d},
                                                              {"method", "measured:powercap"}};
    };
    auto joules = [&](const Snapshot& s, const char* d) {
      const Sample* x = find(s, "pmcmodel_energy_joules", domain(d));
      return x != nullptr ? x->value : std::nan("");
    };
    auto has_watts = [&](const Snapshot& s, const char* d) {
      return find(s, "pmcmodel_power_watts", domain(d)) != nullptr;
    };

    // package-1 unreadable while package-0 advances 2 J: package-0's 2 J are RAPL's.
    overwrite(p0 / "energy_uj", uj(3000000));
    overwrite(p1 / "energy_uj", "garbage-text\n");
    sampler.sample_once();
    auto s1 = sampler.snapshot();
    CHECK(find(*s1, "pmcmodel_source_up", {{"source", "powercap"}})->value == 0);
    CHECK(joules(*s1, "package-0") == doctest::Approx(2.0).epsilon(1e-12));
    CHECK(joules(*s1, "package-1") == 0);
    CHECK_FALSE(has_watts(*s1, "package-0"));
    CHECK_FALSE(has_watts(*s1, "package-1"));

    // Back, 5 J on from its last good read (1 J): the outage's energy is in this interval, whose
    // average would be no power; package-0 3 J more.
    overwrite(p0 / "energy_uj", uj(6000000));
    overwrite(p1 / "energy_uj", uj(6000000));
    sampler.sample_once();
    auto s2 = sampler.snapshot();
    CHECK(find(*s2, "pmcmodel_source_up", {{"source", "powercap"}})->value == 1);
    CHECK(joules(*s2, "package-0") == doctest::Approx(5.0).epsilon(1e-12));
    CHECK(joules(*s2, "package-1") == doctest::Approx(5.0).epsilon(1e-12));
    CHECK(joules(*s2, "package") == doctest::Approx(10.0).epsilon(1e-12));
    CHECK_FALSE(has_watts(*s2, "package-1"));

    // A whole interval read: power again.
    overwrite(p0 / "energy_uj", uj(7000000));
    overwrite(p1 / "energy_uj", uj(7000000));
    sampler.sample_once();
    auto s3 = sampler.snapshot();
    CHECK(joules(*s3, "package") == doctest::Approx(12.0).epsilon(1e-12));
    CHECK(has_watts(*s3, "package-0"));
    CHECK(has_watts(*s3, "package-1"));
  }

  TEST_CASE("a source that cannot be read is down, and the log says why") {
    TempTree t("down");
    SysRoot root;
    root.sys = t.path / "sys";
    root.proc = t.path / "proc";
    SamplerSettings settings;
    settings.cgroups.patterns = {"x"};
    settings.gpus.kind = GpuSelection::Kind::none;
    std::vector<std::string> log;
    settings.log = [&](const std::string& line) { log.push_back(line); };
    Sampler sampler(root, settings);
    sampler.sample_once();
    auto s = sampler.snapshot();
    CHECK(find(*s, "pmcmodel_source_up", {{"source", "powercap"}})->value == 0);
    CHECK(find(*s, "pmcmodel_source_up", {{"source", "cgroups"}})->value == 0);
    CHECK(find(*s, "pmcmodel_source_up", {{"source", "procstat"}})->value == 0);
    CHECK(count(*s, "pmcmodel_energy_joules") == 0);
    bool said = false;
    for (const auto& l : log) said |= l.rfind("cgroups: down: no cgroup v2 hierarchy", 0) == 0;
    CHECK(said);
  }

  TEST_CASE(
      "the sampler's GPUs: the energy counter's advance, utilisation and SM clock in base units, "
      "each GPU split among cgroups by their processes on it") {
    GpuCgroupRig rig("gpus");
    // GPU 0: a's 101 at 60% SM and b's 102 at 20%; GPU 1: a's 103 alone.
    FakeNvml nvml(
        {{"PMC_FAKE_NVML_GPUS", "2"}, {"PMC_FAKE_NVML_PROCESSES", "0:101:60,0:102:20,1:103:90"}});
    nvml.at(4.5);
    auto& root = rig.root;
    auto& settings = rig.settings;
    Sampler sampler(root, settings);
    sampler.sample_once();
    auto s0 = sampler.snapshot();
    const std::vector<std::pair<std::string, std::string>> gpu0 = {{"domain", "gpu0"},
                                                                   {"method", "measured:nvml"}};
    const std::vector<std::pair<std::string, std::string>> gpu1 = {{"domain", "gpu1"},
                                                                   {"method", "measured:nvml"}};
    CHECK(find(*s0, "pmcmodel_source_up", {{"source", "nvml"}})->value == 1);
    REQUIRE(find(*s0, "pmcmodel_energy_joules", gpu0) != nullptr);
    CHECK(find(*s0, "pmcmodel_energy_joules", gpu0)->value == 0);
    // The row in force at 4.5 s (t=4.4984): 0% busy, SM at 1980 MHz.
    CHECK(find(*s0, "pmcmodel_gpu_utilization_ratio", {{"gpu", "0"}})->value == 0);
    CHECK(find(*s0, "pmcmodel_gpu_sm_clock_hertz", {{"gpu", "1"}})->value == 1980e6);

    nvml.at(10.4);
    rig.busy(1100);
    sampler.sample_once();
    auto s1 = sampler.snapshot();
    // The counter's rows in force: t=4.4984 (3498747 mJ) and t=10.3942 (7483951 mJ): 3985.204 J
    // on each GPU (both replay the trace).
    CHECK(find(*s1, "pmcmodel_energy_joules", gpu0)->value == doctest::Approx(3985.204));
    CHECK(find(*s1, "pmcmodel_energy_joules", gpu1)->value == doctest::Approx(3985.204));
    CHECK(find(*s1, "pmcmodel_power_watts", gpu0)->value > 0);
    // t=10.3942: 99% busy, SM at 1455 MHz.
    CHECK(find(*s1, "pmcmodel_gpu_utilization_ratio", {{"gpu", "0"}})->value ==
          doctest::Approx(0.99));
    CHECK(find(*s1, "pmcmodel_gpu_sm_clock_hertz", {{"gpu", "0"}})->value == 1455e6);
    auto cgroup_j = [&](const char* cgroup, const char* domain, const char* method) {
      const Sample* x = find(*s1, "pmcmodel_cgroup_energy_joules",
                             {{"cgroup", cgroup}, {"domain", domain}, {"method", method}});
      return x != nullptr ? x->value : -1.0;
    };
    // GPU 0 is shared: a 60 / (60 + 20) of it, b 20 / 80.
    CHECK(cgroup_j("/system.slice/a.service", "gpu0", "measured:nvml+share:sm-util") ==
          doctest::Approx(3985.204 * 0.75));
    CHECK(cgroup_j("/system.slice/b.service", "gpu0", "measured:nvml+share:sm-util") ==
          doctest::Approx(3985.204 * 0.25));
    // GPU 1 runs only a's process (in a child cgroup of a): all of it is a's.
    CHECK(cgroup_j("/system.slice/a.service", "gpu1", "measured:nvml+share:sole-process") ==
          doctest::Approx(3985.204));
    CHECK(cgroup_j("/system.slice/b.service", "gpu1", "measured:nvml+share:sole-process") == -1);
    // A GPU's energy is never split by CPU time.
    for (const auto& f : s1->families)
      if (f.name == "pmcmodel_cgroup_energy_joules")
        for (const auto& x : f.samples)
          CHECK(x.labels[2].second.find("busy-cpu") == std::string::npos);
  }

  TEST_CASE(
      "a GPU whose energy stops answering: nvml down with why, no power for it, and its energy "
      "taken up when it answers again") {
    GpuCgroupRig rig("lost");
    // While the file exists the stand-in's energy and power calls answer GPU_IS_LOST.
    auto lost = rig.t.path / "lost";
    FakeNvml nvml({{"PMC_FAKE_NVML_LOST", lost.string()}});
    nvml.at(4.5);
    Sampler sampler(rig.root, rig.settings);
    sampler.sample_once();
    const std::vector<std::pair<std::string, std::string>> gpu0 = {{"domain", "gpu0"},
                                                                   {"method", "measured:nvml"}};
    const std::vector<std::pair<std::string, std::string>> nvml_up = {{"source", "nvml"}};

    write_file(lost, "");
    nvml.at(10.4);
    sampler.sample_once();
    auto s1 = sampler.snapshot();
    CHECK(find(*s1, "pmcmodel_source_up", nvml_up)->value == 0);
    CHECK(logged(rig.log, "nvml: down: gpu0: nvmlDeviceGetTotalEnergyConsumption: GPU is lost"));
    CHECK(find(*s1, "pmcmodel_energy_joules", gpu0)->value == 0);
    CHECK(find(*s1, "pmcmodel_power_watts", gpu0) == nullptr);  // not 0 W

    // Back: the counter's advance over the outage, rows t=4.4984 (3498747 mJ) to t=10.3942
    // (7483951 mJ), is taken up; that interval's average is no power.
    fs::remove(lost);
    sampler.sample_once();
    auto s2 = sampler.snapshot();
    CHECK(find(*s2, "pmcmodel_source_up", nvml_up)->value == 1);
    CHECK(logged(rig.log, "nvml: up"));
    CHECK(find(*s2, "pmcmodel_energy_joules", gpu0)->value == doctest::Approx(3985.204));
    CHECK(find(*s2, "pmcmodel_power_watts", gpu0) == nullptr);

    nvml.at(14.0);
    sampler.sample_once();
    auto s3 = sampler.snapshot();
    REQUIRE(find(*s3, "pmcmodel_power_watts", gpu0) != nullptr);
    CHECK(find(*s3, "pmcmodel_power_watts", gpu0)->value > 0);
  }

  TEST_CASE("an AMD GPU whose energy stops answering: amdsmi down with why, no power for it") {
    GpuCgroupRig rig("amd-lost");
    auto lost = rig.t.path / "lost";
    FakeAmdSmi amd({{"PMC_FAKE_AMDSMI_LOST", lost.string()}});
    amd.at(1);
    Sampler sampler(rig.root, rig.settings);
    sampler.sample_once();
    const std::vector<std::pair<std::string, std::string>> gpu0 = {{"domain", "gpu0"},
                                                                   {"method", "measured:amdsmi"}};
    const std::vector<std::pair<std::string, std::string>> amd_up = {{"source", "amdsmi"}};
    write_file(lost, "");
    amd.at(3);
    sampler.sample_once();
    auto s1 = sampler.snapshot();
    CHECK(find(*s1, "pmcmodel_source_up", amd_up)->value == 0);
    CHECK(logged(rig.log, "amdsmi: down: gpu0: amdsmi_get_energy_count: AMDSMI_STATUS_DRM_ERROR"));
    CHECK(find(*s1, "pmcmodel_energy_joules", gpu0)->value == 0);
    CHECK(find(*s1, "pmcmodel_power_watts", gpu0) == nullptr);
    // Back: the accumulator's advance at the stand-in's 300 W from 1 s to 3 s, 600 J.
    fs::remove(lost);
    sampler.sample_once();
    auto s2 = sampler.snapshot();
    CHECK(find(*s2, "pmcmodel_source_up", amd_up)->value == 1);
    CHECK(find(*s2, "pmcmodel_energy_joules", gpu0)->value == doctest::Approx(600));
    CHECK(find(*s2, "pmcmodel_power_watts", gpu0) == nullptr);
    amd.at(4);
    sampler.sample_once();
    auto s3 = sampler.snapshot();
    CHECK(find(*s3, "pmcmodel_energy_joules", gpu0)->value == doctest::Approx(900));
    CHECK(find(*s3, "pmcmodel_power_watts", gpu0) != nullptr);
  }

  TEST_CASE(
      "the sampler's AMD GPUs: each split among cgroups by measure's rule, by the GFX engine time "
      "AMD SMI lists per process") {
    GpuCgroupRig rig("amd");
    // Each GPU's accumulator advances at 300 W (the fake's default), so 1 s → 3 s is 600 J.
    const double joules = 300.0 * 2;
    auto& root = rig.root;
    auto& settings = rig.settings;
    auto cgroup_j = [](const Snapshot& s, const char* cgroup, const char* domain,
                       const char* method) {
      const Sample* x = find(s, "pmcmodel_cgroup_energy_joules",
                             {{"cgroup", cgroup}, {"domain", domain}, {"method", method}});
      return x != nullptr ? x->value : -1.0;
    };
    SUBCASE("shared by a and b, alone on the other") {
      // GPU 0: a's 101 uses 60 % of the GFX engine and b's 102 20 %; GPU 1: a's 103 alone.
      FakeAmdSmi amd({{"PMC_FAKE_AMDSMI_GPUS", "2"},
                      {"PMC_FAKE_AMDSMI_PROCESSES", "0:101:60,0:102:20,1:103:90"}});
      amd.at(1);
      Sampler sampler(root, settings);
      sampler.sample_once();
      amd.at(3);
      rig.busy(1100);
      sampler.sample_once();
      auto s = sampler.snapshot();
      CHECK(find(*s, "pmcmodel_source_up", {{"source", "amdsmi"}})->value == 1);
      CHECK(find(*s, "pmcmodel_energy_joules", {{"domain", "gpu0"}, {"method", "measured:amdsmi"}})
                ->value == doctest::Approx(joules));
      // GPU 0 is shared: a gets 60 / (60 + 20) of it, b 20 / 80, with the share's method.
      CHECK(cgroup_j(*s, "/system.slice/a.service", "gpu0", "measured:amdsmi+share:gfx-time") ==
            doctest::Approx(joules * 0.75));
      CHECK(cgroup_j(*s, "/system.slice/b.service", "gpu0", "measured:amdsmi+share:gfx-time") ==
            doctest::Approx(joules * 0.25));
      // GPU 1 runs only a's process: all of it is a's.
      CHECK(cgroup_j(*s, "/system.slice/a.service", "gpu1", "measured:amdsmi+share:sole-process") ==
            doctest::Approx(joules));
      CHECK(cgroup_j(*s, "/system.slice/b.service", "gpu1", "measured:amdsmi+share:sole-process") ==
            -1);
      CHECK(cgroup_j(*s, "/system.slice/b.service", "gpu1", "measured:amdsmi+share:gfx-time") ==
            -1);
    }
    SUBCASE("shared, but no GFX time recorded: nothing is attributed") {
      FakeAmdSmi amd({{"PMC_FAKE_AMDSMI_PROCESSES", "0:101:0,0:102:0"}});
      amd.at(1);
      Sampler sampler(root, settings);
      sampler.sample_once();
      amd.at(3);
      rig.busy(1100);
      sampler.sample_once();
      auto s = sampler.snapshot();
      CHECK(find(*s, "pmcmodel_energy_joules", {{"domain", "gpu0"}, {"method", "measured:amdsmi"}})
                ->value == doctest::Approx(joules));
      for (const auto& f : s->families)
        if (f.name == "pmcmodel_cgroup_energy_joules")
          for (const auto& x : f.samples) CHECK(x.labels[1].second != "gpu0");
    }
  }

  TEST_CASE("a workload's share of a GPU's window: one rule whichever processes are the workload") {
    EnergyReading gpu;
    gpu.domain = "gpu0";
    gpu.method = "measured:nvml";
    gpu.joules = 100;
    gpu.average_watts = 50;
    gpu.uncertainty = 0.01;
    ShareSplit split{"sm-util", "NVML", "no samples",
                     [](int, double percent) { return std::to_string(percent); }, 0.25};
    GpuProcesses p;
    p.domain = "gpu0";
    p.listed = true;
    p.split = &split;
    auto is = [](std::set<unsigned> pids) {
      return [pids](unsigned pid) { return pids.count(pid) > 0; };
    };
    SUBCASE("alone on the GPU: all of its energy") {
      p.pids = {7, 8};
      auto s = command_share(process_window(p, is({7, 8})), gpu, split, nullptr);
      REQUIRE(s);
      CHECK(s->joules == 100);
      CHECK(s->method == "measured:nvml+share:sole-process");
      CHECK(s->scope == EnergyScope::command);
    }
    SUBCASE("sharing: split by the use each side recorded, with the split's uncertainty") {
      p.pids = {7, 9};
      p.use = {{7, 30}, {9, 60}, {7, 10}};
      p.use_samples = 3;
      std::vector<std::string> notes;
      auto s = command_share(process_window(p, is({7})), gpu, split, &notes);
      REQUIRE(s);
      CHECK(s->joules == doctest::Approx(100 * 40.0 / 100));
      CHECK(s->average_watts == doctest::Approx(50 * 0.4));
      CHECK(s->uncertainty == doctest::Approx(0.26));
      CHECK(s->method == "measured:nvml+share:sm-util");
      REQUIRE(notes.size() == 1);
      CHECK(notes[0].find("other processes computed on it too") != std::string::npos);
    }
    SUBCASE("a process seen only in the use samples still counts as seen") {
      p.use = {{7, 10}, {9, 30}};
      auto w = process_window(p, is({7}));
      CHECK(w.command_seen);
      CHECK(w.other_seen);
      CHECK(w.command_use == 10);
      CHECK(w.other_use == 30);
    }
    SUBCASE("never listed: no share") {
      p.pids = {9};
      CHECK_FALSE(command_share(process_window(p, is({7})), gpu, split, nullptr));
    }
    SUBCASE("sharing with no use recorded: no share") {
      p.pids = {7, 9};
      CHECK_FALSE(command_share(process_window(p, is({7})), gpu, split, nullptr));
    }
  }

  TEST_CASE("the sampler without NVML: no library says nothing, a library that fails is down") {
    TempTree t("nogpu");
    SysRoot root;
    root.sys = t.path / "sys";
    root.proc = t.path / "proc";
    SamplerSettings settings;
    std::vector<std::string> log;
    settings.log = [&](const std::string& line) { log.push_back(line); };
    SUBCASE("no library") {
      ::setenv("PMCMODEL_NVML_LIBRARY", "/nonexistent/libnvidia-ml.so.1", 1);
      Sampler sampler(root, settings);
      ::unsetenv("PMCMODEL_NVML_LIBRARY");
      sampler.sample_once();
      auto s = sampler.snapshot();
      CHECK(find(*s, "pmcmodel_source_up", {{"source", "nvml"}}) == nullptr);
      CHECK(count(*s, "pmcmodel_gpu_utilization_ratio") == 0);
      for (const auto& f : s->families) CHECK(f.name.find("gpu") == std::string::npos);
      CHECK(logged(log, "nvml: not used: no NVIDIA GPU read: "));
    }
    SUBCASE("the library loads, nvmlInit fails") {
      FakeNvml nvml({{"PMC_FAKE_NVML_INIT_FAIL", "1"}, {"PMC_FAKE_NVML_GPUS", "1"}});
      Sampler sampler(root, settings);
      sampler.sample_once();
      auto s = sampler.snapshot();
      CHECK(find(*s, "pmcmodel_source_up", {{"source", "nvml"}})->value == 0);
      for (const auto& f : s->families) CHECK(f.name.find("gpu") == std::string::npos);
      CHECK(count(*s, "pmcmodel_energy_joules") == 0);
      CHECK(logged(log, "nvml: down: no NVIDIA GPU read: nvmlInit_v2 failed"));
    }
  }
}
