#pragma once
// The host CPU behind a VM that masks its model name ("Intel(R) Xeon(R) Processor" on family 6
// model 207), from what the VM still shows: vendor, family/model/stepping (which name a
// microarchitecture: Linux arch/x86/include/asm/intel-family.h, AMD's PPRs), feature flags that
// confirm it (amx_tile, avx512_fp16…), the nominal frequency and the L3 size. The generations are
// data (data/cpu_generations.csv); the host CPU is chosen among that generation's CPUs in the CPU
// facts table and the SKU catalog. Pure: /proc/cpuinfo is passed in as text. docs/energy.md.
#include <filesystem>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "models/fleet/energy_estimate.h"
#include "models/fleet/sku_catalog.h"
#include "models/fleet/sku_curve.h"

namespace pmc {

// The first processor block of /proc/cpuinfo (x86 field names), and the count of blocks.
struct CpuInfo {
  std::string vendor;      // vendor_id
  std::string model_name;  // model name
  int family = -1, model = -1, stepping = -1;
  double mhz = 0;  // cpu MHz: a VM's is the nominal (TSC) frequency
  // cache size: Intel's last-level cache (the package's L3), but AMD's and Hygon's L2 per core
  double cache_kb = 0;
  std::set<std::string, std::less<>> flags;
  int processors = 0;
  // Not in /proc/cpuinfo: cpu0's cpufreq (sysfs cpuinfo_max_freq in kHz / 1000, and
  // scaling_driver), filled by the caller where the VM has cpufreq; 0 and empty where not.
  double max_mhz = 0;
  std::string freq_driver;
  // Not in /proc/cpuinfo either: cpu0's sysfs cache/index3/size in KB, one L3 instance (on AMD a
  // CCX's, where cache size above is an L2), filled by the caller; 0 where not shown.
  double l3_instance_kb = 0;
};
CpuInfo parse_cpuinfo(std::string_view text);

// The maximum frequency cpufreq shows, in GHz, when `driver`'s maximum is the CPU's highest turbo
// (intel_pstate and its passive mode intel_cpufreq: the turbo ratio; amd-pstate*: the boost clock
// from CPPC); 0 for any other driver (acpi-cpufreq's maximum is the top ACPI P-state: the base
// clock, or base + 1 MHz as Intel's turbo placeholder) or none.
double max_turbo_ghz(const CpuInfo& cpu);

// Whether a package of `l3_mb` L3 and `cores` cores can be built of CCXs with `ccx_l3_mb` of L3
// each: a whole number of CCXs, each with a whole number of cores (AMD's EPYC table: Milan's
// 256 MB / 32 MB = 8 CCXs of 8 cores; the Milan-X 7773X's 768 MB would be 24 such CCXs of 2.67
// cores, but is 8 of its own 96 MB).
bool l3_fits_ccxs(double l3_mb, int cores, double ccx_l3_mb);

// One row of data/cpu_generations.csv.
struct CpuGeneration {
  std::string vendor;
  int family = 0, model = 0, stepping_min = 0, stepping_max = 15;
  std::string name;  // "Emerald Rapids (5th Gen Xeon Scalable)"
  int launch_year = 0;
  std::vector<std::string> marker_flags;  // flags every CPU of the generation shows
  std::vector<std::string> name_keys;     // fnmatch patterns over cpu_model_key ("platinum85*")
  std::string source;
  bool names(std::string_view cpu_name) const;  // cpu_name's key matches one of name_keys
  bool names_key(std::string_view key) const;   // the same for a cpu_model_key already made
};

class CpuGenerationTable {
 public:
  // Throws std::runtime_error "FILE:LINE: what was expected".
  static CpuGenerationTable load(const std::filesystem::path& file);
  static CpuGenerationTable parse(std::string_view text, const std::string& origin);
  const CpuGeneration* find(std::string_view vendor, int family, int model, int stepping) const;
  const std::string& origin() const { return origin_; }
  const std::vector<CpuGeneration>& all() const { return rows_; }

 private:
  std::vector<CpuGeneration> rows_;
  std::string origin_;
};

// Assumptions about the host when only its CPU is known, stated in the estimate's basis: a cloud
// host is a 2-socket server with SMT 2 (every generation in the table has it), memory at the
// median of the SPECpower results in data/skus.csv, 2 GB per core.
inline constexpr int kHostChips = 2;
inline constexpr int kHostThreadsPerCore = 2;
inline constexpr double kHostMemoryGbPerCore = 2.0;

struct CpuIdentity {
  const CpuGeneration* generation = nullptr;
  std::string host_cpu;             // the CPU taken for the host
  const CpuFacts* facts = nullptr;  // its facts, when the host CPU came from the facts table
  const Sku* sku = nullptr;         // a catalog SKU with that CPU, when one has a curve
  int candidates = 0;      // CPU models of the generation left after the base clock (and L3)
  std::string confidence;  // "high", "medium" or "low"
  std::vector<std::string> evidence;
  std::string describe() const;  // one sentence for the notes
};

// nullopt when the vendor/family/model is not in `generations` and the model name names no CPU
// of `facts`. The host CPU is, in this order: the model name when it names a CPU of `facts`; a
// catalog SKU of the generation whose L3 (llc_mb) equals the VM's cache size and base clock its
// nominal frequency (Intel only: Linux's cpuinfo `cache size` is the L3 there, but the L2 of one
// core on AMD and Hygon); else the generation's CPUs in `facts`: on AMD and Hygon, where sysfs
// shows an L3 instance (a CCX's), those whose total L3 is a whole number of such CCXs with whole
// cores each; then those whose base clock is within 50 MHz of the nominal frequency; on Intel,
// those whose L3 (CpuFacts::l3_mb) is the cache size within 0.5 MB; then, where
// cpufreq shows the highest turbo (max_turbo_ghz), those whose turbo clock is within 50 MHz of it
// (each step keeping all when none matches); the most cores first (cloud hosts run the largest
// dies), then the median TDP; a catalog SKU whose CPU has another turbo clock in the facts table
// is not taken. Confidence: high when the name said it, or when the
// generation's marker flags are all shown and the L3 and base clock left one CPU model of the
// catalog (and no CPU of the generation in the facts table has that base clock and a turbo the
// max frequency does not rule out); medium when the flags are shown (two clocks matching one CPU
// of the facts table are not enough: cloud-only parts such as the Xeon 8375C have no clocks there);
// low when a marker flag is missing (a hypervisor may mask it, or the table is wrong).
std::optional<CpuIdentity> identify_cpu(const CpuInfo& cpu, const CpuGenerationTable& generations,
                                        const CpuFactsTable& facts, const SkuCatalog* catalog);

// The host's curve scaled by the VM's share of its threads (logical_cpus / host threads): the
// catalog SKU's published curve when identity.sku is set, else `model`'s curve of a
// kHostChips-socket server of identity.facts, its uncertainty at each load point the relative
// half-width of the model's held-out 90 % interval there (SkuCurveEstimate::relative_half_width),
// one step wider unless the confidence is high. Throws std::invalid_argument when neither is
// available.
EstimateCurve identified_host_curve(const CpuIdentity& identity, const SkuCurveModel* model,
                                    const CpuFactsTable& facts, int logical_cpus);

}  // namespace pmc
