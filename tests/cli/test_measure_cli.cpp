// pmcmodel as a user runs it: exit codes, signals, errors, output files.
#include <doctest/doctest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "test_support.h"

using namespace pmc::test;
using json = nlohmann::json;

namespace {

std::string temp_path(const std::string& name) {
  return (std::filesystem::temp_directory_path() /
          ("pmc-cli-" + std::to_string(getpid()) + "-" + name))
      .string();
}

bool one_line(const std::string& s) {
  return !s.empty() && s.find('\n') == s.size() - 1;
}

const json* find_event(const json& doc, const std::string& name) {
  for (const auto& e : doc["events"])
    if (e["name"] == name) return &e;
  return nullptr;
}

}  // namespace

TEST_SUITE("kernel") {
  TEST_CASE("measure exits with the command's status and writes the document") {
    auto path = temp_path("exit.json");
    auto cmd = child_command("exit:3");
    std::vector<std::string> args = {"measure", "-e", "task-clock,page-faults",
                                     "--json",  path, "--"};
    args.insert(args.end(), cmd.begin(), cmd.end());
    auto r = run_process(pmcmodel(args));
    CHECK(r.exit_code == 3);
    auto doc = json::parse(read_file(path));
    CHECK(doc["schema"] == "pmcmodel.measurement/1");
    CHECK(doc["exit_status"] == 3);
    REQUIRE(find_event(doc, "task-clock") != nullptr);
    CHECK((*find_event(doc, "task-clock"))["status"] == "counted");
    CHECK(doc["machine"]["logical_cpus"].get<int>() == int(sysconf(_SC_NPROCESSORS_ONLN)));
    CHECK(r.err.find("task-clock") != std::string::npos);  // the table is on stderr
    std::filesystem::remove(path);
  }

  TEST_CASE("a command killed by a signal is named and gives 128+N") {
    auto cmd = child_command("raise:" + std::to_string(SIGSEGV));
    std::vector<std::string> args = {"measure", "-e", "task-clock", "--"};
    args.insert(args.end(), cmd.begin(), cmd.end());
    auto r = run_process(pmcmodel(args));
    CHECK(r.exit_code == 128 + SIGSEGV);
    CHECK(r.err.find("SIGSEGV") != std::string::npos);
  }

  TEST_CASE("SIGINT sent to pmcmodel is forwarded and the counts so far are reported") {
    auto path = temp_path("sigint.json");
    auto cmd = child_command("sleep:30");
    std::vector<std::string> args = {"measure", "-e", "task-clock,context-switches",
                                     "--json",  path, "--"};
    args.insert(args.end(), cmd.begin(), cmd.end());
    auto start = std::chrono::steady_clock::now();
    auto r = run_process(pmcmodel(args), {}, 0.5);
    double took = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    CHECK(took < 10);  // the command did not sleep its 30 s
    CHECK(r.exit_code == 128 + SIGINT);
    auto doc = json::parse(read_file(path));
    CHECK(doc["signal"] == "SIGINT");
    CHECK((*find_event(doc, "task-clock"))["status"] == "counted");
    bool noted = false;
    for (const auto& n : doc["notes"])
      noted |= n.get<std::string>().find("interrupted by SIGINT") != std::string::npos;
    CHECK(noted);
    std::filesystem::remove(path);
  }

  TEST_CASE("-a ended by SIGINT writes its document, then dies of SIGINT as perf stat does") {
    auto path = temp_path("sigint-a.json");
    auto r = run_process(pmcmodel({"measure", "-a", "-e", "task-clock", "--json", path}), {}, 1.0);
    // Killed by the signal itself (WIFSIGNALED), not an exit(130): a shell loop that was sent ^C
    // stops only then.
    CHECK(r.term_signal == SIGINT);
    auto doc = json::parse(read_file(path));
    REQUIRE(find_event(doc, "task-clock") != nullptr);
    CHECK((*find_event(doc, "task-clock"))["status"] == "counted");
    bool noted = false;
    for (const auto& n : doc["notes"])
      noted |= n.get<std::string>().find("interrupted by SIGINT") != std::string::npos;
    CHECK(noted);
    CHECK(r.err.find("task-clock") != std::string::npos);  // the table was printed first
    std::filesystem::remove(path);
  }

  TEST_CASE("a command's run ended by SIGINT exits with the command's status, not the signal") {
    // The child ignores nothing: the forwarded SIGINT kills it, and pmcmodel exits 128+2 itself.
    auto cmd = child_command("sleep:30");
    std::vector<std::string> args = {"measure", "-e", "task-clock", "--"};
    args.insert(args.end(), cmd.begin(), cmd.end());
    auto r = run_process(pmcmodel(args), {}, 1.0);
    CHECK(r.exit_code == 128 + SIGINT);
    CHECK(r.term_signal == 0);
  }

  TEST_CASE("a command that cannot be run gives one line and 127 or 126") {
    auto r = run_process(pmcmodel({"measure", "--", "/nonexistent/pmc-cmd"}));
    CHECK(r.exit_code == 127);
    CHECK(one_line(r.err));
    CHECK(r.err.find("/nonexistent/pmc-cmd") != std::string::npos);
    auto path = temp_path("noexec");
    { std::ofstream(path) << "x"; }
    std::filesystem::permissions(path, std::filesystem::perms::owner_read);
    r = run_process(pmcmodel({"measure", "--", path}));
    CHECK(r.exit_code == 126);
    std::filesystem::remove(path);
  }

  TEST_CASE("bad input gives a one-line error and a non-zero exit") {
    struct Case {
      std::vector<std::string> args;
      std::string mentions;
    };
    std::vector<Case> cases = {
        {{"measure", "--bogus-option", "--", "true"}, "bogus"},
        {{"measure", "-e", "", "--", "true"}, "empty"},
        {{"measure", "-e", "cpu/bogus=1/", "--", "true"}, "bogus"},
        {{"measure", "-e", "cycels", "--", "true"}, "cycles"},
        {{"measure", "-I", "0", "--", "true"}, "interval"},
        {{"measure", "-r", "0", "--", "true"}, "repeat"},
        {{"nosuchcommand"}, "nosuchcommand"},
        // An empty value read as the option not given: no file and exit 0, the default
        // workload counted instead of the cgroup, every CPU instead of a list.
        {{"measure", "--json", "", "--", "true"}, "--json: expected a file name"},
        {{"measure", "--csv", "", "--", "true"}, "--csv: expected a file name"},
        {{"measure", "-G", "", "--duration", "0.1"}, "--cgroup: expected a cgroup path"},
        {{"measure", "-a", "-C", "", "--duration", "0.1"}, "--cpus: expected a CPU list"},
        // A range far past any Linux CPU number was expanded before any check (8 GB).
        {{"measure", "-a", "-C", "0-2000000000", "--duration", "0.1"}, "CPUs 0 to 65535"},
    };
    for (const auto& c : cases) {
      CAPTURE(c.args[1]);
      auto r = run_process(pmcmodel(c.args));
      CHECK(r.exit_code == 2);
      CHECK(one_line(r.err));
      CHECK(r.err.find(c.mentions) != std::string::npos);
    }
  }

  TEST_CASE("--interval-out without -I is refused, and creates no file") {
    // Without -I there are no intervals to stream: the option did nothing but leave an empty
    // file.
    auto path = temp_path("no-interval.jsonl");
    std::filesystem::remove(path);
    for (auto option : {std::vector<std::string>{"--interval-out", path},
                        std::vector<std::string>{"--interval-format", "csv"}}) {
      CAPTURE(option[0]);
      std::vector<std::string> args = {"measure", "-q", "-e", "task-clock"};
      args.insert(args.end(), option.begin(), option.end());
      args.insert(args.end(), {"--", "/bin/true"});
      auto r = run_process(pmcmodel(args));
      CHECK(r.exit_code == 2);
      CHECK(one_line(r.err));
      CHECK(r.err.find(option[0] + " requires --interval") != std::string::npos);
      CHECK_FALSE(std::filesystem::exists(path));
    }
  }

  TEST_CASE("two outputs to stdout, or to one file, are refused before the run") {
    auto path = temp_path("same.out");
    std::filesystem::remove(path);
    struct Case {
      std::vector<std::string> outputs;
      std::string mentions;
    };
    std::vector<Case> cases = {
        {{"--json", "-", "--csv", "-"}, "--json and --csv both write to stdout"},
        {{"-I", "50", "--json", "-", "--interval-out", "-"},
         "--json and --interval-out both write to stdout"},
        {{"--json", path, "--csv", path}, "are the same file"},
        // The same file under another name: a ./ and a folder that leads back to it.
        {{"--json", path, "--csv",
          (std::filesystem::path(path).parent_path() / "." / std::filesystem::path(path).filename())
              .string()},
         "are the same file"},
    };
    for (const auto& c : cases) {
      CAPTURE(c.mentions);
      std::vector<std::string> args = {"measure", "-q", "-e", "task-clock"};
      args.insert(args.end(), c.outputs.begin(), c.outputs.end());
      args.insert(args.end(), {"--", "/bin/true"});
      auto r = run_process(pmcmodel(args));
      CHECK(r.exit_code == 2);
      CHECK(r.out.empty());
      CHECK(one_line(r.err));
      CHECK(r.err.find(c.mentions) != std::string::npos);
      CHECK_FALSE(std::filesystem::exists(path));
    }
  }

  TEST_CASE("an output file is never left half-written") {
    auto dir = temp_path("nodir");
    auto r = run_process(pmcmodel(
        {"measure", "-e", "task-clock", "--json", dir + "/sub/out.json", "--", "/bin/true"}));
    CHECK(r.exit_code != 0);
    CHECK_FALSE(std::filesystem::exists(dir + "/sub/out.json"));
  }

  TEST_CASE("the default workload is counted with no argument and hardware events are explained") {
    auto path = temp_path("default.json");
    double steal_before = machine_steal_s();
    auto r = run_process(pmcmodel({"measure", "--workload-seconds", "0.2", "--json", path}));
    double steal_s = machine_steal_s() - steal_before;
    CHECK(r.exit_code == 0);
    auto doc = json::parse(read_file(path));
    CHECK(doc["command"][0] == "pmcmodel");
    CHECK(doc["command"][1] == "workload");
    const json* tc = find_event(doc, "task-clock");
    REQUIRE(tc != nullptr);
    // The kernel is busy for 0.2 s of wall time; how much CPU it gets depends on the machine's
    // load, so task-clock is checked against the child's own rusage, which the kernel keeps
    // independently of perf_event.
    double task_ms = (*tc)["value"].get<double>();
    double rusage_ms = 1e3 * (doc["user_s"].get<double>() + doc["sys_s"].get<double>());
    CHECK(task_ms > 20.0);
    CAPTURE(steal_s);
    CHECK(std::abs(task_ms - rusage_ms) <= 0.15 * rusage_ms + 1e3 * steal_s);
    bool cpus = false;
    for (const auto& m : doc["metrics"]) cpus |= m["name"] == "cpus_utilized";
    CHECK(cpus);
    std::filesystem::remove(path);
  }

  TEST_CASE("interval streaming writes one flushed record per interval") {
    auto path = temp_path("iv.jsonl");
    auto doc_path = temp_path("iv.json");
    auto cmd = child_command("spin:0.35");
    std::vector<std::string> args = {"measure",        "-q", "-e",     "task-clock", "-I", "100",
                                     "--interval-out", path, "--json", doc_path,     "--"};
    args.insert(args.end(), cmd.begin(), cmd.end());
    auto r = run_process(pmcmodel(args));
    CHECK(r.exit_code == 0);
    auto text = read_file(path);
    int lines = 0;
    double total_ms = 0;
    size_t pos = 0;
    while (pos < text.size()) {
      auto nl = text.find('\n', pos);
      auto rec = json::parse(text.substr(pos, nl - pos));
      total_ms += rec["events"][0]["value"].get<double>();
      ++lines;
      pos = nl + 1;
    }
    CHECK(lines >= 3);
    auto doc = json::parse(read_file(doc_path));
    // The streamed deltas add up to the total, which covers the 0.35 s spin (plus the child's
    // start-up, which is large under sanitizers).
    CHECK(total_ms == doctest::Approx(doc["events"][0]["value"].get<double>()).epsilon(0.001));
    CHECK(total_ms >= 340);
    CHECK(doc["intervals"].size() == size_t(lines));
    std::filesystem::remove(path);
    std::filesystem::remove(doc_path);
  }

  TEST_CASE("-r N streams every run's intervals, each record naming its run") {
    auto jsonl = temp_path("runs.jsonl");
    auto csv = temp_path("runs.csv");
    auto doc_path = temp_path("runs.json");
    auto cmd = child_command("spin:0.25");
    std::vector<std::string> args = {
        "measure", "-q",     "-e",     "task-clock",     "-r",  "2", "-I",
        "100",     "--json", doc_path, "--interval-out", jsonl, "--"};
    args.insert(args.end(), cmd.begin(), cmd.end());
    REQUIRE(run_process(pmcmodel(args)).exit_code == 0);
    std::istringstream lines(read_file(jsonl));
    std::string line;
    double sum[3] = {0, 0, 0};
    int count[3] = {0, 0, 0}, last_run = 0;
    while (std::getline(lines, line)) {
      auto rec = json::parse(line);
      REQUIRE(rec.contains("run"));
      int run = rec["run"].get<int>();
      REQUIRE((run == 1 || run == 2));
      CHECK(run >= last_run);  // run 2's records follow run 1's
      last_run = run;
      sum[run] += rec["events"][0]["value"].get<double>();
      ++count[run];
    }
    CHECK(count[1] >= 2);
    CHECK(count[2] >= 2);
    // The document holds the mean of the two runs: each run's streamed deltas add up to its own
    // total, so their mean is the document's.
    auto doc = json::parse(read_file(doc_path));
    CHECK((sum[1] + sum[2]) / 2 ==
          doctest::Approx(doc["events"][0]["value"].get<double>()).epsilon(0.001));

    args[args.size() - cmd.size() - 2] = csv;  // the --interval-out path
    args.insert(args.begin() + 1, {"--interval-format", "csv"});
    REQUIRE(run_process(pmcmodel(args)).exit_code == 0);
    std::istringstream rows(read_file(csv));
    REQUIRE(std::getline(rows, line));
    CHECK(line.rfind("run,time_s,duration_s,kind,name,", 0) == 0);
    auto columns = std::count(line.begin(), line.end(), ',');
    int seen[3] = {0, 0, 0};
    while (std::getline(rows, line)) {
      if (line.find(",event,task-clock,") == std::string::npos) continue;
      CHECK(std::count(line.begin(), line.end(), ',') == columns);
      int run = line[0] - '0';
      REQUIRE((line[1] == ',' && (run == 1 || run == 2)));
      ++seen[run];
    }
    CHECK(seen[1] >= 2);
    CHECK(seen[2] >= 2);
    for (const auto& p : {jsonl, csv, doc_path}) std::filesystem::remove(p);
  }

  TEST_CASE("a run refused before it measures leaves --interval-out as it was") {
    // An unknown event, or a command that cannot run: nothing was measured, so an earlier
    // stream is not truncated and no empty one is created.
    auto path = temp_path("refused.jsonl");
    struct Case {
      std::vector<std::string> args;
      int exit_code;
    };
    std::vector<Case> cases = {{{"-e", "nosuchevent", "--", "/bin/true"}, 2},
                               {{"-e", "task-clock", "--", "/nonexistent/cmd"}, 127}};
    for (const auto& c : cases) {
      CAPTURE(c.args[1]);
      for (bool existed : {true, false}) {
        CAPTURE(existed);
        std::filesystem::remove(path);
        if (existed) std::ofstream(path) << "earlier\n";
        std::vector<std::string> args = {"measure", "-q", "-I", "50", "--interval-out", path};
        args.insert(args.end(), c.args.begin(), c.args.end());
        auto r = run_process(pmcmodel(args));
        CHECK(r.exit_code == c.exit_code);
        CHECK(std::filesystem::exists(path) == existed);
        if (existed) CHECK(read_file(path) == "earlier\n");
      }
    }
    std::filesystem::remove(path);
  }

  TEST_CASE("-I: an interval in which the command sleeps counts 0, not <not counted>") {
    // A per-task event's enabled time stands still while the command is off the CPU, so an
    // interval of sleep has no enabled time and nothing counted: exactly 0. Both interval paths
    // (deferred with -q, built at each tick with --interval-out) give it.
    for (bool live : {false, true}) {
      CAPTURE(live);
      auto doc_path = temp_path("ivsleep.json"), stream = temp_path("ivsleep.jsonl");
      auto cmd = child_command("sleep:0.45");
      std::vector<std::string> args = {"measure", "-q",  "-e",     "task-clock,page-faults",
                                       "-I",      "100", "--json", doc_path};
      if (live) args.insert(args.end(), {"--interval-out", stream});
      args.push_back("--");
      args.insert(args.end(), cmd.begin(), cmd.end());
      auto r = run_process(pmcmodel(args));
      REQUIRE_MESSAGE(r.exit_code == 0, r.err);
      auto doc = json::parse(read_file(doc_path));
      int asleep = 0;
      double sum_ms = 0;
      for (const auto& iv : doc["intervals"]) {
        for (const auto& e : iv["events"]) {
          CHECK(e["status"] == "counted");
          REQUIRE(e["value"].is_number());
          if (e["name"] == "task-clock") sum_ms += e["value"].get<double>();
        }
        if (iv["events"][0]["time_enabled_ns"] == 0) {
          ++asleep;
          CHECK(iv["events"][0]["value"] == 0.0);
          CHECK(iv["events"][1]["value"] == 0.0);
        }
      }
      // 0.45 s of sleep holds at least two whole 100 ms intervals, however late the child starts.
      CHECK(asleep >= 2);
      CHECK(sum_ms == doctest::Approx(doc["events"][0]["value"].get<double>()).epsilon(1e-9));
      std::filesystem::remove(doc_path);
      std::filesystem::remove(stream);
    }
  }

  TEST_CASE("-r N reports mean and standard deviation") {
    auto path = temp_path("rep.json");
    auto cmd = child_command("spin:0.05");
    std::vector<std::string> args = {"measure",    "-q",     "-r", "3", "-e",
                                     "task-clock", "--json", path, "--"};
    args.insert(args.end(), cmd.begin(), cmd.end());
    auto cpu_file = temp_path("rep-cpu.txt");
    std::filesystem::remove(cpu_file);
    double steal_before = machine_steal_s();
    auto r = run_process(pmcmodel(args), {"PMC_TEST_CHILD_CPU_FILE=" + cpu_file});
    double steal_ms = 1e3 * (machine_steal_s() - steal_before) / 3;  // per run, as the means are
    CHECK(r.exit_code == 0);
    auto doc = json::parse(read_file(path));
    CHECK(doc["runs"] == 3);
    CHECK(doc["events"][0].contains("stddev"));
    // Mean task-clock against the mean CPU time of the runs from wait4 rusage. rusage also holds
    // what the child spent before the exec that enables the counters (the parent's code after
    // fork, and exec tearing down the parent's address space: milliseconds for a large or
    // sanitized parent, more on a loaded machine), so task-clock may fall short of it by that
    // much, and no more: the CPU time the child had used when its main began bounds it.
    std::istringstream lines(read_file(cpu_file));
    double before_main_ms = 0;
    int children = 0;
    for (double s = 0; lines >> s; ++children) before_main_ms += 1e3 * s;
    REQUIRE(children == 3);
    before_main_ms /= children;
    double cpu_ms = (doc["user_s"].get<double>() + doc["sys_s"].get<double>()) * 1e3;
    double task_ms = doc["events"][0]["value"].get<double>();
    CAPTURE(steal_ms);
    CAPTURE(before_main_ms);
    CAPTURE(cpu_ms);
    // task-clock runs on the perf clock, which also advances through steal and interrupt time
    CHECK(task_ms <= 1.1 * cpu_ms + steal_ms);
    CHECK(task_ms >= cpu_ms - before_main_ms - 0.01 * cpu_ms);  // 1 %: rusage's microseconds
    CHECK(task_ms >= 50);
    std::filesystem::remove(path);
    std::filesystem::remove(cpu_file);
  }

  TEST_CASE("an unprivileged user under paranoid 2 counts user space only, and is told so") {
    auto paranoid = read_file("/proc/sys/kernel/perf_event_paranoid");
    if (geteuid() != 0 || access("/usr/bin/setpriv", X_OK) != 0 ||
        std::atoi(paranoid.c_str()) < 2) {
      MESSAGE("skipped: needs root, setpriv and perf_event_paranoid >= 2");
      return;
    }
    // Nobody runs a copy of the binary in a folder every user can reach: the build tree may be
    // under a mode-0700 folder (a home, a `mktemp -d`).
    ReachableDir dir("measure-nobody");
    if (dir.path.empty()) {
      MESSAGE("skipped: " << dir.why);
      return;
    }
    auto copy = install_copy(dir.path);
    if (auto why = nobody_cannot_use({copy.binary}); !why.empty()) {
      MESSAGE("skipped: " << why);
      return;
    }
    auto nobody = [&](std::vector<std::string> args) {
      auto argv = as_nobody();
      argv.push_back(copy.binary);
      argv.insert(argv.end(), args.begin(), args.end());
      return run_process(argv, {copy.data_dir_env});
    };
    auto r = nobody({"measure", "-e", "task-clock,page-faults", "--json", "-", "--", "/bin/true"});
    REQUIRE(r.exit_code == 0);
    auto doc = json::parse(r.out);
    CHECK((*find_event(doc, "task-clock"))["status"] == "counted");
    bool noted = false;
    for (const auto& n : doc["notes"])
      noted |= n.get<std::string>().find("exclude_kernel") != std::string::npos;
    CHECK(noted);
    SUBCASE("system-wide is refused with the paranoid file, its value and the fix") {
      auto a = nobody({"measure", "-a", "-e", "cpu-clock", "--duration", "0.1", "--json", "-"});
      auto d = json::parse(a.out);
      auto& e = d["events"][0];
      CHECK(e["status"] == "permission_denied");
      auto reason = e["reason"].get<std::string>();
      CHECK(reason.find("perf_event_paranoid is " + std::to_string(std::atoi(paranoid.c_str()))) !=
            std::string::npos);
      CHECK(reason.find("sysctl kernel.perf_event_paranoid=0") != std::string::npos);
    }
    SUBCASE("-p of another user's process names its owner, not the paranoid level") {
      // A process of root's (this test's child): the kernel lets only a user who may trace it
      // count it, whatever perf_event_paranoid says.
      pid_t sleeper = fork();
      if (sleeper == 0) {
        execl("/bin/sleep", "sleep", "30", nullptr);
        _exit(127);
      }
      auto p = nobody({"measure", "-p", std::to_string(sleeper), "-e", "task-clock", "--duration",
                       "0.1", "--json", "-"});
      kill(sleeper, SIGKILL);
      waitpid(sleeper, nullptr, 0);
      CHECK(p.exit_code == 1);  // nothing could be counted
      auto d = json::parse(p.out);
      auto& e = d["events"][0];
      CHECK(e["status"] == "permission_denied");
      auto reason = e["reason"].get<std::string>();
      CHECK(reason.find("process " + std::to_string(sleeper) + " runs as user id 0") !=
            std::string::npos);
      CHECK(reason.find("CAP_SYS_PTRACE") != std::string::npos);
      CHECK(reason.find("security module") == std::string::npos);
    }
  }

  TEST_CASE("--version and help for every command") {
    auto v = run_process(pmcmodel({"--version"}));
    CHECK(v.exit_code == 0);
    CHECK(v.out.rfind("pmcmodel ", 0) == 0);
    for (const char* cmd : {"measure", "list", "doctor", "workload", "report", "import"}) {
      CAPTURE(cmd);
      auto h = run_process(pmcmodel({cmd, "--help"}));
      CHECK(h.exit_code == 0);
      CHECK(h.out.find("Examples:") != std::string::npos);
      auto h2 = run_process(pmcmodel({"help", cmd}));
      CHECK(h2.out == h.out);
    }
  }
}

