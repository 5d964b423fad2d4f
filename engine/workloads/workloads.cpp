#include "engine/workloads/workloads.h"

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <numeric>
#include <stdexcept>
#include <thread>

namespace pmc {
namespace {

using Clock = std::chrono::steady_clock;

constexpr size_t kLine = 64;  // bytes per cache line on every CPU pmcmodel targets

uint64_t xorshift(uint64_t& x) {
  x ^= x << 13;
  x ^= x >> 7;
  x ^= x << 17;
  return x;
}

// Each kernel runs in batches until the deadline and returns a value depending on all its work.
double int_alu(Clock::time_point end) {
  uint64_t x = 0x9e3779b97f4a7c15ull, acc = 0;
  while (Clock::now() < end)
    for (int i = 0; i < 100000; ++i) acc += xorshift(x) & 0xff;
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

// Eight independent vector multiply-adds per step (enough to cover the FP latency), in the widest
// registers the CPU has. The recurrence a·0.999999 + 1e-6 converges to 1 and never goes denormal.
#define PMC_VECTOR_FP(NAME, ATTR, BYTES)                           \
  ATTR double NAME(Clock::time_point end) {                        \
    typedef double V __attribute__((vector_size(BYTES)));          \
    constexpr int kLanes = BYTES / 8;                              \
    V acc[8];                                                      \
    V m, c;                                                        \
    for (int l = 0; l < kLanes; ++l) m[l] = 0.999999, c[l] = 1e-6; \
    for (int k = 0; k < 8; ++k)                                    \
      for (int l = 0; l < kLanes; ++l) acc[k][l] = 1.0 + k + l;    \
    while (Clock::now() < end)                                     \
      for (int i = 0; i < 50000; ++i)                              \
        for (int k = 0; k < 8; ++k) acc[k] = acc[k] * m + c;       \
    double s = 0;                                                  \
    for (int k = 0; k < 8; ++k)                                    \
      for (int l = 0; l < kLanes; ++l) s += acc[k][l];             \
    return s;                                                      \
  }

#if defined(__x86_64__) || defined(__i386__)
PMC_VECTOR_FP(vector_fp_avx512, __attribute__((target("avx512f"))), 64)
PMC_VECTOR_FP(vector_fp_avx2, __attribute__((target("avx2"))), 32)
#endif
PMC_VECTOR_FP(vector_fp_base, , 16)

double vector_fp(Clock::time_point end) {
#if defined(__x86_64__) || defined(__i386__)
  if (__builtin_cpu_supports("avx512f")) return vector_fp_avx512(end);
  if (__builtin_cpu_supports("avx2")) return vector_fp_avx2(end);
#endif
  return vector_fp_base(end);
}

// A data-dependent branch taken with probability 1/2 from a random bit: about every other one is
// mispredicted. The empty asm in each arm keeps the compiler from turning it into a cmov.
double branchy(Clock::time_point end) {
  uint64_t x = 0x2545f4914f6cdd1dull, a = 0, b = 0;
  while (Clock::now() < end)
    for (int i = 0; i < 100000; ++i) {
      if ((xorshift(x) >> 29) & 1) {
        a += x;
        asm volatile("" : "+r"(a));
      } else {
        b ^= x >> 3;
        asm volatile("" : "+r"(b));
      }
    }
  return double(a ^ b);
}

// A random cycle through the cache lines of `bytes`, walked as a linked list: each load depends on
// the previous one. The pages are visited in a random order (Sattolo's algorithm) and the 64 lines
// of each page in a shuffled order rotated per page, so neither the stride nor the next-line
// prefetchers can guess the next address, and building a 600 MiB chain is one sequential pass
// rather than ten million random swaps.
struct Chain {
  std::vector<uint32_t> next;
};

std::shared_ptr<const Chain> make_chain(size_t bytes) {
  constexpr size_t kPerLine = kLine / sizeof(uint32_t);
  constexpr size_t kLinesPerPage = 4096 / kLine;
  size_t pages = std::max<size_t>(bytes / 4096, 1);
  size_t lines_per_page = std::min(kLinesPerPage, std::max<size_t>(bytes / kLine, 16));
  uint64_t x = 0x2545f4914f6cdd1dull;
  std::vector<uint32_t> page_order(pages), line_order(lines_per_page);
  std::iota(page_order.begin(), page_order.end(), 0u);
  std::iota(line_order.begin(), line_order.end(), 0u);
  for (size_t i = pages - 1; i > 0; --i) std::swap(page_order[i], page_order[xorshift(x) % i]);
  for (size_t i = lines_per_page - 1; i > 0; --i)
    std::swap(line_order[i], line_order[xorshift(x) % i]);
  auto chain = std::make_shared<Chain>();
  chain->next.resize(pages * lines_per_page * kPerLine);
  auto node = [&](size_t k) {  // the k-th line visited
    size_t page = page_order[k / lines_per_page], j = k % lines_per_page;
    return uint32_t((page * lines_per_page + line_order[(j + page) % lines_per_page]) * kPerLine);
  };
  size_t total = pages * lines_per_page;
  uint32_t first = node(0), current = first;
  for (size_t k = 1; k < total; ++k) {
    uint32_t n = node(k);
    chain->next[current] = n;
    current = n;
  }
  chain->next[current] = first;
  return chain;
}

double chase(const Chain& chain, Clock::time_point end) {
  uint32_t p = 0;
  uint64_t steps = 0;
  const uint32_t* next = chain.next.data();
  while (Clock::now() < end)
    for (int i = 0; i < 20000; ++i, ++steps) p = next[p];
  return double(p) + double(steps);
}

// Two arrays shared by the threads, each thread streaming over its own slice (touched first by
// that thread, so its pages are local to it).
struct Arrays {
  size_t n = 0;
  std::unique_ptr<double[]> a, b;
};

double stream_read(Arrays& s, size_t begin, size_t end_i, Clock::time_point end) {
  for (size_t i = begin; i < end_i; ++i) s.a[i] = double(i & 7);
  double acc[4] = {0, 0, 0, 0};
  while (Clock::now() < end) {
    size_t i = begin;
    for (; i + 4 <= end_i; i += 4)
      for (int k = 0; k < 4; ++k) acc[k] += s.a[i + size_t(k)];
    for (; i < end_i; ++i) acc[0] += s.a[i];
  }
  return acc[0] + acc[1] + acc[2] + acc[3];
}

double stream_rw(Arrays& s, size_t begin, size_t end_i, Clock::time_point end) {
  for (size_t i = begin; i < end_i; ++i) s.a[i] = 1.0, s.b[i] = 2.0;
  double sum = 0;
  while (Clock::now() < end) {
    for (size_t i = begin; i < end_i; ++i) s.a[i] = s.a[i] * 0.5 + s.b[i];
    sum += s.a[(begin + end_i) / 2];
  }
  return sum;
}

double idle(Clock::time_point end) {
  while (Clock::now() < end) usleep(10000);
  return 0;
}

// A third of the time each on integer, floating point and a pointer chase over 32 MiB (beyond
// the last-level cache of most CPUs); the chain is built within the chase's third.
double mixed(Clock::time_point end) {
  auto now = Clock::now();
  auto slice = (end - now) / 3;
  double a = int_alu(now + slice);
  double b = scalar_fp(now + 2 * slice);
  return a + b + chase(*make_chain(32u << 20), end);
}

// now + seconds, or the clock's last instant when that does not fit in its 64-bit nanoseconds
// (about 292 years): converting a larger count would overflow into a deadline in the past.
Clock::time_point deadline_after(double seconds) {
  auto now = Clock::now();
  double room_s = std::chrono::duration<double>(Clock::time_point::max() - now).count();
  if (!(seconds < room_s - 1)) return Clock::time_point::max();
  return now + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(seconds));
}

bool is_chase(const std::string& name) {
  return name.rfind("chase-", 0) == 0;
}
bool is_stream(const std::string& name) {
  return name.rfind("stream", 0) == 0;
}

size_t chase_bytes(const std::string& name, const WorkingSets& s) {
  if (name == "chase-l1") return s.l1;
  if (name == "chase-l2") return s.l2;
  if (name == "chase-llc") return s.llc;
  return s.dram;
}

}  // namespace

WorkingSets working_sets(const CacheSizes& c) {
  WorkingSets s;
  s.l1 = c.l1d / 2;
  s.l2 = std::max(2 * c.l1d, c.l2 / 2);
  s.llc = std::max(2 * c.l2, c.llc / 2);
  s.dram = std::clamp<size_t>(2 * c.llc, size_t(64) << 20, size_t(1) << 30);
  return s;
}

std::string vector_isa() {
#if defined(__x86_64__) || defined(__i386__)
  if (__builtin_cpu_supports("avx512f")) return "avx512f";
  if (__builtin_cpu_supports("avx2")) return "avx2";
  return "sse2";
#else
  return "generic";
#endif
}

const std::vector<WorkloadInfo>& workloads() {
  static const std::vector<WorkloadInfo> list = {
      {"mixed", "integer ALU, scalar FP, then a pointer chase over 32 MiB (the default)"},
      {"int", "integer ALU (xorshift), no memory traffic"},
      {"fp", "scalar floating point with square roots"},
      {"vector-fp",
       "vector multiply-adds in registers (AVX-512, AVX2 or SSE2, chosen at run time)"},
      {"branch", "a random data-dependent branch per step (about half mispredicted)"},
      {"chase-l1", "dependent loads over half the L1d"},
      {"chase-l2", "dependent loads over max(2 x L1d, L2/2)"},
      {"chase-llc", "dependent loads over max(2 x L2, LLC/2)"},
      {"chase-dram", "dependent loads over 2 x LLC (64 MiB to 1 GiB): DRAM latency"},
      {"stream-read", "streaming reads over 2 x LLC (64 MiB to 1 GiB): read bandwidth"},
      {"stream-rw", "a[i] = a[i]/2 + b[i] over two arrays of LLC each: read/write bandwidth"},
      {"stream", "the same as stream-rw (kept for old command lines)", false},
      {"idle", "sleeps in 10 ms steps"},
  };
  return list;
}

std::vector<std::string> workload_names() {
  std::vector<std::string> out;
  for (const auto& w : workloads()) out.push_back(w.name);
  return out;
}

std::vector<std::string> suite_workloads() {
  std::vector<std::string> out;
  for (const auto& w : workloads())
    if (w.in_suite) out.push_back(w.name);
  return out;
}

double run_workload(const std::string& name, int threads, double seconds, const WorkingSets& sets) {
  bool known = false;
  for (const auto& w : workloads()) known |= w.name == name;
  if (!known) throw std::invalid_argument("unknown workload '" + name + "'");
  auto end = deadline_after(seconds);
  size_t n_threads = size_t(std::max(threads, 1));

  std::shared_ptr<const Chain> chain;
  if (is_chase(name)) chain = make_chain(chase_bytes(name, sets));
  // The streams' arrays together span the DRAM working set: stream-read's one array all of it,
  // stream-rw's two half each.
  Arrays arrays;
  if (is_stream(name)) {
    bool read_only = name == "stream-read";
    arrays.n = sets.dram / ((read_only ? 1 : 2) * sizeof(double));
    arrays.a.reset(new double[arrays.n]);
    if (!read_only) arrays.b.reset(new double[arrays.n]);
  }
  auto run_one = [&](size_t t) -> double {
    size_t begin = arrays.n * t / n_threads, stop = arrays.n * (t + 1) / n_threads;
    if (name == "mixed") return mixed(end);
    if (name == "int") return int_alu(end);
    if (name == "fp") return scalar_fp(end);
    if (name == "vector-fp") return vector_fp(end);
    if (name == "branch") return branchy(end);
    if (chain) return chase(*chain, end);
    if (name == "stream-read") return stream_read(arrays, begin, stop, end);
    if (is_stream(name)) return stream_rw(arrays, begin, stop, end);
    return idle(end);
  };
  std::vector<std::thread> pool;
  std::vector<double> results(n_threads);
  for (size_t t = 1; t < n_threads; ++t) pool.emplace_back([&, t] { results[t] = run_one(t); });
  results[0] = run_one(0);
  for (auto& th : pool) th.join();
  return std::accumulate(results.begin(), results.end(), 0.0);
}

}  // namespace pmc
