#include "engine/session/doctor.h"

#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>

#include <fmt/format.h>
#include <perfmon/pfmlib.h>

#include "engine/counting/papi_counters.h"
#include "engine/counting/perf_event.h"
#include "engine/power/amdsmi.h"
#include "engine/power/energy_accounting.h"
#include "engine/power/nvml.h"
#include "engine/power/power_source.h"
#include "engine/session/machine.h"
#include "engine/system/data_dir.h"
#include "engine/system/fd.h"
#include "engine/system/mounts.h"
#include "engine/system/permissions.h"
#include "events/text/text.h"

namespace pmc {
namespace {

namespace fs = std::filesystem;

bool cpuinfo_has_flag(const SysRoot& root, const std::string& flag) {
  auto text = read_text(root.proc_path("cpuinfo"));
  if (!text) return false;
  auto pos = text->find("\nflags");
  if (pos == std::string::npos) return false;
  auto line = text->substr(pos, text->find('\n', pos + 1) - pos);
  return (line + " ").find(" " + flag + " ") != std::string::npos;
}

Check hardware_pmu(const SysRoot& root) {
  return hardware_pmu_check(probe_hardware_counters(), cpuinfo_has_flag(root, "hypervisor"), root,
                            read_perf_permissions(root));
}

}  // namespace

Check hardware_pmu_check(int open_errno, bool vm, const SysRoot& root,
                         const PerfPermissions& perms) {
  Check c{"hardware PMU", false, "", ""};
  if (open_errno == 0) {
    c.ok = true;
    c.detail = "cycles can be counted (PERF_TYPE_HARDWARE opens)";
    return c;
  }
  c.detail = std::string("perf_event_open(cycles) fails: ") + std::strerror(open_errno);
  // The probe counts user space only, which paranoid 2 allows: a refusal is the kernel's
  // policy for this user (Debian's paranoid 3, a seccomp profile), not a missing PMU.
  if (open_errno == EACCES || open_errno == EPERM) {
    c.detail += "; the kernel refused this user, which says nothing of the PMU";
    c.fix = permission_reason(root, perms, false);
    return c;
  }
  c.detail += vm ? "; this is a VM (cpuinfo flag 'hypervisor') without a virtual PMU" : "";
  c.fix = vm ? "enable the virtual PMU of the VM (KVM: -cpu host,pmu=on; cloud: a bare-metal or "
               "PMU-enabled instance type)"
             : "check dmesg for 'Performance Events' and that no other tool holds the counters";
  return c;
}

Check paranoid_check(const PerfPermissions& perms, bool user_space_opens) {
  Check c{"perf_event_paranoid", false, "", ""};
  std::string level = perms.paranoid ? std::to_string(*perms.paranoid) : "unreadable";
  c.detail = "level " + level +
             (perms.privileged ? ", and this user is privileged (root/CAP_PERFMON)" : "");
  if (perms.privileged || perms.paranoid.value_or(2) <= 0) {
    c.ok = true;
    c.detail += ": per-task, kernel and system-wide counting allowed";
  } else if (perms.paranoid.value_or(2) == 1) {
    c.ok = true;
    c.detail += ": per-task counting with kernel; system-wide (-a, -G) needs privileges";
    c.fix =
        "for -a: sudo sysctl kernel.perf_event_paranoid=0, or setcap cap_perfmon+ep on pmcmodel";
  } else if (perms.paranoid.value_or(2) >= 3 && !user_space_opens) {
    c.detail +=
        ": task-clock was refused for this user; above level 2 Debian's and Ubuntu's kernels "
        "refuse every perf_event_open of an unprivileged user (mainline treats it as 2)";
    c.fix =
        "sudo sysctl kernel.perf_event_paranoid=2 (user space, per task), 1 (kernel) or 0 "
        "(system-wide), or setcap cap_perfmon+ep on pmcmodel";
  } else {
    c.detail += ": user-space per-task counting only (pmcmodel sets exclude_kernel)";
    c.fix =
        "sudo sysctl kernel.perf_event_paranoid=1 (kernel) or 0 (system-wide), or setcap "
        "cap_perfmon+ep on pmcmodel";
  }
  return c;
}

namespace {

Check software_events() {
  Check c{"software events", false, "", ""};
  perf_event_attr attr{};
  attr.size = sizeof attr;
  attr.type = PERF_TYPE_SOFTWARE;
  attr.config = PERF_COUNT_SW_TASK_CLOCK;
  attr.exclude_kernel = 1;
  attr.exclude_hv = 1;
  Fd fd(int(syscall(SYS_perf_event_open, &attr, 0, -1, -1, PERF_FLAG_FD_CLOEXEC)));
  c.ok = fd.valid();
  c.detail = c.ok ? "task-clock opens" : std::string("task-clock fails: ") + std::strerror(errno);
  if (!c.ok)
    c.fix =
        "perf_event_open is blocked (seccomp in a container, or paranoid 3/4): run with "
        "--privileged or lower kernel.perf_event_paranoid";
  return c;
}

// The RAPL interfaces that exist, then whether the source measure would use counts: a domain
// that is present may still read 0 J (a VM exposing energy-psys alone), which only reading it
// over a short window tells.
Check rapl(const SysRoot& root) {
  Check c{"energy (RAPL)", false, "", ""};
  bool power_pmu = fs::exists(root.sys_path("bus/event_source/devices/power/events"));
  fs::path zone = root.sys_path("class/powercap/intel-rapl:0/energy_uj");
  bool powercap = fs::exists(zone);
  bool readable = powercap && std::ifstream(zone).good();
  c.detail =
      std::string("perf power PMU ") + (power_pmu ? "present" : "absent") + "; powercap " +
      (powercap ? (readable ? "readable" : "present but energy_uj is root-only (Linux >= 5.10)")
                : "absent");
  if (power_pmu || readable) {
    auto probe = probe_power_source(root, 0.1);
    char window[32];
    std::snprintf(window, sizeof window, "%.1f s", probe.window_s);
    if (!probe.counting.empty())
      c.detail += "; " + probe.method + ": " + join(probe.counting) +
                  " present and counting (advanced over " + std::string(window) + ")";
    if (!probe.silent.empty())
      c.detail += "; " + probe.method + ": " + join(probe.silent) +
                  " present, not counting (0 J over " + std::string(window) + ")";
    if (probe.method.empty()) c.detail += "; no source opens: " + probe.reason_if_none;
    c.ok = !probe.counting.empty();
    if (!c.ok && !probe.method.empty()) {
      c.fix =
          "the power domains exist but do not count here (a hypervisor exposing the counters "
          "without the energy behind them): measure estimates energy instead, or reads a wall "
          "meter's log or the BMC with --power-from FILE|ipmi";
      return c;
    }
  }
  if (!c.ok)
    c.fix = powercap
                ? "run as root, or grant read access to one group: sudo chgrp power "
                  "/sys/class/powercap/intel-rapl:*/energy_uj && chmod g+r (never world-readable)"
                : "no RAPL here (VM or unsupported CPU): energy is estimated, or use --power-from";
  return c;
}

// cgroup2 may be mounted anywhere: /sys/fs/cgroup on a unified host, /sys/fs/cgroup/unified on
// systemd's hybrid layout (v1 controllers beside it), so mountinfo is read rather than one path.
// -G needs the hierarchy that has the perf_event controller, which /proc/cgroups may bind to v1.
Check cgroup_v2(const SysRoot& root) {
  Check c{"cgroup v2", false, "", ""};
  bool readable = false;
  auto mount = cgroup2_mount_point(root, &readable);
  std::string mountinfo = root.proc_path("self/mountinfo").string();
  PerfEventCgroup perf = perf_event_cgroup(root);
  if (perf.v1) {
    std::string v2 = mount ? "cgroup2 is mounted at " + *mount + ", but " : "";
    c.ok = perf.mount.has_value();
    if (c.ok) {
      c.detail = v2 + "the perf_event controller is on a cgroup v1 hierarchy (" +
                 root.proc_path("cgroups").string() + "), mounted at " + *perf.mount +
                 ": -G takes a path under it, e.g. -G " + *perf.mount + "/system.slice";
    } else {
      c.detail = v2 + "the perf_event controller is on a cgroup v1 hierarchy (" +
                 root.proc_path("cgroups").string() + ") that is not mounted";
      c.fix =
          "mount it (sudo mkdir -p /sys/fs/cgroup/perf_event && sudo mount -t cgroup -o "
          "perf_event none /sys/fs/cgroup/perf_event) to use -G";
    }
    return c;
  }
  if (mount) {
    c.ok = true;
    c.detail = "cgroup2 mounted at " + *mount + " (" + mountinfo + ")";
    if (*mount != "/sys/fs/cgroup")
      c.detail += "; a hybrid layout: -G takes a path under " + *mount + ", e.g. -G " + *mount +
                  "/system.slice";
    return c;
  }
  c.detail = readable ? "no cgroup2 mount in " + mountinfo
                      : "cannot read " + mountinfo + " to find a cgroup2 mount";
  c.fix =
      "mount one (sudo mount -t cgroup2 none /sys/fs/cgroup/unified), or boot with "
      "systemd.unified_cgroup_hierarchy=1, to use -G";
  return c;
}

Check libpfm() {
  Check c{"libpfm4 PMU", false, "", ""};
  int r = pfm_initialize();
  if (r != PFM_SUCCESS) {
    c.detail = std::string("pfm_initialize: ") + pfm_strerror(r);
    c.fix = "reinstall libpfm4";
    return c;
  }
  std::string present;
  for (int p = 0; p < PFM_PMU_MAX; ++p) {
    pfm_pmu_info_t info{};
    info.size = sizeof info;
    if (pfm_get_pmu_info(pfm_pmu_t(p), &info) != PFM_SUCCESS || !info.is_present) continue;
    if (info.type == PFM_PMU_TYPE_CORE) c.ok = true;
    present += (present.empty() ? "" : ", ") + std::string(info.name);
  }
  c.detail = "present: " + (present.empty() ? std::string("none") : present);
  const char* forced = std::getenv("LIBPFM_FORCE_PMU");
  if (forced != nullptr && *forced != '\0')
    c.detail += std::string(" (LIBPFM_FORCE_PMU=") + forced + " is set)";
  // As the resolver's hint says: forcing another CPU's table encodes with that CPU's codes,
  // and the counts are wrong with no error.
  if (!c.ok)
    c.fix =
        "no core PMU detected (VM or CPU newer than this libpfm4): give native events by their "
        "encoding from the CPU's event list (cpu/event=0xc0,umask=0x0/), or install a newer "
        "libpfm4; LIBPFM_FORCE_PMU=<pmu> only for a CPU libpfm4 lists but cannot detect (a VM "
        "hiding the model), naming that CPU: another CPU's table gives wrong counts without an "
        "error";
  return c;
}

Check papi() {
  Check c{"PAPI", false, "", ""};
  auto st = papi_status();
  if (!st.available) {
    c.detail = "libpapi not loadable";
    c.fix = "apt-get install libpapi7.0t64 (or libpapi-dev)";
    return c;
  }
  std::string comps;
  for (const auto& [name, reason] : st.components) {
    comps +=
        (comps.empty() ? "" : "; ") + name + (reason.empty() ? " active" : " disabled: " + reason);
    if (name == "perf_event" && reason.empty()) c.ok = true;
  }
  c.detail = "PAPI " + st.version + ": " + comps;
  if (!c.ok) c.fix = "PAPI's perf_event component needs a core PMU that libpfm4 detects";
  return c;
}

// NVIDIA GPUs through NVML: the library, the driver, each GPU and how its energy is read. A
// machine with no sign of an NVIDIA driver is not a failure: there is nothing to measure.
Check gpu(const SysRoot& root) {
  Check c{"GPU (NVML)", false, "", ""};
  auto st = nvml_status();
  std::error_code ec;
  bool driver_present = fs::exists(root.proc_path("driver/nvidia"), ec);
  if (!st.loaded) {
    c.ok = !driver_present;
    c.detail = st.problem;
    c.detail += driver_present ? "; the NVIDIA driver is loaded (" +
                                     root.proc_path("driver/nvidia").string() + ")"
                               : "; no NVIDIA driver here, so no GPU is measured";
    c.fix =
        "on a machine with an NVIDIA GPU: install the driver's NVML library (libnvidia-ml.so.1: "
        "Debian nvidia-smi/libnvidia-ml1 from non-free, or the CUDA driver package), or name it "
        "with PMCMODEL_NVML_LIBRARY=/path/to/libnvidia-ml.so.1";
    return c;
  }
  if (!st.problem.empty()) {
    c.detail = st.library + " loaded, but " + st.problem;
    c.fix =
        st.problem.find("/dev/nvidia") != std::string::npos
            ? "add this user to the group that owns /dev/nvidia* (often 'video'), or run as root"
            : "check the driver with nvidia-smi; a container needs the GPU passed in "
              "(--gpus all, the NVIDIA container toolkit)";
    return c;
  }
  c.ok = true;
  c.detail = st.library + ", driver " + (st.driver.empty() ? "unknown" : st.driver);
  for (const auto& g : st.gpus)
    c.detail += "; gpu" + std::to_string(g.index) + " " + g.name + ": energy " + g.energy_method;
  return c;
}

// AMD GPUs through AMD SMI: the library, each GPU (numbered after NVML's) and whether its energy
// counter answers. A machine without the amdgpu driver is not a failure.
Check amd_gpu(const SysRoot& root) {
  Check c{"GPU (AMD SMI)", false, "", ""};
  unsigned first = unsigned(nvml_status().gpus.size());
  auto st = amdsmi_status(first);
  std::error_code ec;
  auto module = root.sys_path("module/amdgpu");
  bool driver_present = fs::exists(module, ec);
  if (!st.loaded) {
    c.ok = !driver_present;
    c.detail = st.problem;
    c.detail += driver_present ? "; the amdgpu driver is loaded (" + module.string() + ")"
                               : "; no amdgpu driver here, so no AMD GPU is measured";
    c.fix =
        "on a machine with an AMD GPU: install ROCm's AMD SMI library (libamd_smi.so: the "
        "amd-smi-lib package), or name it with PMCMODEL_AMDSMI_LIBRARY=/path/to/libamd_smi.so";
    return c;
  }
  if (!st.problem.empty()) {
    c.detail = st.library + " loaded, but " + st.problem;
    c.fix =
        st.problem.find("/dev/kfd") != std::string::npos
            ? "add this user to the groups that own /dev/kfd and /dev/dri/renderD* (render, "
              "video), or run as root"
            : "check the driver with amd-smi; a container needs /dev/kfd and /dev/dri passed in";
    return c;
  }
  c.detail = st.library + (st.driver.empty() ? "" : ", driver " + st.driver);
  for (const auto& g : st.gpus) {
    c.detail += "; gpu" + std::to_string(g.index) + " " + g.name + ": energy " + g.energy_method;
    if (g.energy_method.starts_with("measured:")) c.ok = true;
  }
  if (!c.ok)
    c.fix =
        "no AMD GPU's energy counter answers: AMD SMI does not support it in VM guests; on "
        "bare metal, update the driver and firmware";
  return c;
}

std::string percent(double u) {
  return fmt::format("±{:.0f}%", u * 100);
}

// What measure's energy estimate would be made from on this machine, where no meter is read: the
// same EnergyRecorder measure opens (GPUs left out: their lines are above).
Check energy_estimate_check(const SysRoot& root) {
  Check c{"energy estimate", false, "", ""};
  try {
    EnergySettings settings;
    settings.data_dir = find_data_dir().path;
    settings.gpus = "none";
    EnergyRecorder recorder(settings, root, read_machine_info(root), false);
    auto plan = recorder.estimate_plan();
    std::string meter = recorder.machine_method();
    std::string when = meter.empty()
                           ? "no meter is read, so measure estimates"
                           : "measure reads " + meter + "; where that does not count, it estimates";
    if (plan.method.empty()) {
      c.detail = when.substr(0, when.find(',')) + ", and no estimate can be made: " + plan.problem;
      c.fix =
          "set PMCMODEL_DATA_DIR to pmcmodel's data directory (skus.csv), or give --sku, "
          "--catalog or --power-from to measure";
      return c;
    }
    double u0 = plan.idle_uncertainty, u1 = plan.full_uncertainty;
    std::string range = std::abs(u0 - u1) < 0.005
                            ? percent(u0)
                            : percent(u0) + " at idle to " + percent(u1) + " at 100% load";
    c.ok = true;
    c.detail =
        fmt::format("{} {} ({}): {:.2f} W idle to {:.2f} W at 100% load, {}; {}", when, plan.method,
                    plan.domain, plan.idle_watts, plan.full_watts, range, plan.basis);
  } catch (const std::exception& e) {
    c.detail = e.what();
  }
  return c;
}

}  // namespace

std::vector<Check> run_checks(const SysRoot& root) {
  Check software = software_events();
  return {hardware_pmu(root),
          software,
          paranoid_check(read_perf_permissions(root), software.ok),
          rapl(root),
          cgroup_v2(root),
          libpfm(),
          papi(),
          gpu(root),
          amd_gpu(root),
          energy_estimate_check(root)};
}

}  // namespace pmc
