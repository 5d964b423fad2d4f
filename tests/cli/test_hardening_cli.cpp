// pmcmodel against hostile inputs and unlucky conditions: links and FIFOs at output paths, a full
// stdout, modes kept, stale temporary files, deep or duplicated JSON, numbers outside a double,
// inputs that are not files or are too large, a command that ignores SIGTERM, a SIGKILLed
// pmcmodel, and a run in which nothing could be counted.
#include <doctest/doctest.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <thread>

#include "test_support.h"

using namespace pmc::test;
using json = nlohmann::json;
namespace fs = std::filesystem;

namespace {

struct Scratch {
  fs::path dir;
  Scratch() {
    dir = fs::temp_directory_path() / ("pmc-harden-" + std::to_string(getpid()) + "-" +
                                       std::to_string(rand()));
    fs::create_directories(dir);
  }
  ~Scratch() { fs::remove_all(dir); }
  std::string operator/(const std::string& name) const { return (dir / name).string(); }
};

void write_text(const std::string& path, const std::string& text) {
  std::ofstream(path, std::ios::binary) << text;
}

bool one_line(const std::string& s) {
  return !s.empty() && s.find('\n') == s.size() - 1;
}

// A small valid measurement document written by hand (one event, no intervals).
std::string document(const std::string& event_fields) {
  return R"({"schema": "pmcmodel.measurement/1", "target": "command", "command": ["true"],
"events": [{"name": "task-clock", "unit": "msec", )" +
         event_fields + R"(, "status": "counted"}],
"intervals": [], "duration_s": 0.01, "user_s": 0, "sys_s": 0})";
}

// Runs argv with stdout on `stdout_path` (opened for writing), stderr captured to a file.
ProcessResult run_with_stdout(const std::vector<std::string>& argv, const char* stdout_path) {
  std::string err_path = fs::temp_directory_path() / ("pmc-harden-err-" + std::to_string(getpid()));
  pid_t pid = fork();
  if (pid == 0) {
    int out = open(stdout_path, O_WRONLY);
    int err = open(err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    dup2(out, 1);
    dup2(err, 2);
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    execv(args[0], args.data());
    _exit(127);
  }
  int status = 0;
  waitpid(pid, &status, 0);
  ProcessResult r;
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  r.err = read_file(err_path);
  fs::remove(err_path);
  return r;
}

}  // namespace

TEST_CASE("an output path that is a link, a FIFO or a directory is refused and never written through") {
  Scratch s;
  write_text(s / "decoy", "decoy\n");
  fs::create_symlink(s / "decoy", s / "link");
  SUBCASE("--json to a link") {
    auto r = run_process(pmcmodel({"measure", "-q", "--workload-seconds", "0.05", "--json",
                                   s / "link"}));
    CHECK(r.exit_code == 2);
    CHECK(one_line(r.err));
    CHECK(r.err.find("is a symbolic link") != std::string::npos);
  }
  SUBCASE("--interval-out to a link") {
    auto r = run_process(pmcmodel({"measure", "-q", "-I", "20", "--workload-seconds", "0.05",
                                   "--interval-out", s / "link"}));
    CHECK(r.exit_code == 2);
    CHECK(r.err.find("is a symbolic link") != std::string::npos);
  }
  SUBCASE("--interval-out to a FIFO does not block") {
    REQUIRE(mkfifo((s / "fifo").c_str(), 0600) == 0);
    auto r = run_process(pmcmodel({"measure", "-q", "-I", "20", "--workload-seconds", "0.05",
                                   "--interval-out", s / "fifo"}));
    CHECK(r.exit_code == 2);
    CHECK(r.err.find("is a FIFO") != std::string::npos);
  }
  SUBCASE("--json to a directory, and to a missing folder") {
    auto r = run_process(pmcmodel({"measure", "-q", "--json", s.dir.string()}));
    CHECK(r.exit_code == 2);
    CHECK(r.err.find("is a directory") != std::string::npos);
    r = run_process(pmcmodel({"measure", "-q", "--json", s / "no/such/run.json"}));
    CHECK(r.exit_code == 2);
    CHECK(r.err.find("does not exist") != std::string::npos);
  }
  CHECK(read_file(s / "decoy") == "decoy\n");
  CHECK(fs::is_symlink(s / "link"));
}

TEST_CASE("a rewritten output keeps its mode, and stale temporary files of a dead run are removed") {
  Scratch s;
  write_text(s / "run.json", "old\n");
  chmod((s / "run.json").c_str(), 0640);
  // A temporary file of a pmcmodel that no longer runs (a pid above pid_max cannot run), and a
  // user's file that only looks alike.
  write_text(s / ".run.json.pmcmodel-tmp.99999999.AbC123", "partial");
  write_text(s / ".run.json.mine", "keep");
  auto r = run_process(pmcmodel({"measure", "-q", "--workload-seconds", "0.05", "--json",
                                 s / "run.json"}));
  REQUIRE(r.exit_code == 0);
  struct stat st {};
  REQUIRE(stat((s / "run.json").c_str(), &st) == 0);
  CHECK((st.st_mode & 07777) == 0640);
  CHECK(json::parse(read_file(s / "run.json"))["schema"] == "pmcmodel.measurement/1");
  CHECK_FALSE(fs::exists(s / ".run.json.pmcmodel-tmp.99999999.AbC123"));
  CHECK(read_file(s / ".run.json.mine") == "keep");
}

