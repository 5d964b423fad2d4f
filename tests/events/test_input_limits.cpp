// Bounded readers: what is not a regular file is refused before reading, inputs over the size
// limit are refused, JSON nesting, duplicate keys and numbers outside a double are found with
// their line, over-long lines and over-wide CSV lines are named.
#include <doctest/doctest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "events/text/input_file.h"
#include "events/text/json_guard.h"

using namespace pmc;

namespace {

struct TempDir {
  std::filesystem::path path;
  TempDir() {
    path = std::filesystem::temp_directory_path() /
           ("pmc-limits-" + std::to_string(getpid()) + "-" + std::to_string(rand()));
    std::filesystem::create_directories(path);
  }
  ~TempDir() { std::filesystem::remove_all(path); }
};

std::string message_of(const std::string& path) {
  try {
    read_input_file(path);
  } catch (const InputError& e) {
    return e.what();
  }
  return "";
}

// Restores the process-wide limit after a test changes it.
struct LimitGuard {
  uint64_t saved = max_input_bytes();
  ~LimitGuard() { set_max_input_bytes(saved); }
};

}  // namespace

TEST_CASE("inputs that are not regular files are refused with what they are") {
  TempDir dir;
  SUBCASE("a directory") {
    CHECK(message_of(dir.path.string()) == dir.path.string() + ": is a directory, expected a file");
  }
  SUBCASE("a FIFO, without blocking on it") {
    auto fifo = (dir.path / "fifo").string();
    REQUIRE(mkfifo(fifo.c_str(), 0600) == 0);
    CHECK(message_of(fifo) == fifo + ": is a FIFO, not a regular file");
  }
  SUBCASE("/dev/zero") {
    CHECK(message_of("/dev/zero") == "/dev/zero: is a character device, not a regular file");
    CHECK_THROWS_AS(check_input_file("/dev/zero"), InputError);
  }
  SUBCASE("a missing file") {
    auto missing = (dir.path / "missing.json").string();
    CHECK(message_of(missing) == missing + ": cannot open: No such file or directory");
  }
}

TEST_CASE("an input over the size limit is refused, one at the limit is read") {
  TempDir dir;
  LimitGuard guard;
  auto path = (dir.path / "ten.txt").string();
  std::ofstream(path) << "0123456789";
  set_max_input_bytes(10);
  CHECK(read_input_file(path) == "0123456789");
  set_max_input_bytes(9);
  CHECK(message_of(path) ==
        path + ": 10 bytes is more than the input limit of 9 bytes (raise it with "
               "--max-input-bytes BYTES)");
  CHECK_THROWS_AS(check_input_file(path), InputError);
  set_max_input_bytes(uint64_t(2) << 30);
  CHECK(read_input_file(path).size() == 10);
}

TEST_CASE("JSON nesting beyond the limit is found on its line, at the limit it is not") {
  auto nested = [](size_t depth) {
    return std::string("{\n\"a\":\n") + std::string(depth - 1, '[') + std::string(depth - 1, ']') +
           "}";
  };
  CHECK_FALSE(find_json_problem(nested(256)).has_value());
  auto problem = find_json_problem(nested(257));
  REQUIRE(problem.has_value());
  CHECK(problem->line == 3);
  CHECK(problem->what == "nesting deeper than 256 levels of arrays and objects");
  // 150,000 levels (the document that crashed report) is found in one pass.
  std::string deep = "{\"events\":" + std::string(150000, '[') + std::string(150000, ']') + "}";
  CHECK(find_json_problem(deep).has_value());
}

