// What a user meets around NVML beyond a plain run, against tests/engine/fake_nvml.c (a
// libnvidia-ml replaying a real H200 trace): doctor's NVML line and its fixes, NVML refusing this
// user, the measure table's GPU rows and total against the JSON document of the same run, a run
// without the library against one with --gpus none, and an NVML without
// nvmlDeviceGetFieldValues. The stand-in's own values (driver 580.159.04, "NVIDIA H200", NVML's
// error strings) are those of the H200 the trace came from and of NVIDIA's API reference.
#include <doctest/doctest.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <string>
#include <tuple>
#include <vector>

#include "test_support.h"

using namespace pmc::test;
namespace fs = std::filesystem;
using nlohmann::json;

namespace {

const std::string kNoAmdSmi = "PMCMODEL_AMDSMI_LIBRARY=/nonexistent/libamd_smi.so";

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

bool contains(const std::string& s, const std::string& part) {
  return s.find(part) != std::string::npos;
}

// doctor's line for `name` and its fix line ("" when it has none).
struct DoctorLine {
  std::string line, fix;
};
DoctorLine doctor_line(const std::string& out, const std::string& name) {
  auto lines = lines_of(out);
  for (size_t i = 0; i < lines.size(); ++i) {
    if (!contains(lines[i], "] " + name + " ")) continue;
    DoctorLine d{lines[i], ""};
    if (i + 1 < lines.size() && contains(lines[i + 1], " fix: ")) d.fix = lines[i + 1];
    return d;
  }
  return {};
}

DoctorLine doctor_nvml(const std::vector<std::string>& env) {
  std::vector<std::string> all = env;
  all.push_back(kNoAmdSmi);
  auto r = run_process(pmcmodel({"doctor"}), all);
  REQUIRE(r.exit_code == 0);
  auto d = doctor_line(r.out, "GPU (NVML)");
  REQUIRE_MESSAGE(!d.line.empty(), r.out);
  return d;
}

// One row of measure's energy table: "   3985.204000 J      gpu0      # 12105.6 W  method".
struct TableRow {
  double joules = 0;
  std::string what;
};
std::vector<TableRow> energy_rows(const std::string& err) {
  std::vector<TableRow> rows;
  for (const auto& line : lines_of(err)) {
    auto j = line.find(" J      ");
    auto hash = line.find(" # ");
    if (j == std::string::npos || hash == std::string::npos || hash < j) continue;
    char* end = nullptr;
    double joules = std::strtod(line.c_str(), &end);
    if (end != line.c_str() + j) continue;
    std::string what = line.substr(j + 8, hash - j - 8);
    what.erase(what.find_last_not_of(' ') + 1);
    rows.push_back({joules, what});
  }
  return rows;
}

const TableRow* row_named(const std::vector<TableRow>& rows, const std::string& what) {
  for (const auto& r : rows)
    if (r.what == what) return &r;
  return nullptr;
}

// A figure the table printed to 6 decimals against the document's.
bool printed_as(double printed, double exact) {
  return std::abs(printed - exact) <= 5.1e-7 + 1e-12 * std::abs(exact);
}

const json* reading(const json& doc, const std::string& domain, const std::string& scope) {
  for (const auto& e : doc["energy"])
    if (e["domain"] == domain && e["scope"] == scope) return &e;
  return nullptr;
}

bool has_note(const json& doc, const std::string& part) {
  for (const auto& n : doc["notes"])
    if (contains(n.get<std::string>(), part)) return true;
  return false;
}

// The total line, "machine total: package + gpu0": checks that each part is a domain of `scope`
// in the document, that a GPU stands beside a CPU domain, and that the line's joules are the
// document's joules of those parts added (printed to 6 decimals), and joules_per_run.
void check_total(const std::vector<TableRow>& rows, const json& doc, const std::string& scope) {
  const std::string label = scope + " total: ";
  const TableRow* total = nullptr;
  for (const auto& r : rows)
    if (r.what.rfind(label, 0) == 0) total = &r;
  REQUIRE_MESSAGE(total, "no '" << label << "' line");
  std::string parts = total->what.substr(label.size()) + " + ";
  double sum = 0;
  bool gpu = false, cpu = false;
  for (size_t at = 0, plus; (plus = parts.find(" + ", at)) != std::string::npos; at = plus + 3) {
    std::string domain = parts.substr(at, plus - at);
    const json* e = reading(doc, domain, scope);
    REQUIRE_MESSAGE(e, domain << " (" << scope << ") is not in the document");
    sum += (*e)["joules"].get<double>();
    (domain.rfind("gpu", 0) == 0 ? gpu : cpu) = true;
  }
  CHECK(gpu);
  CHECK(cpu);
  CHECK_MESSAGE(printed_as(total->joules, sum), total->joules << " vs " << sum);
  bool per_run = false;
  for (const auto& m : doc["metrics"])
    if (m["name"] == "joules_per_run") {
      per_run = true;
      CHECK(printed_as(total->joules, m["value"].get<double>()));
    }
  CHECK(per_run);
}

// The keys that must not change when GPUs are not read: each energy reading's domain, scope
// and method, each metric's and event's name.
using Keys = std::tuple<std::set<std::string>, std::set<std::string>, std::set<std::string>>;
Keys keys_of(const json& doc) {
  Keys k;
  for (const auto& e : doc["energy"])
    std::get<0>(k).insert(e["domain"].get<std::string>() + "/" + e["scope"].get<std::string>() +
                          "/" + e["method"].get<std::string>());
  for (const auto& m : doc["metrics"]) std::get<1>(k).insert(m["name"].get<std::string>());
  for (const auto& e : doc["events"]) std::get<2>(k).insert(e["name"].get<std::string>());
  return k;
}

// Notes with their digits masked: two runs differ in measured figures, not in what they say.
// The source tree's path (data/skus.csv…) is cut first: its name may hold "gpu" or digits.
std::set<std::string> masked_notes(const json& doc) {
  const std::string source = PMC_SOURCE_DIR;
  std::set<std::string> notes;
  for (const auto& n : doc["notes"]) {
    std::string s = n.get<std::string>();
    for (size_t at; (at = s.find(source)) != std::string::npos;)
      s.replace(at, source.size(), "<source>");
    for (char& c : s)
      if (c >= '0' && c <= '9') c = '#';
    notes.insert(s);
  }
  return notes;
}

bool about_gpus(const std::string& note) {
  for (const char* word : {"GPU", "gpu", "NVML", "nvml", "nvidia", "NVIDIA"})
    if (contains(note, word)) return true;
  return false;
}

}  // namespace

