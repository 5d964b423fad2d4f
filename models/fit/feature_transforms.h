#pragma once
// Feature transforms declared as data, so that a nonlinear response (a knee in power at high
// utilisation, saturation) is still a linear least-squares solve. A spec is serialised into the
// model file ({"name":"ipc","op":"ratio","a":"cpu_instructions","b":"cpu_cycles"}) and evaluated
// again on the data a model predicts.
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "models/fit/dataset.h"

namespace pmc {

enum class FeatureOp {
  raw,      // a
  rate,     // a / b, b a duration in seconds (counts per second)
  ratio,    // a / b (per cycle, per instruction); 0 where b is 0 (an idle interval)
  product,  // a * b
  square,   // a * a
  hinge,    // max(0, a - knot)
  log1p,    // log(1 + a), a > -1
  sqrt,     // √a, a ≥ 0 (a concave response: power against utilisation)
};

const char* to_string(FeatureOp op);
std::optional<FeatureOp> parse_feature_op(std::string_view text);

struct FeatureSpec {
  std::string name;  // the feature's name in the design and the model file
  FeatureOp op = FeatureOp::raw;
  std::string a;     // input column
  std::string b;     // second input: rate (duration, s), ratio (denominator), product
  double knot = 0;   // hinge
  double scale = 1;  // multiplies the result (1e-9: counts in G/s) so coefficients read well

  bool operator==(const FeatureSpec&) const = default;
};

FeatureSpec raw_feature(const std::string& column);

// The compact spelling used on command lines: "col", "rate(a,dur)", "ratio(a,b)", "product(a,b)",
// "square(a)", "hinge(a,knot)", "log1p(a)", "sqrt(a)", optionally "name=" in front and "*scale" behind.
// Without a name the spelling itself is the name. Throws std::runtime_error naming the text.
FeatureSpec parse_feature_spec(std::string_view text);
std::string to_string(const FeatureSpec& spec);  // the same spelling, without the name
// A comma-separated list of compact spellings, split at the commas outside parentheses
// ("cycles,ratio(a,b)" is two features). Throws std::runtime_error for an empty item.
std::vector<FeatureSpec> parse_feature_list(std::string_view text);

// Input columns a spec reads.
std::vector<std::string> input_columns(const FeatureSpec& spec);

// Values of a feature for every row. Throws std::runtime_error "FILE:LINE: …" naming the feature
// at the first row where the value is not finite (log1p of a value ≤ -1, a rate over a zero
// duration) or "FILE:LINE: expected a column 'x'…" when an input is missing.
std::vector<double> evaluate_feature(const FeatureSpec& spec, const Dataset& data);

// The regressors of a fit: rows × cols, column-major, no intercept column.
struct DesignMatrix {
  size_t rows = 0;
  size_t cols = 0;
  std::vector<double> values;       // values[c * rows + r]
  std::vector<std::string> names;   // one per column
  std::string origin = "<memory>";  // source file of the rows (for messages)

  double at(size_t r, size_t c) const { return values[c * rows + r]; }
  const double* column(size_t c) const { return values.data() + c * rows; }
  double* column(size_t c) { return values.data() + c * rows; }

  static DesignMatrix from_columns(const std::vector<std::vector<double>>& columns,
                                   std::vector<std::string> names = {});
  DesignMatrix select_rows(const std::vector<size_t>& rows) const;
  DesignMatrix select_columns(const std::vector<size_t>& cols) const;
};

// Evaluates every spec. Refuses (std::runtime_error "FILE:LINE: …") a feature that is constant
// over all rows (it cannot be told from the intercept) and fewer rows than features + intercept.
DesignMatrix design_matrix(const Dataset& data, const std::vector<FeatureSpec>& specs);
// The same without the constant and row-count checks, for predicting on a few rows.
DesignMatrix evaluate_features(const Dataset& data, const std::vector<FeatureSpec>& specs);

}  // namespace pmc
