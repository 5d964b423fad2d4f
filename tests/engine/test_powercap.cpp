#include <doctest/doctest.h>
#include <fcntl.h>
#include <grp.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "engine/power/power_source.h"
#include "engine/power/powercap.h"
#include "test_support.h"

using namespace pmc;
namespace fs = std::filesystem;

namespace {

const fs::path kTrees = fs::path(PMC_TEST_DATA) / "sysfs-power";

SysRoot tree(const std::string& name) {
  SysRoot root;
  root.sys = kTrees / name;
  return root;
}

std::vector<std::string> domains_of(const std::vector<EnergyReading>& readings) {
  std::vector<std::string> out;
  for (const auto& r : readings) out.push_back(r.domain);
  return out;
}

std::map<std::string, double> joules_by_domain(const std::vector<EnergyReading>& readings) {
  std::map<std::string, double> out;
  for (const auto& r : readings) out[r.domain] = r.joules;
  return out;
}

bool has_note(const std::vector<std::string>& notes, const std::string& part) {
  for (const auto& n : notes)
    if (n.find(part) != std::string::npos) return true;
  return false;
}

// A writable copy of a fixture tree, removed at the end. It is in a folder every user can reach,
// since a test reads it as nobody.
struct TreeCopy {
  test::ReachableDir base{"powercap"};
  fs::path dir;
  explicit TreeCopy(const std::string& name) {
    REQUIRE_MESSAGE(!base.path.empty(), base.why);
    dir = base.path;
    fs::copy(kTrees / name, dir, fs::copy_options::recursive);
  }
  ~TreeCopy() {
    std::error_code ec;
    fs::permissions(dir, fs::perms::owner_all, fs::perm_options::add, ec);
    fs::remove_all(dir, ec);
  }
  SysRoot root() const {
    SysRoot r;
    r.sys = dir;
    return r;
  }
  fs::path energy(const std::string& zone) const {
    return dir / "class/powercap" / zone / "energy_uj";
  }
  // Rewrites energy_uj in place, as the kernel's attribute changes under an open fd: the source
  // keeps its fds open, so a rename would leave it reading the old file.
  void write(const std::string& zone, uint64_t uj) const {
    std::string text = std::to_string(uj) + "\n";
    int fd = ::open(energy(zone).c_str(), O_WRONLY | O_CLOEXEC);
    REQUIRE(fd >= 0);
    REQUIRE(::pwrite(fd, text.data(), text.size(), 0) == ssize_t(text.size()));
    REQUIRE(::ftruncate(fd, off_t(text.size())) == 0);
    ::close(fd);
  }
};

}  // namespace

