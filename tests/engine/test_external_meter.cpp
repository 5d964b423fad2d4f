#include <doctest/doctest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <string>
#include <thread>

#include "engine/counting/papi_counters.h"
#include "engine/power/external_meter.h"
#include "engine/power/power_source.h"
#include "test_support.h"

using namespace pmc;
namespace fs = std::filesystem;

namespace {

const std::string kMeterDir = std::string(PMC_TEST_DATA) + "/meter/";
constexpr double kNoon = 1714564800;  // 2024-05-01T12:00:00Z

// A clock the test moves by hand, so a run's window is exact.
struct ManualClock {
  double now = 0;
  UnixClock fn() {
    return [this] { return now; };
  }
};

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const std::runtime_error& e) {
    return e.what();
  }
  return "";
}

bool has_note(const std::vector<std::string>& notes, const std::string& part) {
  for (const auto& n : notes)
    if (n.find(part) != std::string::npos) return true;
  return false;
}

// ipmitool 1.8.18, lib/ipmi_dcmi.c ipmi_dcmi_pwr_rd(), on a Dell PowerEdge R640.
const char* kIpmitool1818 =
    "\n"
    "    Instantaneous power reading:                   229 Watts\n"
    "    Minimum during sampling period:                 60 Watts\n"
    "    Maximum during sampling period:                473 Watts\n"
    "    Average power reading over sample period:      224 Watts\n"
    "    IPMI timestamp:                           Wed May  1 12:00:00 2024\n"
    "    Sampling period:                          00000001 Seconds.\n"
    "    Power reading state is:                   activated\n"
    "\n\n";

// ipmitool 1.8.19 aligns the colons.
const char* kIpmitool1819 =
    "\n"
    "    Instantaneous power reading              : 214      Watts\n"
    "    Minimum during sampling period           : 2        Watts\n"
    "    Maximum during sampling period           : 468      Watts\n"
    "    Average power reading over sample period : 184      Watts\n"
    "    IPMI timestamp                           : 05/01/2024 12:00:00 UTC\n"
    "    Sampling period                          : 1000 Milliseconds\n"
    "    Power reading state is                   : activated\n"
    "\n\n";

}  // namespace

