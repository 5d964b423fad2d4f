#include "workloads.h"

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <numeric>
#include <stdexcept>
#include <thread>

namespace pmc {
namespace {

using Clock = std::chrono::steady_clock;

// Each kernel runs in batches until the deadline and returns a value depending on all its work.
double int_alu(Clock::time_point end) {
  uint64_t x = 0x9e3779b97f4a7c15ull, acc = 0;
  while (Clock::now() < end)
    for (int i = 0; i < 100000; ++i) {
      x ^= x << 13;
      x ^= x >> 7;
      x ^= x << 17;
      acc += x & 0xff;
    }
  return double(acc);
}

double scalar_fp(Clock::time_point end) {
  double a = 1.0, b = 0.0;
  while (Clock::now() < end)
    for (int i = 0; i < 100000; ++i) {
      a = a * 1.0000001 + 1e-9;
      b += std::sqrt(a);
    }
  return a + b;
}

// Random cyclic permutation (Sattolo's algorithm) walked as a linked list: each load depends on
// the previous one, and the hardware prefetchers cannot guess the next address.
std::vector<uint32_t> make_chain(size_t bytes) {
  size_t n = std::max<size_t>(bytes / sizeof(uint32_t), 16);
  std::vector<uint32_t> next(n);
  std::iota(next.begin(), next.end(), 0u);
  uint64_t x = 0x2545f4914f6cdd1dull;
  for (size_t i = n - 1; i > 0; --i) {
    x ^= x << 13, x ^= x >> 7, x ^= x << 17;
    std::swap(next[i], next[x % i]);
  }
  return next;
}

double chase(const std::vector<uint32_t>& next, Clock::time_point end) {
  uint32_t p = 0;
  uint64_t steps = 0;
  while (Clock::now() < end)
    for (int i = 0; i < 100000; ++i, ++steps) p = next[p];
  return double(p) + double(steps);
}

double pointer_chase(Clock::time_point end, size_t bytes) { return chase(make_chain(bytes), end); }

double stream(Clock::time_point end, size_t bytes) {
  size_t n = bytes / sizeof(double);
  std::vector<double> a(n, 1.0), b(n, 2.0);
  double s = 0;
  while (Clock::now() < end) {
    for (size_t i = 0; i < n; ++i) a[i] = a[i] * 0.5 + b[i];
    s += a[n / 2];
  }
  return s;
}

double idle(Clock::time_point end) {
  while (Clock::now() < end) usleep(10000);
  return 0;
}

double mixed(Clock::time_point end) {
  // A third of the time each on integer, floating point and a pointer chase over 32 MiB (beyond
  // the last-level cache of most CPUs); the chain is built within the chase's third.
  auto now = Clock::now();
  auto slice = (end - now) / 3;
  double a = int_alu(now + slice);
  double b = scalar_fp(now + 2 * slice);
  return a + b + pointer_chase(end, 32u << 20);
}

double run_one(const std::string& name, Clock::time_point end) {
  if (name == "mixed") return mixed(end);
  if (name == "int") return int_alu(end);
  if (name == "fp") return scalar_fp(end);
  if (name == "chase-dram") return pointer_chase(end, 256u << 20);
  if (name == "chase-l1") return pointer_chase(end, 16u << 10);
  if (name == "stream") return stream(end, 128u << 20);
  if (name == "idle") return idle(end);
  throw std::invalid_argument("unknown workload '" + name + "'");
}

}  // namespace

const std::vector<WorkloadInfo>& workloads() {
  static const std::vector<WorkloadInfo> list = {
      {"mixed", "integer ALU, scalar FP, then a pointer chase over 32 MiB (the default)"},
      {"int", "integer ALU (xorshift), no memory traffic"},
      {"fp", "scalar floating point with square roots"},
      {"chase-l1", "dependent loads over 16 KiB (L1-resident)"},
      {"chase-dram", "dependent loads over 256 MiB (DRAM latency)"},
      {"stream", "streaming read/write over 2 x 128 MiB (memory bandwidth)"},
      {"idle", "sleeps in 10 ms steps"},
  };
  return list;
}

double run_workload(const std::string& name, int threads, double seconds) {
  bool known = false;
  for (const auto& w : workloads()) known |= w.name == name;
  if (!known) throw std::invalid_argument("unknown workload '" + name + "'");
  auto end = Clock::now() + std::chrono::duration_cast<Clock::duration>(
                                std::chrono::duration<double>(seconds));
  std::vector<std::thread> pool;
  std::vector<double> results(size_t(std::max(threads, 1)));
  for (size_t t = 1; t < results.size(); ++t)
    pool.emplace_back([&, t] { results[t] = run_one(name, end); });
  results[0] = run_one(name, end);
  for (auto& th : pool) th.join();
  return std::accumulate(results.begin(), results.end(), 0.0);
}

}  // namespace pmc
