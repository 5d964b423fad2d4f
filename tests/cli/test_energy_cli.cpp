// Energy in `pmcmodel measure`: powercap counters driven forward while the command runs (the
// command itself writes the new energy_uj values into a copy of a fixture tree), meter logs
// through --power-from, estimates on this VM, derived cost and CO2e, and refusals of bad input.
// Expected joules are the differences of the values written, worked out in the comments.
#include <doctest/doctest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "test_support.h"

using namespace pmc::test;
using json = nlohmann::json;
namespace fs = std::filesystem;

namespace {

const std::string kPowerTrees = std::string(PMC_TEST_DATA) + "/sysfs-power/";

struct TempDir {
  fs::path path;
  explicit TempDir(const std::string& name)
      : path(fs::temp_directory_path() / ("pmc-energy-" + std::to_string(getpid()) + "-" + name)) {
    fs::remove_all(path);
    fs::create_directories(path);
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
  std::string file(const std::string& name) const { return (path / name).string(); }
};

// A writable copy of a fixture tree, so the run's command can move its counters.
fs::path copy_tree(const TempDir& dir, const std::string& tree) {
  fs::path to = dir.path / tree;
  fs::copy(kPowerTrees + tree, to, fs::copy_options::recursive);
  return to;
}

// A shell step that overwrites energy_uj in place with `value` zero-padded to 12 digits plus a
// newline: the same length as every value written here, so the kernel-style pread of the source
// never sees a half-written or truncated file (a real energy_uj is never half-written either).
std::string write_uj(const fs::path& zone_dir, uint64_t value) {
  char text[32];
  std::snprintf(text, sizeof text, "%012llu", static_cast<unsigned long long>(value));
  return "printf '" + std::string(text) + "\\n' | dd of='" + (zone_dir / "energy_uj").string() +
         "' conv=notrunc status=none";
}

std::vector<std::string> measure(std::vector<std::string> args, const std::string& shell_script) {
  std::vector<std::string> argv = {"measure", "-e", "task-clock"};
  argv.insert(argv.end(), args.begin(), args.end());
  argv.insert(argv.end(), {"--", "/bin/sh", "-c", shell_script});
  return pmcmodel(argv);
}

const json* find_energy(const json& energy, const std::string& domain,
                        const std::string& scope = "machine") {
  for (const auto& e : energy)
    if (e["domain"] == domain && e["scope"] == scope) return &e;
  return nullptr;
}

const json* find_metric(const json& doc, const std::string& name) {
  for (const auto& m : doc["metrics"])
    if (m["name"] == name) return &m;
  return nullptr;
}

bool has_note(const json& doc, const std::string& text) {
  for (const auto& n : doc["notes"])
    if (n.get<std::string>().find(text) != std::string::npos) return true;
  return false;
}

// The estimate an interval carries in place of a domain that had not counted since the run began
// (docs/energy.md): its machine-wide entry, or null.
const json* estimate_in(const json& interval) {
  for (const auto& e : interval["energy"])
    if (e["scope"] == "machine" && e["method"].get<std::string>().rfind("estimated:", 0) == 0)
      return &e;
  return nullptr;
}

// SPECpower result 0 (the IBM x3400 M3 SKU of data/skus.csv, 24 threads): its wall watts at
// active idle, 10 %, …, 100 % load, read from the shipped catalog's row (SPEC's published figures).
std::vector<double> specpower0_curve() {
  std::ifstream in(std::string(PMC_SOURCE_DIR) + "/data/skus.csv");
  std::string line;
  std::getline(in, line);
  std::vector<std::string> header;
  for (size_t at = 0, end; at <= line.size(); at = end + 1) {
    end = std::min(line.find(',', at), line.size());
    header.push_back(line.substr(at, end - at));
  }
  while (std::getline(in, line)) {
    if (line.rfind("specpower-0-ibm-corporation-ibm-system-x3400-m3,", 0) != 0) continue;
    std::vector<std::string> cells;
    for (size_t at = 0, end; at <= line.size(); at = end + 1) {
      end = std::min(line.find(',', at), line.size());
      cells.push_back(line.substr(at, end - at));
    }
    std::vector<double> curve;
    for (const char* column : {"idle_w", "load10_w", "load20_w", "load30_w", "load40_w", "load50_w",
                               "load60_w", "load70_w", "load80_w", "load90_w", "load100_w"}) {
      size_t i = size_t(std::find(header.begin(), header.end(), column) - header.begin());
      REQUIRE(i < cells.size());
      curve.push_back(std::stod(cells[i]));
    }
    return curve;
  }
  FAIL("specpower-0 is not in data/skus.csv");
  return {};
}

// An interval's estimated wall watts of SPECpower result 0 at the interval's utilisation (its
// task-clock over its duration on `cpus` CPUs), on SPEC's curve between its 10 % steps, scaled by
// cpus / 24 threads. True when the utilisation is below 10 %, where the curve is one line (on a
// busy machine the command's start-up alone can take more of a 0.1 s interval).
bool check_specpower0_estimate(const json& interval, const json& wall, double cpus) {
  static const std::vector<double> curve = specpower0_curve();
  double task_s = 0;
  // An interval in which the sleeping command never ran has task-clock not counted: 0 s.
  for (const auto& e : interval["events"])
    if (e["name"] == "task-clock" && e["status"] == "counted")
      task_s = e["value"].get<double>() / 1e3;
  double u = task_s / (interval["duration_s"].get<double>() * cpus);
  REQUIRE(u >= 0);
  REQUIRE(u <= 1);
  size_t step = std::min<size_t>(size_t(u * 10), 9);
  double watts = curve[step] + (curve[step + 1] - curve[step]) * (u * 10 - double(step));
  CHECK(wall["average_watts"].get<double>() == doctest::Approx(watts * cpus / 24).epsilon(1e-9));
  return u < 0.1;
}

bool one_line(const std::string& s) {
  return !s.empty() && s.find('\n') == s.size() - 1;
}

double unix_now() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

// A meter log from `from_s` to `to_s` (seconds relative to now), one row per 0.25 s: constant
// watts, or a cumulative joules register rising at `watts`.
std::string meter_log(double watts, double from_s, double to_s, bool joules = false,
                      bool reversed = false) {
  std::vector<std::string> rows;
  double now = unix_now();
  for (double t = from_s; t <= to_s + 1e-9; t += 0.25) {
    char row[64];
    std::snprintf(row, sizeof row, "%.3f,%.3f\n", now + t, joules ? watts * (t - from_s) : watts);
    rows.push_back(row);
  }
  if (reversed) std::reverse(rows.begin(), rows.end());
  std::string out = joules ? "timestamp,joules\n" : "timestamp,watts\n";
  for (const auto& r : rows) out += r;
  return out;
}

void write_text(const std::string& path, const std::string& text) {
  std::ofstream(path, std::ios::binary) << text;
}

json run_json(const ProcessResult& r, const std::string& path) {
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  return json::parse(read_file(path));
}

// A bad-input run: exit 2, one line on stderr containing `what`, and no output file.
void check_refused(const ProcessResult& r, const std::string& what, const std::string& json_path) {
  INFO(r.err);
  CHECK(r.exit_code == 2);
  CHECK(one_line(r.err));
  CHECK(r.err.find(what) != std::string::npos);
  CHECK_FALSE(fs::exists(json_path));
}

}  // namespace

TEST_SUITE("kernel") {
  TEST_CASE("powercap energy moved during the run is reported exactly, across a wrap") {
    // Twice: with the intervals shown live (a stream and the table: each interval's energy is
    // built at its tick), and with -q and no stream, where a tick only marks the interval and its
    // energy is built after the run (EnergyRecorder::mark_interval). Both must give the same
    // figures.
    for (bool live : {true, false}) {
      CAPTURE(live);
      TempDir dir(live ? "wrap-live" : "wrap-after");
      auto tree = copy_tree(dir, "wrap");
      auto zone = tree / "class/powercap/intel-rapl:0";
      // The fixture starts at 262143000000 µJ with max_energy_range_uj 262143328850. The command
      // moves it to 262143300000 (+300000), then past the range to 671150 (+28850 to the range,
      // +671150 after it): 1000000 µJ = 1 J.
      // The time of the first write is recorded, so that the intervals before it are known
      // however slowly the command starts on a busy machine.
      auto first_write = dir.file("first-write");
      std::string script = "sleep 0.3; " + write_uj(zone, 262143300000) + "; date +%s.%N > " +
                           first_write + "; sleep 0.3; " + write_uj(zone, 671150) + "; sleep 0.3";
      auto out = dir.file("run.json"), stream = dir.file("run.jsonl");
      std::vector<std::string> args = {"-I", "100", "--json", out};
      if (live) {
        args.insert(args.end(), {"--interval-out", stream});
      } else {
        args.push_back("-q");
      }
      double started = unix_now();
      auto r = run_process(measure(args, script), {"PMCMODEL_SYSFS_ROOT=" + tree.string()});
      auto doc = run_json(r, out);
      double written = std::stod(read_file(first_write)) - started;
      const json* pkg = find_energy(doc["energy"], "package-0");
      REQUIRE(pkg != nullptr);
      CHECK((*pkg)["joules"].get<double>() == doctest::Approx(1.0).epsilon(1e-12));
      CHECK((*pkg)["method"] == "measured:powercap");
      CHECK((*pkg)["uncertainty"].get<double>() == 0);
      CHECK((*pkg)["average_watts"].get<double>() ==
            doctest::Approx(1.0 / doc["duration_s"].get<double>()).epsilon(0.05));
      CHECK(has_note(doc, "wrapped past max_energy_range_uj"));
      // The command shares the machine: its part, never more than the machine's.
      const json* share = find_energy(doc["energy"], "package-0", "command");
      REQUIRE(share != nullptr);
      CHECK((*share)["method"] == "measured:powercap+share:cpu-time");
      CHECK((*share)["joules"].get<double>() >= 0);
      CHECK((*share)["joules"].get<double>() <= 1.0);
      CHECK(has_note(doc, "(E − P_idle·T)·c/B + P_idle·T·c/(N·T)"));
      // Per interval, in the document and in the stream: the intervals add up to the run. Until
      // the command's first write (0.3 s) package-0 has read 0 J since the run began: those
      // intervals carry the estimate instead, and the run says until when.
      double sum = 0, estimated_s = 0;
      size_t estimated = 0;
      REQUIRE(doc["intervals"].size() >= 8);
      for (const auto& iv : doc["intervals"]) {
        const json* e = find_energy(iv["energy"], "package-0");
        if (e == nullptr) {
          CHECK(sum == 0);  // only before the counter first moved
          CHECK(estimate_in(iv) != nullptr);
          ++estimated;
          estimated_s += iv["duration_s"].get<double>();
          continue;
        }
        sum += (*e)["joules"].get<double>();
        CHECK((*e)["average_watts"].get<double>() ==
              doctest::Approx((*e)["joules"].get<double>() / iv["duration_s"].get<double>())
                  .epsilon(0.05));
        // Each interval has the command's share too, within what the machine drew.
        const json* part = find_energy(iv["energy"], "package-0", "command");
        REQUIRE(part != nullptr);
        CHECK((*part)["joules"].get<double>() <= (*e)["joules"].get<double>() + 1e-12);
      }
      CHECK(sum == doctest::Approx(1.0).epsilon(1e-9));
      // Only the intervals that ended before the first write (the run began after `started`).
      CHECK(estimated_s <= written + 0.01);
      CHECK(has_note(doc, "the estimate stands for the intervals until") == (estimated > 0));
      // The intervals' counts are deltas of the run's (built at the ticks when live, from the
      // ticks' raw numbers after the run otherwise): their raw task-clock adds up exactly.
      uint64_t raw = 0;
      for (const auto& iv : doc["intervals"]) raw += iv["events"][0]["raw"].get<uint64_t>();
      CHECK(doc["events"][0]["name"] == "task-clock");
      CHECK(raw == doc["events"][0]["raw"].get<uint64_t>());
      CHECK(doc["intervals"].back()["time_s"].get<double>() ==
            doctest::Approx(doc["duration_s"].get<double>()));
      if (!live) {
        CHECK(r.err.empty());
        continue;
      }
      double streamed = 0;
      std::ifstream lines(stream);
      for (std::string line; std::getline(lines, line);) {
        auto iv = json::parse(line);
        if (iv.contains("energy"))
          if (const json* e = find_energy(iv["energy"], "package-0"))
            streamed += (*e)["joules"].get<double>();
      }
      CHECK(streamed == doctest::Approx(1.0).epsilon(1e-9));
      CHECK(r.err.find(" Energy (measured; nested domains are parts, never add them):") !=
            std::string::npos);
      CHECK(r.err.find("measured:powercap") != std::string::npos);
    }
  }

  TEST_CASE("measure -q -I over several batches: intervals still add up, notes given once") {
    // -I 2 for 3 s is about 1,500 ticks: the intervals are derived in batches of 600 while the
    // run goes on and kept on disk, not in memory. The package's joules across the wrap (1 J,
    // as in the wrap test) and the raw task-clock must still add up over every interval, and
    // each note (the cgroup counter's, per batch) must be given once.
    TempDir dir("batches");
    auto tree = copy_tree(dir, "wrap");
    fs::create_directories(tree / "fs/cgroup");
    write_text((tree / "fs/cgroup/cpu.stat").string(), "usage_usec 000000001000000\n");
    auto zone = tree / "class/powercap/intel-rapl:0";
    std::string script = "sleep 0.5; " + write_uj(zone, 262143300000) + "; sleep 2; " +
                         write_uj(zone, 671150) + "; sleep 0.5";
    auto out = dir.file("run.json");
    auto doc = run_json(run_process(measure({"-q", "-I", "2", "--json", out}, script),
                                    {"PMCMODEL_SYSFS_ROOT=" + tree.string()}),
                        out);
    const auto& intervals = doc["intervals"];
    REQUIRE(intervals.size() > 600);  // more than one batch, even on a busy machine
    double joules = 0;
    uint64_t raw = 0;
    double last_t = 0;
    size_t estimated = 0;
    for (const auto& iv : intervals) {
      raw += iv["events"][0]["raw"].get<uint64_t>();
      CHECK(iv["time_s"].get<double>() > last_t);
      last_t = iv["time_s"].get<double>();
      const json* e = find_energy(iv["energy"], "package-0");
      if (e == nullptr) {
        // Before the first write at 0.5 s, package-0 has not counted: the estimate stands in.
        CHECK(joules == 0);
        CHECK(estimate_in(iv) != nullptr);
        ++estimated;
        continue;
      }
      joules += (*e)["joules"].get<double>();
    }
    CHECK(joules == doctest::Approx(1.0).epsilon(1e-9));
    CHECK(estimated < intervals.size());
    CHECK(has_note(doc, "the estimate stands for the intervals until") == (estimated > 0));
    CHECK(raw == doc["events"][0]["raw"].get<uint64_t>());
    std::set<std::string> seen;
    for (const auto& n : doc["notes"]) CHECK_MESSAGE(seen.insert(n.get<std::string>()).second, n);
    CHECK(has_note(doc, "per-interval busy CPU time B follows"));
    // Nothing of the spool is left beside the document.
    for (const auto& f : fs::directory_iterator(fs::path(out).parent_path()))
      CHECK(f.path().filename().string().find("pmcmodel-tmp") == std::string::npos);
  }

  TEST_CASE("measure -q -I: each tick reads the root cgroup's CPU counter, not /proc/stat") {
    // The tree gains a cgroup v2 root cpu.stat whose usage_usec the command advances by 5000 s in
    // one step, far beyond what /proc/stat can show this run's CPUs doing: the notes must say
    // where the per-interval busy time came from and that this counter does not match the
    // machine. The package moves 0.5 J (000000100000 → 000000600000) in the same run.
    TempDir dir("cgroup-busy");
    auto tree = copy_tree(dir, "wrap");
    fs::create_directories(tree / "fs/cgroup");
    auto stat = tree / "fs/cgroup/cpu.stat";
    write_text(stat.string(), "usage_usec 000000001000000\n");
    auto zone = tree / "class/powercap/intel-rapl:0";
    std::string script = write_uj(zone, 100000) + "; sleep 0.25; " + write_uj(zone, 600000) +
                         "; printf 'usage_usec 005001000000\\n' | dd of='" + stat.string() +
                         "' conv=notrunc status=none; sleep 0.3";
    auto out = dir.file("run.json");
    auto doc = run_json(run_process(measure({"-q", "-I", "100", "--json", out}, script),
                                    {"PMCMODEL_SYSFS_ROOT=" + tree.string()}),
                        out);
    CHECK(has_note(doc, "per-interval busy CPU time B follows " + stat.string()));
    CHECK(has_note(doc, "does not cover the whole machine"));
    double machine = 0, command = 0;
    for (const auto& iv : doc["intervals"]) {
      const json* e = find_energy(iv["energy"], "package-0");
      const json* part = find_energy(iv["energy"], "package-0", "command");
      REQUIRE(e != nullptr);
      REQUIRE(part != nullptr);
      machine += (*e)["joules"].get<double>();
      command += (*part)["joules"].get<double>();
      CHECK((*part)["joules"].get<double>() <= (*e)["joules"].get<double>() + 1e-12);
    }
    // The first write happens before the first tick, after start(): 0.5 J plus the fixture's
    // start value's move to 100000 (262143000000 → wrap at 262143328850 → 100000: 428850 µJ).
    CHECK(machine == doctest::Approx(0.928850).epsilon(1e-9));
    CHECK(command <= machine);
  }

  TEST_CASE(
      "--power-source papi reads PAPI's powercap component: the counters' advance, wrap included") {
    // tests/engine/fake_papi.c stands in for libpapi: its powercap ENERGY_UJ:ZONE0 and
    // ZONE0_SUBZONE0 are the files zone0 and zone0_0, which the command moves (written beside and
    // renamed, so that no read sees a half-written file). Same numbers as the powercap case above:
    // 262143000000 → 262143300000 (+300000) → past the range 262143328850 to 671150 (+28850,
    // +671150): 1000000 µJ = 1 J; dram does not move.
    TempDir dir("papi");
    auto zones = dir.path / "zones";
    fs::create_directories(zones);
    write_text((zones / "zone0").string(), "262143000000\n");
    write_text((zones / "zone0_0").string(), "5000000\n");
    auto set = [&](uint64_t uj) {
      return "echo " + std::to_string(uj) + " > '" + (zones / "next").string() + "' && mv '" +
             (zones / "next").string() + "' '" + (zones / "zone0").string() + "'";
    };
    std::string script =
        "sleep 0.3; " + set(262143300000) + "; sleep 0.3; " + set(671150) + "; sleep 0.3";
    auto out = dir.file("run.json");
    auto r = run_process(measure({"--power-source", "papi", "--json", out}, script),
                         {"PMCMODEL_PAPI_LIBRARY=" + std::string(PMC_FAKE_PAPI),
                          "PMC_FAKE_PAPI_DIR=" + zones.string()});
    auto doc = run_json(r, out);
    const json* pkg = find_energy(doc["energy"], "package-0");
    REQUIRE(pkg != nullptr);
    CHECK((*pkg)["joules"].get<double>() == doctest::Approx(1.0).epsilon(1e-12));
    CHECK((*pkg)["method"] == "measured:papi:powercap");
    const json* dram = find_energy(doc["energy"], "dram");
    REQUIRE(dram != nullptr);
    CHECK((*dram)["joules"].get<double>() == 0);
    CHECK(has_note(doc, "PAPI rapl disabled: Can't open fd for cpu0"));
    CHECK(r.err.find("measured:papi:powercap") != std::string::npos);

    // A PAPI whose energy components are all disabled: no meter, an estimate, PAPI's reasons.
    auto none_out = dir.file("none.json");
    auto none = run_process(measure({"--power-source", "papi", "--json", none_out}, "true"),
                            {"PMCMODEL_PAPI_LIBRARY=" + std::string(PMC_FAKE_PAPI_DISABLED)});
    auto none_doc = run_json(none, none_out);
    CHECK(has_note(none_doc,
                   "no energy component of PAPI 7.0.0.0 can be read: rapl disabled: "
                   "Can't open fd for cpu0: No such file or directory; powercap "
                   "disabled: Not an Intel processor; nvml absent"));
    for (const auto& e : none_doc["energy"])
      CHECK(e["method"].get<std::string>().rfind("estimated:", 0) == 0);
  }

  TEST_CASE("an Intel client reports package, core, uncore, dram and psys each on its own") {
    TempDir dir("client");
    auto tree = copy_tree(dir, "intel-client");
    auto zones = tree / "class/powercap";
    // package-0 71243908611 → 71253908611 (+10 J), core 30118812330 → 30122812330 (+4 J),
    // dram 5123678901 → 5125178901 (+1.5 J), psys 180233475210 → 180263475210 (+30 J); uncore
    // and the MMIO view of package-0 are not moved.
    std::string script = "sleep 0.2; " + write_uj(zones / "intel-rapl:0", 71253908611) + "; " +
                         write_uj(zones / "intel-rapl:0:0", 30122812330) + "; " +
                         write_uj(zones / "intel-rapl:0:2", 5125178901) + "; " +
                         write_uj(zones / "intel-rapl:1", 180263475210) + "; sleep 0.2";
    auto out = dir.file("run.json");
    auto r = run_process(
        measure({"--json", out, "--price-per-hour", "3.6", "--grid-intensity", "400"}, script),
        {"PMCMODEL_SYSFS_ROOT=" + tree.string()});
    auto doc = run_json(r, out);
    const auto& energy = doc["energy"];
    struct Expected {
      const char* domain;
      double joules;
    };
    for (auto [domain, joules] :
         {Expected{"package-0", 10}, Expected{"core", 4}, Expected{"uncore", 0},
          Expected{"dram", 1.5}, Expected{"psys", 30}}) {
      INFO(domain);
      const json* e = find_energy(energy, domain);
      REQUIRE(e != nullptr);
      CHECK((*e)["joules"].get<double>() == doctest::Approx(joules).epsilon(1e-12));
      CHECK((*e)["method"] == "measured:powercap");
    }
    CHECK(find_energy(energy, "package") == nullptr);  // one package: no sum, nothing added up
    CHECK(has_note(doc, "never add them to it"));
    CHECK(has_note(doc, "psys is the platform domain"));
    CHECK(has_note(doc, "not counted twice"));
    // Derived from the widest domain, psys, in the command's share.
    const json* psys_share = find_energy(energy, "psys", "command");
    REQUIRE(psys_share != nullptr);
    const json* per_run = find_metric(doc, "joules_per_run");
    REQUIRE(per_run != nullptr);
    double joules = (*psys_share)["joules"].get<double>();
    CHECK((*per_run)["value"].get<double>() == joules);
    REQUIRE(find_metric(doc, "co2_g") != nullptr);
    CHECK((*find_metric(doc, "co2_g"))["value"].get<double>() ==
          doctest::Approx(joules / 3.6e6 * 400));
    REQUIRE(find_metric(doc, "cost_usd") != nullptr);
    CHECK((*find_metric(doc, "cost_usd"))["value"].get<double>() ==
          doctest::Approx(3.6 * doc["duration_s"].get<double>() / 3600));
    CHECK(r.err.find("psys (command share)") != std::string::npos);
  }

  TEST_CASE("a 2-socket Intel server reports each package, each DRAM and the package total") {
    TempDir dir("server");
    auto tree = copy_tree(dir, "intel-server-2s");
    auto zones = tree / "class/powercap";
    // package-0 40511223344 → 40516223344 (+5 J), package-1 38123456789 → 38130456789 (+7 J),
    // dram of package 0 9876543210 → 9877543210 (+1 J): package = 5 + 7 = 12 J.
    std::string script = "sleep 0.2; " + write_uj(zones / "intel-rapl:0", 40516223344) + "; " +
                         write_uj(zones / "intel-rapl:1", 38130456789) + "; " +
                         write_uj(zones / "intel-rapl:0:0", 9877543210) + "; sleep 0.2";
    auto out = dir.file("run.json");
    auto r =
        run_process(measure({"--json", out}, script), {"PMCMODEL_SYSFS_ROOT=" + tree.string()});
    auto doc = run_json(r, out);
    const auto& energy = doc["energy"];
    struct Expected {
      const char* domain;
      double joules;
    };
    for (auto [domain, joules] :
         {Expected{"package-0", 5}, Expected{"package-1", 7}, Expected{"dram-0", 1},
          Expected{"dram-1", 0}, Expected{"package", 12}}) {
      INFO(domain);
      const json* e = find_energy(energy, domain);
      REQUIRE(e != nullptr);
      CHECK((*e)["joules"].get<double>() == doctest::Approx(joules).epsilon(1e-12));
    }
    CHECK(has_note(doc, "package is the sum of the top-level package zones"));
    // The fixture's power PMU cannot be opened (type 4093): the choice fell back, and says so.
    CHECK(has_note(doc, "perf power PMU not used"));
    // The run's energy is the command's share of the package total plus both DRAM domains
    // (DRAM is outside the package): events/document/energy_basis.h.
    double share = 0;
    for (const char* domain : {"package", "dram-0", "dram-1"}) {
      INFO(domain);
      const json* e = find_energy(energy, domain, "command");
      REQUIRE(e != nullptr);
      share += (*e)["joules"].get<double>();
    }
    const json* per_run = find_metric(doc, "joules_per_run");
    REQUIRE(per_run != nullptr);
    CHECK((*per_run)["value"].get<double>() == doctest::Approx(share).epsilon(1e-12));
    CHECK(has_note(doc, "command energy of domains package (measured:powercap+share:cpu-time"));
    // compare ranks the same figure the document reports.
    auto ranked = dir.file("compare.json");
    auto c = run_process(pmcmodel({"compare", out, "--objective", "energy", "--json", ranked}));
    INFO(c.err);
    REQUIRE(c.exit_code == 0);
    auto rows = json::parse(read_file(ranked))["rows"];
    REQUIRE(rows.size() == 1);
    CHECK(rows[0]["joules"].get<double>() ==
          doctest::Approx((*per_run)["value"].get<double>()).epsilon(1e-12));
    CHECK(rows[0]["method"] == "measured:powercap+share:cpu-time");
  }

  TEST_CASE("an AMD Zen server has package and core zones and no DRAM") {
    TempDir dir("amd");
    auto tree = copy_tree(dir, "amd-epyc-2s");
    // package-0 21474836480 → 21484836480 (+10 J), package-1 +6 J, each core zone +2 J. (A zone
    // that stays at 0 J over the run is "present, not counting" and leaves energy[].)
    std::string script =
        write_uj(tree / "class/powercap/intel-rapl:0", 21484836480) + "; " +
        write_uj(tree / "class/powercap/intel-rapl:0:0", 3221225472 + 2000000) + "; " +
        write_uj(tree / "class/powercap/intel-rapl:1", 20401094656 + 6000000) + "; " +
        write_uj(tree / "class/powercap/intel-rapl:1:0", 3113851289 + 2000000) + "; sleep 0.2";
    auto out = dir.file("run.json");
    auto r =
        run_process(measure({"--json", out}, script), {"PMCMODEL_SYSFS_ROOT=" + tree.string()});
    auto doc = run_json(r, out);
    std::vector<std::string> domains;
    for (const auto& e : doc["energy"])
      if (e["scope"] == "machine") domains.push_back(e["domain"]);
    CHECK(domains ==
          std::vector<std::string>{"package-0", "core-0", "package-1", "core-1", "package"});
    CHECK((*find_energy(doc["energy"], "package"))["joules"].get<double>() ==
          doctest::Approx(16).epsilon(1e-12));
    CHECK((*find_energy(doc["energy"], "core-1"))["joules"].get<double>() ==
          doctest::Approx(2).epsilon(1e-12));
  }

  TEST_CASE("root-only energy_uj: the reason says how to get access, and the energy is estimated") {
    // Root reads any file, so as root pmcmodel runs as nobody, which a 0400 root-owned file
    // refuses. Nobody must reach the binary, its data and the tree wherever the checkout and
    // $TMPDIR live (a home or a `mktemp -d` folder is mode 0700): all three are copied into a
    // folder every user can reach, and the test says why it skips when there is none.
    bool root = ::geteuid() == 0;
    ReachableDir dir("energy-rootonly", /*writable=*/true);
    if (dir.path.empty()) {
      MESSAGE("skipped: " << dir.why);
      return;
    }
    fs::path tree = dir.path / "intel-client";
    fs::copy(kPowerTrees + "intel-client", tree, fs::copy_options::recursive);
    for (const auto& entry : fs::recursive_directory_iterator(tree)) {
      if (entry.is_directory())
        fs::permissions(entry.path(), fs::perms(0755));
      else if (entry.path().filename() == "energy_uj")
        fs::permissions(entry.path(), root ? fs::perms(0400) : fs::perms::none);
      else
        fs::permissions(entry.path(), fs::perms(0444));
    }
    auto out = (dir.path / "run.json").string();
    auto argv = measure({"--json", out}, "sleep 0.1");
    std::vector<std::string> env = {"PMCMODEL_SYSFS_ROOT=" + tree.string()};
    if (root) {
      auto copy = install_copy(dir.path / "install");
      argv[0] = copy.binary;
      env.push_back(copy.data_dir_env);
      auto why = nobody_cannot_use({copy.binary, (tree / "class/powercap").string()});
      if (!why.empty()) {
        MESSAGE("skipped: " << why);
        return;
      }
      auto nobody = as_nobody();
      argv.insert(argv.begin(), nobody.begin(), nobody.end());
    }
    auto r = run_process(argv, env);
    auto doc = run_json(r, out);
    REQUIRE_FALSE(doc["energy"].empty());
    for (const auto& e : doc["energy"])
      CHECK(e["method"].get<std::string>().rfind("estimated:", 0) == 0);
    CHECK(has_note(doc, "readable by root only"));
    CHECK(has_note(doc, "never make it world-readable"));
  }

  TEST_CASE("without RAPL the energy is an estimate labelled estimated:* with its reason") {
    TempDir dir("norapl");
    auto out = dir.file("run.json");
    SUBCASE("the no-rapl tree: a TDP curve, the CPU model matching no SKU") {
      auto r = run_process(measure({"--json", out}, "sleep 0.2"),
                           {"PMCMODEL_SYSFS_ROOT=" + kPowerTrees + "no-rapl"});
      auto doc = run_json(r, out);
      REQUIRE_FALSE(doc["energy"].empty());
      for (const auto& e : doc["energy"]) {
        CHECK(e["method"].get<std::string>().rfind("estimated:", 0) == 0);
        CHECK(e["uncertainty"].get<double>() > 0);
      }
      CHECK(has_note(doc, "energy is an ESTIMATE"));
      CHECK(has_note(doc, "no RAPL"));
      CHECK(r.err.find(" Energy (ESTIMATED, no power meter counted") != std::string::npos);
    }
    SUBCASE("--csv and the interval CSV carry each energy entry with its method") {
      // The CSV has joules_per_run; without these rows nothing in it said it was an estimate.
      auto csv = dir.file("run.csv"), stream = dir.file("run-intervals.csv");
      auto r = run_process(measure({"--json", out, "--csv", csv, "-I", "100", "--interval-out",
                                    stream, "--interval-format", "csv"},
                                   "sleep 0.25"),
                           {"PMCMODEL_SYSFS_ROOT=" + kPowerTrees + "no-rapl"});
      auto doc = run_json(r, out);
      std::string rows = read_file(csv);
      REQUIRE_FALSE(doc["energy"].empty());
      for (const auto& e : doc["energy"]) {
        std::string method = e["method"].get<std::string>();
        CAPTURE(method);
        CHECK(method.rfind("estimated:", 0) == 0);
        CHECK(rows.find("\nenergy," + e["domain"].get<std::string>() + "," + method + ",") !=
              std::string::npos);
        CHECK(rows.find("," + method + ",") != std::string::npos);
      }
      std::istringstream intervals(read_file(stream));
      size_t energy_rows = 0;
      for (std::string line; std::getline(intervals, line);) {
        if (line.find(",energy,") == std::string::npos) continue;
        ++energy_rows;
        CHECK(line.find(",estimated:") != std::string::npos);
      }
      // Each interval's machine entry and the command's share.
      CHECK(energy_rows == 2 * doc["intervals"].size());
    }
    SUBCASE("this machine as it is") {
      std::error_code ec;
      bool rapl_here = fs::exists("/sys/class/powercap/intel-rapl:0/energy_uj", ec) &&
                       ::access("/sys/class/powercap/intel-rapl:0/energy_uj", R_OK) == 0;
      if (rapl_here) return;  // a machine with readable RAPL measures instead
      auto r = run_process(measure({"--json", out}, "sleep 0.1"));
      auto doc = run_json(r, out);
      REQUIRE_FALSE(doc["energy"].empty());
      for (const auto& e : doc["energy"])
        CHECK(e["method"].get<std::string>().rfind("estimated:", 0) == 0);
    }
    SUBCASE("--sku: the SKU's published curve, scaled to this machine's share of its threads") {
      // SPECpower result 0 (IBM x3400 M3, 24 threads): 69.2 W idle, 119 W at 10% load.
      auto r = run_process(
          measure({"--json", out, "--sku", "specpower-0-ibm-corporation-ibm-system-x3400-m3"},
                  "sleep 0.2"),
          {"PMCMODEL_SYSFS_ROOT=" + kPowerTrees + "no-rapl"});
      auto doc = run_json(r, out);
      const json* wall = find_energy(doc["energy"], "wall");
      REQUIRE(wall != nullptr);
      CHECK((*wall)["method"] ==
            "estimated:sku-curve:specpower-0-ibm-corporation-ibm-system-x3400-m3");
      double cpus = doc["machine"]["logical_cpus"].get<double>();
      double task_s = 0;
      for (const auto& e : doc["events"])
        if (e["name"] == "task-clock") task_s = e["value"].get<double>() / 1e3;
      double duration = doc["duration_s"].get<double>();
      double u = task_s / (duration * cpus);
      REQUIRE(u < 0.1);
      double watts = (69.2 + (119 - 69.2) * u / 0.1) * cpus / 24;
      CHECK((*wall)["average_watts"].get<double>() == doctest::Approx(watts).epsilon(1e-9));
      CHECK((*wall)["joules"].get<double>() == doctest::Approx(watts * duration).epsilon(1e-9));
      CHECK((*wall)["uncertainty"].get<double>() > 0);
      // The basis note ends with the curve: with --sku there is no unmatched CPU model to add.
      bool basis_note = false;
      for (const auto& n : doc["notes"]) {
        std::string note = n.get<std::string>();
        if (note.rfind("estimate: watts at utilisation", 0) != 0) continue;
        basis_note = true;
        CHECK(
            note.ends_with("(Intel Xeon X5670, 69.2 W idle to 258 W at 100% load, "
                           "spec-power-ssj2008), scaled by this machine's " +
                           std::to_string(int(cpus)) + " of its 24 threads"));
      }
      CHECK(basis_note);
    }
    SUBCASE("cost from the SKU's price, CO2e from the region's intensity") {
      // aws-m5a.large: 0.086 USD/h (AWS list price, 2023-11). FRA: 98 g/kWh (Boavizta,
      // data/grid.csv).
      auto r = run_process(
          measure({"--json", out, "--sku", "aws-m5a.large", "--region", "FRA"}, "sleep 0.1"),
          {"PMCMODEL_SYSFS_ROOT=" + kPowerTrees + "no-rapl"});
      auto doc = run_json(r, out);
      REQUIRE(find_metric(doc, "cost_usd") != nullptr);
      CHECK((*find_metric(doc, "cost_usd"))["value"].get<double>() ==
            doctest::Approx(0.086 * doc["duration_s"].get<double>() / 3600));
      REQUIRE(find_metric(doc, "joules_per_run") != nullptr);
      REQUIRE(find_metric(doc, "co2_g") != nullptr);
      CHECK((*find_metric(doc, "co2_g"))["value"].get<double>() ==
            doctest::Approx((*find_metric(doc, "joules_per_run"))["value"].get<double>() / 3.6e6 *
                            98));
    }
  }

  TEST_CASE("estimates per interval follow each interval's task-clock, repeats give the mean") {
    TempDir dir("estimate-iv");
    auto out = dir.file("run.json");
    std::vector<std::string> env = {"PMCMODEL_SYSFS_ROOT=" + kPowerTrees + "no-rapl"};
    const std::string sku = "specpower-0-ibm-corporation-ibm-system-x3400-m3";
    SUBCASE("-I 100: every interval is estimated from its own utilisation") {
      auto doc = run_json(
          run_process(measure({"--json", out, "-I", "100", "--sku", sku}, "sleep 0.35"), env), out);
      REQUIRE(doc["intervals"].size() >= 3);
      double cpus = doc["machine"]["logical_cpus"].get<double>();
      for (const auto& iv : doc["intervals"]) {
        REQUIRE(iv.contains("energy"));
        const json* wall = find_energy(iv["energy"], "wall");
        REQUIRE(wall != nullptr);
        CHECK((*wall)["method"] == "estimated:sku-curve:" + sku);
        check_specpower0_estimate(iv, *wall, cpus);
      }
    }
    SUBCASE("-r 2: joules_per_run is the mean of the runs") {
      auto doc = run_json(
          run_process(measure({"--json", out, "-r", "2", "--sku", sku}, "sleep 0.1"), env), out);
      CHECK(doc["runs"] == 2);
      const json* share = find_energy(doc["energy"], "wall", "command");
      REQUIRE(share != nullptr);
      REQUIRE(find_metric(doc, "joules_per_run") != nullptr);
      CHECK((*find_metric(doc, "joules_per_run"))["value"].get<double>() ==
            (*share)["joules"].get<double>());
    }
  }

  TEST_CASE("an estimate on a CPU without a model name says what /proc/cpuinfo showed") {
    // tests/data/proc-cpuinfo: POWER9's "cpu" line names the CPU; RISC-V's lines name none.
    TempDir dir("no-model-name");
    auto out = dir.file("run.json");
    auto run_with = [&](const std::string& cpuinfo) {
      auto proc = std::filesystem::path(dir.file("proc-" + cpuinfo));
      std::filesystem::create_directories(proc);
      std::filesystem::copy_file(std::string(PMC_TEST_DATA) + "/proc-cpuinfo/" + cpuinfo,
                                 proc / "cpuinfo");
      return run_json(run_process(measure({"--json", out}, "true"),
                                  {"PMCMODEL_SYSFS_ROOT=" + kPowerTrees + "no-rapl",
                                   "PMCMODEL_PROCFS_ROOT=" + proc.string()}),
                      out);
    };
    SUBCASE("POWER9: the cpu line") {
      auto doc = run_with("power9.cpuinfo");
      CHECK(doc["machine"]["cpu_model"] == "POWER9, altivec supported");
      CHECK(has_note(doc, "no catalog SKU matches the CPU model 'POWER9, altivec supported'"));
    }
    SUBCASE("RISC-V: no line names the model") {
      auto doc = run_with("riscv.cpuinfo");
      CHECK(has_note(doc, "no catalog SKU matches this CPU: /proc/cpuinfo has no model name"));
      CHECK_FALSE(has_note(doc, "CPU model ''"));
    }
  }

  TEST_CASE("a meter that was read but did not count: the heading does not say none was read") {
    // vm-psys-silent: psys is read and stays at 0 J, so the run is estimated; "no power meter
    // was read" would be false there.
    TempDir dir("silent-heading");
    auto out = dir.file("run.json");
    auto r = run_process(measure({"--json", out}, "sleep 0.2"),
                         {"PMCMODEL_SYSFS_ROOT=" + kPowerTrees + "vm-psys-silent"});
    auto doc = run_json(r, out);
    CHECK(has_note(doc, "power domain psys (measured:powercap) present, not counting"));
    CHECK(r.err.find(" Energy (ESTIMATED, no power meter counted; see the notes)") !=
          std::string::npos);
    CHECK(r.err.find("no power meter was read") == std::string::npos);
  }

  TEST_CASE("-I with a power domain that never counts: every interval carries the run's estimate") {
    // vm-psys-silent: a VM's powercap psys zone whose energy_uj stays at 0 µJ. The run is
    // "present, not counting" and estimated; its intervals, streamed live or built after the run,
    // carry the same estimate instead of psys's 0 J, each at its own utilisation.
    const std::string sku = "specpower-0-ibm-corporation-ibm-system-x3400-m3";
    for (bool live : {true, false}) {
      CAPTURE(live);
      TempDir dir(live ? "silent-live" : "silent-after");
      auto out = dir.file("run.json"), stream = dir.file("run.jsonl");
      std::vector<std::string> args = {"--json", out, "-I", "100", "--sku", sku};
      if (live) {
        args.insert(args.end(), {"--interval-out", stream});
      } else {
        args.push_back("-q");
      }
      auto doc = run_json(run_process(measure(args, "sleep 0.35"),
                                      {"PMCMODEL_SYSFS_ROOT=" + kPowerTrees + "vm-psys-silent"}),
                          out);
      CHECK(has_note(doc, "power domain psys (measured:powercap) present, not counting"));
      const json* run_wall = find_energy(doc["energy"], "wall");
      REQUIRE(run_wall != nullptr);
      CHECK((*run_wall)["method"] == "estimated:sku-curve:" + sku);
      CHECK_FALSE(find_energy(doc["energy"], "psys"));
      REQUIRE(doc["intervals"].size() >= 3);
      double cpus = doc["machine"]["logical_cpus"].get<double>();
      double joules = 0;
      bool one_line = true;
      for (const auto& iv : doc["intervals"]) {
        CHECK_FALSE(find_energy(iv["energy"], "psys"));
        const json* wall = find_energy(iv["energy"], "wall");
        REQUIRE(wall != nullptr);
        CHECK((*wall)["method"] == (*run_wall)["method"]);
        CHECK((*wall)["uncertainty"] == (*run_wall)["uncertainty"]);
        REQUIRE(find_energy(iv["energy"], "wall", "command") != nullptr);
        one_line = check_specpower0_estimate(iv, *wall, cpus) && one_line;
        joules += (*wall)["joules"].get<double>();
      }
      // Below 10% load the curve is a line, so the intervals add up to the run's estimate.
      if (one_line)
        CHECK(joules == doctest::Approx((*run_wall)["joules"].get<double>()).epsilon(1e-3));
      if (!live) continue;
      size_t streamed = 0;
      std::ifstream lines(stream);
      for (std::string line; std::getline(lines, line);) {
        auto iv = json::parse(line);
        CHECK_FALSE(find_energy(iv["energy"], "psys"));
        const json* wall = find_energy(iv["energy"], "wall");
        REQUIRE(wall != nullptr);
        CHECK((*wall)["method"] == "estimated:sku-curve:" + sku);
        ++streamed;
      }
      CHECK(streamed == doc["intervals"].size());
    }
  }

  TEST_CASE("a meter log given with --power-from is aligned to the run by its timestamps") {
    TempDir dir("meter");
    auto out = dir.file("run.json");
    auto log = dir.file("meter.csv");
    SUBCASE("aligned: the log spans the run") {
      write_text(log, meter_log(250, -5, 30));
      auto doc =
          run_json(run_process(measure({"--json", out, "--power-from", log}, "sleep 0.3")), out);
      const json* wall = find_energy(doc["energy"], "wall");
      REQUIRE(wall != nullptr);
      CHECK((*wall)["method"] == "measured:external");
      CHECK((*wall)["average_watts"].get<double>() == doctest::Approx(250).epsilon(1e-9));
      // Readings every 0.25 s: one such period over the run (its source's window).
      double window = (*wall)["joules"].get<double>() / 250;
      CHECK((*wall)["uncertainty"].get<double>() ==
            doctest::Approx(std::min(1.0, 0.25 / window)).epsilon(0.02));
      CHECK(find_energy(doc["energy"], "wall", "command") != nullptr);
    }
    SUBCASE("out of order: sorted, same energy") {
      write_text(log, meter_log(250, -5, 30, false, true));
      auto doc =
          run_json(run_process(measure({"--json", out, "--power-from", log}, "sleep 0.3")), out);
      const json* wall = find_energy(doc["energy"], "wall");
      REQUIRE(wall != nullptr);
      CHECK((*wall)["average_watts"].get<double>() == doctest::Approx(250).epsilon(1e-9));
      CHECK(has_note(doc, "rows are not in time order"));
    }
    SUBCASE("partly overlapping: the log ends during the run") {
      write_text(log, meter_log(250, -5, 0.5));
      auto doc =
          run_json(run_process(measure({"--json", out, "--power-from", log}, "sleep 1.5")), out);
      const json* wall = find_energy(doc["energy"], "wall");
      REQUIRE(wall != nullptr);
      CHECK((*wall)["average_watts"].get<double>() == doctest::Approx(250).epsilon(1e-9));
      double u = (*wall)["uncertainty"].get<double>();
      CHECK(u > 0.3);  // at most 0.5 s of a ≥ 1.5 s run is covered
      CHECK(u <= 1);
      CHECK(has_note(doc, "of the run: wall energy is the covered part's average power"));
    }
    SUBCASE("a cumulative joules register rising 100 J/s") {
      write_text(log, meter_log(100, -5, 30, true));
      auto doc =
          run_json(run_process(measure({"--json", out, "--power-from", log}, "sleep 0.3")), out);
      const json* wall = find_energy(doc["energy"], "wall");
      REQUIRE(wall != nullptr);
      CHECK((*wall)["average_watts"].get<double>() == doctest::Approx(100).epsilon(1e-6));
    }
    SUBCASE("malformed: FILE:LINE, exit 2, no document") {
      auto bad = std::string(PMC_TEST_DATA) + "/meter/malformed.csv";
      check_refused(run_process(measure({"--json", out, "--power-from", bad}, "true")),
                    "malformed.csv:3:", out);
    }
    SUBCASE("a timestamp given twice with different values") {
      auto bad = std::string(PMC_TEST_DATA) + "/meter/conflict.csv";
      check_refused(run_process(measure({"--json", out, "--power-from", bad}, "true")),
                    "conflict.csv:4:", out);
    }
    SUBCASE("a log of another time (2024): the run is kept, its wall energy is not measured") {
      // Found only once the command has run: the counts stay, a note says why there is no
      // wall figure, and the status is the command's.
      auto old = std::string(PMC_TEST_DATA) + "/meter/aligned-watts.csv";
      auto r = run_process(measure({"--json", out, "--power-from", old}, "true"));
      REQUIRE_MESSAGE(r.exit_code == 0, r.err);
      auto doc = json::parse(read_file(out));
      CHECK(find_energy(doc["energy"], "wall") == nullptr);
      CHECK(has_note(doc, "energy not measured: "));
      CHECK(has_note(doc, "do not overlap"));
      CHECK_FALSE(doc["events"].empty());
    }
    SUBCASE("a file that does not exist") {
      check_refused(
          run_process(measure({"--json", out, "--power-from", dir.file("none.csv")}, "true")),
          "none.csv", out);
    }
  }

  TEST_CASE("--power-from ipmi polls ipmitool from PATH and integrates its changing readings") {
    // tests/data/ipmi/bin/ipmitool, first on PATH, prints ipmitool 1.8.18's text with a reading
    // of 100 W + 100 W/s since PMC_FAKE_IPMI_T0. The run starts s seconds after T0 (pmcmodel's
    // start-up and its first ipmitool call: well under 0.3 s) and lasts d, so its average power
    // is 100 + 100 × (s + d/2) W.
    TempDir dir("ipmi");
    auto out = dir.file("run.json");
    std::string path = "PATH=" + std::string(PMC_TEST_DATA) + "/ipmi/bin:/usr/bin:/bin";
    char t0[64];
    std::snprintf(t0, sizeof t0, "PMC_FAKE_IPMI_T0=%.6f", unix_now());
    auto r = run_process(measure({"--power-from", "ipmi", "--json", out}, "sleep 1.5"), {path, t0});
    auto doc = run_json(r, out);
    const json* wall = find_energy(doc["energy"], "wall");
    REQUIRE(wall != nullptr);
    CHECK((*wall)["method"] == "measured:ipmi");
    double d = doc["duration_s"].get<double>();
    double watts = (*wall)["average_watts"].get<double>();
    CHECK(watts >= 100 + 100 * d / 2 - 1);
    CHECK(watts <= 100 + 100 * (0.3 + d / 2));
    CHECK((*wall)["joules"].get<double>() == doctest::Approx(watts * d).epsilon(0.05));
    CHECK(has_note(doc, "ipmitool dcmi power reading` (the BMC's DCMI reading)"));

    // ipmitool that fails: no meter, an estimate, and ipmitool's own words in the reason.
    auto failed = run_process(measure({"--power-from", "ipmi", "--json", out}, "true"),
                              {path, "PMC_FAKE_IPMI_MODE=fail"});
    auto failed_doc = run_json(failed, out);
    CHECK(has_note(failed_doc,
                   "--power-from ipmi: ipmitool dcmi power reading failed (exit 1): "
                   "Could not open device at /dev/ipmi0"));
    for (const auto& e : failed_doc["energy"])
      CHECK(e["method"].get<std::string>().rfind("estimated:", 0) == 0);
  }

  TEST_CASE("bad energy options stop measure before it runs: one line, exit 2, no document") {
    TempDir dir("bad");
    auto out = dir.file("run.json");
    std::vector<std::string> env = {"PMCMODEL_SYSFS_ROOT=" + kPowerTrees + "no-rapl"};
    SUBCASE("unknown SKU") {
      check_refused(run_process(measure({"--json", out, "--sku", "no-such-sku"}, "true"), env),
                    "--sku no-such-sku", out);
    }
    SUBCASE("unknown region") {
      check_refused(run_process(measure({"--json", out, "--region", "Atlantis"}, "true"), env),
                    "--region Atlantis", out);
    }
    SUBCASE("both --grid-intensity and --region") {
      check_refused(
          run_process(
              measure({"--json", out, "--grid-intensity", "400", "--region", "FRA"}, "true"), env),
          "choose one", out);
    }
    SUBCASE("a catalog with a bad row") {
      auto bad = std::string(PMC_TEST_DATA) + "/catalog/bad_nonmonotone.csv";
      check_refused(run_process(measure({"--json", out, "--catalog", bad}, "true"), env),
                    "bad_nonmonotone.csv:3:", out);
    }
    SUBCASE("unknown power source") {
      auto r = run_process(measure({"--json", out, "--power-source", "battery"}, "true"), env);
      CHECK(r.exit_code == 2);
      CHECK_FALSE(fs::exists(out));
    }
  }
}