TEST_SUITE("kernel") {
  TEST_CASE("doctor's NVML line: the library, the driver, each GPU and how its energy is read") {
    const std::string lib = std::string("PMCMODEL_NVML_LIBRARY=") + PMC_FAKE_NVML;
    SUBCASE("two GPUs whose energy counters answer") {
      auto d = doctor_nvml({lib, "PMC_FAKE_NVML_GPUS=2"});
      CHECK(d.line.rfind("[ ok ] GPU (NVML)", 0) == 0);
      CHECK(contains(d.line, std::string(PMC_FAKE_NVML) + ", driver 580.159.04"));
      CHECK(contains(d.line, "; gpu0 NVIDIA H200: energy measured:nvml;"));
      CHECK(contains(d.line, "; gpu1 NVIDIA H200: energy measured:nvml"));
      CHECK(d.fix.empty());
    }
    SUBCASE("no energy counter: the instant field, and why the counter is not used") {
      auto d = doctor_nvml({lib, "PMC_FAKE_NVML_NO_ENERGY=1"});
      CHECK(d.line.rfind("[ ok ]", 0) == 0);
      CHECK(contains(d.line,
                     "gpu0 NVIDIA H200: energy measured:nvml-power (no energy counter: "
                     "nvmlDeviceGetTotalEnergyConsumption: Not Supported)"));
    }
    SUBCASE("neither the counter nor the instant field: the 1 s average") {
      auto d = doctor_nvml({lib, "PMC_FAKE_NVML_NO_ENERGY=1", "PMC_FAKE_NVML_NO_FIELDS=1"});
      CHECK(contains(d.line, "gpu0 NVIDIA H200: energy measured:nvml-average (no energy counter"));
    }
    SUBCASE("no library: why, and where to get it") {
      auto d = doctor_nvml({"PMCMODEL_NVML_LIBRARY=/nonexistent/libnvidia-ml.so.1"});
      CHECK(contains(d.line, "/nonexistent/libnvidia-ml.so.1"));
      CHECK(contains(d.fix, "PMCMODEL_NVML_LIBRARY=/path/to/libnvidia-ml.so.1"));
    }
  }

  TEST_CASE(
      "doctor: NVML that will not start gives the driver's fix, one that refuses the user "
      "the permission's") {
    const std::string lib = std::string("PMCMODEL_NVML_LIBRARY=") + PMC_FAKE_NVML;
    SUBCASE("nvmlInit_v2: Driver Not Loaded") {
      auto d = doctor_nvml({lib, "PMC_FAKE_NVML_INIT_FAIL=1"});
      CHECK(d.line.rfind("[FAIL] GPU (NVML)", 0) == 0);
      CHECK(contains(d.line, "loaded, but nvmlInit_v2 failed: Driver Not Loaded (NVML error 9)"));
      CHECK(contains(d.fix, "check the driver with nvidia-smi"));
      CHECK_FALSE(contains(d.fix, "install"));  // the library is there: installing is not the fix
    }
    SUBCASE("nvmlInit_v2: Insufficient Permissions") {
      auto d = doctor_nvml({lib, "PMC_FAKE_NVML_NO_PERMISSION=1"});
      CHECK(d.line.rfind("[FAIL] GPU (NVML)", 0) == 0);
      CHECK(contains(d.line, "nvmlInit_v2 failed: Insufficient Permissions (NVML error 4)"));
      CHECK(contains(d.fix, "add this user to the group that owns /dev/nvidia*"));
    }
  }

  TEST_CASE(
      "measure: NVML refusing this user is a note that says what to do, and the run goes on") {
    fs::path dir = make_temp_dir("gpu-doctor");
    fs::path out = dir / "m.json";
    auto r = run_process(pmcmodel({"measure", "-q", "--json", out.string(), "--", "true"}),
                         {std::string("PMCMODEL_NVML_LIBRARY=") + PMC_FAKE_NVML,
                          "PMC_FAKE_NVML_NO_PERMISSION=1", kNoAmdSmi});
    REQUIRE_MESSAGE(r.exit_code == 0, r.err);
    json doc = json::parse(read_file(out.string()));
    CHECK_FALSE(doc["machine"].contains("gpus"));
    CHECK_FALSE(reading(doc, "gpu0", "machine"));
    CHECK(has_note(doc, "no NVIDIA GPU read: nvmlInit_v2 failed: Insufficient Permissions"));
    CHECK(has_note(doc, "may not open /dev/nvidia*: add it to the group that owns them"));
    fs::remove_all(dir);
  }

  TEST_CASE(
      "measure: the table shows the GPU beside the CPU domains and the total the document "
      "has") {
    fs::path dir = make_temp_dir("gpu-doctor");
    fs::path clock = dir / "clock", out = dir / "m.json";
    std::ofstream(clock) << "4.5\n";
    std::vector<std::string> env = {std::string("PMCMODEL_NVML_LIBRARY=") + PMC_FAKE_NVML,
                                    "PMC_FAKE_NVML_CLOCK=" + clock.string(), kNoAmdSmi};
    std::string command = "echo 10.4 > " + clock.string() + "; sleep 0.5";
    SUBCASE("-a: the machine's readings and the machine total") {
      auto r = run_process(
          pmcmodel({"measure", "-a", "--json", out.string(), "--", "sh", "-c", command}), env);
      REQUIRE_MESSAGE(r.exit_code == 0, r.err);
      json doc = json::parse(read_file(out.string()));
      auto rows = energy_rows(r.err);
      for (const auto& e : doc["energy"]) {
        const std::string domain = e["domain"];
        if (e["scope"] != "machine") continue;
        auto* row = row_named(rows, domain);
        REQUIRE_MESSAGE(row, domain << " has no row in the table:\n" << r.err);
        CHECK_MESSAGE(printed_as(row->joules, e["joules"].get<double>()), domain);
      }
      REQUIRE(reading(doc, "gpu0", "machine"));
      check_total(rows, doc, "machine");
    }
    SUBCASE("a command: its shares and the command total") {
      auto r = run_process(pmcmodel({"measure", "--json", out.string(), "--", "sh", "-c", command}),
                           env);
      REQUIRE_MESSAGE(r.exit_code == 0, r.err);
      json doc = json::parse(read_file(out.string()));
      auto rows = energy_rows(r.err);
      const json* share = reading(doc, "gpu0", "command");
      REQUIRE(share);
      auto* row = row_named(rows, "gpu0 (command share)");
      REQUIRE_MESSAGE(row, r.err);
      CHECK(printed_as(row->joules, (*share)["joules"].get<double>()));
      REQUIRE(row_named(rows, "gpu0"));
      check_total(rows, doc, "command");
    }
    fs::remove_all(dir);
  }

  TEST_CASE("measure: without the NVML library the run is what --gpus none gives, exit 0") {
    fs::path dir = make_temp_dir("gpu-doctor");
    fs::path missing = dir / "missing.json", none = dir / "none.json";
    auto a =
        run_process(pmcmodel({"measure", "-q", "--json", missing.string(), "--", "sleep", "0.2"}),
                    {"PMCMODEL_NVML_LIBRARY=" + (dir / "libnvidia-ml.so.1").string(), kNoAmdSmi});
    // --gpus none with the stand-in named: the library is not even asked.
    auto b = run_process(pmcmodel({"measure", "-q", "--gpus", "none", "--json", none.string(), "--",
                                   "sleep", "0.2"}),
                         {std::string("PMCMODEL_NVML_LIBRARY=") + PMC_FAKE_NVML, kNoAmdSmi});
    REQUIRE_MESSAGE(a.exit_code == 0, a.err);
    REQUIRE_MESSAGE(b.exit_code == 0, b.err);
    json da = json::parse(read_file(missing.string())), db = json::parse(read_file(none.string()));
    CHECK_FALSE(da["machine"].contains("gpus"));
    CHECK_FALSE(db["machine"].contains("gpus"));
    auto [energy_a, metrics_a, events_a] = keys_of(da);
    auto [energy_b, metrics_b, events_b] = keys_of(db);
    CHECK(energy_a == energy_b);
    CHECK(metrics_a == metrics_b);
    CHECK(events_a == events_b);
    CHECK_FALSE(energy_a.empty());
    // Notes: --gpus none says so; the missing library says nothing about GPUs, or only that it
    // was not found; every other note is the same.
    auto notes_a = masked_notes(da), notes_b = masked_notes(db);
    CHECK(notes_b.count("GPUs not measured (--gpus none)") == 1);
    notes_b.erase("GPUs not measured (--gpus none)");
    for (auto it = notes_a.begin(); it != notes_a.end();) {
      if (!about_gpus(*it)) {
        ++it;
        continue;
      }
      CHECK_MESSAGE(contains(*it, "libnvidia-ml.so.#"), *it);
      it = notes_a.erase(it);
    }
    CHECK(notes_a == notes_b);
    fs::remove_all(dir);
  }

  TEST_CASE(
      "measure: an NVML without nvmlDeviceGetFieldValues reads the counter, with a note, and "
      "without the counter, the 1 s average with its note and a wider uncertainty") {
    fs::path dir = make_temp_dir("gpu-doctor");
    fs::path clock = dir / "clock", out = dir / "m.json";
    auto run = [&](std::vector<std::string> env) {
      std::ofstream(clock) << "4.5\n";
      env.push_back(std::string("PMCMODEL_NVML_LIBRARY=") + PMC_FAKE_NVML_NO_FIELDS);
      env.push_back("PMC_FAKE_NVML_CLOCK=" + clock.string());
      env.push_back(kNoAmdSmi);
      auto r = run_process(pmcmodel({"measure", "-q", "--json", out.string(), "--", "sh", "-c",
                                     "echo 10.4 > " + clock.string() + "; sleep 0.5"}),
                           env);
      REQUIRE_MESSAGE(r.exit_code == 0, r.err);
      return json::parse(read_file(out.string()));
    };
    json counter = run({});
    const json* g = reading(counter, "gpu0", "machine");
    REQUIRE(g);
    CHECK((*g)["method"] == "measured:nvml");
    // Rows in force: t=4.4984 (3498747 mJ) and t=10.3942 (7483951 mJ).
    CHECK((*g)["joules"].get<double>() == doctest::Approx(3985.204));
    CHECK(has_note(counter, "lacks nvmlDeviceGetFieldValues"));

    // The stand-in with the symbol would integrate the instant field (measured:nvml-power); this
    // one has nothing but nvmlDeviceGetPowerUsage left.
    json average = run({"PMC_FAKE_NVML_NO_ENERGY=1"});
    const json* a = reading(average, "gpu0", "machine");
    REQUIRE(a);
    CHECK((*a)["method"] == "measured:nvml-average");
    CHECK(average["machine"]["gpus"][0]["energy_method"] == "measured:nvml-average");
    CHECK(has_note(average, "lacks nvmlDeviceGetFieldValues"));
    CHECK(has_note(average,
                   "gpu0: no energy counter: nvmlDeviceGetTotalEnergyConsumption: Not "
                   "Supported"));
    CHECK(has_note(average, "1 s moving average"));
    CHECK((*a)["uncertainty"].get<double>() >= 0.15);
    CHECK((*a)["uncertainty"].get<double>() > (*g)["uncertainty"].get<double>());
    fs::remove_all(dir);
  }
}