TEST_SUITE("pure") {
  TEST_CASE("powercap zones of an Intel client: nested domains, psys, MMIO duplicate") {
    auto scan = scan_powercap(tree("intel-client"));
    std::vector<std::string> ids, domains, parents;
    for (const auto& z : scan.zones) {
      ids.push_back(z.id);
      domains.push_back(z.domain);
      parents.push_back(z.parent);
    }
    CHECK(ids == std::vector<std::string>{"intel-rapl:0", "intel-rapl:0:0", "intel-rapl:0:1",
                                          "intel-rapl:0:2", "intel-rapl:1"});
    CHECK(domains == std::vector<std::string>{"package-0", "core", "uncore", "dram", "psys"});
    CHECK(parents ==
          std::vector<std::string>{"", "intel-rapl:0", "intel-rapl:0", "intel-rapl:0", ""});
    CHECK(scan.zones[0].max_energy_range_uj == 262143328850u);
    CHECK(has_note(scan.notes, "intel-rapl-mmio:0 (package-0) is the MMIO view"));
    auto notes = describe_powercap_zones(scan.zones);
    CHECK(has_note(notes, "package-0 contains core, uncore (intel-rapl:0 is their parent zone)"));
    CHECK(has_note(
        notes,
        "dram (a child zone of intel-rapl:0) is DRAM energy, which package-0 does not include"));
    CHECK(has_note(notes, "psys is the platform domain"));
    CHECK_FALSE(has_note(notes, "package is the sum"));
  }

  TEST_CASE("powercap zones of a 2-socket Intel server: dram per package, package total") {
    auto scan = scan_powercap(tree("intel-server-2s"));
    std::vector<std::string> domains;
    for (const auto& z : scan.zones) domains.push_back(z.domain);
    CHECK(domains == std::vector<std::string>{"package-0", "dram-0", "package-1", "dram-1"});
    CHECK(scan.zones[1].max_energy_range_uj == 65712999613u);
    auto notes = describe_powercap_zones(scan.zones);
    CHECK(
        has_note(notes, "package is the sum of the top-level package zones package-0, package-1"));
    CHECK_FALSE(has_note(notes, "psys"));
  }

  TEST_CASE("powercap zones of a 2-socket AMD EPYC: package and core, no dram") {
    auto choice = choose_power_source(tree("amd-epyc-2s"), "auto", "");
    REQUIRE_MESSAGE(choice.source, choice.reason_if_none);
    CHECK(choice.source->method() == "measured:powercap");
    choice.source->start();
    auto e = choice.source->read_since_start();
    CHECK(domains_of(e) ==
          std::vector<std::string>{"package-0", "core-0", "package-1", "core-1", "package"});
    for (const auto& r : e) {
      CHECK(r.joules == 0);  // nothing changed in the fixture
      CHECK(r.method == "measured:powercap");
      CHECK(r.scope == EnergyScope::machine);
    }
    CHECK(has_note(choice.source->notes(), "package-1 contains core-1"));
  }

  TEST_CASE("no RAPL at all: the reason says so and names the alternatives") {
    for (const char* requested : {"auto", "perf", "powercap"}) {
      CAPTURE(requested);
      auto choice = choose_power_source(tree("no-rapl"), requested, "");
      CHECK_FALSE(choice.source);
      if (std::string(requested) == "powercap")
        CHECK(choice.reason_if_none.find("no RAPL zones under") != std::string::npos);
      else
        CHECK(choice.reason_if_none.find("no RAPL energy counters") != std::string::npos);
      CHECK(choice.reason_if_none.find("VM") != std::string::npos);
    }
  }

  TEST_CASE("powercap permission advice never suggests world-readable energy_uj") {
    auto reason = powercap_permission_reason("/sys/class/powercap/intel-rapl:0/energy_uj");
    CHECK(reason.find("readable by root only (Linux 5.10") != std::string::npos);
    CHECK(reason.find("run as root") != std::string::npos);
    CHECK(reason.find("chgrp power") != std::string::npos);
    CHECK(reason.find("chmod g+r") != std::string::npos);
    CHECK(reason.find("never make it world-readable") != std::string::npos);
    CHECK(reason.find("o+r") == std::string::npos);
    CHECK(reason.find("a+r") == std::string::npos);
    CHECK(reason.find("0444") == std::string::npos);
    CHECK(reason.find("0644") == std::string::npos);
  }
}

