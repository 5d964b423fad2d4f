#include "models/fit/cv_choice.h"

#include <algorithm>
#include <set>
#include <stdexcept>

#include <fmt/format.h>

#include "models/fit/auto_features.h"

namespace pmc {
namespace {

// The split of `plan` whose training set is smallest, and that set's size.
std::pair<size_t, size_t> smallest_training_set(const CvPlan& plan) {
  std::vector<size_t> in_block(plan.blocks(), 0);
  for (auto b : plan.block_of_row) ++in_block[b];
  size_t split = 0, rows = plan.rows();
  for (size_t s = 0; s < plan.splits.size(); ++s) {
    size_t n = 0;
    for (auto b : plan.splits[s].train_blocks) n += in_block[b];
    if (n < rows) split = s, rows = n;
  }
  return {split, rows};
}

// What a fit on fewer training rows than `need` lacks, in words.
std::string need_words(const CvRequest& request, size_t need) {
  if (request.min_train_rows < 3) return fmt::format("at least {} rows", need);
  return fmt::format("at least {} rows (more than the {} feature{} and the intercept)", need,
                     need - 2, need == 3 ? "" : "s");
}

size_t training_rows_needed(const CvRequest& request) {
  return std::max<size_t>(request.min_train_rows, 1);
}

CvPlan time_ordered_choice(const Dataset& data, const CvRequest& request, std::string& how) {
  const size_t rows = data.rows(), need = training_rows_needed(request);
  const bool gap_given = request.gap >= 0;
  // The gap before each test block: 1% of the rows (at least 1) by default, so that a block is
  // not predicted from the near-copies of its own first rows.
  auto gap_for = [&](size_t blocks) -> size_t {
    if (gap_given) return size_t(request.gap);
    size_t gap = request.gap_by_default ? std::max<size_t>(1, rows / 100) : 0;
    return std::min(gap, rows / blocks / 2);  // a default gap is at most half a block
  };
  auto describe = [&](size_t blocks, size_t gap, const std::string& why) {
    how = fmt::format("time-ordered, {} blocks (each tested on a fit to the earlier ones{}){}",
                      blocks, gap ? fmt::format(", leaving out the {} rows before it", gap) : "",
                      why);
  };
  if (request.folds) {
    const size_t blocks = request.folds;
    if (rows < 2 * blocks)
      throw std::invalid_argument(
          fmt::format("{}: expected at least {} rows for {} time-ordered blocks",
                      data.where(rows - 1), 2 * blocks, blocks));
    const size_t gap = gap_for(blocks);
    if (gap_given && gap >= rows / blocks)
      throw std::invalid_argument(fmt::format(
          "{}: --cv-gap {}: expected fewer rows than a time-ordered block ({} rows in {} blocks: "
          "{}), or block 2 is tested on a fit to no rows: a smaller --cv-gap or fewer --folds",
          data.where(rows - 1), gap, rows, blocks, rows / blocks));
    CvPlan plan = time_ordered_gap_plan(rows, blocks, gap);
    auto [split, trained] = smallest_training_set(plan);
    if (trained < need)
      throw std::invalid_argument(fmt::format(
          "{}: --folds {}: {} is tested on a fit to {} rows, and a fit needs {}: fewer --folds{}",
          data.where(rows - 1), blocks, plan.block_names[plan.splits[split].test_block], trained,
          need_words(request, need), gap ? " or a smaller --cv-gap" : ""));
    describe(blocks, gap, "");
    return plan;
  }
  // The default count of blocks, or fewer where the first blocks are too short to train on (few
  // rows, many features, a long --cv-gap).
  for (size_t blocks = request.time_blocks; blocks >= 2; --blocks) {
    if (rows < 2 * blocks) continue;
    const size_t gap = gap_for(blocks);
    if (gap >= rows / blocks) continue;
    CvPlan plan = time_ordered_gap_plan(rows, blocks, gap);
    if (smallest_training_set(plan).second < need) continue;
    describe(blocks, gap,
             blocks == request.time_blocks
                 ? std::string()
                 : fmt::format(": {} blocks, not {}, so that each block is tested on a fit to {}{}",
                               blocks, request.time_blocks, need_words(request, need),
                               gap_given ? fmt::format(" besides the gap of {}", gap) : ""));
    return plan;
  }
  if (rows < 4)
    throw std::invalid_argument(
        fmt::format("{}: expected at least 4 rows for time-ordered CV", data.where(rows - 1)));
  throw std::invalid_argument(fmt::format(
      "{}: time-ordered CV: no count of blocks from {} down to 2 tests each block on a fit to "
      "{}{}: --cv kfold, or more rows",
      data.where(rows - 1), request.time_blocks, need_words(request, need),
      gap_given ? fmt::format(" after a gap of {}", request.gap) : std::string()));
}

CvPlan kfold_choice(const Dataset& data, const CvRequest& request, std::string& how) {
  const size_t rows = data.rows(), need = training_rows_needed(request);
  if (request.gap >= 0)
    throw std::invalid_argument(fmt::format(
        "{}: --cv-gap {}: only time-ordered CV leaves a gap, and this plan is k-fold (the table "
        "has no timestamp column): --cv time-ordered takes the rows in file order",
        data.where_header(), request.gap));
  if (request.folds) {
    CvPlan plan = kfold_plan(rows, request.folds, 1);
    auto [split, trained] = smallest_training_set(plan);
    if (trained < need)
      throw std::invalid_argument(fmt::format(
          "{}: --folds {}: {} is tested on a fit to {} rows, and a fit needs {}: more --folds "
          "(at most {}, one row each)",
          data.where(rows - 1), request.folds, plan.block_names[plan.splits[split].test_block],
          trained, need_words(request, need), rows));
    how = fmt::format("k-fold, {} folds (rows shuffled, seed 1)", request.folds);
    return plan;
  }
  const size_t first = std::min<size_t>(request.max_folds, rows / 2);
  if (first < 2)
    throw std::invalid_argument(
        fmt::format("{}: expected at least 4 rows for cross-validation", data.where(rows - 1)));
  if (rows <= need)
    throw std::invalid_argument(fmt::format(
        "{}: expected at least {} rows for cross-validation, found {}: a fit to all rows but one "
        "needs {}",
        data.where(rows - 1), need + 1, rows, need_words(request, need)));
  // min(max_folds, rows / 2) folds, or more where their training sets are too small (few rows,
  // many features), up to one row per fold. A fold holds at most ⌈rows / folds⌉ rows (kfold_plan),
  // so folds ≥ rows / (rows − need) leave every training set at least `need`.
  const size_t most_tested = rows - need;
  const size_t folds = std::max(first, (rows + most_tested - 1) / most_tested);
  how = fmt::format("k-fold, {} folds (rows shuffled, seed 1){}", folds,
                    folds == first
                        ? std::string()
                        : fmt::format(": {} folds, not {}, so that each is tested on a fit to {}",
                                      folds, first, need_words(request, need)));
  return kfold_plan(rows, folds, 1);
}

}  // namespace

CvPlan choose_cv_plan(const Dataset& data, const CvRequest& request, std::string& how) {
  CvChoice method = request.method;
  if (!request.group_by.empty()) {
    const auto& groups = data.labels(request.group_by);
    if (std::set<std::string>(groups.begin(), groups.end()).size() >= 2) {
      how = fmt::format("grouped by '{}' (leave one group out)", request.group_by);
      return grouped_plan(groups);
    }
    if (!request.few_groups_ignored)
      throw std::invalid_argument(fmt::format("{}: --group-by {}: expected at least two groups",
                                              data.where_header(), request.group_by));
    if (method == CvChoice::grouped) method = CvChoice::automatic;
  }
  if (method == CvChoice::grouped)
    throw std::invalid_argument("grouped cross-validation needs a group column");
  if (method == CvChoice::automatic)
    method = data.has_column("timestamp") ? CvChoice::time_ordered : CvChoice::kfold;
  return method == CvChoice::time_ordered ? time_ordered_choice(data, request, how)
                                          : kfold_choice(data, request, how);
}

}  // namespace pmc
