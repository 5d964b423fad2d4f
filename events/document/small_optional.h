#pragma once
// SmallOptional<T>: an optional whole number held in T alone, the smallest value of T standing
// for "none". std::optional<int> takes 8 bytes with its flag; two of them on a metric record
// (the printed group and decimals) made each of an import's million records 16 bytes larger
// than these two take. Reads like std::optional.
#include <concepts>
#include <cstdint>
#include <limits>
#include <optional>
#include <stdexcept>

namespace pmc {

template <std::signed_integral T>
class SmallOptional {
 public:
  using value_type = T;
  static constexpr T kNone = std::numeric_limits<T>::min();
  // The values it holds: every T but kNone.
  static constexpr long long kMin = (long long)kNone + 1;
  static constexpr long long kMax = std::numeric_limits<T>::max();
  static constexpr bool holds(long long v) { return v >= kMin && v <= kMax; }

  constexpr SmallOptional() noexcept = default;
  constexpr SmallOptional(std::nullopt_t) noexcept {}  // NOLINT(google-explicit-constructor)
  template <std::integral I>
  constexpr SmallOptional(I v) : value_(checked(v)) {}  // NOLINT(google-explicit-constructor)
  template <std::integral I>
  constexpr SmallOptional(const std::optional<I>& v)  // NOLINT(google-explicit-constructor)
      : value_(v ? checked(*v) : kNone) {}

  constexpr bool has_value() const noexcept { return value_ != kNone; }
  constexpr explicit operator bool() const noexcept { return has_value(); }
  constexpr T operator*() const noexcept { return value_; }
  constexpr T value() const {
    if (!has_value()) throw std::bad_optional_access();
    return value_;
  }
  constexpr T value_or(T other) const noexcept { return has_value() ? value_ : other; }
  constexpr void reset() noexcept { value_ = kNone; }
  // Where a std::optional is asked for.
  template <std::integral I>
  constexpr operator std::optional<I>() const {  // NOLINT(google-explicit-constructor)
    return has_value() ? std::optional<I>(I(value_)) : std::nullopt;
  }

  friend constexpr bool operator==(SmallOptional a, SmallOptional b) noexcept = default;
  friend constexpr bool operator==(SmallOptional a, std::nullopt_t) noexcept {
    return !a.has_value();
  }

 private:
  template <std::integral I>
  static constexpr T checked(I v) {
    if (!holds((long long)v)) throw std::out_of_range("SmallOptional: value out of range");
    return T(v);
  }
  T value_ = kNone;
};

}  // namespace pmc