TEST_SUITE("kernel") {
  TEST_CASE("list shows the PMUs and events of a fixture machine, and refuses an unknown PMU") {
    std::string root = std::string(PMC_TEST_DATA) + "/sysfs/intel-client";
    auto r = run_process(pmcmodel({"list", "--pmu", "power"}), {"PMCMODEL_SYSFS_ROOT=" + root});
    CHECK(r.exit_code == 0);
    CHECK(r.out.find("power/energy-pkg/") != std::string::npos);
    CHECK(r.out.find("power/energy-psys/") != std::string::npos);
    CHECK(r.out.find("cpu/") == std::string::npos);  // only the PMU asked for
    auto bad = run_process(pmcmodel({"list", "--pmu", "nosuch"}), {"PMCMODEL_SYSFS_ROOT=" + root});
    CHECK(bad.exit_code == 2);
    CHECK(one_line(bad.err));
    SUBCASE("a pattern filters the names") {
      auto m = run_process(pmcmodel({"list", "miss"}), {"PMCMODEL_SYSFS_ROOT=" + root});
      CHECK(m.out.find("branch-misses") != std::string::npos);
      CHECK(m.out.find("task-clock") == std::string::npos);
    }
  }

  TEST_CASE("list calls only cpumask PMUs CPU-wide, not the hybrid core PMUs with a cpus file") {
    // tests/data/sysfs/hybrid: cpu_core and cpu_atom have `cpus` (core PMUs, per-task
    // counting), power has a `cpumask` (RAPL counts CPU-wide only).
    std::string root = std::string(PMC_TEST_DATA) + "/sysfs/hybrid";
    auto r = run_process(pmcmodel({"list", "--json", "--pmu", "cpu_core"}),
                         {"PMCMODEL_SYSFS_ROOT=" + root});
    REQUIRE(r.exit_code == 0);
    auto doc = json::parse(r.out);
    REQUIRE(doc["pmus"].size() == 1);
    CHECK(doc["pmus"][0]["name"] == "cpu_core");
    CHECK(doc["pmus"][0]["cpu_wide"] == false);
    auto power = json::parse(
        run_process(pmcmodel({"list", "--json", "--pmu", "power"}), {"PMCMODEL_SYSFS_ROOT=" + root})
            .out);
    CHECK(power["pmus"][0]["cpu_wide"] == true);
    auto text =
        run_process(pmcmodel({"list", "--pmu", "cpu_atom"}), {"PMCMODEL_SYSFS_ROOT=" + root});
    CHECK(text.out.rfind("PMU cpu_atom (type 8):\n", 0) == 0);
  }

  TEST_CASE("list --pmu software lists the software events, which sysfs does not publish") {
    // The kernel's software PMU has no events/ folder; its events are perf_event.h's
    // PERF_COUNT_SW_*, which perf list shows as [Software event].
    auto r = run_process(pmcmodel({"list", "--json", "--pmu", "software"}));
    REQUIRE(r.exit_code == 0);
    auto doc = json::parse(r.out);
    for (const char* name : {"task-clock", "cpu-clock", "page-faults", "context-switches",
                             "cpu-migrations", "minor-faults", "major-faults"}) {
      CAPTURE(name);
      const json* e = find_event(doc, name);
      REQUIRE(e != nullptr);
      CHECK((*e)["pmu"] == "software");
    }
    CHECK(find_event(doc, "cycles") == nullptr);
    CHECK(find_event(doc, "LLC-loads") == nullptr);
    auto text = run_process(pmcmodel({"list", "--pmu", "software", "fault"}));
    CHECK(text.out.find("page-faults") != std::string::npos);
    CHECK(text.out.find("task-clock") == std::string::npos);
  }

  TEST_CASE("list names an alias that needs a term as perf list does, not as uncountable") {
    // tests/data/sysfs/arm-cmn: events/hnf_cache_miss_by_node holds "nodeid=?".
    std::string root = std::string(PMC_TEST_DATA) + "/sysfs/arm-cmn";
    auto r = run_process(pmcmodel({"list", "--json", "--pmu", "arm_cmn_0"}),
                         {"PMCMODEL_SYSFS_ROOT=" + root});
    REQUIRE(r.exit_code == 0);
    auto doc = json::parse(r.out);
    const json* by_node = find_event(doc, "arm_cmn_0/hnf_cache_miss_by_node,nodeid=?/");
    REQUIRE(by_node != nullptr);
    CHECK((*by_node)["pmu"] == "arm_cmn_0");
    CHECK(r.out.find("needs a value") == std::string::npos);
    CHECK(find_event(doc, "arm_cmn_0/hnf_cache_miss/") != nullptr);
  }

  TEST_CASE("a fixture root without bus/event_source still counts the kernel's software events") {
    std::string root = std::string(PMC_TEST_DATA) + "/sysfs/no-pmu";
    auto r = run_process(pmcmodel({"measure", "-q", "-e", "task-clock,page-faults", "--json", "-",
                                   "--", "/bin/true"}),
                         {"PMCMODEL_SYSFS_ROOT=" + root});
    CHECK(r.exit_code == 0);
    auto doc = json::parse(r.out);
    CHECK((*find_event(doc, "task-clock"))["status"] == "counted");
    CHECK((*find_event(doc, "page-faults"))["status"] == "counted");
    CHECK(doc["machine"]["pmus"].empty());
  }

  TEST_CASE("doctor states each capability with the fix for what fails") {
    auto r = run_process(pmcmodel({"doctor"}));
    CHECK(r.exit_code == 0);
    for (const char* what : {"hardware PMU", "software events", "perf_event_paranoid",
                             "energy (RAPL)", "cgroup v2", "libpfm4 PMU", "PAPI"})
      CHECK(r.out.find(what) != std::string::npos);
    // On a machine whose hardware counters do not open, doctor says FAIL and gives a fix.
    auto probe =
        run_process(pmcmodel({"measure", "-q", "-e", "cycles", "--json", "-", "--", "/bin/true"}));
    auto doc = json::parse(probe.out);
    bool hw = doc["events"][0]["status"] == "counted";
    auto line = r.out.substr(r.out.find("hardware PMU") - 7, 7);
    CHECK((line.find("ok") != std::string::npos) == hw);
    if (!hw) CHECK(r.out.find("fix:") != std::string::npos);
  }

  TEST_CASE("doctor says where -G must point when perf_event is bound to a cgroup v1 hierarchy") {
    // A hybrid host whose /proc/cgroups puts perf_event on hierarchy 10: cgroup2 is mounted,
    // yet the kernel counts only a cgroup of perf_event's v1 hierarchy.
    auto dir = temp_path("doctor-proc");
    std::filesystem::create_directories(dir + "/self");
    std::string mountinfo =
        "41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw\n";
    std::ofstream(dir + "/self/mountinfo") << mountinfo;
    std::ofstream(dir + "/cgroups") << "#subsys_name\thierarchy\tnum_cgroups\tenabled\n"
                                       "perf_event\t10\t1\t1\n";
    auto r = run_process(pmcmodel({"doctor"}), {"PMCMODEL_PROCFS_ROOT=" + dir});
    CHECK(r.exit_code == 0);
    auto at = r.out.find("cgroup v2");
    REQUIRE(at != std::string::npos);
    std::string lines = r.out.substr(at, r.out.find("\n[", at) - at);
    CAPTURE(lines);
    CHECK(lines.find("perf_event controller is on a cgroup v1 hierarchy") != std::string::npos);
    CHECK(lines.find("mount -t cgroup -o perf_event") != std::string::npos);
    // Mounted: -G goes under it.
    std::ofstream(dir + "/self/mountinfo")
        << mountinfo
        << "46 31 0:40 / /sys/fs/cgroup/perf_event rw,relatime - cgroup none rw,perf_event\n";
    r = run_process(pmcmodel({"doctor"}), {"PMCMODEL_PROCFS_ROOT=" + dir});
    at = r.out.find("cgroup v2");
    REQUIRE(at != std::string::npos);
    lines = r.out.substr(at, r.out.find("\n[", at) - at);
    CHECK(lines.find("-G takes a path under it, e.g. -G /sys/fs/cgroup/perf_event/") !=
          std::string::npos);
    std::filesystem::remove_all(dir);
  }

  TEST_CASE("doctor without a libpfm4 core PMU does not advise forcing another CPU's table") {
    // docs/events.md: LIBPFM_FORCE_PMU naming another CPU encodes that CPU's codes, wrong
    // counts with no error; measure's own hint says so, and doctor's fix must agree with it.
    auto r = run_process(pmcmodel({"doctor"}), {"LIBPFM_FORCE_PMU=no_such_pmu"});
    REQUIRE(r.exit_code == 0);
    auto at = r.out.find("libpfm4 PMU");
    REQUIRE(at != std::string::npos);
    std::string lines = r.out.substr(at, r.out.find("\n[", at) - at);
    CAPTURE(lines);
    CHECK(lines.find("LIBPFM_FORCE_PMU=no_such_pmu is set") != std::string::npos);
    CHECK(lines.find("cpu/event=") != std::string::npos);
    CHECK(lines.find("wrong counts") != std::string::npos);
    auto hint = run_process(pmcmodel({"measure", "-q", "-e", "INST_RETIRED.ANY_P", "--", "true"}),
                            {"LIBPFM_FORCE_PMU=no_such_pmu"});
    CHECK(hint.exit_code == 2);
    CHECK(hint.err.find("cpu/event=") != std::string::npos);
  }

  TEST_CASE("report prints the table of a stored document, and rejects a bad one with FILE:LINE") {
    auto path = temp_path("report.json");
    auto m = run_process(
        pmcmodel({"measure", "-q", "-e", "task-clock", "--json", path, "--", "/bin/true"}));
    REQUIRE(m.exit_code == 0);
    auto r = run_process(pmcmodel({"report", path}));
    CHECK(r.exit_code == 0);
    CHECK(r.out.find("task-clock") != std::string::npos);
    CHECK(r.out.find("seconds time elapsed") != std::string::npos);
    auto bad = temp_path("bad.json");
    {
      std::ofstream(bad)
          << "{\n  \"schema\": \"pmcmodel.measurement/1\",\n  \"duration_s\": \"x\"\n}\n";
    }
    auto b = run_process(pmcmodel({"report", bad}));
    CHECK(b.exit_code == 2);
    CHECK(one_line(b.err));
    CHECK(b.err.find(bad + ":") != std::string::npos);
    CHECK(b.err.find("duration_s") != std::string::npos);
    std::filesystem::remove(path);
    std::filesystem::remove(bad);
  }
}
