// Which cross-validation plan a table gets (models/fit/cv_choice.h), as `fit --cv` and calibrate
// ask for it; and the column rules of `fit --features auto`'s default candidates. Expected plans
// follow from the row counts by hand: k-fold min(max_folds, rows / 2), time-ordered gap 1% of the
// rows, at most half a block.
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "models/calibration/calibration_models.h"
#include "models/fit/auto_features.h"
#include "models/fit/cv_choice.h"
#include "models/fit/stall_comparison.h"

using namespace pmc;

namespace {

// A table of `rows` rows: x = row, a `timestamp` column when asked, labels `w` in turn.
Dataset table(size_t rows, bool timestamp, std::vector<std::string> labels = {"a"}) {
  std::string text = timestamp ? "timestamp,x,w\n" : "x,w\n";
  for (size_t r = 0; r < rows; ++r)
    text += (timestamp ? std::to_string(1000 + r) + "," : "") + std::to_string(r) + "," +
            labels[r % labels.size()] + "\n";
  CsvOptions options;
  options.string_columns = {"w"};
  return Dataset::parse_csv(text, "t.csv", options);
}

}  // namespace

TEST_SUITE("pure") {
  TEST_CASE("automatic CV: time-ordered blocks with a timestamp column, else shuffled folds") {
    std::string how;
    SUBCASE("a timestamp column: 5 time-ordered blocks, no gap unless asked") {
      auto plan = choose_cv_plan(table(20, true), {}, how);
      CHECK(plan.method == CvMethod::time_ordered);
      CHECK(plan.splits.size() == 4);  // block f tested on blocks 0…f-1, f = 1…4
      CHECK(how == "time-ordered, 5 blocks (each tested on a fit to the earlier ones)");
    }
    SUBCASE("the default gap is 1% of the rows; a gap is at most half a block") {
      CvRequest request;
      request.gap_by_default = true;
      choose_cv_plan(table(200, true), request, how);
      CHECK(how ==
            "time-ordered, 5 blocks (each tested on a fit to the earlier ones, leaving out the 2 "
            "rows before it)");
      request.gap = 50;  // ≥ a block of 40 rows: 20
      choose_cv_plan(table(200, true), request, how);
      CHECK(how.ends_with("leaving out the 20 rows before it)"));
      request.gap = 0;
      choose_cv_plan(table(200, true), request, how);
      CHECK(how == "time-ordered, 5 blocks (each tested on a fit to the earlier ones)");
    }
    SUBCASE("no timestamp: k-fold, min(10, rows / 2) folds") {
      CHECK(choose_cv_plan(table(40, false), {}, how).blocks() == 10);
      CHECK(how == "k-fold, 10 folds (rows shuffled, seed 1)");
      CHECK(choose_cv_plan(table(6, false), {}, how).blocks() == 3);
      CvRequest at_most_5;
      at_most_5.max_folds = 5;
      CHECK(choose_cv_plan(table(40, false), at_most_5, how).blocks() == 5);
    }
  }

  TEST_CASE("CV refusals name the row that is missing") {
    std::string how;
    // 3 rows: at most 1 fold. Lines: header 1, rows 2-4.
    CHECK_THROWS_WITH_AS(choose_cv_plan(table(3, false), {}, how),
                         "t.csv:4: expected at least 4 rows for cross-validation",
                         std::invalid_argument);
    CvRequest time;
    time.method = CvChoice::time_ordered;
    CHECK_THROWS_WITH_AS(choose_cv_plan(table(9, false), time, how),
                         "t.csv:10: expected at least 10 rows for 5 time-ordered blocks",
                         std::invalid_argument);
  }

  TEST_CASE("grouped CV: one group left out at a time, or k-fold when asked for fewer groups") {
    std::string how;
    CvRequest request;
    request.group_by = "w";
    auto plan = choose_cv_plan(table(9, true, {"a", "b", "c"}), request, how);
    CHECK(plan.method == CvMethod::grouped);
    CHECK(plan.blocks() == 3);
    CHECK(how == "grouped by 'w' (leave one group out)");
    CHECK_THROWS_WITH_AS(choose_cv_plan(table(9, false), request, how),
                         "t.csv:1: --group-by w: expected at least two groups",
                         std::invalid_argument);
    request.few_groups_ignored = true;  // one group: as without --group-by (automatic: k-fold)
    CHECK(choose_cv_plan(table(9, false), request, how).method == CvMethod::kfold);
    request.method = CvChoice::grouped;  // grouped asked for: automatic instead
    CHECK(choose_cv_plan(table(20, true), request, how).method == CvMethod::time_ordered);
  }

  TEST_CASE("calibrate's plan: leave one workload out, else at most 5 shuffled folds") {
    auto data = [](std::vector<std::string> workloads) {
      std::string text = "timestamp,workload,x\n";
      for (size_t r = 0; r < 20; ++r)
        text += std::to_string(r) + "," + workloads[r % workloads.size()] + ",1\n";
      CsvOptions options;
      options.string_columns = {"workload"};
      return Dataset::parse_csv(text, "calib.csv", options);
    };
    std::string how;
    CHECK(calibration_plan(data({"spin", "stream"}), how).method == CvMethod::grouped);
    CHECK(how == "grouped by 'workload' (leave one group out)");
    // One workload: k-fold although the rows have a timestamp.
    auto plan = calibration_plan(data({"spin"}), how);
    CHECK(plan.method == CvMethod::kfold);
    CHECK(plan.blocks() == 5);
  }

  TEST_CASE(
      "fit --features auto: the default candidates leave out outputs, excluded and constant "
      "columns") {
    for (const char* output :
         {"package_power", "dram_watts", "predicted_package_watts", "lower_package_watts",
          "upper_package_watts", "timestamp", "time_s", "out_of_range"})
      CHECK(looks_like_output(output));
    for (const char* input : {"cycles_per_s", "power_limit", "watts_budget", "time"})
      CHECK_FALSE(looks_like_output(input));

    auto data = Dataset::parse_csv(
        "watts,cycles,k,timestamp,package_power,x\n10,1,5,1,9,3\n12,2,5,2,11,4\n", "t.csv");
    std::vector<std::string> notes;
    auto candidates = default_candidates(data, "watts", {"x"}, notes);
    REQUIRE(candidates.size() == 1);
    CHECK(candidates[0].a == "cycles");
    CHECK(notes == std::vector<std::string>{"column 'k' is constant: not a candidate"});
  }

  TEST_CASE("is_constant and the stall counters' columns") {
    CHECK(is_constant({}));
    CHECK(is_constant({2, 2, 2}));
    CHECK_FALSE(is_constant({2, 2, 3}));
    CHECK(is_stall_counter_column("cycle_activity_stalls_l1d_miss"));
    CHECK(is_stall_counter_column("cycle_activity_stalls_total_per_s"));
    CHECK_FALSE(is_stall_counter_column("cycles_per_s"));
    CHECK_FALSE(is_stall_counter_column("cycle_activity_stalls_l1d_miss_per_insn"));
  }
}