TEST_CASE("a key given twice in one object is found, the same key in two objects is not") {
  auto problem = find_json_problem("{\n \"target\": \"watts\",\n \"x\": 1,\n \"target\": \"cycles\"}");
  REQUIRE(problem.has_value());
  CHECK(problem->line == 4);
  CHECK(problem->what == "key \"target\" given twice in one object; expected each key once");
  CHECK_FALSE(find_json_problem(R"({"a":{"k":1},"b":{"k":2},"c":[{"k":1},{"k":1}]})"));
  // A value that equals a key is not a key.
  CHECK_FALSE(find_json_problem(R"({"k":"k","j":["k","k"]})"));
  // The same key written with an escape.
  CHECK(find_json_problem(R"({"target":1,"\u0074arget":2})").has_value());
  // Past the 16 keys kept in a list, the set takes over.
  std::string wide = "{";
  for (int i = 0; i < 40; ++i) wide += "\"k" + std::to_string(i) + "\":" + std::to_string(i) + ",";
  CHECK_FALSE(find_json_problem(wide + "\"last\":0}"));
  CHECK(find_json_problem(wide + "\"k3\":0}").has_value());
  // Keys inside strings and escaped quotes do not confuse the scan.
  CHECK_FALSE(find_json_problem(R"({"a":"{\"a\":1,\"a\":2}","b":1})"));
}

TEST_CASE("a number outside a double is found, one inside is not") {
  auto problem = find_json_problem("{\n\"value\": 1e400}");
  REQUIRE(problem.has_value());
  CHECK(problem->line == 2);
  CHECK(problem->what == "the number 1e400 is outside the range of a double (about ±1.8e308)");
  CHECK(find_json_problem("[-1.5E+309]").has_value());
  CHECK(find_json_problem("[" + std::string(400, '9') + "]").has_value());
  // Found by fuzz_measurement_json: a number followed by more number characters.
  CHECK(find_json_problem(R"({"scale": 1e55555555555555555555-06})").has_value());
  CHECK_FALSE(find_json_problem("[1.7976931348623157e308, -2.2250738585072014e-308, 1e-400]"));
}

TEST_CASE("over-long and over-wide lines are named with their line") {
  std::string long_line = "a,b\n1,2\n" + std::string(kMaxLineBytes + 1, 'x') + "\n";
  CHECK(find_oversized_line(long_line, "f.csv") ==
        "f.csv:3: a line longer than 1048576 bytes; expected lines of text");
  std::string wide = "h\n";
  for (size_t i = 0; i < kMaxCsvFields; ++i) wide += "1,";
  CHECK(find_oversized_line(wide, "w.csv") == "w.csv:2: more than 10000 fields on a line");
  // Commas inside quotes are not fields; without a field limit only length counts.
  CHECK(find_oversized_line("\"" + std::string(20000, ',') + "\"\n", "q.csv").empty());
  CHECK(find_oversized_line(std::string(20000, ','), "n.csv", 0).empty());
  CHECK(find_oversized_line("a,b\n1,2\n", "ok.csv").empty());
}

TEST_CASE("file_holds: a regular file with exactly the bytes, and nothing else") {
  TempDir dir;
  std::string text = "id,name\n1,a\n";
  auto write = [&](const std::string& name, const std::string& content) {
    std::string p = (dir.path / name).string();
    std::ofstream(p, std::ios::binary) << content;
    return p;
  };
  CHECK(file_holds(write("same.csv", text), text));
  CHECK_FALSE(file_holds(write("one-byte.csv", "id,name\n1,b\n"), text));  // same size
  CHECK_FALSE(file_holds(write("longer.csv", text + "\n"), text));
  CHECK_FALSE(file_holds(write("shorter.csv", text.substr(1)), text));
  CHECK(file_holds(write("empty.csv", ""), ""));
  CHECK_FALSE(file_holds((dir.path / "missing.csv").string(), text));
  CHECK_FALSE(file_holds(dir.path.string(), text));  // a directory
  std::string fifo = (dir.path / "fifo").string();
  REQUIRE(mkfifo(fifo.c_str(), 0600) == 0);
  CHECK_FALSE(file_holds(fifo, text));  // returns at once: no writer is waited for
}
