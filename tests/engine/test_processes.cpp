// parent_of and process_tree (engine/system/processes.h) on a /proc fixture written here: the
// parent field of each stat line, with a comm that holds ") " as a program may name itself.
#include <doctest/doctest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <string>

#include "engine/system/processes.h"
#include "test_support.h"

using namespace pmc;
namespace fs = std::filesystem;

TEST_SUITE("pure") {
  TEST_CASE("parent_of and process_tree read the parent after the last ')' of each stat line") {
    fs::path dir = pmc::test::make_temp_dir("processes");
    auto stat = [&](int pid, const std::string& comm, int ppid) {
      fs::create_directories(dir / std::to_string(pid));
      std::ofstream(dir / std::to_string(pid) / "stat")
          << pid << " (" << comm << ") S " << ppid << " " << pid << " 0 0 -1\n";
    };
    // 10 ← 11 ← 12 (a comm with ") 1 " in it: read from the first ')', its parent would be 1),
    // 10 ← 13; 20 is another tree; "self" is not a process directory.
    stat(10, "sh", 1);
    stat(11, "make", 10);
    stat(12, "odd) 1 (name", 11);
    stat(13, "sleep", 10);
    stat(20, "other", 1);
    fs::create_directories(dir / "self");
    SysRoot root;
    root.proc = dir;

    CHECK(parent_of(root, 12) == pid_t(11));
    CHECK(parent_of(root, 10) == pid_t(1));
    CHECK_FALSE(parent_of(root, 99));

    auto tree = process_tree(root, 10);
    CHECK(tree.front() == 10);
    std::sort(tree.begin(), tree.end());
    CHECK(tree == std::vector<pid_t>{10, 11, 12, 13});
    CHECK(process_tree(root, 11).size() == 2);  // 11 and 12
    CHECK(process_tree(root, 20) == std::vector<pid_t>{20});
    fs::remove_all(dir);
  }
}
