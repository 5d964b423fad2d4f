// `pmcmodel import --threads N` on a recording long enough to be cut into parts (two 4 MiB parts
// at least): the document, the metrics and the errors are those of --threads 1.
#include <doctest/doctest.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>

#include <fmt/format.h>

#include "test_support.h"

using namespace pmc::test;

namespace {

std::string temp_path(const std::string& name) {
  return (std::filesystem::temp_directory_path() /
          ("pmc-import-cli-" + std::to_string(getpid()) + "-" + name))
      .string();
}

// tests/data/perfstat/synthetic/interval.csv's first interval (task-clock, cycles,
// instructions) repeated with perf's "%6lu.%09lu" timestamps every 100 ms: `intervals` of them.
// Line 3 * i + 2 is interval i's cycles row.
std::string long_recording(size_t intervals) {
  std::string out;
  for (size_t i = 1; i <= intervals; ++i) {
    std::string stamp = fmt::format("{:6}.{:09}", i / 10, (i % 10) * 100'000'000);
    out += fmt::format("{},{:.2f},msec,task-clock,100230000,100.00,1.002,CPUs utilized\n", stamp,
                       100.0 + double(i % 7));
    out += fmt::format("{},{},,cycles,100200000,100.00,3.197,GHz\n", stamp, 320456789 + i);
    out += fmt::format("{},{},,instructions,100200000,100.00,2.00,insn per cycle\n", stamp,
                       640913578 + 2 * i);
  }
  return out;
}

void write(const std::string& path, const std::string& text) {
  std::ofstream(path, std::ios::binary) << text;
}

// The top-down values perf printed in a recording's "#  VALUE [%]  NAME" comments, as fractions
// under their tma_ name in lower case ("#     0.09 Retiring" → tma_retiring 0.09, "#  33.7 %
// retiring" → tma_retiring 0.337), with half a unit of the last digit perf printed.
struct Printed {
  double value;
  double half_unit;
};
std::map<std::string, Printed> printed_topdown(const std::string& path) {
  std::map<std::string, Printed> out;
  std::istringstream lines(read_file(path));
  for (std::string line; std::getline(lines, line);) {
    size_t hash = line.find('#');
    if (hash == std::string::npos) continue;
    std::istringstream fields(line.substr(hash + 1));
    std::string number, name;
    if (!(fields >> number >> name) || number.find_first_not_of("0123456789.") != std::string::npos)
      continue;
    double scale = 1;
    if (name == "%" && fields >> name) scale = 0.01;
    for (auto& c : name) c = char(std::tolower(static_cast<unsigned char>(c)));
    size_t dot = number.find('.');
    int decimals = dot == std::string::npos ? 0 : int(number.size() - dot - 1);
    out["tma_" + name] = {std::stod(number) * scale, 0.5 * std::pow(10.0, -decimals) * scale};
  }
  return out;
}

double metric_value(const nlohmann::json& doc, const std::string& name) {
  for (const auto& m : doc["metrics"])
    if (m["name"] == name && m["value"].is_number()) return m["value"].get<double>();
  FAIL("no metric " << name);
  return 0;
}

// `pmcmodel import IN --json FILE` (the streamed writer) and `--json -` (the whole document): both
// succeed and write the same bytes; the document written (the file is removed).
std::string streamed_as_whole(const std::string& in, const std::string& name) {
  auto out = temp_path(name);
  auto to_file = run_process(pmcmodel({"import", in, "--json", out}));
  auto to_stdout = run_process(pmcmodel({"import", in, "--json", "-"}));
  REQUIRE_MESSAGE(to_file.exit_code == 0, to_file.err);
  REQUIRE(to_stdout.exit_code == 0);
  std::string written = read_file(out);
  CHECK((written == to_stdout.out));
  std::filesystem::remove(out);
  return written;
}

}  // namespace