TEST_CASE("a write error on stdout is one line and exit 1") {
  if (access("/dev/full", W_OK) != 0) {
    MESSAGE("skipped: no /dev/full");
    return;
  }
  Scratch s;
  write_text(s / "run.json", document("\"value\": 5"));
  for (auto args : std::vector<std::vector<std::string>>{
           {"report", s / "run.json"},
           {"import", std::string(PMC_TEST_DATA) + "/perfstat/001.txt", "--json", "-"},
           {"measure", "-q", "--workload-seconds", "0.05", "--csv", "-"},
           {"measure", "-q", "-I", "20", "--workload-seconds", "0.05", "--interval-out", "-"}}) {
    CAPTURE(args[0]);
    auto r = run_with_stdout(pmcmodel(args), "/dev/full");
    CHECK(r.exit_code == 1);
    CHECK(r.err.find("standard output: write failed: No space left on device") !=
          std::string::npos);
  }
}

TEST_CASE("documents: depth, duplicate keys, 1e400 and negative counts are refused with FILE:LINE") {
  Scratch s;
  auto report = [&](const std::string& name, const std::string& text) {
    write_text(s / name, text);
    return run_process(pmcmodel({"report", s / name}));
  };
  auto ok = report("ok.json", document("\"value\": 5"));
  CHECK(ok.exit_code == 0);
  std::string deep = "{\"events\":" + std::string(150000, '[') + std::string(150000, ']') + "}";
  auto r = report("deep.json", deep);
  CHECK(r.exit_code == 2);
  CHECK(r.err == "pmcmodel report: " + (s / "deep.json") +
                     ":1: nesting deeper than 256 levels of arrays and objects\n");
  r = report("big.json", document("\"value\": 1e400"));
  CHECK(r.exit_code == 2);
  CHECK(r.err.find((s / "big.json") + ":2: the number 1e400 is outside the range of a double") !=
        std::string::npos);
  r = report("dup.json", document("\"value\": 5, \"value\": 6"));
  CHECK(r.exit_code == 2);
  CHECK(r.err.find((s / "dup.json") + ":2: key \"value\" given twice") != std::string::npos);
  r = report("neg.json", document("\"value\": -5"));
  CHECK(r.exit_code == 2);
  CHECK(r.err.find("value -5 is negative") != std::string::npos);
  r = report("negtime.json", document("\"value\": 5, \"time_enabled_ns\": -1"));
  CHECK(r.exit_code == 2);
  CHECK(r.err.find("time_enabled_ns is negative") != std::string::npos);
  // compare reads the same documents.
  r = run_process(pmcmodel({"compare", s / "deep.json", s / "ok.json"}));
  CHECK(r.exit_code == 2);
  CHECK(r.err.find("nesting deeper than 256") != std::string::npos);
}

TEST_CASE("a model file with a duplicated key is refused") {
  Scratch s;
  auto data = std::string(PMC_TEST_DATA) + "/models/small.csv";
  auto fit = run_process(pmcmodel({"fit", "--data", data, "--target", "watts", "--features",
                                   "cycles", "--out", s / "m.json"}));
  REQUIRE(fit.exit_code == 0);
  auto text = read_file(s / "m.json");
  auto at = text.find("\"target\": \"watts\"");
  REQUIRE(at != std::string::npos);
  text.insert(at, "\"target\": \"cycles\", ");
  write_text(s / "dup.json", text);
  auto r = run_process(pmcmodel({"predict", "--model", s / "dup.json", "--data", data}));
  CHECK(r.exit_code == 2);
  CHECK(r.err.find("key \"target\" given twice") != std::string::npos);
}

TEST_CASE("inputs that are not files, or are too large, are refused before reading") {
  Scratch s;
  auto r = run_process(pmcmodel({"report", "/dev/zero"}));
  CHECK(r.exit_code == 2);
  CHECK(r.err == "pmcmodel report: /dev/zero: is a character device, not a regular file\n");
  r = run_process(pmcmodel({"import", "/dev/zero", "--json", s / "x.json"}));
  CHECK(r.exit_code == 2);
  CHECK_FALSE(fs::exists(s / "x.json"));
  r = run_process(pmcmodel({"report", s.dir.string()}));
  CHECK(r.exit_code == 2);
  CHECK(r.err.find("is a directory, expected a file") != std::string::npos);
  REQUIRE(mkfifo((s / "fifo").c_str(), 0600) == 0);
  r = run_process(pmcmodel({"fit", "--data", s / "fifo", "--target", "w", "--out", s / "m.json"}));
  CHECK(r.exit_code == 2);
  CHECK(r.err.find("is a FIFO") != std::string::npos);
  write_text(s / "run.json", document("\"value\": 5"));
  r = run_process(pmcmodel({"report", s / "run.json", "--max-input-bytes", "100"}));
  CHECK(r.exit_code == 2);
  CHECK(r.err.find("is more than the input limit of 100 bytes") != std::string::npos);
  r = run_process(pmcmodel({"--max-input-bytes", "1000000", "report", s / "run.json"}));
  CHECK(r.exit_code == 0);
}

