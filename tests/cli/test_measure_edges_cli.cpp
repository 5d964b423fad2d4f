// What a new user meets first in measure, list, doctor and the PAPI backend: tracepoints counted
// for real, list marking what cannot be counted here, PAPI's disabled component explained,
// cgroup2 found wherever it is mounted, -p or --duration with a command, the last -I interval.
#include <doctest/doctest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>

#include "test_support.h"

using namespace pmc::test;
using json = nlohmann::json;
namespace fs = std::filesystem;

namespace {

const json* find_event(const json& doc, const std::string& name) {
  for (const auto& e : doc["events"])
    if (e["name"] == name) return &e;
  return nullptr;
}

bool has_note(const json& doc, const std::string& text) {
  for (const auto& n : doc["notes"])
    if (n.get<std::string>().find(text) != std::string::npos) return true;
  return false;
}

json run_json(const ProcessResult& r) {
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  return json::parse(r.out);
}

// This test binary spinning in the background (test_main.cpp's children), killed at the end.
struct Background {
  pid_t pid = -1;
  explicit Background(const std::string& spec) {
    auto argv = child_command(spec);
    pid = ::fork();
    if (pid == 0) {
      std::vector<char*> args;
      for (auto& a : argv) args.push_back(a.data());
      args.push_back(nullptr);
      ::execv(args[0], args.data());
      ::_exit(127);
    }
  }
  ~Background() {
    ::kill(pid, SIGKILL);
    int status;
    ::waitpid(pid, &status, 0);
  }
};

}  // namespace