TEST_SUITE("pure") {
  TEST_CASE("import refuses a --json that names one of its inputs and leaves the input as it was") {
    // The recording is the user's only copy: `import run.txt --json run.txt` must not replace it
    // with the document. Checked for a text and a -x recording (the -x one is streamed to a
    // file), by the same name and by another path to it, and for a directory that holds an
    // input named as the document of another.
    auto dir = temp_path("same");
    std::filesystem::create_directories(dir);
    const std::string text =
        " Performance counter stats for 'x':\n\n  5      page-faults\n\n"
        "       0.100000000 seconds time elapsed\n";
    const std::string csv = "5,,page-faults,100,100.00,,\n";
    for (const auto& [name, recording] :
         {std::pair{std::string("run.txt"), text}, std::pair{std::string("run.csv"), csv}}) {
      CAPTURE(name);
      std::string in = dir + "/" + name;
      write(in, recording);
      for (const std::string& out : {in, dir + "/./" + name}) {
        auto r = run_process(pmcmodel({"import", in, "--json", out}));
        CHECK(r.exit_code == 2);
        CHECK(r.err.find("--json would write the document over the recording " + in) !=
              std::string::npos);
        CHECK(std::count(r.err.begin(), r.err.end(), '\n') == 1);
        CHECK(read_file(in) == recording);
      }
    }
    // Two inputs into the directory they are in: a.txt's document is a.txt.json, an input.
    write(dir + "/a.txt", text);
    write(dir + "/a.txt.json", text);
    auto r = run_process(pmcmodel({"import", dir + "/a.txt", dir + "/a.txt.json", "--json", dir}));
    CHECK(r.exit_code == 2);
    CHECK(r.err.find("over the recording " + dir + "/a.txt.json") != std::string::npos);
    CHECK(read_file(dir + "/a.txt.json") == text);
    // Another name is written as before.
    auto ok = run_process(pmcmodel({"import", dir + "/run.txt", "--json", dir + "/run.json"}));
    CHECK(ok.exit_code == 0);
    CHECK(std::filesystem::exists(dir + "/run.json"));
    std::filesystem::remove_all(dir);
  }

  TEST_CASE("import of a -r recording prints perf's own elapsed line, its spread kept") {
    // Real perf stat -r recordings (013.txt, 014.txt: 10 runs; 024.txt: 5): the table's elapsed
    // line is the one perf printed ("5.23915 +- 0.00421 seconds time elapsed  ( +-  0.08% )"), and
    // the document keeps the spread.
    for (const char* name : {"013.txt", "014.txt", "024.txt"}) {
      CAPTURE(name);
      std::string in = std::string(PMC_TEST_DATA) + "/perfstat/" + name;
      std::string perf_line;
      std::istringstream text(read_file(in));
      for (std::string line; std::getline(text, line);)
        if (line.find("seconds time elapsed") != std::string::npos)
          perf_line = line.substr(line.find_first_not_of(' '));
      REQUIRE(!perf_line.empty());
      auto r = run_process(pmcmodel({"import", in}));
      REQUIRE(r.exit_code == 0);
      CHECK(r.out.find(perf_line + "\n") != std::string::npos);
      auto doc = nlohmann::json::parse(run_process(pmcmodel({"import", in, "--json", "-"})).out);
      // The spread as perf printed it, the figure after "+-".
      double sd = std::stod(perf_line.substr(perf_line.find("+- ") + 3));
      REQUIRE(doc.contains("duration_sem_s"));
      CHECK(doc["duration_sem_s"].get<double>() == doctest::Approx(sd));
    }
  }

  TEST_CASE("import --threads 2 writes the document --threads 1 writes, and names the same line") {
    const size_t intervals = 60'000;  // ~12 MB: three 4 MiB parts
    std::string text = long_recording(intervals);
    REQUIRE(text.size() > (8u << 20));
    auto csv = temp_path("long.csv");
    write(csv, text);
    auto one = temp_path("one.json"), two = temp_path("two.json");
    auto r1 = run_process(pmcmodel({"import", csv, "--threads", "1", "--json", one}));
    auto r2 = run_process(pmcmodel({"import", csv, "--threads", "2", "--json", two}));
    REQUIRE(r1.exit_code == 0);
    REQUIRE(r2.exit_code == 0);
    std::string a = read_file(one), b = read_file(two);
    CHECK((a == b));  // no 40 MB diff on failure
    auto doc = nlohmann::json::parse(b);
    REQUIRE(doc["intervals"].size() == intervals);
    // Interval 45,000 (in the second half): cycles 320,456,789 + 45,000 over its task-clock
    // 100 + 45,000 % 7 = 104 ms gives the metric engine's GHz.
    const auto& iv = doc["intervals"][44'999];
    CHECK(iv["time_s"].get<double>() == doctest::Approx(4500.0));
    bool found = false;
    for (const auto& m : iv["metrics"]) {
      if (m["name"] != "ghz") continue;
      found = true;
      CHECK(m["value"].get<double>() == doctest::Approx(320501789.0 / 104e6));
    }
    CHECK(found);

    // A bad row in the last part: both name its line.
    size_t line = 3 * 55'000 + 2, start = 0;
    for (size_t i = 1; i < line; ++i) start = text.find('\n', start) + 1;
    text.replace(start, text.find('\n', start) - start, "not,a,perf,row");
    write(csv, text);
    auto fresh = temp_path("fresh.json");
    for (const char* threads : {"1", "2"}) {
      CAPTURE(threads);
      auto r = run_process(pmcmodel({"import", csv, "--threads", threads, "--json", one}));
      CHECK(r.exit_code == 2);
      CHECK(r.err.find(fmt::format("{}:{}: expected", csv, line)) != std::string::npos);
      // The intervals before the bad row were written while it was read, to a temporary file:
      // the old document stays as it was, and a new path gets no file at all.
      CHECK((read_file(one) == a));
      auto r2 = run_process(pmcmodel({"import", csv, "--threads", threads, "--json", fresh}));
      CHECK(r2.exit_code == 2);
      CHECK_FALSE(std::filesystem::exists(fresh));
    }
    std::error_code ec;
    for (const auto& entry :
         std::filesystem::directory_iterator(std::filesystem::path(fresh).parent_path(), ec)) {
      CHECK(entry.path().filename().string().find("fresh.json.") == std::string::npos);
    }
    for (const auto& p : {csv, one, two}) std::filesystem::remove(p);
  }

  TEST_CASE("import without metric files derives perf stat's generic ratios, streamed or whole") {
    // PMCMODEL_DATA_DIR without metrics/: each interval still gets ghz from its own counts, and a
    // note says why nothing more was derived; the file (streamed) and stdout (read whole) agree.
    const size_t intervals = 50;
    auto csv = temp_path("nometrics.csv"), out = temp_path("nometrics.json");
    write(csv, long_recording(intervals));
    auto empty = temp_path("no-data");
    std::filesystem::create_directories(empty);
    std::vector<std::string> env = {"PMCMODEL_DATA_DIR=" + empty};
    auto to_file = run_process(pmcmodel({"import", csv, "--json", out}), env);
    auto to_stdout = run_process(pmcmodel({"import", csv, "--json", "-"}), env);
    REQUIRE_MESSAGE(to_file.exit_code == 0, to_file.err);
    REQUIRE(to_stdout.exit_code == 0);
    std::string written = read_file(out);
    CHECK((written == to_stdout.out));
    auto doc = nlohmann::json::parse(written);
    bool noted = false;
    for (const auto& n : doc["notes"])
      noted |= n.get<std::string>().find("metric files not found under " + empty) == 0;
    CHECK(noted);
    // Interval 7: cycles 320,456,789 + 7 over task-clock 100 + 7 % 7 = 100 ms.
    const auto& iv = doc["intervals"][6];
    bool found = false;
    for (const auto& m : iv["metrics"]) {
      if (m["name"] != "ghz") continue;
      found = true;
      CHECK(m["value"].get<double>() == doctest::Approx(320456796.0 / 100e6));
    }
    CHECK(found);
    for (const auto& p : {csv, out}) std::filesystem::remove(p);
    std::filesystem::remove_all(empty);
  }

  TEST_CASE(
      "a streamed -x CSV import chooses the metric files and literals the whole-file one does") {
    // synthetic/zen4_interval.csv: wild/064.txt's Zen 4 PipelineL1 counts as two -I intervals.
    // Written to a file the import streams it; to stdout it is read whole. Both infer the Zen 4
    // metric file from the raw events (with its #slots and assumed #smt_on) and agree byte for
    // byte; each interval's top-down is what perf printed (064.txt: 5.8 % bad_speculation, 36.3 %
    // retiring, 56.2 % frontend_bound, 1.7 % backend_bound), within half a unit of its last digit.
    std::string written = streamed_as_whole(
        std::string(PMC_TEST_DATA) + "/perfstat/synthetic/zen4_interval.csv", "zen4.json");
    auto doc = nlohmann::json::parse(written);
    REQUIRE(doc["intervals"].size() == 2);
    const std::pair<const char*, double> printed[] = {{"tma_bad_speculation", 0.058},
                                                      {"tma_retiring", 0.363},
                                                      {"tma_frontend_bound", 0.562},
                                                      {"tma_backend_bound", 0.017}};
    for (const auto& iv : doc["intervals"]) {
      for (const auto& [name, value] : printed) {
        CAPTURE(name);
        bool found = false;
        for (const auto& m : iv["metrics"]) {
          if (m["name"] != name) continue;
          found = true;
          CHECK(std::abs(m["value"].get<double>() - value) <= 0.0005);
        }
        CHECK(found);
      }
    }
    // The run is the two intervals' sums, each group's ls_not_halted_cyc summed on its own: the
    // same ratios (the four groups added together would make every denominator four times
    // larger).
    bool run_found = false;
    for (const auto& m : doc["metrics"]) {
      if (m["name"] != "tma_frontend_bound") continue;
      run_found = true;
      CHECK(std::abs(m["value"].get<double>() - 0.562) <= 0.0005);
    }
    CHECK(run_found);
    bool inferred = false, literals = false;
    for (const auto& n : doc["notes"]) {
      std::string note = n;
      inferred |= note.find("metric file: zen4's") != std::string::npos;
      literals |= note.find("#slots = 6") != std::string::npos;
    }
    CHECK(inferred);
    CHECK(literals);
  }

  TEST_CASE("a streamed import whose later intervals change the metric choice is read whole") {
    // Skylake-era TMA events (wild/061.txt's counts, and made-up one-thread-active and ref_xclk
    // counts) in 15,000 intervals (~8 MB, more than the first batch) where
    // int_misc.recovery_cycles_any is not counted, then 3 where it is. Counting a *_ANY event
    // says SMT was on (#smt_on = 1); the first batch does not show it (#smt_on = 0 assumed for
    // skylake). The run's choice wins: the file written is the whole-file import's, whose
    // formulas took #smt_on = 1.
    const std::pair<const char*, const char*> rows[] = {
        {"uops_issued.any", "920211343"},
        {"idq_uops_not_delivered.core", "1977733128"},
        {"int_misc.recovery_cycles", "51668510"},
        {"int_misc.recovery_cycles_any", "155005530"},
        {"uops_retired.retire_slots", "732305692"},
        {"cpu_clk_unhalted.thread", "1351873350"},
        {"cpu_clk_unhalted.one_thread_active", "50000000"},
        {"cpu_clk_unhalted.ref_xclk", "100000000"}};
    std::string text;
    const size_t silent = 15000, counted = 3;
    for (size_t i = 1; i <= silent + counted; ++i) {
      std::string stamp = fmt::format("{:6}.{:09}", i, 0);
      for (const auto& [event, count] : rows) {
        bool any = std::string_view(event).ends_with("_any");
        text += i <= silent && any
                    ? fmt::format("{},<not counted>,,{},0,0.00,,\n", stamp, event)
                    : fmt::format("{},{},,{},1000000000,100.00,,\n", stamp, count, event);
      }
    }
    REQUIRE(text.size() > (8u << 20));
    auto csv = temp_path("late.csv");
    write(csv, text);
    std::string written = streamed_as_whole(csv, "late.json");
    auto doc = nlohmann::json::parse(written);
    REQUIRE(doc["intervals"].size() == silent + counted);
    bool smt_on = false;
    for (const auto& n : doc["notes"])
      smt_on |= n.get<std::string>().find("#smt_on = 1 (the recording") != std::string::npos;
    CHECK(smt_on);
    // skylake.json with #smt_on = 1 and #core_wide = 0: slots = 4 * THREAD / 2 * (1 +
    // ONE_THREAD_ACTIVE / REF_XCLK) = 4,055,620,050; tma_bad_speculation = (UOPS_ISSUED.ANY -
    // UOPS_RETIRED.RETIRE_SLOTS + 4 * RECOVERY_CYCLES_ANY / 2) / slots = 497,916,711 / slots
    // (0.0973 with #smt_on = 0, from RECOVERY_CYCLES).
    bool found = false;
    for (const auto& m : doc["intervals"][silent]["metrics"]) {
      if (m["name"] != "tma_bad_speculation") continue;
      found = true;
      CHECK(m["value"].get<double>() == doctest::Approx(497916711.0 / 4055620050.0));
    }
    CHECK(found);
    std::filesystem::remove(csv);
  }

  TEST_CASE("import --json FILE streams a -x recording with perf -v's CPUID line: same document") {
    // synthetic/cpuid_042.csv: wild/042.csv with "Using CPUID GenuineIntel-6-8F-8" added as its
    // first line (and the same line among the rows, written here). The streamed writer writes
    // the head (the machine the line gives: family 6, model 0x8f = 143) before the rows are read;
    // it once failed with "the document's head changed while streaming", exit 1.
    auto with_line = std::string(PMC_TEST_DATA) + "/perfstat/synthetic/cpuid_042.csv";
    auto text = read_file(with_line);
    auto among = temp_path("cpuid_among.csv");
    {
      std::string rows = text.substr(text.find('\n') + 1);
      size_t second = rows.find('\n') + 1;
      std::ofstream(among) << rows.substr(0, second) << "Using CPUID GenuineIntel-6-8F-8\n"
                           << rows.substr(second);
    }
    for (const std::string& csv : {with_line, among}) {
      CAPTURE(csv);
      auto streamed = nlohmann::json::parse(streamed_as_whole(csv, "cpuid_042.json"));
      CHECK(streamed["machine"]["family"] == 6);
      CHECK(streamed["machine"]["model"] == 0x8f);
    }
    std::filesystem::remove(among);
  }

  TEST_CASE("import notes intervals that disagree with perf, streamed, whole or as a table") {
    // wild/042.csv (-x -I 1000 -M topdownl1): perf printed "31.1,%  tma_backend_bound" beside
    // 1431602465 topdown-be-bound of the four topdown-* counts' 4677069222 (476781750 retiring,
    // 2389693619 fe-bound, 378991388 bad-spec): 30.61 %, which the import derives (generic.json's
    // formula, no --cpu). Each way through the import says so once, for its one interval.
    auto csv = std::string(PMC_TEST_DATA) + "/perfstat/wild/042.csv";
    auto out = temp_path("042.json");
    auto to_file = run_process(pmcmodel({"import", csv, "--json", out}));
    auto to_stdout = run_process(pmcmodel({"import", csv, "--json", "-"}));
    auto table = run_process(pmcmodel({"import", csv}));
    REQUIRE_MESSAGE(to_file.exit_code == 0, to_file.err);
    REQUIRE(to_stdout.exit_code == 0);
    REQUIRE(table.exit_code == 0);
    const double backend = 1431602465.0 / (476781750.0 + 2389693619.0 + 1431602465.0 + 378991388.0);
    auto expected_start = fmt::format(
        "tma_backend_bound: in 1 of 1 intervals perf printed a value that differs from "
        "pmcmodel's");
    auto expected_gap = fmt::format(
        "largest difference is {:.2f} points at 1.000103288 s (perf printed 31.1%, "
        "pmcmodel derives {:.2f}%)",
        std::abs(31.1 - 100 * backend), 100 * backend);
    auto interval_notes = [&](const std::string& json) {
      std::vector<std::string> found;
      auto doc = nlohmann::json::parse(json);
      for (const auto& n : doc["notes"]) {
        auto text = n.get<std::string>();
        if (text.find(" intervals perf printed ") != std::string::npos) found.push_back(text);
      }
      return found;
    };
    auto streamed = interval_notes(read_file(out));
    CHECK(streamed == interval_notes(to_stdout.out));
    CAPTURE(streamed);
    bool backend_noted = false;
    for (const auto& n : streamed) {
      CHECK(table.out.find(n) != std::string::npos);
      if (!n.starts_with("tma_backend_bound:")) continue;
      backend_noted = true;
      CHECK(n.starts_with(expected_start));
      CHECK(n.find(expected_gap) != std::string::npos);
    }
    CHECK(backend_noted);
    std::filesystem::remove(out);
  }

  TEST_CASE("import evaluates an interval's metrics over perf's -I period, streamed or whole") {
    // perf divides an interval's task-clock by the -I period, not the measured gap
    // (builtin-stat.c process_interval()). synthetic/interval.csv (-I 100 -x,): 100.23 and
    // 99.87 msec task-clock at 0.100123456 and 0.200245678 s, printed as 1.002 and 0.999 CPUs
    // utilized; wild/051.json (-j -I 1000): 16045.281449 msec at 1.001089747 s, printed 16.045281.
    struct Case {
      std::string file;
      double step;
      std::vector<double> printed;  // CPUs utilized as perf printed it, per interval
      double half_unit;
    };
    const std::vector<Case> cases = {
        {"synthetic/interval.csv", 0.1, {1.002, 0.999}, 5e-4},
        {"wild/051.json", 1.0, {16.045281}, 5e-7},
    };
    for (const auto& c : cases) {
      CAPTURE(c.file);
      std::string written =
          streamed_as_whole(std::string(PMC_TEST_DATA) + "/perfstat/" + c.file, "period.json");
      auto doc = nlohmann::json::parse(written);
      REQUIRE(doc.contains("interval_step_s"));
      CHECK(doc["interval_step_s"].get<double>() == c.step);
      REQUIRE(doc["intervals"].size() == c.printed.size());
      for (size_t i = 0; i < c.printed.size(); ++i) {
        CAPTURE(i);
        const auto& iv = doc["intervals"][i];
        CHECK(iv["duration_s"].get<double>() != c.step);  // the measured gap, kept
        bool found = false;
        for (const auto& m : iv["metrics"]) {
          if (m["name"] != "cpus_utilized") continue;
          found = true;
          CHECK(std::abs(m["value"].get<double>() - c.printed[i]) < c.half_unit);
        }
        CHECK(found);
      }
      for (const auto& n : doc["notes"])
        CHECK_FALSE(n.get<std::string>().starts_with("cpus_utilized: in "));
    }
  }

  TEST_CASE("import without metric files keeps a zero-cycles IPC as nan, streamed or whole") {
    // Interval 1 counts 0 cycles: instructions / cycles is a division by zero, NaN as perf's
    // expression evaluator gives it ("nan"); interval 2 and the run have cycles. Without metric
    // files (perf stat's generic ratios) the interval's IPC is written as null with "nan": true,
    // in the streamed file as in the document read whole.
    std::string text =
        "     1.000100000,0,,cycles,1000000000,100.00,,\n"
        "     1.000100000,1000,,instructions,1000000000,100.00,,\n"
        "     2.000200000,2000,,cycles,1000000000,100.00,,\n"
        "     2.000200000,3000,,instructions,1000000000,100.00,,\n";
    auto csv = temp_path("zero.csv"), out = temp_path("zero.json");
    write(csv, text);
    auto empty = temp_path("zero-no-data");
    std::filesystem::create_directories(empty);
    std::vector<std::string> env = {"PMCMODEL_DATA_DIR=" + empty};
    auto to_file = run_process(pmcmodel({"import", csv, "--json", out}), env);
    auto to_stdout = run_process(pmcmodel({"import", csv, "--json", "-"}), env);
    REQUIRE_MESSAGE(to_file.exit_code == 0, to_file.err);
    REQUIRE(to_stdout.exit_code == 0);
    std::string written = read_file(out);
    CHECK((written == to_stdout.out));
    auto doc = nlohmann::json::parse(written);
    auto ipc_of = [](const nlohmann::json& metrics) {
      for (const auto& m : metrics)
        if (m["name"] == "ipc") return m;
      return nlohmann::json();
    };
    auto zero = ipc_of(doc["intervals"][0]["metrics"]);
    REQUIRE(zero.is_object());
    CHECK(zero["value"].is_null());
    CHECK(zero["nan"] == true);
    CHECK(ipc_of(doc["intervals"][1]["metrics"])["value"].get<double>() == doctest::Approx(1.5));
    CHECK(ipc_of(doc["metrics"])["value"].get<double>() == doctest::Approx(4000.0 / 2000.0));

    // The same recording as one run with 0 cycles: the run's NaN says why.
    write(csv, "0,,cycles,1000000000,100.00,,\n1000,,instructions,1000000000,100.00,,\n");
    auto run = run_process(pmcmodel({"import", csv, "--json", "-"}), env);
    REQUIRE_MESSAGE(run.exit_code == 0, run.err);
    auto ipc = ipc_of(nlohmann::json::parse(run.out)["metrics"]);
    REQUIRE(ipc.is_object());
    CHECK(ipc["value"].is_null());
    CHECK(ipc["nan"] == true);
    CHECK(ipc["reason"].get<std::string>().find("division by zero") != std::string::npos);
    for (const auto& p : {csv, out}) std::filesystem::remove(p);
    std::filesystem::remove_all(empty);
  }

  TEST_CASE("import evaluates each metric perf printed with the counts of its own group") {
    // perf stat -M counts an event that several metrics' groups hold once per group and computes
    // each metric from its own group's counts. Each value perf printed is checked to half a unit
    // of its last digit; the formulas are those of the perf that made the recording
    // (tests/data/metrics/perf-history/README.md), or the shipped zen4.json for 064.txt.
    std::string wild = std::string(PMC_TEST_DATA) + "/perfstat/wild/";
    std::string history = std::string(PMC_TEST_DATA) + "/metrics/perf-history/";
    struct Printed {
      const char* metric;
      double value;
      double half_unit;
    };
    auto check = [](const std::vector<std::string>& args, std::vector<Printed> printed) {
      auto r = run_process(pmcmodel(args));
      REQUIRE_MESSAGE(r.exit_code == 0, r.err);
      auto doc = nlohmann::json::parse(r.out);
      for (const auto& p : printed) {
        CAPTURE(p.metric);
        bool found = false;
        for (const auto& m : doc["metrics"]) {
          if (m["name"] != p.metric) continue;
          found = true;
          CHECK(std::abs(m["value"].get<double>() - p.value) <= p.half_unit);
        }
        CHECK(found);
      }
    };
    SUBCASE("066.txt: Neoverse N2, cpu_cycles in three groups") {
      // "26.7 % frontend_bound" beside cpu_cycles 3,406,548,064: the last group's 3,415,528,440
      // would give 26.6 %.
      check({"import", wild + "066.txt", "--cpu", "neoverse-n2", "--metrics",
             history + "neoverse-n2-6.4-topdownl1.json", "-m", "TopdownL1", "--json", "-"},
            {{"tma_bad_speculation", 0.0, 0.0005},
             {"tma_retiring", 0.051, 0.0005},
             {"tma_frontend_bound", 0.267, 0.0005},
             {"tma_backend_bound", 0.688, 0.0005}});
    }
    SUBCASE("064.txt: Zen 4 PipelineL1, ls_not_halted_cyc in four groups") {
      check({"import", wild + "064.txt", "--json", "-"}, {{"tma_bad_speculation", 0.058, 0.0005},
                                                          {"tma_retiring", 0.363, 0.0005},
                                                          {"smt_contention", 0.0, 0.0005},
                                                          {"tma_frontend_bound", 0.562, 0.0005},
                                                          {"tma_backend_bound", 0.017, 0.0005}});
    }
    SUBCASE("061.txt: perf 5.7 Skylake TopDownL1, cycles in five groups") {
      // Values printed as fractions with one decimal; SLOTS exactly, from the last group.
      check({"import", wild + "061.txt", "--metrics", history + "skl-5.7-topdownl1.json", "-m",
             "TopdownL1", "--json", "-"},
            {{"tma_backend_bound", 0.5, 0.05},
             {"tma_bad_speculation", 0.1, 0.05},
             {"tma_frontend_bound", 0.4, 0.05},
             {"tma_retiring", 0.1, 0.05},
             {"ipc", 0.3, 0.05},
             {"slots", 5330041272.0, 0.05}});
    }
  }

  TEST_CASE("import of several files refuses a --json that is not a directory, creating nothing") {
    auto dir = make_temp_dir("import-json-dir");
    std::string data = std::string(PMC_TEST_DATA) + "/perfstat/";
    std::vector<std::string> inputs = {data + "013.txt", data + "wild/016.txt"};
    auto import_to = [&](const std::string& json_path) {
      std::vector<std::string> args = {"import"};
      args.insert(args.end(), inputs.begin(), inputs.end());
      args.insert(args.end(), {"--json", json_path});
      return run_process(pmcmodel(args));
    };
    auto one_line = [](const std::string& s) { return !s.empty() && s.find('\n') == s.size() - 1; };
    SUBCASE("a name ending in .json") {
      auto path = (dir / "one.json").string();
      auto r = import_to(path);
      CHECK(r.exit_code == 2);
      CHECK(one_line(r.err));
      CHECK(r.err.find(path) != std::string::npos);
      CHECK_FALSE(std::filesystem::exists(path));
    }
    SUBCASE("an existing file") {
      auto path = (dir / "existing").string();
      write(path, "kept\n");
      auto r = import_to(path);
      CHECK(r.exit_code == 2);
      CHECK(one_line(r.err));
      CHECK(read_file(path) == "kept\n");
    }
    SUBCASE("standard output") {
      auto r = import_to("-");
      CHECK(r.exit_code == 2);
      CHECK(one_line(r.err));
      CHECK(r.out.empty());
      CHECK_FALSE(std::filesystem::exists("-"));
    }
    SUBCASE("a directory, existing or to be made, receives one document per input") {
      for (const auto& path :
           {dir.string(), (dir / "made.json/").string(), (dir / "made").string()}) {
        CAPTURE(path);
        auto r = import_to(path);
        REQUIRE_MESSAGE(r.exit_code == 0, r.err);
        CHECK(std::filesystem::is_regular_file(std::filesystem::path(path) / "013.txt.json"));
        CHECK(std::filesystem::is_regular_file(std::filesystem::path(path) / "016.txt.json"));
      }
    }
    std::filesystem::remove_all(dir);
  }

  TEST_CASE("import without --cpu derives top-down from a Zen 4 recording's raw events") {
    // wild/065.txt (AMD Zen 4, perf stat -M PipelineL1): perf printed "0.0 % bad_speculation",
    // "33.7 % retiring", "65.1 % frontend_bound", "1.2 % backend_bound" from the raw events.
    auto r = run_process(
        pmcmodel({"import", std::string(PMC_TEST_DATA) + "/perfstat/wild/065.txt", "--json", "-"}));
    REQUIRE_MESSAGE(r.exit_code == 0, r.err);
    auto doc = nlohmann::json::parse(r.out);
    const std::pair<const char*, double> printed[] = {{"tma_bad_speculation", 0.0},
                                                      {"tma_retiring", 0.337},
                                                      {"tma_frontend_bound", 0.651},
                                                      {"tma_backend_bound", 0.012}};
    for (const auto& [name, value] : printed) {
      CAPTURE(name);
      bool found = false;
      for (const auto& m : doc["metrics"]) {
        if (m["name"] != name) continue;
        found = true;
        // Half a unit of perf's last printed digit (0.1 %).
        CHECK(std::abs(m["value"].get<double>() - value) <= 0.0005);
      }
      CHECK(found);
    }
    bool noted = false;
    for (const auto& n : doc["notes"]) {
      std::string note = n;
      noted |= note.find("zen4") != std::string::npos &&
               note.find("de_src_op_disp.all") != std::string::npos;
    }
    CHECK(noted);
  }

  TEST_CASE("import -m takes a group of the metric file the recording's events choose") {
    // Without --cpu, -m PipelineL1 (zen4.json) and -m TmaL1 / TopdownL2 (skylake.json) are not
    // in generic.json: the file of the CPU the events show is chosen before the names are.
    std::string wild = std::string(PMC_TEST_DATA) + "/perfstat/wild/";
    struct Case {
      const char* file;
      const char* group;
      const char* cpu;
      bool printed;  // perf printed this group's metrics in the file
    };
    const Case cases[] = {{"065.txt", "PipelineL1", "zen4", true},
                          {"063.txt", "TmaL1", "skylake", true},
                          {"063.txt", "TopdownL2", "skylake", false}};
    for (const auto& c : cases) {
      CAPTURE(c.file);
      CAPTURE(c.group);
      auto r = run_process(pmcmodel({"import", wild + c.file, "-m", c.group, "--json", "-"}));
      REQUIRE_MESSAGE(r.exit_code == 0, r.err);
      auto doc = nlohmann::json::parse(r.out);
      bool noted = false;
      for (const auto& n : doc["notes"]) {
        std::string note = n;
        noted |= note.starts_with(fmt::format("metric file: {}'s", c.cpu)) &&
                 note.find(fmt::format("-m {}", c.group)) != std::string::npos;
      }
      CHECK(noted);
      if (!c.printed) continue;
      auto printed = printed_topdown(wild + c.file);
      REQUIRE(printed.size() == 4);
      for (const auto& [name, p] : printed) {
        CAPTURE(name);
        CHECK(std::abs(metric_value(doc, name) - p.value) <= p.half_unit * 1.000001);
      }
    }
    SUBCASE("a name no file has is still refused, naming the files looked in") {
      auto r = run_process(pmcmodel({"import", wild + "065.txt", "-m", "NoSuchGroup"}));
      CHECK(r.exit_code == 2);
      CHECK(r.err.find("-m NoSuchGroup: no metric or metric group") != std::string::npos);
    }
  }

  TEST_CASE("a perf 5.7 Skylake -M recording over `cycles` gives perf's top-down values") {
    // wild/060.txt: perf 5.7's skl-metrics.json wrote TopdownL1 over `cycles` ("IDQ_UOPS_NOT_
    // DELIVERED.CORE / (4 * cycles)"), so the recording holds no CPU_CLK_UNHALTED.THREAD; perf
    // printed 0.08 Bad_Speculation, 0.41 Backend_Bound, 0.38 Frontend_Bound, 0.14 Retiring.
    std::string path = std::string(PMC_TEST_DATA) + "/perfstat/wild/060.txt";
    auto printed = printed_topdown(path);
    REQUIRE(printed.size() == 4);
    CHECK(printed["tma_backend_bound"].value == doctest::Approx(0.41));
    auto r = run_process(pmcmodel({"import", path, "--json", "-"}));
    REQUIRE_MESSAGE(r.exit_code == 0, r.err);
    auto doc = nlohmann::json::parse(r.out);
    for (const auto& [name, p] : printed) {
      CAPTURE(name);
      CHECK(std::abs(metric_value(doc, name) - p.value) <= p.half_unit * 1.000001);
    }
    bool noted = false;
    for (const auto& n : doc["notes"])
      noted |= n.get<std::string>().starts_with("metric file: skylake's");
    CHECK(noted);
  }

  TEST_CASE("compare takes a recording's energy from the joules perf counted") {
    // wild/008.txt:7: 51.10 Joules power/energy-psys/ (the platform: the basis over package,
    // dram, core and gpu) in 5.001965465 s (008.txt:9).
    auto r = run_process(pmcmodel(
        {"compare", std::string(PMC_TEST_DATA) + "/perfstat/wild/008.txt", "--json", "-"}));
    REQUIRE_MESSAGE(r.exit_code == 0, r.err);
    auto doc = nlohmann::json::parse(r.out);
    REQUIRE(doc["rows"].size() == 1);
    const auto& row = doc["rows"][0];
    CHECK(row["method"] == "measured:rapl");
    CHECK(row["joules"].get<double>() == doctest::Approx(51.10));
    CHECK(row["average_watts"].get<double>() == doctest::Approx(51.10 / 5.001965465));
  }

  TEST_CASE("import without --cpu derives top-down from an Arm Neoverse recording's raw events") {
    // wild/066.txt (perf 6.4-dev, Neoverse, -M TopDownL1): stall_slot* and op_* rows, with no
    // BR_MIS_PRED that the current N2 formulas need; the values perf printed are read from it.
    std::string path = std::string(PMC_TEST_DATA) + "/perfstat/wild/066.txt";
    std::map<std::string, double> printed;
    // Each "#  NUMBER %  NAME" comment (std::regex is avoided: GCC 12's -Wmaybe-uninitialized
    // fires inside <regex> under the asan preset's -Werror).
    std::istringstream lines(read_file(path));
    for (std::string line; std::getline(lines, line);) {
      size_t hash = line.find('#');
      if (hash == std::string::npos) continue;
      std::istringstream fields(line.substr(hash + 1));
      std::string number, percent, name;
      if (fields >> number >> percent >> name && percent == "%" &&
          number.find_first_not_of("0123456789.") == std::string::npos)
        printed[name] = std::stod(number);
    }
    REQUIRE(printed.size() == 4);
    auto r = run_process(pmcmodel({"import", path, "--json", "-"}));
    REQUIRE_MESSAGE(r.exit_code == 0, r.err);
    auto doc = nlohmann::json::parse(r.out);
    for (const auto& [name, percent] : printed) {
      CAPTURE(name);
      int found = 0;
      for (const auto& m : doc["metrics"]) {
        if (m["name"] == name) {
          ++found;
          // Half a unit of perf's last printed digit (0.1 %).
          CHECK(std::abs(m["value"].get<double>() - percent) <= 0.05);
          // perf 6.4's formula, where the current one lacks BR_MIS_PRED or the CPUID.
          CHECK(m["origin"].get<std::string>().starts_with("earlier/neoverse-n2.json:"));
        } else if (m["name"] == "tma_" + name) {
          ++found;
          CHECK(std::abs(m["value"].get<double>() - percent / 100) <= 0.0005);
        }
      }
      CHECK(found == 2);
    }
    bool noted = false;
    for (const auto& n : doc["notes"]) {
      std::string note = n;
      noted |= note.find("neoverse-n2's") != std::string::npos &&
               note.find("earlier/neoverse-n2.json + neoverse-n2.json") != std::string::npos &&
               note.find("stall_slot") != std::string::npos;
    }
    CHECK(noted);
  }

  TEST_CASE("import of an Arm recording takes its Neoverse core's #slots, or says it cannot") {
    // synthetic/neoverse_v1_cpuid.txt: perf -v's "Using CPUID 0x00000000410fd401" (Neoverse V1)
    // and -M TopDownL1 values worked out by hand with perf's neoverse-v1 formulas (8 slots):
    // frontend 100 * (2.4e9 / (8 * 2e9) - 4 * 1e7 / 2e9) = 13.0; bad speculation
    // 100 * ((1 - 8.1e9 / 9e9) * (1 - 6.4e9 / 16e9) + 4 * 1e7 / 2e9) = 8.0; retiring
    // 100 * 0.9 * 0.6 = 54.0; backend 100 * 4e9 / 16e9 = 25.0.
    std::string v1 = std::string(PMC_TEST_DATA) + "/perfstat/synthetic/neoverse_v1_cpuid.txt";
    auto notes_of = [](const nlohmann::json& doc) {
      std::string all;
      for (const auto& n : doc["notes"]) all += n.get<std::string>() + "\n";
      return all;
    };
    auto value_of = [](const nlohmann::json& doc, const std::string& name) {
      for (const auto& m : doc["metrics"])
        if (m["name"] == name) return m["value"].get<double>();
      FAIL("no metric " << name);
      return 0.0;
    };
    SUBCASE("the CPUID line chooses neoverse-v1.json and #slots 8: perf's values, no note") {
      auto r = run_process(pmcmodel({"import", v1, "--json", "-"}));
      REQUIRE_MESSAGE(r.exit_code == 0, r.err);
      auto doc = nlohmann::json::parse(r.out);
      auto notes = notes_of(doc);
      CAPTURE(notes);
      CHECK(notes.find("metric file: neoverse-v1's") != std::string::npos);
      CHECK(notes.find("#slots = 8 (the recording") != std::string::npos);
      CHECK(notes.find("perf printed") == std::string::npos);
      CHECK(std::abs(value_of(doc, "tma_frontend_bound") - 0.130) <= 0.0005);
      CHECK(std::abs(value_of(doc, "tma_bad_speculation") - 0.080) <= 0.0005);
      CHECK(std::abs(value_of(doc, "tma_retiring") - 0.540) <= 0.0005);
      CHECK(std::abs(value_of(doc, "tma_backend_bound") - 0.250) <= 0.0005);
    }
    auto dir = make_temp_dir("import-neoverse");
    // The same counts without the CPUID line or perf's metrics: nothing tells the core.
    std::string bare = (dir / "bare.txt").string();
    {
      std::istringstream in(read_file(v1));
      std::string text;
      for (std::string line; std::getline(in, line);) {
        if (line.starts_with("Using CPUID")) continue;
        if (auto hash = line.find('#'); hash != std::string::npos) line.erase(hash);
        if (line.find_first_not_of(' ') == std::string::npos && !line.empty()) continue;
        text += line + "\n";
      }
      write(bare, text);
    }
    SUBCASE("without --cpu: taken as N2, and the note says the recording cannot tell") {
      auto r = run_process(pmcmodel({"import", bare, "--json", "-"}));
      REQUIRE_MESSAGE(r.exit_code == 0, r.err);
      auto notes = notes_of(nlohmann::json::parse(r.out));
      CAPTURE(notes);
      CHECK(notes.find("nothing in it tells which core or how many slots: taken as N2") !=
            std::string::npos);
    }
    // perf's neoverse-n2-v2 backend_bound: 100 * (stall_slot_backend / (cpu_cycles * #slots) -
    // br_mis_pred * 3 / cpu_cycles) = 100 * (4e9 / (2e9 * 8) - 3e7 / 2e9) = 23.5.
    SUBCASE("--cpu neoverse-v2 gives #slots 8: V2's backend_bound of the counts") {
      auto r = run_process(pmcmodel({"import", bare, "--cpu", "neoverse-v2", "--json", "-"}));
      REQUIRE_MESSAGE(r.exit_code == 0, r.err);
      auto doc = nlohmann::json::parse(r.out);
      CAPTURE(notes_of(doc));
      CHECK(notes_of(doc).find("#slots = 8 (--cpu") != std::string::npos);
      CHECK(std::abs(value_of(doc, "backend_bound") - 23.5) <= 1e-9);
    }
    SUBCASE("--cpu sbsa has no slot count of its own: a note says what gives it") {
      auto r = run_process(pmcmodel({"import", bare, "--cpu", "sbsa", "--json", "-"}));
      REQUIRE_MESSAGE(r.exit_code == 0, r.err);
      auto doc = nlohmann::json::parse(r.out);
      auto notes = notes_of(doc);
      CAPTURE(notes);
      CHECK(notes.find("#slots: ") != std::string::npos);
      CHECK(notes.find("--literal slots=N") != std::string::npos);
      for (const auto& m : doc["metrics"]) CHECK(m["name"] != "tma_backend_bound");
      auto given = run_process(
          pmcmodel({"import", bare, "--cpu", "sbsa", "--literal", "slots=8", "--json", "-"}));
      REQUIRE_MESSAGE(given.exit_code == 0, given.err);
      auto with_slots = nlohmann::json::parse(given.out);
      CHECK(std::abs(value_of(with_slots, "tma_backend_bound") - 0.25) <= 1e-9);
      CHECK(notes_of(with_slots).find("#slots: ") == std::string::npos);
    }
    std::filesystem::remove_all(dir);
  }

  TEST_CASE("import refuses a line over 1 MiB (exit 2, --lenient too), streamed or read whole") {
    // 10,000 intervals (~2 MB): the streamed import reads it in 1 MiB parts. Line 15,002 is
    // interval 5,001's cycles row.
    std::string text = long_recording(10'000);
    size_t start = 0;
    for (size_t i = 1; i < 15'002; ++i) start = text.find('\n', start) + 1;
    text.replace(start, text.find('\n', start) - start,
                 "   500.100000000" + std::string(size_t(1) << 20, ','));
    auto dir = make_temp_dir("import-overlong");
    auto csv = (dir / "over.csv").string(), out = (dir / "over.json").string();
    write(csv, text);
    for (const char* threads : {"1", "2"}) {
      for (bool lenient : {false, true}) {
        CAPTURE(threads);
        CAPTURE(lenient);
        for (const std::string& json : {out, std::string("-")}) {
          std::vector<std::string> args = {"import", csv, "--threads", threads, "--json", json};
          if (lenient) args.push_back("--lenient");
          auto r = run_process(pmcmodel(args));
          CHECK(r.exit_code == 2);
          CHECK(r.err == "pmcmodel import: " + csv +
                             ":15002: a line longer than 1048576 bytes; expected perf stat "
                             "output, whose lines are at most a few hundred bytes\n");
          CHECK(r.out.empty());
          CHECK_FALSE(std::filesystem::exists(out));
        }
      }
    }
    std::filesystem::remove_all(dir);
  }

  TEST_CASE(
      "import refuses a negative count with FILE:LINE (exit 2) and --lenient drops the line") {
    auto dir = make_temp_dir("import-negative");
    SUBCASE("text: a negative task-clock") {
      auto txt = (dir / "neg.txt").string();
      write(txt,
            " Performance counter stats for 'x':\n\n"
            "             -5.00 msec task-clock          #    0.005 CPUs utilized\n"
            "     3,204,567,890      cycles\n\n"
            "       1.001 seconds time elapsed\n");
      auto strict = run_process(pmcmodel({"import", txt, "--json", "-"}));
      CHECK(strict.exit_code == 2);
      CHECK(strict.err.starts_with("pmcmodel import: " + txt +
                                   ":3: the time is negative; expected a time of 0 or more"));
      CHECK(strict.out.empty());
      auto lenient = run_process(pmcmodel({"import", txt, "--lenient", "--json", "-"}));
      REQUIRE_MESSAGE(lenient.exit_code == 0, lenient.err);
      CHECK(
          lenient.err.starts_with("pmcmodel import: skipped " + txt + ":3: the time is negative"));
      auto doc = nlohmann::json::parse(lenient.out);
      REQUIRE(doc["events"].size() == 1);
      CHECK(doc["events"][0]["name"] == "cycles");
      CHECK(doc["events"][0]["value"] == 3204567890.0);
      CHECK(doc["duration_s"] == 1.001);
    }
    SUBCASE("-x CSV streamed: a negative count in the second part") {
      // Line 15,002 is interval 5,001's cycles row (long_recording).
      std::string text = long_recording(10'000);
      size_t start = 0;
      for (size_t i = 1; i < 15'002; ++i) start = text.find('\n', start) + 1;
      text.replace(start, text.find('\n', start) - start,
                   "   500.100000000,-320461790,,cycles,100200000,100.00,3.197,GHz");
      auto csv = (dir / "neg.csv").string(), out = (dir / "neg.json").string();
      write(csv, text);
      for (const char* threads : {"1", "2"}) {
        CAPTURE(threads);
        auto strict = run_process(pmcmodel({"import", csv, "--threads", threads, "--json", out}));
        CHECK(strict.exit_code == 2);
        CHECK(strict.err.starts_with("pmcmodel import: " + csv +
                                     ":15002: the count is negative; expected a count of 0 or "
                                     "more, found '500.100000000,-320461790,,cycles"));
        CHECK_FALSE(std::filesystem::exists(out));
        auto lenient = run_process(
            pmcmodel({"import", csv, "--threads", threads, "--lenient", "--json", out}));
        REQUIRE_MESSAGE(lenient.exit_code == 0, lenient.err);
        CHECK(lenient.err.starts_with("pmcmodel import: skipped " + csv +
                                      ":15002: the count is negative"));
        auto doc = nlohmann::json::parse(read_file(out));
        REQUIRE(doc["intervals"].size() == 10'000);
        const auto& dropped = doc["intervals"][5'000];
        CHECK(dropped["time_s"].get<double>() == doctest::Approx(500.1));
        REQUIRE(dropped["events"].size() == 2);
        for (const auto& e : dropped["events"]) CHECK(e["name"] != "cycles");
        CHECK(doc["intervals"][4'999]["events"].size() == 3);
        std::filesystem::remove(out);
      }
    }
    std::filesystem::remove_all(dir);
  }
}

namespace {

std::string local_recording(const std::string& name) {
  return std::string(PMC_TEST_DATA) + "/perfstat/local/" + name;
}

const nlohmann::json* metric_named(const nlohmann::json& metrics, const std::string& name) {
  for (const auto& m : metrics)
    if (m["name"] == name) return &m;
  return nullptr;
}

}  // namespace

TEST_SUITE("pure") {
  TEST_CASE("import: -A rows get each CPU's own metrics, as perf printed them beside the row") {
    // per_cpu.txt: CPU0 102.91 msec, CPU1 102.92 msec of task-clock in 0.102893577 s; perf
    // printed 1.000 CPUs utilized beside each, the total being two.
    auto r = run_process(pmcmodel({"import", local_recording("per_cpu.txt"), "--json", "-"}));
    REQUIRE_MESSAGE(r.exit_code == 0, r.err);
    auto doc = nlohmann::json::parse(r.out);
    for (auto [cpu, msec] : {std::pair{"CPU0", 102.91}, std::pair{"CPU1", 102.92}}) {
      CAPTURE(cpu);
      const auto* m = metric_named(doc["metrics"], std::string(cpu) + "/cpus_utilized");
      REQUIRE(m != nullptr);
      CHECK((*m)["value"].get<double>() == doctest::Approx(msec / 1e3 / 0.102893577));
      CHECK((*m)["value"].get<double>() == doctest::Approx(1.000).epsilon(0.0005 / 1.000));
    }
    const auto* total = metric_named(doc["metrics"], "cpus_utilized");
    REQUIRE(total != nullptr);
    CHECK((*total)["value"].get<double>() ==
          doctest::Approx((102.91 + 102.92) / 1e3 / 0.102893577));
    for (const auto& note : doc["notes"])
      CHECK(note.get<std::string>().find("pmcmodel derives") == std::string::npos);

    // -A -I: each interval's per-CPU metric over perf's 100 ms period (1.006, 1.006; 1.008,
    // 1.008; 0.508, 0.507 printed).
    auto ri =
        run_process(pmcmodel({"import", local_recording("per_cpu_interval.txt"), "--json", "-"}));
    REQUIRE_MESSAGE(ri.exit_code == 0, ri.err);
    auto interval_doc = nlohmann::json::parse(ri.out);
    REQUIRE(interval_doc["intervals"].size() == 3);
    const double printed[3][2] = {{1.006, 1.006}, {1.008, 1.008}, {0.508, 0.507}};
    for (size_t i = 0; i < 3; ++i) {
      for (int cpu = 0; cpu < 2; ++cpu) {
        CAPTURE(i);
        CAPTURE(cpu);
        const auto* m = metric_named(interval_doc["intervals"][i]["metrics"],
                                     "CPU" + std::to_string(cpu) + "/cpus_utilized");
        REQUIRE(m != nullptr);
        CHECK(std::abs((*m)["value"].get<double>() - printed[i][cpu]) <= 0.0005 + 1e-9);
      }
    }
  }

  TEST_CASE(
      "import --json DIR/ with one input writes DIR/<input>.json; one name twice is refused") {
    auto dir = make_temp_dir("import-json-dir");
    auto out = (dir / "imported").string() + "/";
    auto one = run_process(pmcmodel({"import", local_recording("per_cpu.txt"), "--json", out}));
    REQUIRE_MESSAGE(one.exit_code == 0, one.err);
    CHECK(std::filesystem::is_regular_file(dir / "imported" / "per_cpu.txt.json"));
    // An existing directory without the '/' is one too.
    auto again =
        run_process(pmcmodel({"import", local_recording("summary.csv"), "--json", dir.string()}));
    REQUIRE_MESSAGE(again.exit_code == 0, again.err);
    CHECK(std::filesystem::is_regular_file(dir / "summary.csv.json"));

    // d1/run.txt and d2/run.txt would both be run.txt.json.
    std::filesystem::create_directories(dir / "d1");
    std::filesystem::create_directories(dir / "d2");
    std::filesystem::copy_file(local_recording("per_cpu.txt"), dir / "d1" / "run.txt");
    std::filesystem::copy_file(local_recording("cmd_comma.txt"), dir / "d2" / "run.txt");
    auto both = (dir / "both").string();
    auto clash = run_process(pmcmodel({"import", (dir / "d1" / "run.txt").string(),
                                       (dir / "d2" / "run.txt").string(), "--json", both}));
    CHECK(clash.exit_code == 2);
    CHECK(clash.err.find((dir / "d1" / "run.txt").string()) != std::string::npos);
    CHECK(clash.err.find((dir / "d2" / "run.txt").string()) != std::string::npos);
    CHECK_FALSE(std::filesystem::exists(both));
    std::filesystem::remove_all(dir);
  }

  TEST_CASE(
      "import: a -x -I recording's '# started on' line is its start_time, streamed or whole") {
    for (const char* name : {"summary.csv", "nc_interval.csv", "two_intervals.csv"}) {
      CAPTURE(name);
      auto doc = nlohmann::json::parse(streamed_as_whole(local_recording(name), name));
      std::string first_line = read_file(local_recording(name)).substr(0, 40);
      // "# started on Mon Dec  7 20:57:34 2026": the time of day perf wrote.
      auto time_of_day = first_line.substr(first_line.find(':') - 2, 8);
      CHECK(doc["start_time"].get<std::string>() == "2026-12-07T" + time_of_day);
    }
  }
}
