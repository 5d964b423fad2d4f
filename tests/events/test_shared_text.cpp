// SharedText and SmallOptional: the two compact members of the document's records
// (events/document/shared_text.h, small_optional.h).
#include <doctest/doctest.h>

#include <string>
#include <thread>
#include <vector>

#include "events/document/measurement_io.h"
#include "events/document/shared_text.h"
#include "events/document/small_optional.h"

using namespace pmc;

TEST_SUITE("pure") {
  TEST_CASE("shared texts compare by content, however they were made, and read as strings") {
    std::string built = std::string("insn/") + "cycle";
    SharedText a("insn/cycle");
    SharedText b(built);
    SharedText c(std::string_view(built).substr(0, 4));
    CHECK(a == b);
    CHECK(&a.str() == &b.str());  // one copy
    CHECK_FALSE(a == c);
    CHECK(c == "insn");
    CHECK(a == built);
    CHECK(a != "insn/cycles");
    CHECK(a.size() == 10);
    CHECK(std::string(a.c_str()) == "insn/cycle");
    CHECK(fmt::format("[{:>12}]", a) == "[  insn/cycle]");
    CHECK(a + "!" == "insn/cycle!");
    SharedText none;
    CHECK(none.empty());
    CHECK(none == "");
    CHECK(none == SharedText(""));
    a.clear();
    CHECK(a.empty());
    CHECK(b == "insn/cycle");  // clearing one record leaves the others' text
  }

  TEST_CASE("threads that share a text get one copy of it") {
    // More texts than a thread's cache of recent ones, asked for in different orders, so that
    // both the cache and the locked pool answer.
    std::vector<std::string> texts;
    for (int i = 0; i < 40; ++i) texts.push_back("unit-" + std::to_string(i));
    const size_t steps[] = {1, 3, 7, 9};  // each prime to 40: every text, in its own order
    std::vector<std::vector<const std::string*>> seen(4, std::vector<const std::string*>(40));
    std::vector<int> wrong(4, 0);
    std::vector<std::thread> threads;
    for (size_t t = 0; t < seen.size(); ++t)
      threads.emplace_back([&, t] {
        for (size_t round = 0; round < 50; ++round)
          for (size_t i = 0; i < texts.size(); ++i) {
            size_t k = (i * steps[t] + round) % texts.size();
            const std::string* p = &SharedText(texts[k]).str();
            if (*p != texts[k]) ++wrong[t];
            if (round == 0) seen[t][k] = p;
            if (seen[t][k] != p) ++wrong[t];
          }
      });
    for (auto& th : threads) th.join();
    CHECK(wrong == std::vector<int>(4, 0));
    for (size_t t = 1; t < seen.size(); ++t) CHECK(seen[t] == seen[0]);
    CHECK(seen[0][3] != seen[0][4]);
  }

  TEST_CASE("a small optional holds every value of its type but the smallest, and none") {
    SmallOptional<int16_t> d;
    CHECK_FALSE(d.has_value());
    CHECK(d == std::nullopt);
    CHECK(d.value_or(7) == 7);
    CHECK_THROWS_AS((void)d.value(), std::bad_optional_access);
    d = -3;
    REQUIRE(d.has_value());
    CHECK(*d == -3);
    d = 32767;
    CHECK(*d == 32767);
    d = -32767;
    CHECK(*d == -32767);
    CHECK_THROWS_AS(d = -32768, std::out_of_range);  // the mark of "none"
    CHECK_THROWS_AS(d = 40000, std::out_of_range);
    CHECK(*d == -32767);  // a refused value leaves the old one
    d.reset();
    CHECK_FALSE(d);
    SmallOptional<int32_t> g = std::optional<int>(5);
    CHECK(*g == 5);
    g = std::optional<int>();
    CHECK_FALSE(g);
    CHECK(SmallOptional<int32_t>(4) == SmallOptional<int32_t>(4));
    CHECK_FALSE(SmallOptional<int32_t>(4) == SmallOptional<int32_t>());
  }

  TEST_CASE("a document's group or decimals beyond what a record holds is refused with its line") {
    auto doc = [](const std::string& metric) {
      return "{\n\"schema\": \"pmcmodel.measurement/1\",\n\"duration_s\": 1,\n\"events\": [],\n"
             "\"reported\": [\n" +
             metric + "\n]}";
    };
    auto ok = measurement_from_json(
        doc(R"({"name": "ipc", "value": 1.5, "unit": "insn/cycle", "group": 2, "decimals": -3})"),
        "ok.json");
    REQUIRE(ok.reported.size() == 1);
    CHECK(ok.reported[0].unit == "insn/cycle");
    CHECK(*ok.reported[0].group == 2);
    CHECK(*ok.reported[0].decimals == -3);
    CHECK_THROWS_WITH_AS(
        measurement_from_json(doc(R"({"name": "ipc", "value": 1, "decimals": 40000})"), "d.json"),
        doctest::Contains("decimals 40000 is out of range; expected -32767 to 32767"), FormatError);
    CHECK_THROWS_WITH_AS(measurement_from_json(
                             doc(R"({"name": "ipc", "value": 1, "group": -2147483648})"), "g.json"),
                         doctest::Contains("g.json:"), FormatError);
  }
}
