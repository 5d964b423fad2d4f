// read_run_file (events/perfstat/run_file.h), the runs `compare` reads: a measurement document
// with its optional workload, or a perf stat recording with perf stat's generic ratios.
#include <doctest/doctest.h>

#include <string>

#include <nlohmann/json.hpp>

#include "events/document/measurement_io.h"
#include "events/perfstat/run_file.h"
#include "test_support.h"

using namespace pmc;

namespace {

std::string document(const nlohmann::json& workload) {
  Measurement m;
  m.duration_s = 2;
  EventCount cycles;
  cycles.name = "cycles";
  cycles.value = 4e9;
  cycles.status = EventStatus::counted;
  m.events = {cycles};
  auto doc = nlohmann::json::parse(measurement_to_json(m));
  if (!workload.is_null()) doc["workload"] = workload;
  return doc.dump(2);
}

}  // namespace

TEST_SUITE("pure") {
  TEST_CASE("a measurement document is read with its workload") {
    auto run = read_run_file(document("spin"), "run.json");
    CHECK(run.workload == "spin");
    REQUIRE(run.measurement.events.size() == 1);
    CHECK(run.measurement.events[0].value == 4e9);
    CHECK_FALSE(read_run_file(document(nullptr), "run.json").workload);
    CHECK_THROWS_WITH_AS(read_run_file(document(3), "run.json"),
                         "run.json:1: \"workload\" must be a string naming the workload",
                         RunFileError);
  }

  TEST_CASE("a document's duplicate key is refused before it is parsed, with its line") {
    CHECK_THROWS_WITH_AS(
        read_run_file("{\n\"schema\": \"pmcmodel.measurement/1\",\n\"schema\": \"x\"}", "d.json"),
        doctest::Contains("d.json:3: "), RunFileError);
  }

  TEST_CASE("a perf stat recording is imported, with perf stat's generic ratios") {
    // 013.txt: 2,583,719,806 instructions and 56,513,364,885 cycles (means of -r 3).
    auto run =
        read_run_file(test::read_file(std::string(PMC_TEST_DATA) + "/perfstat/013.txt"), "013.txt");
    CHECK_FALSE(run.workload);
    bool ipc = false;
    for (const auto& x : run.measurement.metrics)
      if (x.name == "ipc") {
        ipc = true;
        CHECK(x.value == doctest::Approx(2583719806.0 / 56513364885.0));
      }
    CHECK(ipc);
  }

  TEST_CASE("text that is neither says both") {
    CHECK_THROWS_WITH_AS(
        read_run_file("hello\n", "x.txt"),
        doctest::Contains("(neither a pmcmodel.measurement/1 document nor a perf stat recording)"),
        RunFileError);
  }
}
