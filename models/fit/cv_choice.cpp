#include "models/fit/cv_choice.h"

#include <algorithm>
#include <set>
#include <stdexcept>

#include <fmt/format.h>

#include "models/fit/auto_features.h"

namespace pmc {

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
  size_t rows = data.rows();
  if (method == CvChoice::time_ordered) {
    size_t blocks = request.folds ? request.folds : request.time_blocks;
    if (rows < 2 * blocks)
      throw std::invalid_argument(
          fmt::format("{}: expected at least {} rows for {} time-ordered blocks",
                      data.where(rows - 1), 2 * blocks, blocks));
    // A gap of 1% of the rows before each test block, so that a block is not predicted from the
    // near-copies of its own first rows.
    size_t gap = request.gap >= 0         ? size_t(request.gap)
                 : request.gap_by_default ? std::max<size_t>(1, rows / 100)
                                          : 0;
    if (gap >= rows / blocks) gap = rows / blocks / 2;
    how = fmt::format("time-ordered, {} blocks (each tested on a fit to the earlier ones{})",
                      blocks, gap ? fmt::format(", leaving out the {} rows before it", gap) : "");
    return time_ordered_gap_plan(rows, blocks, gap);
  }
  size_t folds = request.folds ? request.folds : std::min<size_t>(request.max_folds, rows / 2);
  if (folds < 2)
    throw std::invalid_argument(
        fmt::format("{}: expected at least 4 rows for cross-validation", data.where(rows - 1)));
  how = fmt::format("k-fold, {} folds (rows shuffled, seed 1)", folds);
  return kfold_plan(rows, folds, 1);
}

}  // namespace pmc