TEST_SUITE("kernel") {
  TEST_CASE("measure counts tracepoints: an exact syscall count, and a glob") {
    if (auto why = tracefs_unavailable(); !why.empty()) {
      MESSAGE("skipped: " << why);
      return;
    }
    auto child = child_command("getppid:777");
    auto r = run_process(pmcmodel({"measure", "-e", "syscalls:sys_enter_getppid", "-e", "sched:*",
                                   "--json", "-", "--", child[0], child[1], child[2]}));
    auto doc = run_json(r);
    const json* getppid = find_event(doc, "syscalls:sys_enter_getppid");
    REQUIRE(getppid != nullptr);
    CHECK((*getppid)["status"] == "counted");
    CHECK((*getppid)["pmu"] == "tracepoint");
    if (kUnderAsan) {
      // The sanitizer runtime's exit check calls getppid a few times in the child.
      CHECK((*getppid)["raw"].get<uint64_t>() >= 777);
      CHECK((*getppid)["raw"].get<uint64_t>() <= 777 + 8);
    } else {
      CHECK((*getppid)["raw"] == 777);
    }
    // sched:* stands for every scheduler tracepoint, each its own event.
    const json* exec = find_event(doc, "sched:sched_process_exec");
    REQUIRE(exec != nullptr);
    CHECK((*exec)["status"] == "counted");
    CHECK((*exec)["raw"].get<uint64_t>() >= 1);
    CHECK(find_event(doc, "sched:sched_switch") != nullptr);
    CHECK(r.err.find("syscalls:sys_enter_getppid") != std::string::npos);
  }

  TEST_CASE("list marks what cannot be counted here, with the reason, list --json for scripts") {
    auto r = run_process(pmcmodel({"list", "--json"}));
    auto doc = run_json(r);
    REQUIRE(doc["events"].is_array());
    const json* task_clock = find_event(doc, "task-clock");
    REQUIRE(task_clock != nullptr);
    CHECK((*task_clock)["countable"] == true);
    CHECK((*task_clock)["pmu"] == "software");
    const json* cycles = find_event(doc, "cycles");
    REQUIRE(cycles != nullptr);
    bool pmu_less = (*cycles)["countable"] == false;
    auto text = run_process(pmcmodel({"list", "cycles"}));
    REQUIRE(text.exit_code == 0);
    if (pmu_less) {
      // A VM without a virtual PMU: cycles and LLC-loads are listed as such, with the errno.
      CHECK((*cycles)["reason"].get<std::string>().find("ENOENT") != std::string::npos);
      const json* llc = find_event(doc, "LLC-loads");
      REQUIRE(llc != nullptr);
      CHECK((*llc)["countable"] == false);
      CHECK(text.out.find("cycles") != std::string::npos);
      CHECK(text.out.find("[not countable here: perf_event_open") != std::string::npos);
    } else {
      CHECK(text.out.find("not countable here") == std::string::npos);
    }
    if (tracefs_unavailable().empty()) {
      const json* tp = find_event(doc, "sched:sched_switch");
      REQUIRE(tp != nullptr);
      CHECK((*tp)["pmu"] == "tracepoint");
      CHECK((*tp)["source"] == "tracefs");
      CHECK(!tp->contains("probed_as"));  // the representative is itself opened
      // A full listing opens one tracepoint for the thousands (each close waits for the kernel
      // to unregister it); the others carry its result and say whose it is.
      const json* exec = find_event(doc, "sched:sched_process_exec");
      REQUIRE(exec != nullptr);
      CHECK((*exec)["probed_as"] == "sched:sched_switch");
      CHECK((*exec)["countable"] == (*tp)["countable"]);
      // ftrace's own are opened each: ftrace:function needs more than other tracepoints.
      if (const json* fn = find_event(doc, "ftrace:function")) CHECK(!fn->contains("probed_as"));
      // A pattern that names a few opens each of them.
      auto few = run_json(run_process(pmcmodel({"list", "--json", "sched_process_e"})));
      const json* one = find_event(few, "sched:sched_process_exec");
      REQUIRE(one != nullptr);
      CHECK(!one->contains("probed_as"));
      CHECK((*one)["countable"] == (*tp)["countable"]);
    }
  }

  TEST_CASE("-p PID -- cmd counts the process while the command runs, and says so") {
    Background spinner("spin:30");
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    auto pid = std::to_string(spinner.pid);
    double cpu_before = process_cpu_s(spinner.pid);
    auto wall_before = std::chrono::steady_clock::now();
    auto r = run_process(
        pmcmodel({"measure", "-p", pid, "-e", "task-clock", "--json", "-", "--", "sleep", "0.3"}));
    // The spinner's share of a CPU while pmcmodel ran: all of one on an idle machine, less on a
    // busy one.
    double share =
        (process_cpu_s(spinner.pid) - cpu_before) /
        std::chrono::duration<double>(std::chrono::steady_clock::now() - wall_before).count();
    auto doc = run_json(r);
    CHECK(doc["target"] == "pid");
    CHECK(doc["command"] == json::array({pid}));
    CHECK(doc["while_command"] == json::array({"sleep", "0.3"}));
    CHECK(doc["exit_status"] == 0);
    CHECK(r.err.find("process id '" + pid + "' while 'sleep 0.3' ran") != std::string::npos);
    // The spinner, not sleep, was counted: for about the CPU time it had in the window (sleep
    // alone would give a millisecond or two).
    const json* tc = find_event(doc, "task-clock");
    REQUIRE(tc != nullptr);
    CAPTURE(share);
    CHECK((*tc)["value"].get<double>() > 0.5 * share * doc["duration_s"].get<double>() * 1e3);
    CHECK((*tc)["value"].get<double>() > 10);
    CHECK(doc["duration_s"].get<double>() >= 0.3);
  }

  TEST_CASE("--duration with a command stops it as timeout does, and records that") {
    auto start = std::chrono::steady_clock::now();
    auto r = run_process(pmcmodel(
        {"measure", "-e", "task-clock", "--duration", "0.3", "--json", "-", "--", "sleep", "10"}));
    double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    CHECK(r.exit_code == 128 + SIGTERM);
    auto doc = json::parse(r.out);
    CHECK(doc["stopped_at_duration"] == true);
    CHECK(doc["signal"] == "SIGTERM");
    CHECK(doc["exit_status"] == 128 + SIGTERM);
    CHECK(has_note(doc, "stopped at --duration 0.3 s"));
    CHECK(doc["duration_s"].get<double>() >= 0.3);
    CHECK(wall < 5);
    SUBCASE("a command deaf to SIGTERM is killed 2 s later") {
      auto child = child_command("ignoreterm:20");
      auto k = run_process(pmcmodel({"measure", "-e", "task-clock", "--duration", "0.2", "--json",
                                     "-", "--", child[0], child[1], child[2]}));
      CHECK(k.exit_code == 128 + SIGKILL);
      auto d = json::parse(k.out);
      CHECK(d["signal"] == "SIGKILL");
      CHECK(d["stopped_at_duration"] == true);
      CHECK(d["duration_s"].get<double>() == doctest::Approx(2.2).epsilon(0.3));
    }
  }

  TEST_CASE("--duration stops the processes the command started too, as timeout stops its group") {
    // A shell that runs a program and waits for it: timeout(1) signals the process group, so the
    // program ends with the shell; signalling the shell alone left `sleep 30` running on. (Its
    // output goes elsewhere, so that pmcmodel's pipes close when pmcmodel ends.)
    auto dir = make_temp_dir("duration-tree");
    auto pid_file = (dir / "pid").string();
    auto r = run_process(
        pmcmodel({"measure", "-q", "-e", "task-clock", "--duration", "1", "--json", "-", "--", "sh",
                  "-c", "sleep 30 >/dev/null 2>&1 & echo $! > " + pid_file + "; wait"}));
    CHECK(r.exit_code == 128 + SIGTERM);
    auto text = read_file(pid_file);
    REQUIRE_MESSAGE(!text.empty(), "the shell did not start its program within 1 s");
    pid_t program = std::stoi(text);
    // Gone, or a zombie nobody reaped yet: /proc/PID/stat's state after the command's name.
    auto running = [&] {
      std::ifstream in("/proc/" + std::to_string(program) + "/stat");
      std::string stat;
      if (!std::getline(in, stat)) return false;
      auto close = stat.rfind(')');
      return close != std::string::npos && close + 2 < stat.size() && stat[close + 2] != 'Z';
    };
    // SIGTERM ends a sleeping process as soon as it is scheduled; allow a busy machine time.
    bool ended = false;
    for (int i = 0; i < 500 && !ended; ++i) {
      ended = !running();
      if (!ended) std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    if (!ended) ::kill(program, SIGKILL);
    CHECK(ended);
    std::filesystem::remove_all(dir);
  }

  TEST_CASE("-p PID alone ends when the process exits, and the document says so") {
    // The process spins for 0.2 s of CPU time and exits; --duration is only a backstop that a
    // run which missed the exit would wait for (and say so in stopped_at_duration's place).
    Background spinner("spin:0.2");
    auto pid = std::to_string(spinner.pid);
    auto r = run_process(pmcmodel(
        {"measure", "-q", "-p", pid, "-e", "task-clock", "--duration", "60", "--json", "-"}));
    auto doc = run_json(r);
    CHECK(doc["target"] == "pid");
    CHECK(doc["duration_s"].get<double>() < 60);
    CHECK(has_note(doc, "process " + pid + " exited"));
    const json* tc = find_event(doc, "task-clock");
    REQUIRE(tc != nullptr);
    CHECK((*tc)["status"] == "counted");
  }

  TEST_CASE("-p PID -r N stops repeating when the process has exited, keeping the runs made") {
    // The next run would find no process: it used to fail the whole command (-p PID: no such
    // process), losing the run that had counted it.
    Background spinner("spin:0.2");
    auto pid = std::to_string(spinner.pid);
    auto r = run_process(pmcmodel({"measure", "-q", "-p", pid, "-r", "3", "-e", "task-clock",
                                   "--duration", "60", "--json", "-"}));
    auto doc = run_json(r);
    CHECK(doc["runs"] == 1);
    CHECK(has_note(doc, "-r 3: stopped after run 1 of 3, as process " + pid + " exited"));
    CHECK((*find_event(doc, "task-clock"))["status"] == "counted");
  }

  TEST_CASE("-p takes a process id above 0: 0 and negative ids are refused, not counted") {
    // perf_event_open's pid 0 is the caller (pmcmodel would count itself) and -1 any process.
    for (const char* pid : {"0", "-5", "-1"}) {
      CAPTURE(pid);
      auto r = run_process(
          pmcmodel({"measure", "-p", pid, "-e", "task-clock", "--duration", "0.1", "--json", "-"}));
      CHECK(r.exit_code == 2);
      CHECK(r.out.empty());
      CHECK(r.err.find("expected a process id") != std::string::npos);
      CHECK(std::count(r.err.begin(), r.err.end(), '\n') == 1);
    }
  }

  TEST_CASE("-C counts a CPU named twice once, and refuses a CPU that is not online") {
    // cpu-clock counts wall time on each CPU it is opened on: CPU 0 alone gives the run's
    // duration once, where opening it twice would give twice that.
    auto r = run_process(pmcmodel({"measure", "-q", "-a", "-C", "0,0-0", "-e", "cpu-clock",
                                   "--duration", "0.3", "--json", "-"}));
    auto doc = run_json(r);
    const json* clock = find_event(doc, "cpu-clock");
    REQUIRE(clock != nullptr);
    CHECK((*clock)["value"].get<double>() * 1e-3 ==
          doctest::Approx(doc["duration_s"].get<double>()).epsilon(0.1));
    // tests/data/sysfs/no-pmu: devices/system/cpu/online is 0-3.
    std::string root = std::string(PMC_TEST_DATA) + "/sysfs/no-pmu";
    auto off = run_process(pmcmodel({"measure", "-a", "-C", "2-5", "-e", "cpu-clock", "--duration",
                                     "0.1", "--json", "-"}),
                           {"PMCMODEL_SYSFS_ROOT=" + root});
    CHECK(off.exit_code == 2);
    CHECK(off.out.empty());
    CHECK(off.err.find("CPU 4 is not online (online CPUs: 0-3") != std::string::npos);
  }

  TEST_CASE("-G with a directory that is not a cgroup says so, instead of not_supported events") {
    // The kernel refuses a cgroup's fd (EBADF) before it checks the right to count CPU-wide,
    // but a user held to user space is refused first (EACCES), with its own reason.
    if (geteuid() != 0) {
      MESSAGE("needs root");
      return;
    }
    auto r = run_process(
        pmcmodel({"measure", "-G", "/", "-e", "task-clock", "--duration", "0.1", "--json", "-"}));
    CHECK(r.exit_code != 0);
    CHECK(r.out.empty());
    CHECK(r.err.find("is not a cgroup the kernel can count") != std::string::npos);
  }

  TEST_CASE("-I: the last interval is labelled partial with its length, never zeros read late") {
    auto child = child_command("spin:0.25");
    for (const char* quiet : {"", "-q"}) {
      CAPTURE(quiet);
      std::vector<std::string> args = {"measure", "-I", "100", "-e", "task-clock", "--json", "-"};
      if (*quiet) args.push_back(quiet);
      args.insert(args.end(), {"--", child[0], child[1], child[2]});
      auto r = run_process(pmcmodel(args));
      auto doc = run_json(r);
      auto& intervals = doc["intervals"];
      REQUIRE(intervals.size() >= 2);
      for (size_t i = 0; i + 1 < intervals.size(); ++i)
        CHECK_FALSE(intervals[i].contains("partial"));
      const auto& last = intervals.back();
      CHECK(last["partial"] == true);
      CHECK(last["duration_s"].get<double>() <= 0.2);
      // Counted events of the last interval ran in it: a count read after the command had
      // ended would be a 0 with no enabled time.
      for (const auto& e : last["events"])
        if (e["status"] == "counted") CHECK(e["time_enabled_ns"].get<uint64_t>() > 0);
      if (!*quiet) {
        char expected[64];
        std::snprintf(expected, sizeof expected, "(partial interval: %.3f ms",
                      last["duration_s"].get<double>() * 1e3);
        CHECK(r.err.find(expected) != std::string::npos);
      }
    }
  }

  TEST_CASE("--backend papi with PAPI's perf_event component disabled says why and what to do") {
    auto r = run_process(pmcmodel({"measure", "--backend", "papi", "-e", "PAPI_TOT_CYC", "--json",
                                   "-", "--", "/bin/true"}),
                         {"PMCMODEL_PAPI_LIBRARY=" + std::string(PMC_FAKE_PAPI)});
    // Nothing could be counted: exit 1 with the reason, the document written all the same.
    CHECK(r.exit_code == 1);
    CHECK(r.err.find("no event could be counted (PAPI_TOT_CYC: not_supported") !=
          std::string::npos);
    auto doc = json::parse(r.out);
    const json* cyc = find_event(doc, "PAPI_TOT_CYC");
    REQUIRE(cyc != nullptr);
    CHECK((*cyc)["status"] == "not_supported");
    auto reason = (*cyc)["reason"].get<std::string>();
    CHECK(reason.find("perf_event component disabled: Unknown processor") != std::string::npos);
    CHECK(reason.find("use --backend perf_event") != std::string::npos);
    CHECK(r.err.find("unknown event") == std::string::npos);
  }
}

TEST_SUITE("kernel") {
  TEST_CASE("an unmatched CPU model gets the closest catalog SKUs by name and size") {
    auto r = run_process(pmcmodel({"measure", "-e", "task-clock", "--json", "-", "--", "true"}));
    auto doc = run_json(r);
    bool unmatched = has_note(doc, "no catalog SKU matches the CPU model");
    if (!unmatched) {
      MESSAGE("skipped: this machine's CPU model is in the catalog");
      return;
    }
    // This VM says "AMD EPYC" (no model number): either its host CPU is identified from what
    // the VM shows (a hypervisor flag, family/model, flags, caches), or the catalog's EPYC rows
    // nearest its size are offered.
    if (has_note(doc, "host CPU identified as")) {
      CHECK((has_note(doc, "high confidence") || has_note(doc, "medium confidence") ||
             has_note(doc, "low confidence")));
      return;
    }
    CHECK(has_note(doc, "closest by name and"));
    CHECK(has_note(doc, "(give one with --sku)"));
  }

  TEST_CASE("a masked VM's host CPU is in the document's machine, and compare takes its clock") {
    // A masked Emerald Rapids guest (tests/data/proc-cpuinfo): identified as the Platinum 8571N
    // (tests/models/test_cpu_identity.cpp says why), whose turbo is 4.0 GHz (Intel ARK).
    ReachableDir dir("masked-host", true);
    fs::create_directories(dir.path / "proc");
    fs::copy_file(std::string(PMC_TEST_DATA) + "/proc-cpuinfo/emr-vm-masked.cpuinfo",
                  dir.path / "proc/cpuinfo");
    auto doc_path = (dir.path / "vm.json").string();
    auto r =
        run_process(pmcmodel({"measure", "-e", "task-clock", "--json", doc_path, "--", "true"}),
                    {"PMCMODEL_PROCFS_ROOT=" + (dir.path / "proc").string()});
    REQUIRE(r.exit_code == 0);
    json doc = json::parse(std::ifstream(doc_path));
    const auto& machine = doc["machine"];
    CHECK(machine["cpu_model"] == "Intel(R) Xeon(R) Processor");
    CHECK(machine["host_cpu"] == "Intel Xeon Platinum 8571N Processor");
    CHECK(machine["host_cpu_ghz"] == 4.0);
    CHECK(machine["host_cpu_confidence"] == "medium");
    CHECK(has_note(doc, "host CPU identified as Intel Xeon Platinum 8571N Processor (medium"));

    // Projected onto the catalog, the VM's clock is the host's, said so, and not "unknown".
    auto c =
        run_process(pmcmodel({"compare", "--skus", std::string(PMC_SOURCE_DIR) + "/data/skus.csv",
                              "--top", "3", "--json", "-", doc_path}));
    REQUIRE(c.exit_code == 0);
    auto cmp = json::parse(c.out);
    int projected = 0;
    for (const auto& row : cmp["rows"]) {
      if (row["kind"] != "projected") continue;
      ++projected;
      std::string missing = row["missing_inputs"].dump();
      CHECK(missing.find("clock 4.00 GHz of the host CPU identified behind its masked CPU "
                         "model, Intel Xeon Platinum 8571N Processor (medium confidence)") !=
            std::string::npos);
      CHECK(missing.find("clock unknown") == std::string::npos);
    }
    CHECK(projected == 3);

    // A fixture machine's proc/ and sys/ as the roots, and measure's document there.
    auto roots = [](const fs::path& machine) {
      return std::vector<std::string>{"PMCMODEL_PROCFS_ROOT=" + (machine / "proc").string(),
                                      "PMCMODEL_SYSFS_ROOT=" + (machine / "sys").string()};
    };
    auto measured_on = [&](const fs::path& machine) {
      auto r = run_process(pmcmodel({"measure", "-e", "task-clock", "--json", "-", "--", "true"}),
                           roots(machine));
      REQUIRE(r.exit_code == 0);
      return json::parse(r.out);
    };

    // A sysfs root whose cpu0 cpufreq (intel_pstate) gives a 4.1 GHz maximum: of the two
    // Emerald Rapids CPUs at 2.4 GHz base, the Silver 4510 has that turbo (Intel ARK), not the
    // 8571N.
    // cpu0's sysfs files of a fixture machine: each written as one line.
    auto cpu0 = [](const fs::path& machine, const std::string& dir,
                   std::initializer_list<std::pair<const char*, const char*>> files) {
      fs::path at = machine / "sys/devices/system/cpu/cpu0" / dir;
      fs::create_directories(at);
      for (const auto& [name, text] : files) std::ofstream(at / name) << text << "\n";
    };
    cpu0(dir.path, "cpufreq",
         {{"cpuinfo_max_freq", "4100000"}, {"scaling_driver", "intel_pstate"}});
    json tdoc = measured_on(dir.path);
    CHECK(tdoc["machine"]["host_cpu"] == "Intel Xeon Silver 4510 Processor");
    CHECK(tdoc["machine"]["host_cpu_ghz"] == 4.1);
    CHECK(has_note(tdoc, "max frequency 4.10 GHz (cpufreq, intel_pstate: the highest turbo)"));
    // acpi-cpufreq's maximum is its top P-state: not read as a turbo.
    cpu0(dir.path, "cpufreq", {{"scaling_driver", "acpi-cpufreq"}});
    CHECK(measured_on(dir.path)["machine"]["host_cpu"] == "Intel Xeon Platinum 8571N Processor");

    // doctor says what the estimate would be made from, with the same identification.
    cpu0(dir.path, "cpufreq", {{"scaling_driver", "intel_pstate"}});
    auto doctor = run_process(pmcmodel({"doctor"}), roots(dir.path));
    REQUIRE(doctor.exit_code == 0);
    CHECK(doctor.out.find("[ ok ] energy estimate      no meter is read, so measure estimates "
                          "estimated:sku-curve:model:silver4510 (wall)") != std::string::npos);
    CHECK(doctor.out.find("host CPU identified as Intel Xeon Silver 4510 Processor (medium "
                          "confidence)") != std::string::npos);
    // Without the data directory there is nothing to estimate from: the check fails with a fix.
    auto no_data = roots(dir.path);
    no_data.push_back("PMCMODEL_DATA_DIR=" + (dir.path / "no-data").string());
    auto bare = run_process(pmcmodel({"doctor"}), no_data);
    REQUIRE(bare.exit_code == 0);
    CHECK(bare.out.find("[FAIL] energy estimate      no meter is read, and no estimate can be "
                        "made:") != std::string::npos);
    CHECK(bare.out.find("fix: set PMCMODEL_DATA_DIR") != std::string::npos);

    // An AMD guest (this project's Genoa VM) whose sysfs shows one CCX's 32 MB L3: the 3D V-Cache
    // EPYC 9684X, the only Genoa with its 2.6 GHz base clock, is ruled out (1152 MB is no whole
    // number of 32 MB CCXs with whole cores each: tests/models/test_cpu_identity.cpp), and the
    // 96-core 9654 taken.
    ReachableDir amd("masked-genoa", true);
    fs::create_directories(amd.path / "proc");
    fs::copy_file(std::string(PMC_TEST_DATA) + "/proc-cpuinfo/genoa-vm-masked.cpuinfo",
                  amd.path / "proc/cpuinfo");
    cpu0(amd.path, "cache/index3", {{"level", "3"}, {"type", "Unified"}, {"size", "32768K"}});
    json gdoc = measured_on(amd.path);
    CHECK(gdoc["machine"]["host_cpu"] == "AMD EPYC 9654");
    CHECK(has_note(gdoc, "L3 32 MB per CCX (sysfs cache/index3)"));
    cpu0(amd.path, "cache/index3", {{"level", "2"}});  // not an L3: not read
    CHECK(measured_on(amd.path)["machine"]["host_cpu"] == "AMD EPYC 9684X");

    // With --sku the CPU is given, not identified: no host_cpu.
    auto given = run_process(pmcmodel({"measure", "-e", "task-clock", "--sku", "aws-m5a.large",
                                       "--json", "-", "--", "true"}),
                             {"PMCMODEL_PROCFS_ROOT=" + (dir.path / "proc").string()});
    REQUIRE(given.exit_code == 0);
    CHECK_FALSE(json::parse(given.out)["machine"].contains("host_cpu"));
  }
}

TEST_SUITE("pure") {
  TEST_CASE("doctor finds cgroup2 where mountinfo says it is mounted (a hybrid host)") {
    ReachableDir dir("doctor-proc");
    fs::create_directories(dir.path / "self");
    std::ofstream(dir.path / "self/mountinfo")
        << "25 22 0:23 / /sys/fs/cgroup ro,nosuid - tmpfs tmpfs ro,mode=755\n"
           "26 25 0:24 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw,nsdelegate\n"
           "27 25 0:25 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu\n";
    auto r = run_process(pmcmodel({"doctor"}), {"PMCMODEL_PROCFS_ROOT=" + dir.path.string()});
    CHECK(r.exit_code == 0);
    CHECK(r.out.find("cgroup2 mounted at /sys/fs/cgroup/unified") != std::string::npos);
    CHECK(r.out.find("-G /sys/fs/cgroup/unified/system.slice") != std::string::npos);
    CHECK(r.out.find("systemd.unified_cgroup_hierarchy") == std::string::npos);
    SUBCASE("no cgroup2 at all: the fix") {
      std::ofstream(dir.path / "self/mountinfo")
          << "27 25 0:25 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu\n";
      auto none = run_process(pmcmodel({"doctor"}), {"PMCMODEL_PROCFS_ROOT=" + dir.path.string()});
      CHECK(none.out.find("no cgroup2 mount in") != std::string::npos);
      CHECK(none.out.find("systemd.unified_cgroup_hierarchy=1") != std::string::npos);
    }
  }
}