TEST_SUITE("pure") {
  TEST_CASE("meter timestamps are unix seconds or ISO 8601") {
    bool zone = false;
    CHECK(parse_timestamp("1714564800.25") == kNoon + 0.25);
    CHECK(parse_timestamp(" 1714564800 ") == kNoon);
    CHECK(parse_timestamp("2024-05-01T12:00:00Z", &zone) == kNoon);
    CHECK(zone);
    CHECK(parse_timestamp("2024-05-01T14:00:00+02:00") == kNoon);
    CHECK(parse_timestamp("2024-05-01T07:00:00-0500") == kNoon);
    CHECK(parse_timestamp("2024-05-01T12:00:00.500Z") == kNoon + 0.5);
    CHECK(parse_timestamp("2024-05-01 12:00:00.5", &zone) == kNoon + 0.5);
    CHECK_FALSE(zone);
    CHECK(parse_timestamp("1970-01-01T00:00:00Z") == 0.0);
    CHECK(parse_timestamp("2000-02-29T00:00:00Z") == 951782400.0);  // a leap day
    CHECK_FALSE(parse_timestamp("2024-13-01T12:00:00Z"));
    CHECK_FALSE(parse_timestamp("2024-05-01"));
    CHECK_FALSE(parse_timestamp("noon"));
    CHECK_FALSE(parse_timestamp("2024-05-01T12:00:00Zjunk"));
  }

  TEST_CASE("meter CSV: header, watts or joules, comments, CRLF") {
    auto log = parse_meter_csv("# PDU outlet 7\ntimestamp, Watts\n\n1,100\n2,110\n", "m.csv");
    CHECK(log.kind == MeterKind::watts);
    REQUIRE(log.samples.size() == 2);
    CHECK(log.samples[1].time_s == 2);
    CHECK(log.samples[1].value == 110);
    CHECK(log.notes.empty());
    auto joules = read_meter_file(kMeterDir + "joules.csv");
    CHECK(joules.kind == MeterKind::joules);
    CHECK(joules.samples.size() == 4);
  }

  TEST_CASE("meter CSV saved by a spreadsheet: a UTF-8 byte order mark before the header") {
    auto log = parse_meter_csv("\xEF\xBB\xBFtimestamp,watts\r\n1,100\r\n3,140\r\n", "m.csv");
    CHECK(log.kind == MeterKind::watts);
    REQUIRE(log.samples.size() == 2);
    CHECK(log.samples[0].time_s == 1);
    CHECK(log.samples[1].value == 140);
  }

  TEST_CASE("meter CSV errors name FILE:LINE in one line") {
    CHECK(error_of([] { parse_meter_csv("t,w\n1,2\n", "m.csv"); }) ==
          "m.csv:1: expected the header 'timestamp,watts' or 'timestamp,joules'");
    CHECK(error_of([] { parse_meter_csv("", "m.csv"); }) ==
          "m.csv:1: expected the header 'timestamp,watts' or 'timestamp,joules'");
    const char* rows[] = {"1,abc\n", "1\n",     "1,2,3\n", "yesterday,5\n",
                          "1,-5\n",  "1,nan\n", ",5\n"};
    for (const char* row : rows) {
      CAPTURE(row);
      CHECK(error_of([&] {
              parse_meter_csv(std::string("timestamp,watts\n0,1\n") + row, "m.csv");
            }) == "m.csv:3: expected 'timestamp,watts' with numbers, the watts >= 0");
    }
    CHECK(error_of([] { parse_meter_csv("timestamp,joules\n0,5\nx,6\n", "m.csv"); }) ==
          "m.csv:3: expected 'timestamp,joules' with numbers, the joules >= 0");
    std::string path = kMeterDir + "malformed.csv";
    CHECK(error_of([&] { read_meter_file(path); }) ==
          path + ":3: expected 'timestamp,watts' with numbers, the watts >= 0");
    std::string conflict = kMeterDir + "conflict.csv";
    CHECK(error_of([&] { read_meter_file(conflict); }) ==
          conflict + ":4: timestamp repeats line 3 with a different value");
    CHECK(error_of([] { parse_meter_csv("timestamp,joules\n0,500\n1,400\n", "m.csv"); }) ==
          "m.csv:3: cumulative joules decrease (a meter reset?): split the file there");
    CHECK(error_of([] {
            read_meter_file("/nonexistent/meter.csv");
          }).rfind("/nonexistent/meter.csv: cannot open", 0) == 0);
  }

  TEST_CASE("meter CSV: out-of-order rows are sorted, exact repeats dropped, both noted") {
    auto log = read_meter_file(kMeterDir + "out-of-order.csv");
    REQUIRE(log.samples.size() == 4);
    for (size_t i = 1; i < log.samples.size(); ++i)
      CHECK(log.samples[i - 1].time_s < log.samples[i].time_s);
    CHECK(has_note(log.notes, "line 4 goes back in time): sorted"));
    CHECK(has_note(log.notes, "1 row(s) repeat an earlier timestamp and value: dropped"));
  }

  TEST_CASE("meter CSV: an unterminated last line that does not parse is a row being written") {
    auto log = parse_meter_csv("timestamp,watts\n1,100\n2,110\n3,1", "m.csv");
    CHECK(log.samples.size() == 3);  // "3,1" parses: kept
    auto partial = parse_meter_csv("timestamp,watts\n1,100\n2,110\n17145", "m.csv");
    CHECK(partial.samples.size() == 2);
    CHECK(has_note(partial.notes, "m.csv:4: the last line is unterminated"));
  }

  TEST_CASE("meter file energy over an aligned run (external meter)") {
    // Run 1714564800.5 → 1714564809 (8.5 s). Trapezoids through the samples of aligned-watts.csv:
    //   at 800.5 the line 120→140 W gives 125 W; [800.5,802] (125+140)/2×1.5 = 198.75 J
    //   [802,804] 140×2 = 280; [804,806] (140+100)/2×2 = 240; [806,808] 100×2 = 200
    //   at 809 the line 100→110 W gives 105 W; [808,809] (100+105)/2×1 = 102.5
    //   total 1021.25 J, 120.147… W
    for (const char* file : {"aligned-watts.csv", "aligned-watts-iso.csv"}) {
      CAPTURE(file);
      ManualClock clock;
      auto source = open_meter_file_source(kMeterDir + file, clock.fn());
      CHECK(source->method() == "measured:external");
      clock.now = kNoon + 0.5;
      source->start();
      clock.now = kNoon + 9;
      auto e = source->read_since_start();
      REQUIRE(e.size() == 1);
      CHECK(e[0].domain == "wall");
      CHECK(e[0].method == "measured:external");
      CHECK(e[0].joules == doctest::Approx(1021.25).epsilon(1e-12));
      CHECK(e[0].average_watts == doctest::Approx(1021.25 / 8.5));
      // The samples are 2 s apart: one sample period over the 8.5 s run.
      CHECK(e[0].uncertainty == doctest::Approx(2.0 / 8.5));
      CHECK(has_note(source->notes(), "aligned to the run by its timestamps"));
    }
  }

  TEST_CASE("meter file energy per interval (external meter)") {
    ManualClock clock;
    auto source = open_meter_file_source(kMeterDir + "aligned-watts.csv", clock.fn());
    clock.now = kNoon;
    source->start();
    clock.now = kNoon + 3;
    auto first = source->read_interval();  // [800,802] 260 + [802,803] 140 = 400 J
    clock.now = kNoon + 6;
    auto second = source->read_interval();  // [803,804] 140 + [804,806] 240 = 380 J
    REQUIRE(first.size() == 1);
    REQUIRE(second.size() == 1);
    CHECK(first[0].joules == doctest::Approx(400));
    CHECK(second[0].joules == doctest::Approx(380));
    CHECK(second[0].average_watts == doctest::Approx(380.0 / 3));
    clock.now = kNoon + 100;  // past the last sample at 812: [806, 812] is covered, 6 of 94 s
    auto late = source->read_interval();
    REQUIRE(late.size() == 1);
    // Uncovered 88 of 94 s, and the samples 2 s apart: 1 - 6/94 + 2/94.
    CHECK(late[0].uncertainty == doctest::Approx(1 - 6.0 / 94 + 2.0 / 94));
    clock.now = kNoon + 200;  // nothing after 812
    CHECK(source->read_interval().empty());
    // Four intervals read, the last one (noon + 100 s to noon + 200 s) after the log's end.
    CHECK(has_note(source->notes(), "does not cover 1 of the run's 4 intervals"));
    CHECK(has_note(source->notes(), "(2024-05-01T12:01:40.000Z to 2024-05-01T12:03:20.000Z)"));
  }

  TEST_CASE("meter file: the interval read after the run's reading ends where the run did") {
    // measure reads the run at its end, then its last, partial interval. Run 800 → 804; the
    // interval from 802 is read when the clock says 806, after the run's reading at 804: it is
    // [802, 804] of aligned-watts.csv, 140 W × 2 s = 280 J, not also [804, 806]'s 240 J.
    ManualClock clock;
    auto source = open_meter_file_source(kMeterDir + "aligned-watts.csv", clock.fn());
    clock.now = kNoon;
    source->start();
    clock.now = kNoon + 2;
    auto first = source->read_interval();  // [800, 802] (120+140)/2×2 = 260 J
    clock.now = kNoon + 4;
    auto run = source->read_since_start();  // 260 + 280 = 540 J
    clock.now = kNoon + 6;
    auto last = source->read_interval();
    REQUIRE(first.size() == 1);
    REQUIRE(run.size() == 1);
    REQUIRE(last.size() == 1);
    CHECK(first[0].joules == doctest::Approx(260));
    CHECK(run[0].joules == doctest::Approx(540));
    CHECK(last[0].joules == doctest::Approx(280));
    CHECK(last[0].average_watts == doctest::Approx(140));
    // A new run starts afresh: its intervals end at the clock again.
    clock.now = kNoon + 6;
    source->start();
    clock.now = kNoon + 8;
    auto next = source->read_interval();  // [806, 808] 100 W × 2 s
    REQUIRE(next.size() == 1);
    CHECK(next[0].joules == doctest::Approx(200));
  }

  TEST_CASE("meter file partly overlapping the run: covered part extrapolated, coverage noted") {
    // Run 800 → 810; samples from 805: [805,807] (200+220)/2×2 = 420, [807,809] 420,
    // [809,810] 200 → 1040 J over the covered 5 s (208 W); over the 10 s run 2080 J, ±50% for
    // the uncovered half plus 6 s (the samples at 809 and 815 around the run's end) over 10 s:
    // more than all of it, so ±100%.
    ManualClock clock;
    auto source = open_meter_file_source(kMeterDir + "partial-watts.csv", clock.fn());
    clock.now = kNoon;
    source->start();
    clock.now = kNoon + 10;
    auto e = source->read_since_start();
    REQUIRE(e.size() == 1);
    CHECK(e[0].joules == doctest::Approx(2080));
    CHECK(e[0].average_watts == doctest::Approx(208));
    CHECK(e[0].uncertainty == 1);
    CHECK(has_note(source->notes(), "covers 50.0% of the run"));
  }

  TEST_CASE("meter file out of order integrates the sorted rows") {
    // Sorted: 800 100 W, 802 200 W, 804 300 W, 806 300 W. Run 800 → 806:
    // (100+200)/2×2 = 300, (200+300)/2×2 = 500, 300×2 = 600 → 1400 J.
    ManualClock clock;
    auto source = open_meter_file_source(kMeterDir + "out-of-order.csv", clock.fn());
    clock.now = kNoon;
    source->start();
    clock.now = kNoon + 6;
    auto e = source->read_since_start();
    REQUIRE(e.size() == 1);
    CHECK(e[0].joules == doctest::Approx(1400));
    CHECK(has_note(source->notes(), "sorted"));
  }

  TEST_CASE("meter file with cumulative joules") {
    // Run 801 → 805: C(801) = 5000 + 300/2 = 5150, C(805) = 5500 + 400/2 = 5700 → 550 J.
    ManualClock clock;
    auto source = open_meter_file_source(kMeterDir + "joules.csv", clock.fn());
    clock.now = kNoon + 1;
    source->start();
    clock.now = kNoon + 5;
    auto e = source->read_since_start();
    REQUIRE(e.size() == 1);
    CHECK(e[0].joules == doctest::Approx(550));
    CHECK(e[0].average_watts == doctest::Approx(137.5));
  }

  TEST_CASE("meter file that does not overlap the run is an error") {
    ManualClock clock;
    auto source = open_meter_file_source(kMeterDir + "aligned-watts.csv", clock.fn());
    clock.now = kNoon + 3600;
    source->start();
    clock.now = kNoon + 3610;
    std::string err = error_of([&] { source->read_since_start(); });
    CHECK(err.find("do not overlap the run") != std::string::npos);
    CHECK(err.find("2024-05-01T11:59:58.000Z to 2024-05-01T12:00:12.000Z") != std::string::npos);
    CHECK(err.find("2024-05-01T13:00:00.000Z to 2024-05-01T13:00:10.000Z") != std::string::npos);
  }

  TEST_CASE("ipmitool dcmi power reading output is parsed (ipmi meter)") {
    CHECK(parse_ipmi_power_reading(kIpmitool1818).watts == 229.0);
    CHECK(parse_ipmi_power_reading(kIpmitool1819).watts == 214.0);
    std::string off = kIpmitool1818;
    off.replace(off.find("activated"), 9, "deactivated");
    auto r = parse_ipmi_power_reading(off);
    CHECK_FALSE(r.watts);
    CHECK(r.error == "the BMC reports its power reading state as deactivated");
    auto none = parse_ipmi_power_reading("DCMI request failed because: Invalid command (c1)\n");
    CHECK_FALSE(none.watts);
    CHECK(none.error ==
          "no 'Instantaneous power reading' in the output (it said: DCMI request "
          "failed because: Invalid command (c1))");
    auto bad = parse_ipmi_power_reading("    Instantaneous power reading:  n/a Watts\n");
    CHECK_FALSE(bad.watts);
    CHECK(bad.error == "cannot read a number of Watts from 'n/a Watts'");
  }

  TEST_CASE("power source choice: names, none, papi, unknown, meter file") {
    SysRoot root;
    root.sys = std::string(PMC_TEST_DATA) + "/sysfs-power/no-rapl";
    auto none = choose_power_source(root, "none", "");
    CHECK_FALSE(none.source);
    CHECK(none.reason_if_none == "energy measurement turned off (power source 'none')");
    auto papi = choose_power_source(root, "papi", "");
    // Debian's PAPI 7.0 has none of the rapl, powercap and nvml components, so there is no source;
    // the reason names each, as papi_component_avail does (fake libraries: test_papi_power.cpp).
    auto status = papi_status();
    if (!papi.source) {
      CHECK(papi.reason_if_none.rfind("papi power source: ", 0) == 0);
      if (status.available) {
        CHECK(papi.reason_if_none.find("rapl ") != std::string::npos);
        CHECK(papi.reason_if_none.find("powercap ") != std::string::npos);
        CHECK(papi.reason_if_none.find("nvml ") != std::string::npos);
      } else {
        CHECK(papi.reason_if_none.find(status.reason) != std::string::npos);
      }
    } else {
      CHECK(papi.source->method().rfind("measured:papi:", 0) == 0);
    }
    CHECK(error_of([&] { choose_power_source(root, "rapl", ""); }) ==
          "unknown power source 'rapl' (expected auto, perf, powercap, papi or none)");
    auto file = choose_power_source(root, "auto", kMeterDir + "aligned-watts.csv");
    REQUIRE(file.source);
    CHECK(file.source->method() == "measured:external");
    auto both = choose_power_source(root, "powercap", kMeterDir + "aligned-watts.csv");
    REQUIRE(both.source);
    CHECK(has_note(both.notes, "'powercap' was not used"));
    std::string malformed = kMeterDir + "malformed.csv";
    CHECK(error_of([&] { choose_power_source(root, "auto", malformed); }) ==
          malformed + ":3: expected 'timestamp,watts' with numbers, the watts >= 0");
    CHECK(rapl_domain_name("package", 1, 2) == "package-1");
    CHECK(rapl_domain_name("package", 0, 1) == "package-0");
    CHECK(rapl_domain_name("dram", 0, 1) == "dram");
    CHECK(rapl_domain_name("dram", 1, 2) == "dram-1");
    CHECK(rapl_domain_name("psys", 0, 2) == "psys");
  }
}