TEST_CASE("a dataset header of 100,000 columns is refused at once") {
  Scratch s;
  std::string header;
  for (int i = 0; i < 100000; ++i) header += (i ? ",c" : "c") + std::to_string(i);
  write_text(s / "wide.csv", header + "\n");
  auto t0 = std::chrono::steady_clock::now();
  auto r = run_process(pmcmodel({"fit", "--data", s / "wide.csv", "--target", "c1", "--features",
                                 "c2", "--out", s / "m.json"}));
  double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  CHECK(r.exit_code == 2);
  CHECK(r.err.find("wide.csv:1: more than 10000 fields on a line") != std::string::npos);
  CHECK(seconds < 5);  // 12.5 s before, when the header's duplicate check was quadratic
}

TEST_SUITE("kernel") {
  TEST_CASE("a command that ignores the forwarded signal is killed after --kill-after") {
    Scratch s;
    auto r = run_process(pmcmodel({"measure", "-q", "-e", "task-clock", "--kill-after", "1",
                                   "--json", s / "run.json", "--", "/bin/sh", "-c",
                                   "trap '' INT TERM; exec sleep 30"}),
                         {}, 0.5);
    CHECK(r.exit_code == 128 + SIGKILL);
    auto doc = json::parse(read_file(s / "run.json"));
    CHECK(doc["signal"] == "SIGKILL");
    CHECK(doc["exit_status"] == 128 + SIGKILL);
    REQUIRE(doc.contains("killed_after_s"));
    CHECK(doc["killed_after_s"].get<double>() >= 1.0);
    CHECK(doc["killed_after_s"].get<double>() < 10.0);
  }

  TEST_CASE("the command dies with a SIGKILLed pmcmodel") {
    auto argv = pmcmodel({"measure", "-q", "-e", "task-clock", "--", "/bin/sleep", "30"});
    pid_t pm = fork();
    if (pm == 0) {
      std::vector<char*> args;
      for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
      args.push_back(nullptr);
      execv(args[0], args.data());
      _exit(127);
    }
    // The command is pmcmodel's only child.
    pid_t command = 0;
    for (int i = 0; i < 200 && command == 0; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
      auto children = read_file("/proc/" + std::to_string(pm) + "/task/" + std::to_string(pm) +
                                "/children");
      command = pid_t(std::atoi(children.c_str()));
    }
    REQUIRE(command > 0);
    std::this_thread::sleep_for(std::chrono::milliseconds(200));  // past exec
    kill(pm, SIGKILL);
    int status = 0;
    waitpid(pm, &status, 0);
    // Gone, or a zombie waiting for its new parent to reap it.
    bool alive = true;
    for (int i = 0; i < 200 && alive; ++i) {
      auto stat = read_file("/proc/" + std::to_string(command) + "/stat");
      auto close = stat.rfind(')');
      alive = !stat.empty() && close != std::string::npos && stat[close + 2] != 'Z';
      if (alive) std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    CHECK_FALSE(alive);
    if (alive) kill(command, SIGKILL);
  }

  TEST_CASE("system-wide as nobody under paranoid >= 1 exits 1 and says why") {
    auto paranoid = std::atoi(read_file("/proc/sys/kernel/perf_event_paranoid").c_str());
    if (geteuid() != 0 || access("/usr/bin/setpriv", X_OK) != 0 || paranoid < 1) {
      MESSAGE("skipped: needs root, setpriv and perf_event_paranoid >= 1");
      return;
    }
    ReachableDir dir("harden-nobody");
    if (dir.path.empty()) {
      MESSAGE("skipped: " << dir.why);
      return;
    }
    auto copy = install_copy(dir.path);
    if (auto why = nobody_cannot_use({copy.binary}); !why.empty()) {
      MESSAGE("skipped: " << why);
      return;
    }
    auto argv = as_nobody();
    argv.push_back(copy.binary);
    for (const char* a : {"measure", "-a", "-e", "cpu-clock", "--duration", "0.1", "--json", "-"})
      argv.push_back(a);
    auto r = run_process(argv, {copy.data_dir_env});
    CHECK(r.exit_code == 1);
    CHECK(r.err.find("no event could be counted (cpu-clock: permission_denied") !=
          std::string::npos);
    CHECK(json::parse(r.out)["events"][0]["status"] == "permission_denied");
  }
}