TEST_SUITE("kernel") {
  TEST_CASE("powercap energy across counter wraps while a writer thread advances it") {
    // The wrap tree: one package, max_energy_range_uj R = 262143328850, energy_uj starts at
    // 262143000000 (328850 µJ below R). A writer thread plays the kernel; each value is sampled
    // at least once before the next is written (the mutex stands in for the atomicity of one
    // sysfs read). Deltas, hand-computed:
    //   262143000000 → 262143200000   +200000
    //   262143200000 → 100000         wrap: (R - 262143200000) + 100000 = 128850 + 100000 = 228850
    //   100000 → 5000000              +4900000
    //   -- interval 1: 200000 + 228850 + 4900000 = 5328850 µJ = 5.32885 J
    //   5000000 → 262000000000        +261995000000
    //   262000000000 → 1000           wrap: (R - 262000000000) + 1000 = 143328850 + 1000 =
    //   143329850
    //   -- interval 2: 261995000000 + 143329850 = 262138329850 µJ = 262138.32985 J
    //   run: 5328850 + 262138329850 = 262143658700 µJ = 262143.6587 J
    // The run's energy exceeds one range, so a source that only compared the first and last values
    // would report (1000 - 262143000000) mod R = 329850 µJ.
    TreeCopy copy("wrap");
    auto choice = choose_power_source(copy.root(), "powercap", "");
    REQUIRE_MESSAGE(choice.source, choice.reason_if_none);
    PowerSource& source = *choice.source;
    source.start();

    const std::vector<uint64_t> values = {262143200000, 100000, 5000000, 262000000000, 1000};
    std::mutex m;
    std::condition_variable cv;
    uint64_t samples = 0;
    bool want_interval = false, done = false;
    std::thread writer([&] {
      for (size_t i = 0; i < values.size(); ++i) {
        std::unique_lock lock(m);
        copy.write("intel-rapl:0", values[i]);
        uint64_t seen = samples;
        cv.wait(lock, [&] { return samples > seen; });
        if (i == 2) {
          want_interval = true;
          cv.wait(lock, [&] { return !want_interval; });
        }
      }
      std::lock_guard lock(m);
      done = true;
    });
    std::vector<EnergyReading> first;
    while (true) {
      {
        std::lock_guard lock(m);
        source.sample();
        ++samples;
        if (want_interval) {
          first = source.read_interval();
          want_interval = false;
        }
        if (done) break;
      }
      cv.notify_all();
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    writer.join();
    auto run = source.read_since_start();
    auto second = source.read_interval();
    REQUIRE(first.size() == 1);
    REQUIRE(second.size() == 1);
    REQUIRE(run.size() == 1);
    CHECK(first[0].domain == "package-0");
    CHECK(first[0].joules == 5.32885);
    CHECK(second[0].joules == 262138.32985);
    CHECK(run[0].joules == 262143.6587);
    CHECK(run[0].average_watts > 0);
    CHECK(has_note(source.notes(), "wrapped past max_energy_range_uj 2 time(s)"));
  }

  TEST_CASE("powercap energy of an Intel client: every zone reported, nested ones not added") {
    TreeCopy copy("intel-client");
    auto choice = choose_power_source(copy.root(), "auto", "");
    REQUIRE_MESSAGE(choice.source, choice.reason_if_none);
    CHECK(choice.source->method() == "measured:powercap");
    // The fixture's power PMU has a type no kernel hands out: perf_event_open fails, powercap is
    // next in the automatic order.
    CHECK(has_note(choice.notes, "perf power PMU not used: perf power PMU events do not open"));
    choice.source->start();
    // Start values from the fixture, new values written here: package-0 +12.5 J, core +7.25 J,
    // uncore +0.5 J, dram +1.000001 J, psys +30 J; the MMIO duplicate is ignored.
    copy.write("intel-rapl:0", 71243908611 + 12500000);
    copy.write("intel-rapl:0:0", 30118812330 + 7250000);
    copy.write("intel-rapl:0:1", 1208411532 + 500000);
    copy.write("intel-rapl:0:2", 5123678901 + 1000001);
    copy.write("intel-rapl:1", 180233475210 + 30000000);
    copy.write("intel-rapl-mmio:0", 1);
    choice.source->sample();
    auto e = choice.source->read_since_start();
    CHECK(domains_of(e) == std::vector<std::string>{"package-0", "core", "uncore", "dram", "psys"});
    auto j = joules_by_domain(e);
    CHECK(j["package-0"] == 12.5);
    CHECK(j["core"] == 7.25);
    CHECK(j["uncore"] == 0.5);
    CHECK(j["dram"] == 1.000001);
    CHECK(j["psys"] == 30.0);
  }

  TEST_CASE("powercap energy of a 2-socket server: per package, dram per package, package sum") {
    TreeCopy copy("intel-server-2s");
    auto choice = choose_power_source(copy.root(), "powercap", "");
    REQUIRE_MESSAGE(choice.source, choice.reason_if_none);
    choice.source->start();
    // package-0 +100 J, package-1 +150.5 J, dram-0 +20 J; dram-1 wraps at 65712999613:
    // 10123456789 → 65712999000 (+55589542211) → 613 (+613 to the wrap, +613 after) = 55589543437.
    copy.write("intel-rapl:0", 40511223344 + 100000000);
    copy.write("intel-rapl:1", 38123456789 + 150500000);
    copy.write("intel-rapl:0:0", 9876543210 + 20000000);
    copy.write("intel-rapl:1:0", 65712999000);
    choice.source->sample();
    copy.write("intel-rapl:1:0", 613);
    auto e = choice.source->read_since_start();
    CHECK(domains_of(e) ==
          std::vector<std::string>{"package-0", "dram-0", "package-1", "dram-1", "package"});
    auto j = joules_by_domain(e);
    CHECK(j["package-0"] == 100.0);
    CHECK(j["package-1"] == 150.5);
    CHECK(j["package"] == 250.5);
    CHECK(j["dram-0"] == 20.0);
    CHECK(j["dram-1"] == 55589.543437);
  }

  TEST_CASE("powercap intervals marked at their ticks and built after the run: same joules") {
    // mark_interval keeps only each zone's delta; take_marked_intervals builds the readings
    // afterwards. Three intervals on the 2-socket tree, the second with dram-1 wrapping at
    // max_energy_range_uj 65712999613 (hand-computed as in the case above):
    //   1: package-0 +100 J, package-1 +150.5 J, dram-0 +20 J, dram-1 10123456789 → 65712999000
    //      = +55589542211 µJ
    //   2: dram-1 65712999000 → 613: +613 to the range, +613 after = 1226 µJ; package-0 +1 J
    //   3: nothing moves: every domain 0 J.
    TreeCopy copy("intel-server-2s");
    auto choice = choose_power_source(copy.root(), "powercap", "");
    REQUIRE_MESSAGE(choice.source, choice.reason_if_none);
    PowerSource& source = *choice.source;
    source.start();
    copy.write("intel-rapl:0", 40511223344 + 100000000);
    copy.write("intel-rapl:1", 38123456789 + 150500000);
    copy.write("intel-rapl:0:0", 9876543210 + 20000000);
    copy.write("intel-rapl:1:0", 65712999000);
    source.mark_interval();
    copy.write("intel-rapl:1:0", 613);
    copy.write("intel-rapl:0", 40511223344 + 101000000);
    source.mark_interval();
    source.mark_interval();
    auto intervals = source.take_marked_intervals();
    REQUIRE(intervals.size() == 3);
    CHECK(source.take_marked_intervals().empty());  // taken: forgotten
    for (const auto& iv : intervals)
      CHECK(domains_of(iv) ==
            std::vector<std::string>{"package-0", "dram-0", "package-1", "dram-1", "package"});
    auto j1 = joules_by_domain(intervals[0]), j2 = joules_by_domain(intervals[1]),
         j3 = joules_by_domain(intervals[2]);
    CHECK(j1["package-0"] == 100.0);
    CHECK(j1["package-1"] == 150.5);
    CHECK(j1["package"] == 250.5);
    CHECK(j1["dram-0"] == 20.0);
    CHECK(j1["dram-1"] == 55589.542211);
    CHECK(j2["dram-1"] == 0.001226);
    CHECK(j2["package-0"] == 1.0);
    CHECK(j2["package"] == 1.0);
    for (const auto& [domain, joules] : j3) CHECK(joules == 0.0);
    for (const auto& iv : intervals)
      for (const auto& r : iv) CHECK(r.method == "measured:powercap");
    // The run's total is unaffected by marking: the sum of the intervals.
    auto run = joules_by_domain(source.read_since_start());
    CHECK(run["dram-1"] == 55589.543437);
    CHECK(run["package"] == 251.5);
  }

  TEST_CASE("powercap energy_uj readable by root only gives the reason and the safe fix") {
    // Since Linux 5.10 energy_uj is mode 0400 root. Root reads it whatever the mode, so as root the
    // check runs in a forked child that drops to nobody (65534); as another user the file is made
    // unreadable to its owner (mode 0000). Either way open() really fails with EACCES.
    TreeCopy copy("intel-client");
    bool root = ::geteuid() == 0;
    for (const auto& entry : fs::recursive_directory_iterator(copy.dir)) {
      if (entry.is_directory())
        fs::permissions(entry.path(), fs::perms(0755));
      else if (entry.path().filename() == "energy_uj")
        fs::permissions(entry.path(), root ? fs::perms(0400) : fs::perms::none);
      else
        fs::permissions(entry.path(), fs::perms(0444));
    }
    fs::permissions(copy.dir, fs::perms(0755));
    auto check = [&](const std::string& requested) {
      int fds[2];
      REQUIRE(::pipe(fds) == 0);
      pid_t pid = ::fork();
      REQUIRE(pid >= 0);
      if (pid == 0) {
        ::close(fds[0]);
        if (root && (::setgroups(0, nullptr) != 0 || ::setgid(65534) != 0 || ::setuid(65534) != 0))
          ::_exit(77);
        auto choice = choose_power_source(copy.root(), requested, "");
        std::string out =
            (choice.source ? "source" : "none") + std::string("\n") + choice.reason_if_none;
        (void)!::write(fds[1], out.data(), out.size());
        ::_exit(0);
      }
      ::close(fds[1]);
      std::string out;
      char buf[4096];
      ssize_t n;
      while ((n = ::read(fds[0], buf, sizeof buf)) > 0) out.append(buf, size_t(n));
      ::close(fds[0]);
      int status = 0;
      ::waitpid(pid, &status, 0);
      return std::make_pair(WIFEXITED(status) ? WEXITSTATUS(status) : -1, out);
    };
    for (const char* requested : {"powercap", "auto"}) {
      CAPTURE(requested);
      auto [code, out] = check(requested);
      if (code == 77) {
        MESSAGE("cannot drop to nobody here (no CAP_SETUID): EACCES path not exercised");
        return;
      }
      REQUIRE(code == 0);
      CHECK(out.rfind("none\n", 0) == 0);
      CHECK(out.find((copy.dir / "class/powercap/intel-rapl:0/energy_uj").string() +
                     " is readable by root only") != std::string::npos);
      CHECK(out.find("never make it world-readable") != std::string::npos);
      if (std::string(requested) == "auto")
        CHECK(out.find("perf power PMU events do not open") != std::string::npos);
    }
  }
}