namespace {

// tests/data/ipmi/bin/ipmitool: ipmitool's real output, a reading that changes at every call,
// and its failure modes, chosen by environment variables (see the script).
const std::string kFakeIpmitool = std::string(PMC_TEST_DATA) + "/ipmi/bin/ipmitool";

IpmiOptions fake_ipmi_options() {
  IpmiOptions options;
  options.argv = {kFakeIpmitool, "dcmi", "power", "reading"};
  options.poll_interval_s = 0.05;
  return options;
}

// A stand-in for ipmitool in a temp dir: prints `output` and exits with `code`.
struct FakeCommand {
  fs::path dir;
  fs::path path;
  FakeCommand(const std::string& stdout_text, const std::string& stderr_text, int code) {
    dir = test::make_temp_dir("ipmi");
    path = dir / "ipmitool";
    std::ofstream out(path);
    out << "#!/bin/sh\ncat <<'EOF'\n" << stdout_text << "\nEOF\n";
    if (!stderr_text.empty()) out << "echo '" << stderr_text << "' >&2\n";
    out << "exit " << code << "\n";
    out.close();
    ::chmod(path.c_str(), 0755);
  }
  ~FakeCommand() { fs::remove_all(dir); }
};

}  // namespace

TEST_SUITE("kernel") {
  TEST_CASE("meter file that grows during the run is re-read (external meter)") {
    // A meter logging while the command runs: at the start the log holds only its header.
    fs::path dir = test::make_temp_dir("meter");
    fs::path path = dir / "live.csv";
    { std::ofstream(path) << "timestamp,watts\n"; }
    ManualClock clock;
    auto source = open_meter_file_source(path.string(), clock.fn());
    clock.now = kNoon;
    source->start();
    { std::ofstream(path, std::ios::app) << "1714564800,100\n1714564802,100\n1714564804,140\n"; }
    clock.now = kNoon + 4;
    auto e = source->read_since_start();  // 100×2 + (100+140)/2×2 = 440 J
    REQUIRE(e.size() == 1);
    CHECK(e[0].joules == doctest::Approx(440));
    { std::ofstream(path, std::ios::app) << "1714564805,x\n"; }
    clock.now = kNoon + 5;
    CHECK(error_of([&] { source->read_since_start(); }) ==
          path.string() + ":5: expected 'timestamp,watts' with numbers, the watts >= 0");
    fs::remove_all(dir);
  }

  TEST_CASE("ipmi meter polls the command and integrates its readings") {
    FakeCommand fake(kIpmitool1818, "", 0);
    IpmiOptions options;
    options.argv = {fake.path.string(), "dcmi", "power", "reading"};
    options.poll_interval_s = 0.05;
    auto choice = open_ipmi_source(options);
    REQUIRE_MESSAGE(choice.source, choice.reason_if_none);
    auto t0 = std::chrono::steady_clock::now();
    choice.source->start();
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    choice.source->sample();
    auto e = choice.source->read_since_start();
    double window = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    REQUIRE(e.size() == 1);
    CHECK(e[0].domain == "wall");
    CHECK(e[0].method == "measured:ipmi");
    // A constant 229 W: the run's energy is 229 W × its length whatever the poll times were;
    // the run lasted at least the 300 ms slept, less a poll interval at either end, and at most
    // the window this test saw (however long a busy machine made the sleep).
    CHECK(e[0].average_watts == doctest::Approx(229));
    CHECK(e[0].joules >= 229 * (0.3 - 2 * options.poll_interval_s));
    CHECK(e[0].joules <= 229 * window * 1.001);
    // A poll every 50 ms at best: at least one such period over the window.
    CHECK(e[0].uncertainty >= options.poll_interval_s / window);
    CHECK(e[0].uncertainty <= 1);
    CHECK(has_note(choice.source->notes(), "the BMC's DCMI reading"));
  }

  TEST_CASE("ipmi meter that is missing or fails gives a reason") {
    IpmiOptions missing;
    missing.argv = {"/nonexistent/ipmitool", "dcmi", "power", "reading"};
    auto none = open_ipmi_source(missing);
    CHECK_FALSE(none.source);
    CHECK(none.reason_if_none ==
          "--power-from ipmi: /nonexistent/ipmitool is not installed (not found in PATH)");

    // What ipmitool prints on a machine without the ipmi_si/ipmi_devintf drivers.
    FakeCommand fake("",
                     "Could not open device at /dev/ipmi0 or /dev/ipmi/0 or /dev/ipmidev/0: "
                     "No such file or directory",
                     1);
    IpmiOptions failing;
    failing.argv = {fake.path.string(), "dcmi", "power", "reading"};
    auto failed = open_ipmi_source(failing);
    CHECK_FALSE(failed.source);
    CHECK(failed.reason_if_none ==
          "--power-from ipmi: " + fake.path.string() +
              " dcmi power reading failed (exit 1): Could not open device at /dev/ipmi0 or "
              "/dev/ipmi/0 or /dev/ipmidev/0: No such file or directory");

    // The real ipmitool: on this machine it is either absent, failing, or a working BMC.
    SysRoot root;
    auto real = choose_power_source(root, "auto", "ipmi");
    if (!real.source) CHECK(real.reason_if_none.rfind("--power-from ipmi: ", 0) == 0);
  }

  TEST_CASE("ipmi meter integrates readings that change at every call (fake ipmitool ramp)") {
    // tests/data/ipmi/bin/ipmitool prints ipmitool 1.8.18's text with a reading of
    // 100 W + 100 W/s × (time since PMC_FAKE_IPMI_T0): a straight line, which the piecewise-linear
    // integral reproduces whatever the poll times, so the run's average power is the line at the
    // run's middle: 100 + 100 × (a + b) / 2 for a run from a to b seconds after T0.
    auto now = [] {
      return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch())
          .count();
    };
    double t0 = now();
    ::setenv("PMC_FAKE_IPMI_T0", std::to_string(t0).c_str(), 1);
    auto choice = open_ipmi_source(fake_ipmi_options());
    REQUIRE_MESSAGE(choice.source, choice.reason_if_none);
    double a = now() - t0;
    choice.source->start();
    std::this_thread::sleep_for(std::chrono::milliseconds(600));
    double b = now() - t0;
    auto e = choice.source->read_since_start();
    ::unsetenv("PMC_FAKE_IPMI_T0");
    REQUIRE(e.size() == 1);
    CHECK(e[0].method == "measured:ipmi");
    CHECK(e[0].domain == "wall");
    double expected_watts = 100 + 100 * (a + b) / 2;  // about 130 W
    // Whole-watt readings (±0.5 W) taken at some moment of each call (a few ms).
    CHECK(e[0].average_watts == doctest::Approx(expected_watts).epsilon(0.02));
    CHECK(e[0].joules == doctest::Approx(expected_watts * (b - a)).epsilon(0.03));
    // Polled every 50 ms at best: at least one such period over the run (whose ends this test
    // saw within a few microseconds: half that, to be safe).
    CHECK(e[0].uncertainty >= fake_ipmi_options().poll_interval_s / (2 * (b - a)));
    CHECK(e[0].uncertainty <= 1);
  }

  TEST_CASE("ipmi meter failures give a clear reason: exit status, garbage, polls failing later") {
    SUBCASE("ipmitool exits non-zero") {
      ::setenv("PMC_FAKE_IPMI_MODE", "fail", 1);
      auto r = open_ipmi_source(fake_ipmi_options());
      CHECK_FALSE(r.source);
      CHECK(r.reason_if_none == "--power-from ipmi: " + std::string(kFakeIpmitool) +
                                    " dcmi power reading failed (exit 1): Could not open device "
                                    "at /dev/ipmi0 or /dev/ipmi/0 or /dev/ipmidev/0: No such file "
                                    "or directory");
    }
    SUBCASE("ipmitool prints something that is no power reading") {
      ::setenv("PMC_FAKE_IPMI_MODE", "garbage", 1);
      auto r = open_ipmi_source(fake_ipmi_options());
      CHECK_FALSE(r.source);
      CHECK(r.reason_if_none == "--power-from ipmi: " + std::string(kFakeIpmitool) +
                                    " dcmi power reading: no 'Instantaneous power reading' in the "
                                    "output (it said: this is not ipmitool output)");
    }
    ::unsetenv("PMC_FAKE_IPMI_MODE");
    SUBCASE("the first call works, every later one fails: no energy, and the notes say why") {
      fs::path dir = test::make_temp_dir("ipmi-calls");
      ::setenv("PMC_FAKE_IPMI_CALLS", (dir / "calls").c_str(), 1);
      ::setenv("PMC_FAKE_IPMI_FAIL_AFTER", "1", 1);
      auto choice = open_ipmi_source(fake_ipmi_options());
      REQUIRE_MESSAGE(choice.source, choice.reason_if_none);
      choice.source->start();
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
      auto e = choice.source->read_since_start();
      CHECK(e.empty());
      auto notes = choice.source->notes();
      CHECK(has_note(notes, "ipmitool gave no readings over the run (" +
                                std::string(kFakeIpmitool) +
                                " dcmi power reading failed (exit 1)"));
      CHECK(has_note(notes, "ipmitool poll(s) failed; the last: "));
      choice.source.reset();
      ::unsetenv("PMC_FAKE_IPMI_CALLS");
      ::unsetenv("PMC_FAKE_IPMI_FAIL_AFTER");
      fs::remove_all(dir);
    }
  }
}
