// Which cross-validation plan a table gets (models/fit/cv_choice.h), as `fit --cv` and calibrate
// ask for it; and the column rules of `fit --features auto`'s default candidates. Expected plans
// follow from the row counts by hand: k-fold min(max_folds, rows / 2), time-ordered gap 1% of the
// rows (at most half a block when not given), fewer blocks or more folds where a training set would
// have too few rows.
#include <doctest/doctest.h>

#include <algorithm>
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
    SUBCASE("the default gap is 1% of the rows; a gap given is kept") {
      CvRequest request;
      request.gap_by_default = true;
      choose_cv_plan(table(200, true), request, how);
      CHECK(how ==
            "time-ordered, 5 blocks (each tested on a fit to the earlier ones, leaving out the 2 "
            "rows before it)");
      request.gap = 50;  // ≥ a block of 40 rows: 3 blocks of 66 rows hold it
      choose_cv_plan(table(200, true), request, how);
      CHECK(how.starts_with("time-ordered, 3 blocks ("));
      CHECK(how.find("leaving out the 50 rows before it)") != std::string::npos);
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
    time.folds = 5;
    CHECK_THROWS_WITH_AS(choose_cv_plan(table(9, false), time, how),
                         "t.csv:10: expected at least 10 rows for 5 time-ordered blocks",
                         std::invalid_argument);
    // Without --folds, 9 rows make 4 blocks (of 3, 2, 2, 2 rows).
    time.folds = 0;
    CHECK(choose_cv_plan(table(9, false), time, how).blocks() == 4);
  }

  TEST_CASE("automatic CV: every training set has more rows than the fit has coefficients") {
    std::string how;
    auto smallest_train = [](const CvPlan& plan) {
      size_t least = plan.rows();
      for (size_t s = 0; s < plan.splits.size(); ++s)
        least = std::min(least, plan.train_rows(s).size());
      return least;
    };
    CvRequest request;
    SUBCASE("50 rows by time, 10 features: 4 blocks, as 5 would train block 2 on 10 rows") {
      request.min_train_rows = 12;  // 10 features + intercept + 1
      auto plan = choose_cv_plan(table(50, true), request, how);
      CHECK(plan.method == CvMethod::time_ordered);
      CHECK(plan.blocks() == 4);
      CHECK(smallest_train(plan) == 13);  // block 1: rows 0…12
      CHECK(how.find("4 blocks, not 5") != std::string::npos);
    }
    SUBCASE("5 rows, 1 feature: 3 folds (2 folds would train on 2 rows)") {
      request.min_train_rows = 3;
      auto plan = choose_cv_plan(table(5, false), request, how);
      CHECK(plan.blocks() == 3);
      CHECK(smallest_train(plan) == 3);
      CHECK(how.find("3 folds, not 2") != std::string::npos);
    }
    SUBCASE("too few rows for any plan: the refusal says how many") {
      request.min_train_rows = 6;
      CHECK_THROWS_WITH_AS(choose_cv_plan(table(5, false), request, how),
                           "t.csv:6: expected at least 7 rows for cross-validation, found 5: a "
                           "fit to all rows but one needs at least 6 rows (more than the 4 "
                           "features and the intercept)",
                           std::invalid_argument);
    }
    SUBCASE("folds given: refused with the fold and the fix, never changed") {
      request.min_train_rows = 12;
      request.folds = 5;
      request.method = CvChoice::time_ordered;
      CHECK_THROWS_WITH_AS(choose_cv_plan(table(50, true), request, how),
                           "t.csv:51: --folds 5: block 2 is tested on a fit to 10 rows, and a fit "
                           "needs at least 12 rows (more than the 10 features and the "
                           "intercept): fewer --folds",
                           std::invalid_argument);
      request.method = CvChoice::kfold;
      request.folds = 2;  // 25 rows each
      request.min_train_rows = 30;
      CHECK_THROWS_WITH_AS(choose_cv_plan(table(50, false), request, how),
                           "t.csv:51: --folds 2: fold 1 is tested on a fit to 25 rows, and a fit "
                           "needs at least 30 rows (more than the 28 features and the "
                           "intercept): more --folds (at most 50, one row each)",
                           std::invalid_argument);
    }
    SUBCASE("a --cv-gap for a k-fold plan is refused: k-fold leaves no gap") {
      request.gap = 3;
      CHECK_THROWS_WITH_AS(choose_cv_plan(table(50, false), request, how),
                           "t.csv:1: --cv-gap 3: only time-ordered CV leaves a gap, and this plan "
                           "is k-fold (the table has no timestamp column): --cv time-ordered "
                           "takes the rows in file order",
                           std::invalid_argument);
    }
    SUBCASE("a --cv-gap is honoured (fewer blocks) or refused, never shortened") {
      // The Kepler nx12 table's 1541 rows: 5 blocks of 308 rows cannot hold a gap of 310.
      request.gap = 310;
      auto plan = choose_cv_plan(table(1541, true), request, how);
      CHECK(plan.method == CvMethod::time_ordered);
      CHECK(how.starts_with("time-ordered, 4 blocks ("));
      CHECK(how.find("leaving out the 310 rows before it") != std::string::npos);
      CHECK(smallest_train(plan) == 386 - 310);
      request.gap = 300;  // fits 5 blocks
      choose_cv_plan(table(1541, true), request, how);
      CHECK(how ==
            "time-ordered, 5 blocks (each tested on a fit to the earlier ones, leaving out the "
            "300 rows before it)");
      request.gap = 310;
      request.folds = 5;
      CHECK_THROWS_WITH_AS(
          choose_cv_plan(table(1541, true), request, how),
          "t.csv:1542: --cv-gap 310: expected fewer rows than a time-ordered block (1541 rows in "
          "5 blocks: 308), or block 2 is tested on a fit to no rows: a smaller --cv-gap or fewer "
          "--folds",
          std::invalid_argument);
    }
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
