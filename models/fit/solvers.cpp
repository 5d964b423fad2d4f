#include "models/fit/solvers.h"

#include <fmt/format.h>

#include <Eigen/Dense>
#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <numeric>
#include <stdexcept>
#include <thread>

namespace pmc {
namespace {

using Eigen::Index;
using Eigen::MatrixXd;
using Eigen::VectorXd;

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

void check_inputs(const DesignMatrix& x, const std::vector<double>& y, const char* solver) {
  if (x.rows != y.size() || x.values.size() != x.rows * x.cols)
    throw std::runtime_error(fmt::format("{}: {} fit: {} rows of features but {} targets", x.origin,
                                         solver, x.rows, y.size()));
  if (x.rows <= x.cols + 1)
    throw std::runtime_error(
        fmt::format("{}: {} fit: expected more rows than features + intercept ({} rows, {} "
                    "features)",
                    x.origin, solver, x.rows, x.cols));
  for (double v : y)
    if (!std::isfinite(v))
      throw std::runtime_error(
          fmt::format("{}: {} fit: a target value is not finite", x.origin, solver));
}

Eigen::Map<const MatrixXd> as_matrix(const DesignMatrix& x) {
  return {x.values.data(), Index(x.rows), Index(x.cols)};
}

Eigen::Map<const VectorXd> as_vector(const std::vector<double>& v) {
  return {v.data(), Index(v.size())};
}

double total_sum_of_squares(const std::vector<double>& y) {
  double mean = std::accumulate(y.begin(), y.end(), 0.0) / double(y.size());
  double sst = 0;
  for (double v : y) sst += (v - mean) * (v - mean);
  return sst;
}

// Least squares by column-pivoting Householder QR on column-scaled A (scaling keeps the rank
// decision independent of units: cycles ~1e9 next to a ratio ~1). Dependent columns get 0 and
// NaN in the covariance.
struct LeastSquares {
  VectorXd coef;
  MatrixXd cov_unscaled;  // (AᵀA)⁻¹ over the independent columns
  Index rank = 0;
  double sse = 0;
};

LeastSquares least_squares(const MatrixXd& a, const VectorXd& b) {
  const Index p = a.cols();
  VectorXd norms = a.colwise().norm();
  for (Index j = 0; j < p; ++j)
    if (norms[j] == 0) norms[j] = 1;
  MatrixXd scaled = a * norms.cwiseInverse().asDiagonal();
  Eigen::ColPivHouseholderQR<MatrixXd> qr(scaled);
  LeastSquares out;
  out.rank = qr.rank();
  VectorXd theta = qr.solve(b);
  out.coef = theta.cwiseQuotient(norms);
  out.sse = (b - a * out.coef).squaredNorm();
  const Index r = out.rank;
  MatrixXd rinv = qr.matrixR().topLeftCorner(r, r).triangularView<Eigen::Upper>().solve(
      MatrixXd::Identity(r, r));
  MatrixXd cov_perm = rinv * rinv.transpose();
  out.cov_unscaled = MatrixXd::Constant(p, p, kNaN);
  const auto& perm = qr.colsPermutation().indices();
  for (Index i = 0; i < r; ++i)
    for (Index j = 0; j < r; ++j)
      out.cov_unscaled(perm[i], perm[j]) = cov_perm(i, j) / (norms[perm[i]] * norms[perm[j]]);
  return out;
}

// Fills intercept, coefficients, standard errors, sigma, r2 from an OLS on [1 X_cols] (or X_cols
// alone when !with_intercept); the rest of `fit` is left as it is.
void fill_from_least_squares(Fit& fit, const DesignMatrix& x, const std::vector<double>& y,
                             const std::vector<size_t>& cols, bool with_intercept) {
  const Index n = Index(x.rows);
  const Index k = Index(cols.size()) + (with_intercept ? 1 : 0);
  if (k == 0) {  // every coefficient at its bound (NNLS): the fit is 0
    double sse = 0;
    for (double v : y) sse += v * v;
    fit.rows = x.rows;
    fit.effective_parameters = 0;
    fit.sigma = std::sqrt(sse / double(n));
    double sst = total_sum_of_squares(y);
    fit.r2 = sst > 0 ? 1 - sse / sst : kNaN;
    fit.intercept = 0;
    fit.intercept_se = kNaN;
    fit.coefficients.assign(x.cols, 0.0);
    fit.standard_errors.assign(x.cols, kNaN);
    return;
  }
  MatrixXd a(n, k);
  Index c0 = 0;
  if (with_intercept) a.col(c0++).setOnes();
  auto xm = as_matrix(x);
  for (size_t c : cols) a.col(c0++) = xm.col(Index(c));
  auto ls = least_squares(a, as_vector(y));
  double dof = double(n - ls.rank);
  double sigma2 = dof > 0 ? ls.sse / dof : kNaN;
  fit.rows = x.rows;
  fit.effective_parameters = double(ls.rank);
  fit.sigma = std::sqrt(sigma2);
  double sst = total_sum_of_squares(y);
  fit.r2 = sst > 0 ? 1 - ls.sse / sst : kNaN;
  fit.coefficients.assign(x.cols, 0.0);
  fit.standard_errors.assign(x.cols, kNaN);
  Index i = 0;
  if (with_intercept) {
    fit.intercept = ls.coef[0];
    fit.intercept_se = std::sqrt(sigma2 * ls.cov_unscaled(0, 0));
    i = 1;
  } else {
    fit.intercept = 0;
    fit.intercept_se = kNaN;
  }
  for (size_t c : cols) {
    fit.coefficients[c] = ls.coef[i];
    fit.standard_errors[c] = std::sqrt(sigma2 * ls.cov_unscaled(i, i));
    ++i;
  }
}

// ---- Gram matrices of CV blocks --------------------------------------------------------------

// Columns are shifted and scaled once by their global mean and sd before the Gram is formed, so
// that the per-fold centring (Gram − n·μμᵀ) does not cancel away the digits of counters ~1e9.
struct GlobalScaling {
  VectorXd shift, scale;
  double y_shift = 0, y_scale = 1;
};

GlobalScaling global_scaling(const DesignMatrix& x, const std::vector<double>& y) {
  GlobalScaling s;
  const Index p = Index(x.cols);
  s.shift.resize(p);
  s.scale.resize(p);
  auto mean_sd = [&](const double* v, size_t n, double& mean, double& sd) {
    mean = std::accumulate(v, v + n, 0.0) / double(n);
    double ss = 0;
    for (size_t i = 0; i < n; ++i) ss += (v[i] - mean) * (v[i] - mean);
    sd = std::sqrt(ss / double(n));
    if (!(sd > 0)) sd = 1;
  };
  for (Index c = 0; c < p; ++c) mean_sd(x.column(size_t(c)), x.rows, s.shift[c], s.scale[c]);
  mean_sd(y.data(), y.size(), s.y_shift, s.y_scale);
  return s;
}

// Lower triangles of Wᵀ W per block, W = [1 U v] of the rows [begin, end).
void accumulate_grams(const DesignMatrix& x, const std::vector<double>& y,
                      const std::vector<uint32_t>& block_of_row, const GlobalScaling& s,
                      size_t begin, size_t end, std::vector<MatrixXd>& grams) {
  const size_t chunk = 4096;
  const Index p = Index(x.cols);
  const size_t blocks = grams.size();
  MatrixXd w(Index(chunk), p + 2);
  std::vector<size_t> count(blocks), start(blocks + 1), dest(chunk);
  for (size_t r0 = begin; r0 < end; r0 += chunk) {
    const size_t m = std::min(chunk, end - r0);
    // Counting sort of the chunk's rows by block, so each block's rows are contiguous in W.
    std::fill(count.begin(), count.end(), 0);
    for (size_t i = 0; i < m; ++i) ++count[block_of_row[r0 + i]];
    start[0] = 0;
    for (size_t b = 0; b < blocks; ++b) start[b + 1] = start[b] + count[b];
    std::fill(count.begin(), count.end(), 0);
    for (size_t i = 0; i < m; ++i) {
      uint32_t b = block_of_row[r0 + i];
      dest[i] = start[b] + count[b]++;
    }
    w.col(0).head(Index(m)).setOnes();
    auto put = [&](Index col, const double* src, double shift, double inv_scale) {
      double* out = w.col(col).data();
      for (size_t i = 0; i < m; ++i) out[dest[i]] = (src[i] - shift) * inv_scale;
    };
    for (Index c = 0; c < p; ++c) put(c + 1, x.column(size_t(c)) + r0, s.shift[c], 1 / s.scale[c]);
    put(p + 1, y.data() + r0, s.y_shift, 1 / s.y_scale);
    for (size_t b = 0; b < blocks; ++b)
      if (count[b])
        grams[b].selfadjointView<Eigen::Lower>().rankUpdate(
            w.middleRows(Index(start[b]), Index(count[b])).adjoint());
  }
}

std::vector<MatrixXd> block_grams(const DesignMatrix& x, const std::vector<double>& y,
                                  const std::vector<uint32_t>& block_of_row, size_t blocks,
                                  const GlobalScaling& s, size_t threads) {
  const Index k = Index(x.cols) + 2;
  // Below ~50k rows a thread costs more than it saves.
  threads = std::clamp<size_t>(std::min(threads, x.rows / 50000), 1, 64);
  std::vector<std::vector<MatrixXd>> partial(threads,
                                             std::vector<MatrixXd>(blocks, MatrixXd::Zero(k, k)));
  std::vector<std::thread> workers;
  for (size_t t = 1; t < threads; ++t)
    workers.emplace_back([&, t] {
      accumulate_grams(x, y, block_of_row, s, x.rows * t / threads, x.rows * (t + 1) / threads,
                       partial[t]);
    });
  accumulate_grams(x, y, block_of_row, s, 0, x.rows / threads, partial[0]);
  for (auto& w : workers) w.join();
  for (size_t t = 1; t < threads; ++t)
    for (size_t b = 0; b < blocks; ++b) partial[0][b] += partial[t][b];
  for (auto& g : partial[0]) g = MatrixXd(g.selfadjointView<Eigen::Lower>());
  return std::move(partial[0]);
}

// A training set's Gram, standardised: (G + λI)β = c is the ridge system in units of the
// training sd of each column (of the globally scaled data).
struct Standardized {
  Index p = 0;
  double n = 0;
  VectorXd mu, sd;  // training mean and population sd (globally scaled units)
  double ybar = 0;
  MatrixXd g;      // correlation-like Gram / n
  VectorXd c;      // Zᵀ(y - ȳ) / n
  double syy = 0;  // Σ(y - ȳ)² (globally scaled units)
  std::vector<char> constant;
};

Standardized standardize(const MatrixXd& gram) {
  Standardized st;
  const Index p = gram.rows() - 2;
  st.p = p;
  st.n = gram(0, 0);
  st.mu = gram.block(1, 0, p, 1) / st.n;
  st.ybar = gram(p + 1, 0) / st.n;
  MatrixXd cxx = gram.block(1, 1, p, p) - st.n * st.mu * st.mu.transpose();
  VectorXd cxy = gram.block(1, p + 1, p, 1) - st.n * st.mu * st.ybar;
  st.syy = gram(p + 1, p + 1) - st.n * st.ybar * st.ybar;
  st.sd.resize(p);
  st.constant.assign(size_t(p), 0);
  for (Index j = 0; j < p; ++j) {
    double var = cxx(j, j) / st.n;
    // Globally scaled columns have sd 1 over all rows; 1e-7 of that is constant in this set.
    st.constant[size_t(j)] = !(var > 1e-14);
    st.sd[j] = st.constant[size_t(j)] ? 1 : std::sqrt(var);
  }
  VectorXd inv = st.sd.cwiseInverse();
  st.g = inv.asDiagonal() * cxx * inv.asDiagonal() / st.n;
  st.c = inv.asDiagonal() * cxy / st.n;
  for (Index j = 0; j < p; ++j)
    if (st.constant[size_t(j)]) {
      st.g.row(j).setZero();
      st.g.col(j).setZero();
      st.c[j] = 0;
    }
  return st;
}

VectorXd ridge_solve(const Standardized& st, double lambda) {
  MatrixXd a = st.g;
  a.diagonal().array() += lambda;
  for (Index j = 0; j < st.p; ++j)
    if (st.constant[size_t(j)]) a(j, j) = 1;
  return a.ldlt().solve(st.c);
}

// Coefficients in globally scaled units: v̂ = a + uᵀb.
struct ScaledModel {
  double a = 0;
  VectorXd b;
};

ScaledModel unstandardize(const Standardized& st, const VectorXd& beta) {
  ScaledModel m;
  m.b = beta.cwiseQuotient(st.sd);
  for (Index j = 0; j < st.p; ++j)
    if (st.constant[size_t(j)]) m.b[j] = 0;
  m.a = st.ybar - st.mu.dot(m.b);
  return m;
}

// Σ (v - a - uᵀb)² over the rows of a Gram, without visiting them.
double gram_sse(const MatrixXd& gram, const ScaledModel& m) {
  const Index p = gram.rows() - 2;
  double n = gram(0, 0), sy = gram(p + 1, 0), yy = gram(p + 1, p + 1);
  auto sx = gram.col(0).segment(1, p);
  auto xy = gram.col(p + 1).segment(1, p);
  auto xx = gram.block(1, 1, p, p);
  double sse = yy - 2 * m.a * sy - 2 * m.b.dot(xy) + n * m.a * m.a + 2 * m.a * m.b.dot(sx) +
               m.b.dot(xx * m.b);
  return std::max(sse, 0.0);
}

Fit fit_from_scaled(const char* solver, const DesignMatrix& x, const GlobalScaling& s,
                    const Standardized& st, const ScaledModel& m, double sse_scaled,
                    double effective, const MatrixXd* cov_beta) {
  Fit fit;
  fit.solver = solver;
  fit.names = x.names;
  fit.rows = x.rows;
  fit.effective_parameters = effective;
  const Index p = Index(x.cols);
  fit.coefficients.resize(x.cols);
  fit.standard_errors.assign(x.cols, kNaN);
  fit.intercept = s.y_shift + s.y_scale * m.a;
  VectorXd k(p), mean_x(p);
  for (Index j = 0; j < p; ++j) {
    fit.coefficients[size_t(j)] = s.y_scale * m.b[j] / s.scale[j];
    fit.intercept -= fit.coefficients[size_t(j)] * s.shift[j];
    k[j] = st.constant[size_t(j)] ? 0 : s.y_scale / (st.sd[j] * s.scale[j]);
    mean_x[j] = s.shift[j] + s.scale[j] * st.mu[j];
  }
  double dof = st.n - 1 - effective;
  double sigma2_scaled = dof > 0 ? sse_scaled / dof : kNaN;
  fit.sigma = s.y_scale * std::sqrt(sigma2_scaled);
  fit.r2 = st.syy > 0 ? 1 - sse_scaled / st.syy : kNaN;
  fit.intercept_se = kNaN;
  if (cov_beta) {
    MatrixXd cov = k.asDiagonal() * (*cov_beta * (sigma2_scaled / st.n)) * k.asDiagonal();
    for (Index j = 0; j < p; ++j)
      if (!st.constant[size_t(j)]) fit.standard_errors[size_t(j)] = std::sqrt(cov(j, j));
    fit.intercept_se = std::sqrt(fit.sigma * fit.sigma / st.n + mean_x.dot(cov * mean_x));
  }
  return fit;
}

Fit ridge_from_gram(const DesignMatrix& x, const GlobalScaling& s, const MatrixXd& total,
                    double lambda) {
  Standardized st = standardize(total);
  VectorXd beta = ridge_solve(st, lambda);
  ScaledModel m = unstandardize(st, beta);
  MatrixXd a = st.g;
  a.diagonal().array() += lambda;
  for (Index j = 0; j < st.p; ++j)
    if (st.constant[size_t(j)]) a(j, j) = 1;
  MatrixXd ainv = a.ldlt().solve(MatrixXd::Identity(st.p, st.p));
  double effective = (st.g * ainv).trace();
  MatrixXd cov_beta = ainv * st.g * ainv;  // × σ²/n in fit_from_scaled
  Fit fit = fit_from_scaled("ridge", x, s, st, m, gram_sse(total, m), effective, &cov_beta);
  fit.lambda = lambda;
  return fit;
}

MatrixXd train_gram(const std::vector<MatrixXd>& grams, const MatrixXd& total,
                    const CvSplit& split) {
  // Leave-one-out style splits (k-fold, grouped): total minus the test block.
  if (split.train_blocks.size() + 1 == grams.size() &&
      std::find(split.train_blocks.begin(), split.train_blocks.end(), split.test_block) ==
          split.train_blocks.end())
    return total - grams[split.test_block];
  MatrixXd sum = MatrixXd::Zero(total.rows(), total.cols());
  for (auto b : split.train_blocks) sum += grams[b];
  return sum;
}

// ---- elastic net -----------------------------------------------------------------------------

double soft_threshold(double z, double t) {
  return z > t ? z - t : (z < -t ? z + t : 0.0);
}

// Cyclic coordinate descent with covariance updates on (1/2)βᵀGβ - cᵀβ + λ(α|β|₁/y_scale +
// (1-α)/2 β²). G and c are in units of y / y_scale (GlobalScaling), where the documented
// objective (1/2n)‖y - b₀ - Zβ‖² + λ(α‖β‖₁ + (1-α)/2‖β‖²) is y_scale² times this one: its squared
// terms scale with y_scale², its L1 term only with y_scale, so λα is divided by y_scale once.
void coordinate_descent(const Standardized& st, double lambda, double y_scale,
                        const ElasticNetOptions& o, VectorXd& beta) {
  VectorXd grad = st.c - st.g * beta;  // c - Gβ
  const double l1 = lambda * o.alpha / y_scale, l2 = lambda * (1 - o.alpha);
  for (size_t sweep = 0; sweep < o.max_sweeps; ++sweep) {
    double max_change = 0;
    for (Index j = 0; j < st.p; ++j) {
      if (st.constant[size_t(j)]) continue;
      double gjj = st.g(j, j);
      double updated = soft_threshold(grad[j] + gjj * beta[j], l1) / (gjj + l2);
      double d = updated - beta[j];
      if (d == 0) continue;
      grad -= st.g.col(j) * d;
      beta[j] = updated;
      max_change = std::max(max_change, std::abs(d) * std::sqrt(gjj));
    }
    if (max_change < o.tolerance) return;
  }
}

// The smallest λ that zeroes every coefficient, max|c|·y_scale/α, in y's units (raised by 10⁻¹²
// so that rounding in λα/y_scale cannot let a coefficient in); for α near 0 (ridge), where no λ
// does, max|c|/10⁻³.
double lambda_max(const Standardized& st, double alpha, double y_scale) {
  double c = st.c.cwiseAbs().maxCoeff();
  return alpha > 0 ? std::min(c * y_scale / alpha * (1 + 1e-12), c / 1e-3) : c / 1e-3;
}

std::vector<double> enet_lambdas(const Standardized& st, const ElasticNetOptions& o,
                                 double y_scale) {
  double hi = lambda_max(st, o.alpha, y_scale);
  if (!(hi > 0)) hi = 1;
  return log_grid(hi * o.lambda_min_ratio, hi, std::max<size_t>(o.path_length, 2));
}

Fit enet_fit(const DesignMatrix& x, const GlobalScaling& s, const Standardized& st,
             const MatrixXd& gram, const VectorXd& beta, double lambda, double alpha) {
  ScaledModel m = unstandardize(st, beta);
  double nonzero = double((beta.array() != 0).count());
  Fit fit = fit_from_scaled("elastic_net", x, s, st, m, gram_sse(gram, m), nonzero, nullptr);
  fit.lambda = lambda;
  fit.alpha = alpha;
  return fit;
}

void check_alpha(double alpha) {
  if (!(alpha >= 0 && alpha <= 1))
    throw std::invalid_argument(fmt::format("elastic net: α = {} is not in [0, 1]", alpha));
}

// ---- NNLS ------------------------------------------------------------------------------------

// Lawson & Hanson, "Solving Least Squares Problems" (1974), ch. 23: min ‖Ax - b‖ subject to x ≥ 0,
// on columns scaled to unit norm.
VectorXd lawson_hanson(const MatrixXd& a, const VectorXd& b, size_t max_iterations) {
  const Index m = a.cols();
  VectorXd x = VectorXd::Zero(m);
  std::vector<char> passive(size_t(m), 0);
  const double tol = 1e-10 * std::max<double>(1.0, b.norm());
  VectorXd w = a.transpose() * b;
  size_t iterations = 0;
  while (iterations < max_iterations) {
    Index enter = -1;
    double best = tol;
    for (Index j = 0; j < m; ++j)
      if (!passive[size_t(j)] && w[j] > best) best = w[j], enter = j;
    if (enter < 0) break;
    passive[size_t(enter)] = 1;
    bool first = true;
    while (iterations++ < max_iterations) {
      std::vector<Index> idx;
      for (Index j = 0; j < m; ++j)
        if (passive[size_t(j)]) idx.push_back(j);
      MatrixXd ap(a.rows(), Index(idx.size()));
      for (size_t k = 0; k < idx.size(); ++k) ap.col(Index(k)) = a.col(idx[k]);
      VectorXd z = ap.colPivHouseholderQr().solve(b);
      if (first) {
        // A positive gradient that the least-squares step does not follow is rounding: stop.
        auto pos = std::find(idx.begin(), idx.end(), enter) - idx.begin();
        if (z[pos] <= 0) return x;
        first = false;
      }
      if ((z.array() > 0).all()) {
        x.setZero();
        for (size_t k = 0; k < idx.size(); ++k) x[idx[k]] = z[Index(k)];
        break;
      }
      // Step from x towards z until the first passive coefficient reaches 0, and drop it.
      double step = 1;
      for (size_t k = 0; k < idx.size(); ++k)
        if (z[Index(k)] <= 0) step = std::min(step, x[idx[k]] / (x[idx[k]] - z[Index(k)]));
      for (size_t k = 0; k < idx.size(); ++k) {
        x[idx[k]] += step * (z[Index(k)] - x[idx[k]]);
        if (x[idx[k]] <= 1e-14) {
          x[idx[k]] = 0;
          passive[size_t(idx[k])] = 0;
        }
      }
    }
    w = a.transpose() * (b - a * x);
  }
  return x;
}

}  // namespace

double Fit::predict_row(const DesignMatrix& x, size_t row) const {
  double v = intercept;
  for (size_t c = 0; c < coefficients.size(); ++c) v += coefficients[c] * x.at(row, c);
  return v;
}

std::vector<double> Fit::predict(const DesignMatrix& x) const {
  if (x.cols != coefficients.size())
    throw std::invalid_argument(fmt::format("predict: {} feature columns for {} coefficients",
                                            x.cols, coefficients.size()));
  std::vector<double> out(x.rows, intercept);
  for (size_t c = 0; c < x.cols; ++c) {
    const double* col = x.column(c);
    double b = coefficients[c];
    for (size_t r = 0; r < x.rows; ++r) out[r] += b * col[r];
  }
  return out;
}

Fit fit_ols(const DesignMatrix& x, const std::vector<double>& y) {
  check_inputs(x, y, "ols");
  Fit fit;
  fit.solver = "ols";
  fit.names = x.names;
  std::vector<size_t> cols(x.cols);
  std::iota(cols.begin(), cols.end(), 0);
  fill_from_least_squares(fit, x, y, cols, true);
  return fit;
}

std::vector<double> log_grid(double lo, double hi, size_t count) {
  std::vector<double> out;
  if (count == 1) return {hi};
  for (size_t i = 0; i < count; ++i)
    out.push_back(
        std::exp(std::log(hi) + (std::log(lo) - std::log(hi)) * double(i) / double(count - 1)));
  return out;
}

std::vector<double> default_ridge_lambdas() {
  return log_grid(1e-8, 1e2, 41);
}

Fit fit_ridge(const DesignMatrix& x, const std::vector<double>& y, double lambda) {
  check_inputs(x, y, "ridge");
  if (!(lambda >= 0)) throw std::invalid_argument(fmt::format("ridge: λ = {} must be ≥ 0", lambda));
  GlobalScaling s = global_scaling(x, y);
  auto grams = block_grams(x, y, std::vector<uint32_t>(x.rows, 0), 1, s, 2);
  return ridge_from_gram(x, s, grams[0], lambda);
}

PathCv fit_ridge_cv(const DesignMatrix& x, const std::vector<double>& y, const CvPlan& plan,
                    std::vector<double> lambdas, size_t threads) {
  check_inputs(x, y, "ridge");
  if (plan.rows() != x.rows)
    throw std::invalid_argument("fit_ridge_cv: the plan is for another number of rows");
  if (lambdas.empty()) lambdas = default_ridge_lambdas();
  GlobalScaling s = global_scaling(x, y);
  auto grams = block_grams(x, y, plan.block_of_row, plan.blocks(), s, threads);
  MatrixXd total = MatrixXd::Zero(grams[0].rows(), grams[0].cols());
  for (const auto& g : grams) total += g;
  PathCv out;
  out.lambdas = lambdas;
  out.cv_mse.assign(lambdas.size(), 0.0);
  double tested = 0;
  for (const auto& split : plan.splits) {
    const MatrixXd& test = grams[split.test_block];
    if (test(0, 0) == 0) continue;
    Standardized st = standardize(train_gram(grams, total, split));
    if (st.n < 2) continue;
    tested += test(0, 0);
    for (size_t l = 0; l < lambdas.size(); ++l)
      out.cv_mse[l] += gram_sse(test, unstandardize(st, ridge_solve(st, lambdas[l])));
  }
  for (double& m : out.cv_mse) m = tested > 0 ? m * s.y_scale * s.y_scale / tested : kNaN;
  out.best = size_t(std::min_element(out.cv_mse.begin(), out.cv_mse.end()) - out.cv_mse.begin());
  out.fit = ridge_from_gram(x, s, total, lambdas[out.best]);
  return out;
}

Fit fit_nnls(const DesignMatrix& x, const std::vector<double>& y, const NnlsOptions& options) {
  check_inputs(x, y, "nnls");
  const Index n = Index(x.rows), p = Index(x.cols);
  const bool free_intercept = !options.nonnegative_intercept;
  const Index m = p + (free_intercept ? 0 : 1);
  MatrixXd a(n, m);
  VectorXd b = as_vector(y);
  auto xm = as_matrix(x);
  if (free_intercept) {
    // With a free intercept the optimum intercept for any β is ȳ - x̄ᵀβ: solve on centred data.
    a = xm.rowwise() - xm.colwise().mean();
    b.array() -= b.mean();
  } else {
    a.col(0).setOnes();
    a.rightCols(p) = xm;
  }
  VectorXd norms = a.colwise().norm();
  for (Index j = 0; j < m; ++j)
    if (norms[j] == 0) norms[j] = 1;
  size_t max_iterations = options.max_iterations ? options.max_iterations : size_t(3 * (m + 1));
  VectorXd z =
      lawson_hanson(a * norms.cwiseInverse().asDiagonal(), b, max_iterations).cwiseQuotient(norms);

  Fit fit;
  fit.solver = "nnls";
  fit.names = x.names;
  std::vector<size_t> positive;
  const Index off = free_intercept ? 0 : 1;
  for (Index j = 0; j < p; ++j)
    if (z[j + off] > 0) positive.push_back(size_t(j));
  bool intercept_in_fit = free_intercept || z[0] > 0;
  // The NNLS solution is the least-squares solution on its positive set; refitting there gives
  // the same coefficients and their (conditional) standard errors.
  fill_from_least_squares(fit, x, y, positive, intercept_in_fit);
  for (size_t j = 0; j < x.cols; ++j) fit.coefficients[j] = std::max(0.0, fit.coefficients[j]);
  if (!free_intercept) fit.intercept = std::max(0.0, fit.intercept);
  return fit;
}

Fit fit_elastic_net(const DesignMatrix& x, const std::vector<double>& y, double lambda,
                    const ElasticNetOptions& o) {
  check_inputs(x, y, "elastic net");
  check_alpha(o.alpha);
  if (!(lambda >= 0))
    throw std::invalid_argument(fmt::format("elastic net: λ = {} must be ≥ 0", lambda));
  GlobalScaling s = global_scaling(x, y);
  MatrixXd gram = block_grams(x, y, std::vector<uint32_t>(x.rows, 0), 1, s, 2)[0];
  Standardized st = standardize(gram);
  VectorXd beta = VectorXd::Zero(st.p);
  // Warm starts from λ_max down to λ: each step starts near its answer.
  for (double l : enet_lambdas(st, o, s.y_scale)) {
    if (l <= lambda) break;
    coordinate_descent(st, l, s.y_scale, o, beta);
  }
  coordinate_descent(st, lambda, s.y_scale, o, beta);
  return enet_fit(x, s, st, gram, beta, lambda, o.alpha);
}

std::vector<Fit> elastic_net_path(const DesignMatrix& x, const std::vector<double>& y,
                                  const ElasticNetOptions& o) {
  check_inputs(x, y, "elastic net");
  check_alpha(o.alpha);
  GlobalScaling s = global_scaling(x, y);
  MatrixXd gram = block_grams(x, y, std::vector<uint32_t>(x.rows, 0), 1, s, 2)[0];
  Standardized st = standardize(gram);
  VectorXd beta = VectorXd::Zero(st.p);
  std::vector<Fit> path;
  for (double l : enet_lambdas(st, o, s.y_scale)) {
    coordinate_descent(st, l, s.y_scale, o, beta);
    path.push_back(enet_fit(x, s, st, gram, beta, l, o.alpha));
  }
  return path;
}

PathCv fit_elastic_net_cv(const DesignMatrix& x, const std::vector<double>& y, const CvPlan& plan,
                          const ElasticNetOptions& o, size_t threads) {
  check_inputs(x, y, "elastic net");
  check_alpha(o.alpha);
  if (plan.rows() != x.rows)
    throw std::invalid_argument("fit_elastic_net_cv: the plan is for another number of rows");
  GlobalScaling s = global_scaling(x, y);
  auto grams = block_grams(x, y, plan.block_of_row, plan.blocks(), s, threads);
  MatrixXd total = MatrixXd::Zero(grams[0].rows(), grams[0].cols());
  for (const auto& g : grams) total += g;
  Standardized all = standardize(total);
  PathCv out;
  out.lambdas = enet_lambdas(all, o, s.y_scale);  // one λ sequence for every split, as glmnet does
  out.cv_mse.assign(out.lambdas.size(), 0.0);
  double tested = 0;
  for (const auto& split : plan.splits) {
    const MatrixXd& test = grams[split.test_block];
    if (test(0, 0) == 0) continue;
    Standardized st = standardize(train_gram(grams, total, split));
    if (st.n < 2) continue;
    tested += test(0, 0);
    VectorXd beta = VectorXd::Zero(st.p);
    for (size_t l = 0; l < out.lambdas.size(); ++l) {
      coordinate_descent(st, out.lambdas[l], s.y_scale, o, beta);
      out.cv_mse[l] += gram_sse(test, unstandardize(st, beta));
    }
  }
  for (double& m : out.cv_mse) m = tested > 0 ? m * s.y_scale * s.y_scale / tested : kNaN;
  out.best = size_t(std::min_element(out.cv_mse.begin(), out.cv_mse.end()) - out.cv_mse.begin());
  VectorXd beta = VectorXd::Zero(all.p);
  for (size_t l = 0; l <= out.best; ++l)
    coordinate_descent(all, out.lambdas[l], s.y_scale, o, beta);
  out.fit = enet_fit(x, s, all, total, beta, out.lambdas[out.best], o.alpha);
  return out;
}

const char* to_string(SolverKind kind) {
  switch (kind) {
    case SolverKind::ols:
      return "ols";
    case SolverKind::ridge:
      return "ridge";
    case SolverKind::nnls:
      return "nnls";
    case SolverKind::elastic_net:
      return "elastic_net";
  }
  return "ols";
}

std::optional<SolverKind> parse_solver(std::string_view text) {
  for (auto k : {SolverKind::ols, SolverKind::ridge, SolverKind::nnls, SolverKind::elastic_net})
    if (text == to_string(k)) return k;
  return std::nullopt;
}

Fit fit_with(const DesignMatrix& x, const std::vector<double>& y, const SolverOptions& o) {
  auto inner_plan = [&] { return kfold_plan(x.rows, std::min(o.inner_folds, x.rows), o.seed); };
  switch (o.kind) {
    case SolverKind::ols:
      return fit_ols(x, y);
    case SolverKind::ridge:
      return o.lambda >= 0 ? fit_ridge(x, y, o.lambda) : fit_ridge_cv(x, y, inner_plan()).fit;
    case SolverKind::nnls:
      return fit_nnls(x, y, o.nnls);
    case SolverKind::elastic_net: {
      ElasticNetOptions en;
      en.alpha = o.alpha;
      return o.lambda >= 0 ? fit_elastic_net(x, y, o.lambda, en)
                           : fit_elastic_net_cv(x, y, inner_plan(), en).fit;
    }
  }
  return fit_ols(x, y);
}

FoldPredictor fold_predictor(const SolverOptions& options) {
  return [options](const DesignMatrix& train_x, const std::vector<double>& train_y,
                   const DesignMatrix& test_x) {
    return fit_with(train_x, train_y, options).predict(test_x);
  };
}

std::vector<GroupStallShares> stall_shares_by_group(const CpiStack& stack,
                                                    const std::vector<double>& cycles,
                                                    const std::vector<std::string>& group_of_row) {
  std::vector<GroupStallShares> out;
  std::vector<double> total;
  std::map<std::string, size_t> index;
  for (size_t r = 0; r < group_of_row.size() && r < cycles.size(); ++r) {
    auto [it, fresh] = index.emplace(group_of_row[r], out.size());
    if (fresh) {
      out.push_back({group_of_row[r], 0, 0, std::vector<double>(stack.levels.size()), 0});
      total.push_back(0);
    }
    auto& g = out[it->second];
    ++g.rows;
    total[it->second] += cycles[r];
    g.base_share += stack.base_cycles[r];
    for (size_t l = 0; l < stack.levels.size(); ++l) g.level_share[l] += stack.stall_cycles[l][r];
    g.unexplained_share += stack.unexplained_cycles[r];
  }
  for (size_t i = 0; i < out.size(); ++i) {
    double c = total[i] != 0 ? total[i] : std::numeric_limits<double>::quiet_NaN();
    out[i].base_share /= c;
    for (auto& s : out[i].level_share) s /= c;
    out[i].unexplained_share /= c;
  }
  return out;
}

CpiStack fit_cpi_stack(const Dataset& data, const std::string& cycles_column,
                       const std::string& instructions_column,
                       const std::vector<std::string>& miss_columns) {
  const auto& cycles = data.column(cycles_column);
  const auto& instructions = data.column(instructions_column);
  std::vector<const std::vector<double>*> misses;
  for (const auto& name : miss_columns) misses.push_back(&data.column(name));
  std::vector<size_t> used;
  for (size_t r = 0; r < data.rows(); ++r)
    if (instructions[r] > 0) used.push_back(r);
  DesignMatrix x;
  x.rows = used.size();
  x.cols = miss_columns.size();
  x.origin = data.origin();
  x.values.resize(x.rows * x.cols);
  std::vector<double> cpi(used.size());
  for (size_t i = 0; i < used.size(); ++i) {
    size_t r = used[i];
    cpi[i] = cycles[r] / instructions[r];
    for (size_t l = 0; l < misses.size(); ++l) x.column(l)[i] = (*misses[l])[r] / instructions[r];
  }
  for (const auto& name : miss_columns) x.names.push_back(name + "_per_instruction");
  if (x.rows <= x.cols + 1)
    throw std::runtime_error(
        fmt::format("{}: CPI stack: expected more rows with instructions > 0 than miss levels "
                    "+ 1 ({} rows, {} levels)",
                    data.where_header(), x.rows, x.cols));
  NnlsOptions nn;
  nn.nonnegative_intercept = true;
  Fit fit = fit_nnls(x, cpi, nn);
  CpiStack stack;
  stack.base_cpi = fit.intercept;
  stack.levels = miss_columns;
  stack.penalty_cycles = fit.coefficients;
  stack.penalty_se = fit.standard_errors;
  stack.cpi_error = error_metrics(cpi, fit.predict(x));
  const size_t n = data.rows();
  stack.base_cycles.resize(n);
  stack.unexplained_cycles.resize(n);
  stack.stall_cycles.assign(misses.size(), std::vector<double>(n));
  for (size_t r = 0; r < n; ++r) {
    stack.base_cycles[r] = stack.base_cpi * instructions[r];
    double left = cycles[r] - stack.base_cycles[r];
    for (size_t l = 0; l < misses.size(); ++l) {
      stack.stall_cycles[l][r] = stack.penalty_cycles[l] * (*misses[l])[r];
      left -= stack.stall_cycles[l][r];
    }
    stack.unexplained_cycles[r] = left;
  }
  return stack;
}

}  // namespace pmc
