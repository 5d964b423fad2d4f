// `cmake --install` into a temporary prefix, then the installed pmcmodel run from an empty
// directory with the source and build trees hidden (an empty tmpfs mounted over each, in a private
// mount namespace): measure, import, report and compare --skus must find everything they read in
// <prefix>/share/pmcmodel, and serve its HTTP module in <prefix>/lib/pmcmodel. A binary that still
// reached for its compiled-in source path would lose its metric files and SKU catalog there.
#include <doctest/doctest.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "test_support.h"

using namespace pmc::test;
namespace fs = std::filesystem;
using json = nlohmann::json;

namespace {

// sh -c script run in a new user and mount namespace where the source and build trees are empty.
std::vector<std::string> hidden_trees(const std::string& script) {
  std::string hide = "mount -t tmpfs none '" + std::string(PMC_SOURCE_DIR) + "' && ";
  fs::path build = fs::weakly_canonical(PMC_BUILD_DIR);
  fs::path source = fs::weakly_canonical(PMC_SOURCE_DIR);
  // A build tree inside the source tree is hidden with it.
  auto [end, _] = std::mismatch(source.begin(), source.end(), build.begin(), build.end());
  if (end != source.end()) hide += "mount -t tmpfs none '" + build.string() + "' && ";
  return {"/usr/bin/unshare", "--user", "--map-root-user", "--mount", "sh", "-c", hide + script};
}

std::string why_namespaces_fail() {
  auto r = run_process({"/usr/bin/unshare", "--user", "--map-root-user", "--mount", "sh", "-c",
                        "mount -t tmpfs none /mnt && echo ok"});
  if (r.exit_code == 0 && r.out == "ok\n") return {};
  return "no private mount namespace here (unshare --user --mount: " + r.err + ")";
}

}  // namespace

TEST_SUITE("kernel") {
  TEST_CASE("install: the installed binary runs from an empty directory without the source tree") {
    if (auto why = why_namespaces_fail(); !why.empty()) {
      MESSAGE("skipped: " << why);
      return;
    }
    fs::path root = make_temp_dir("install");
    fs::path prefix = root / "prefix";
    fs::path work = root / "work";
    fs::create_directories(work);
    auto inst = run_process({PMC_CMAKE, "--install", PMC_BUILD_DIR, "--prefix", prefix.string()});
    REQUIRE_MESSAGE(inst.exit_code == 0, inst.err);
    for (const char* f : {"skus.csv", "grid.csv", "recommendations.json", "SOURCES.md",
                          "metrics/generic.json", "metrics/SOURCES.md"})
      CHECK_MESSAGE(fs::exists(prefix / "share" / "pmcmodel" / f), f);
    // Inputs the commands read are copied out of the tree first: it is hidden while they run.
    fs::copy_file(std::string(PMC_TEST_DATA) + "/perfstat/013.txt", work / "icx.txt");
    fs::copy_file(std::string(PMC_TEST_DATA) + "/perfstat/014.txt", work / "epyc.txt");
    std::string bin = (prefix / "bin" / "pmcmodel").string();
    std::string skus = (prefix / "share" / "pmcmodel" / "skus.csv").string();
    fs::path empty = root / "empty";
    fs::create_directories(empty);
    std::string script = "cd '" + empty.string() + "' && B='" + bin + "' && W='" + work.string() +
                         "' && " +
                         "$B measure -e task-clock --json $W/run.json -- true && "
                         "$B import $W/icx.txt --json $W/icx.json && "
                         "$B import $W/epyc.txt --json $W/epyc.json && "
                         "$B report $W/icx.json > $W/report.txt && "
                         "$B compare $W/icx.json $W/epyc.json --skus '" +
                         skus + "' --json $W/compare.json && " +
                         // serve finds its HTTP module in <prefix>/lib/pmcmodel/ and listens.
                         "($B serve --listen 127.0.0.1:0 2> $W/serve.err & p=$!; "
                         "for i in $(seq 100); do grep -q listening $W/serve.err && break; "
                         "sleep 0.1; done; kill -TERM $p; wait $p)";
    auto r = run_process(hidden_trees(script), {"PMCMODEL_DATA_DIR="});
    REQUIRE_MESSAGE(r.exit_code == 0, r.err);

    CHECK(fs::exists(prefix / "lib" / "pmcmodel" / "pmcmodel-http.so"));
    std::string served = read_file((work / "serve.err").string());
    CHECK_MESSAGE(served.find("listening on 127.0.0.1:") != std::string::npos, served);
    auto run = json::parse(read_file((work / "run.json").string()));
    // generic.json gives measure its metrics and skus.csv its energy estimate.
    CHECK_FALSE(run["metrics"].empty());
    CHECK_FALSE(run["energy"].empty());
    auto icx = json::parse(read_file((work / "icx.json").string()));
    CHECK_FALSE(icx["metrics"].empty());
    for (const auto& note : icx["notes"])
      CHECK(note.get<std::string>().find("metric files not found") == std::string::npos);
    CHECK(read_file((work / "report.txt").string()).find("task-clock") != std::string::npos);
    auto cmp = json::parse(read_file((work / "compare.json").string()));
    int projected = 0;
    for (const auto& row : cmp["rows"]) projected += row["kind"] == "projected";
    CHECK(projected > 0);
    fs::remove_all(root);
  }
}

TEST_SUITE("kernel") {
  TEST_CASE("measure as root of a user namespace falls back to user-space counting, as perf does") {
    // Root of a user namespace looks privileged (euid 0, every capability in its namespace) but
    // the kernel checks kernel-mode counting against the host's namespace: perf_event_open with
    // exclude_kernel=0 fails with EACCES at perf_event_paranoid >= 2 (and, at lower levels,
    // opens: then there is nothing to fall back from).
    auto probe = run_process({"/usr/bin/unshare", "--user", "--map-root-user", "true"});
    if (probe.exit_code != 0) {
      MESSAGE("skipped: no user namespace here: " << probe.err);
      return;
    }
    auto dir = make_temp_dir("userns");
    auto out = (dir / "run.json").string();
    auto argv = pmcmodel({"measure", "-e", "task-clock", "--json", out, "--", "true"});
    argv.insert(argv.begin(), {"/usr/bin/unshare", "--user", "--map-root-user"});
    auto r = run_process(argv);
    REQUIRE_MESSAGE(r.exit_code == 0, r.err);
    auto doc = json::parse(read_file(out));
    REQUIRE(doc["events"].size() >= 1);
    CHECK(doc["events"][0]["status"] == "counted");
    CHECK(doc["events"][0]["value"].get<double>() > 0);
    bool fell_back = false;
    for (const auto& n : doc["notes"])
      fell_back |= n.get<std::string>().find("exclude_kernel") != std::string::npos;
    auto paranoid = read_file("/proc/sys/kernel/perf_event_paranoid");
    if (std::stoi(paranoid) >= 2) CHECK(fell_back);
    fs::remove_all(dir);
  }
}
