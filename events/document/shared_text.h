#pragma once
// SharedText: a short text that many records repeat (a metric's unit: "ratio", "GHz",
// "insn/cycle"…), kept once per process and held by one pointer. An import holds a million
// metric records whose units are a handful of texts; a std::string each made every record 24
// bytes larger (docs/PERFORMANCE.md, the import). Equal texts share one copy, so equality is a
// pointer comparison. The copies live until the process ends: use it for texts of a small set
// (units, PMU names), never for values.
#include <concepts>
#include <string>
#include <string_view>

#include <fmt/format.h>

namespace pmc {

class SharedText {
 public:
  SharedText() noexcept : text_(&empty_text()) {}
  SharedText(std::string_view text) : text_(intern(text)) {}  // NOLINT(google-explicit-constructor)
  SharedText(const char* text) : SharedText(std::string_view(text)) {}         // NOLINT
  SharedText(const std::string& text) : SharedText(std::string_view(text)) {}  // NOLINT

  const std::string& str() const noexcept { return *text_; }
  operator const std::string&() const noexcept { return *text_; }  // NOLINT
  operator std::string_view() const noexcept { return *text_; }    // NOLINT
  bool empty() const noexcept { return text_->empty(); }
  size_t size() const noexcept { return text_->size(); }
  const char* c_str() const noexcept { return text_->c_str(); }
  void clear() noexcept { text_ = &empty_text(); }

  friend bool operator==(const SharedText& a, const SharedText& b) noexcept {
    return a.text_ == b.text_;
  }
  template <class T>
  requires(!std::same_as<std::remove_cvref_t<T>, SharedText> &&
           std::convertible_to<const T&, std::string_view>) friend bool
  operator==(const SharedText& a, const T& b) {
    return std::string_view(*a.text_) == std::string_view(b);
  }
  friend std::string operator+(const SharedText& a, std::string_view b) {
    return std::string(a.str()).append(b);
  }
  friend std::string operator+(std::string a, const SharedText& b) { return a.append(b.str()); }
  friend std::string operator+(const char* a, const SharedText& b) {
    return std::string(a).append(b.str());
  }

 private:
  static const std::string& empty_text() noexcept;
  static const std::string* intern(std::string_view text);
  const std::string* text_;
};

}  // namespace pmc

template <>
struct fmt::formatter<pmc::SharedText> : fmt::formatter<std::string_view> {
  auto format(const pmc::SharedText& text, fmt::format_context& ctx) const {
    return fmt::formatter<std::string_view>::format(text.str(), ctx);
  }
};
