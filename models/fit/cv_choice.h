#pragma once
// Which cross-validation plan a table gets (`fit --cv`, calibrate's models), and that plan in
// words for the report.
#include <cstddef>
#include <string>

#include "models/fit/cross_validation.h"
#include "models/fit/dataset.h"

namespace pmc {

enum class CvChoice {
  automatic,     // time-ordered when the table has a `timestamp` column, else k-fold
  kfold,         // rows shuffled (seed 1) into folds
  time_ordered,  // consecutive blocks of rows already sorted by time
  grouped,       // leave one group (a label of group_by) out
};

struct CvRequest {
  CvChoice method = CvChoice::automatic;
  // The label column of grouped CV. Set, it makes the plan grouped whatever `method` says.
  std::string group_by;
  // With fewer than two distinct labels in group_by: the plan group_by would not be set for
  // (grouped becoming automatic) instead of an error (calibrate with one workload, a band of
  // `fit --band-by` that holds one group).
  bool few_groups_ignored = false;
  size_t folds = 0;        // k-fold folds or time-ordered blocks; 0: the defaults below
  size_t max_folds = 10;   // k-fold without `folds`: min(max_folds, rows / 2) folds
  size_t time_blocks = 5;  // time-ordered without `folds`
  // Time-ordered: rows left out before each test block; < 0: 1% of the rows (at least 1, at most
  // half a block) with gap_by_default, else none. A gap given is never changed.
  long gap = -1;
  bool gap_by_default = false;
  // Rows every training set needs: features + 2 for a fit of given features with an intercept
  // (more rows than coefficients); 0: any non-empty set.
  size_t min_train_rows = 0;
};

// The plan, and in `how` what it is ("k-fold, 10 folds (rows shuffled, seed 1)"). Without
// `folds`, the count is the default or, where that leaves a training set with fewer than
// min_train_rows rows (or a gap as long as a block), more k-fold folds or fewer time-ordered
// blocks, and `how` says why. Throws std::invalid_argument ("FILE:LINE: expected …", with the
// option that would fix it) when the rows cannot be split so: fewer than two groups, fewer than
// 2 × blocks rows, fewer than 4 rows for k-fold, a given `folds` or `gap` that leaves a training
// set too small, a `gap` for a k-fold plan.
CvPlan choose_cv_plan(const Dataset& data, const CvRequest& request, std::string& how);

}  // namespace pmc
