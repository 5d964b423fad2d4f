#include "models/fit/feature_transforms.h"

#include <fmt/format.h>

#include <charconv>
#include <cmath>
#include <stdexcept>

#include "events/text/text.h"

namespace pmc {
namespace {

constexpr FeatureOp kOps[] = {FeatureOp::raw,     FeatureOp::rate,   FeatureOp::ratio,
                              FeatureOp::product, FeatureOp::square, FeatureOp::hinge,
                              FeatureOp::log1p,   FeatureOp::sqrt};

bool needs_b(FeatureOp op) {
  return op == FeatureOp::rate || op == FeatureOp::ratio || op == FeatureOp::product;
}

// The white space of a feature spec: spaces alone (a tab is part of what it stands in).
constexpr std::string_view kSpace = " ";

bool parse_double(std::string_view s, double& out) {
  s = trim_any(s, kSpace);
  if (!s.empty() && s.front() == '+') s.remove_prefix(1);
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return !s.empty() && ec == std::errc() && end == s.data() + s.size() && std::isfinite(out);
}

double apply(FeatureOp op, double a, double b, double knot) {
  switch (op) {
    case FeatureOp::raw:
      return a;
    case FeatureOp::rate:
      return a / b;  // a zero duration gives inf and is refused by the caller
    case FeatureOp::ratio:
      return b == 0 ? 0.0 : a / b;
    case FeatureOp::product:
      return a * b;
    case FeatureOp::square:
      return a * a;
    case FeatureOp::hinge:
      return a > knot ? a - knot : 0.0;
    case FeatureOp::log1p:
      return std::log1p(a);
    case FeatureOp::sqrt:
      return std::sqrt(a);  // NaN below 0, refused by the caller
  }
  return a;
}

}  // namespace

const char* to_string(FeatureOp op) {
  switch (op) {
    case FeatureOp::raw:
      return "raw";
    case FeatureOp::rate:
      return "rate";
    case FeatureOp::ratio:
      return "ratio";
    case FeatureOp::product:
      return "product";
    case FeatureOp::square:
      return "square";
    case FeatureOp::hinge:
      return "hinge";
    case FeatureOp::log1p:
      return "log1p";
    case FeatureOp::sqrt:
      return "sqrt";
  }
  return "raw";
}

std::optional<FeatureOp> parse_feature_op(std::string_view text) {
  for (auto op : kOps)
    if (text == to_string(op)) return op;
  return std::nullopt;
}

FeatureSpec raw_feature(const std::string& column) {
  return {column, FeatureOp::raw, column, "", 0, 1};
}

std::vector<FeatureSpec> parse_feature_list(std::string_view text) {
  std::vector<FeatureSpec> out;
  int depth = 0;
  size_t start = 0;
  for (size_t i = 0; i <= text.size(); ++i) {
    if (i < text.size() && text[i] == '(') ++depth;
    if (i < text.size() && text[i] == ')') --depth;
    if (i == text.size() || (text[i] == ',' && depth == 0)) {
      auto item = trim_any(text.substr(start, i - start), kSpace);
      if (item.empty())
        throw std::runtime_error(
            fmt::format("feature list '{}': expected a feature between the commas", text));
      out.push_back(parse_feature_spec(item));
      start = i + 1;
    }
  }
  return out;
}

FeatureSpec parse_feature_spec(std::string_view text) {
  auto bad = [&](const std::string& what) -> std::runtime_error {
    return std::runtime_error(fmt::format("feature '{}': {}", text, what));
  };
  FeatureSpec spec;
  std::string_view body = trim_any(text, kSpace);
  std::string name;
  if (auto eq = body.find('='); eq != std::string_view::npos) {
    name = std::string(trim_any(body.substr(0, eq), kSpace));
    body = trim_any(body.substr(eq + 1), kSpace);
    if (name.empty()) throw bad("expected a name before '='");
  }
  if (auto star = body.rfind('*'); star != std::string_view::npos) {
    double scale;
    if (parse_double(body.substr(star + 1), scale)) {
      spec.scale = scale;
      body = trim_any(body.substr(0, star), kSpace);
    }
  }
  auto open = body.find('(');
  if (open == std::string_view::npos) {
    if (body.empty()) throw bad("expected a column name");
    spec.a = std::string(body);
  } else {
    if (body.back() != ')') throw bad("expected ')' at the end");
    auto op = parse_feature_op(trim_any(body.substr(0, open), kSpace));
    if (!op)
      throw bad("expected one of raw, rate, ratio, product, square, hinge, log1p, sqrt before '('");
    spec.op = *op;
    std::string_view args = body.substr(open + 1, body.size() - open - 2);
    auto comma = args.find(',');
    spec.a = std::string(trim_any(args.substr(0, comma), kSpace));
    std::string_view second =
        comma == std::string_view::npos ? "" : trim_any(args.substr(comma + 1), kSpace);
    if (spec.a.empty()) throw bad("expected an input column");
    if (needs_b(spec.op)) {
      if (second.empty()) throw bad(fmt::format("{} expects two columns", to_string(spec.op)));
      spec.b = std::string(second);
    } else if (spec.op == FeatureOp::hinge) {
      if (!parse_double(second, spec.knot)) throw bad("hinge expects a column and a numeric knot");
    } else if (!second.empty()) {
      throw bad(fmt::format("{} expects one column", to_string(spec.op)));
    }
  }
  spec.name = name.empty() ? to_string(spec) : name;
  return spec;
}

std::string to_string(const FeatureSpec& spec) {
  std::string out;
  switch (spec.op) {
    case FeatureOp::raw:
      out = spec.a;
      break;
    case FeatureOp::hinge:
      out = fmt::format("hinge({},{})", spec.a, spec.knot);
      break;
    case FeatureOp::square:
    case FeatureOp::log1p:
    case FeatureOp::sqrt:
      out = fmt::format("{}({})", to_string(spec.op), spec.a);
      break;
    default:
      out = fmt::format("{}({},{})", to_string(spec.op), spec.a, spec.b);
  }
  if (spec.scale != 1) out += fmt::format("*{}", spec.scale);
  return out;
}

std::vector<std::string> input_columns(const FeatureSpec& spec) {
  if (needs_b(spec.op)) return {spec.a, spec.b};
  return {spec.a};
}

std::vector<double> evaluate_feature(const FeatureSpec& spec, const Dataset& data) {
  const auto& a = data.column(spec.a);
  const std::vector<double>* b = needs_b(spec.op) ? &data.column(spec.b) : nullptr;
  std::vector<double> out(data.rows());
  for (size_t r = 0; r < out.size(); ++r) {
    double v = apply(spec.op, a[r], b ? (*b)[r] : 0.0, spec.knot) * spec.scale;
    if (!std::isfinite(v))
      throw std::runtime_error(fmt::format("{}: feature '{}' = {} is not a finite number ({}={}{})",
                                           data.where(r), spec.name, to_string(spec), spec.a, a[r],
                                           b ? fmt::format(", {}={}", spec.b, (*b)[r]) : ""));
    out[r] = v;
  }
  return out;
}

DesignMatrix DesignMatrix::from_columns(const std::vector<std::vector<double>>& columns,
                                        std::vector<std::string> names) {
  DesignMatrix X;
  X.cols = columns.size();
  X.rows = columns.empty() ? 0 : columns[0].size();
  X.values.reserve(X.rows * X.cols);
  for (size_t c = 0; c < columns.size(); ++c) {
    if (columns[c].size() != X.rows)
      throw std::invalid_argument("DesignMatrix: columns of unequal length");
    X.values.insert(X.values.end(), columns[c].begin(), columns[c].end());
  }
  for (size_t c = names.size(); c < X.cols; ++c) names.push_back(fmt::format("x{}", c + 1));
  X.names = std::move(names);
  return X;
}

DesignMatrix DesignMatrix::select_rows(const std::vector<size_t>& idx) const {
  DesignMatrix X;
  X.rows = idx.size();
  X.cols = cols;
  X.names = names;
  X.origin = origin;
  X.values.resize(X.rows * X.cols);
  for (size_t c = 0; c < cols; ++c) {
    const double* src = column(c);
    double* dst = X.column(c);
    for (size_t i = 0; i < idx.size(); ++i) dst[i] = src[idx[i]];
  }
  return X;
}

DesignMatrix DesignMatrix::select_columns(const std::vector<size_t>& idx) const {
  DesignMatrix X;
  X.rows = rows;
  X.cols = idx.size();
  X.origin = origin;
  X.values.reserve(X.rows * X.cols);
  for (size_t c : idx) {
    X.values.insert(X.values.end(), column(c), column(c) + rows);
    X.names.push_back(names.at(c));
  }
  return X;
}

DesignMatrix evaluate_features(const Dataset& data, const std::vector<FeatureSpec>& specs) {
  DesignMatrix X;
  X.rows = data.rows();
  X.cols = specs.size();
  X.origin = data.origin();
  X.values.reserve(X.rows * X.cols);
  for (const auto& spec : specs) {
    auto v = evaluate_feature(spec, data);
    X.values.insert(X.values.end(), v.begin(), v.end());
    X.names.push_back(spec.name);
  }
  return X;
}

DesignMatrix design_matrix(const Dataset& data, const std::vector<FeatureSpec>& specs) {
  DesignMatrix X = evaluate_features(data, specs);
  if (X.rows <= X.cols + 1)
    throw std::runtime_error(
        fmt::format("{}: expected more rows than features + intercept ({} rows, {} features)",
                    X.rows ? data.where(X.rows - 1) : data.where_header(), X.rows, X.cols));
  for (size_t c = 0; c < X.cols; ++c) {
    const double* v = X.column(c);
    bool constant = true;
    for (size_t r = 1; r < X.rows && constant; ++r) constant = v[r] == v[0];
    if (constant)
      throw std::runtime_error(
          fmt::format("{}: feature '{}' is constant ({} on every row): it cannot be told "
                      "apart from the intercept",
                      data.where_header(), X.names[c], v[0]));
  }
  return X;
}

}  // namespace pmc
