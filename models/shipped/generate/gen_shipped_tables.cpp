// Writes models/shipped's compiled-in copy of data/skus.csv and data/cpu_facts.csv: the files'
// bytes and their rows as SkuCatalog and CpuFactsTable parse them (so a bad row in a shipped
// table fails the build with the reader's FILE:LINE message).
//   gen_shipped_tables SKUS.csv CPU_FACTS.csv OUT.inc
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <optional>
#include <sstream>
#include <string>

#include "events/text/catalog_csv.h"
#include "models/fleet/sku_catalog.h"
#include "models/fleet/sku_curve.h"

namespace {

// A C++ string literal of `text`, one literal per line of it: every byte other than a printable
// ASCII character, '"', '\\' and '?' as a three-digit octal escape.
std::string literal(std::string_view text) {
  std::string out = "\"";
  for (unsigned char c : text) {
    if (c >= 0x20 && c < 0x7f && c != '"' && c != '\\' && c != '?') {
      out += char(c);
    } else {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\%03o", c);
      out += buf;
      if (c == '\n') out += "\"\n\"";
    }
  }
  return out + "\"";
}

// The rows' texts, one after another: a row holds {offset, size} into it instead of a pointer, so
// the tables are constants that need no relocation when the program is loaded (18,000 pointers
// would be rewritten, and their pages copied, at the start of every command).
class Pool {
 public:
  std::string ref(std::string_view text) {
    std::string r = "{" + std::to_string(text_.size()) + ", " + std::to_string(text.size()) + "}";
    text_ += text;
    return r;
  }
  const std::string& text() const { return text_; }

 private:
  std::string text_;
};

std::string number(double v) {
  char buf[40];
  std::snprintf(buf, sizeof buf, "%.17g", v);
  return buf;
}

std::string number(const std::optional<double>& v) {
  return v ? number(*v) : std::string("NAN");
}

std::string whole(const std::optional<int>& v) {
  return v ? std::to_string(*v) : std::string("-1");
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 4) {
    std::cerr << "usage: gen_shipped_tables SKUS.csv CPU_FACTS.csv OUT.inc\n";
    return 2;
  }
  try {
    std::string skus_text = pmc::read_catalog_file(argv[1]);
    std::string facts_text = pmc::read_catalog_file(argv[2]);
    auto catalog = pmc::SkuCatalog::parse(skus_text, argv[1]);
    auto facts = pmc::CpuFactsTable::parse(facts_text, argv[2]);
    Pool pool;
    std::ostringstream rows;
    rows << "constexpr SkuRow kSkuRows[] = {\n";
    for (const auto& s : catalog.skus()) {
      rows << "    {" << pool.ref(s.id) << ", " << pool.ref(s.vendor) << ", "
           << pool.ref(s.cpu_model) << ", " << pool.ref(s.cpu_key) << ", " << whole(s.sockets)
           << ", " << s.cores << ", " << s.threads << ", " << number(s.base_ghz) << ", "
           << number(s.turbo_ghz) << ", " << number(s.tdp_w) << ", {";
      for (size_t i = 0; i < s.watts.size(); ++i) rows << (i ? ", " : "") << number(s.watts[i]);
      rows << "}, " << number(s.memory_gb) << ", " << number(s.mem_bw_gbs) << ", "
           << number(s.llc_mb) << ", " << number(s.price_per_hour_usd) << ", "
           << pool.ref(s.price_source) << ", " << pool.ref(s.power_source) << "},\n";
    }
    rows << "};\n";
    rows << "constexpr FactsRow kFactsRows[] = {\n";
    for (const auto& f : facts.all()) {
      rows << "    {" << pool.ref(f.key) << ", " << pool.ref(f.name) << ", " << number(f.tdp_w)
           << ", " << whole(f.cores) << ", " << number(f.base_ghz) << ", " << number(f.turbo_ghz)
           << ", " << whole(f.launch_year) << ", " << pool.ref(f.source) << ", " << number(f.l3_mb)
           << "},\n";
    }
    rows << "};\n";
    std::ostringstream out;
    out << "// Generated at build time by models/shipped/generate/gen_shipped_tables.cpp from\n"
           "// data/skus.csv and data/cpu_facts.csv: do not edit.\n";
    out << "constexpr char kSkusCsv[] =\n" << literal(skus_text) << ";\n";
    out << "constexpr char kFactsCsv[] =\n" << literal(facts_text) << ";\n";
    out << "constexpr char kPool[] =\n" << literal(pool.text()) << ";\n";
    out << rows.str();
    std::string tmp = std::string(argv[3]) + ".tmp";
    {
      std::ofstream file(tmp, std::ios::binary | std::ios::trunc);
      file << out.str();
      file.close();
      if (!file) throw std::runtime_error(std::string(argv[3]) + ": cannot write the file");
    }
    std::filesystem::rename(tmp, argv[3]);
  } catch (const std::exception& e) {
    std::cerr << "gen_shipped_tables: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
