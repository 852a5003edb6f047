// result<T>'s std::expected vocabulary: and_then, transform, or_else,
// transform_error, value_or, error_or, unexpected, for values and for void.
#include <memory>
#include <string>
#include <type_traits>
#include <utility>

#include <vfio/result.hpp>

#include "catch.hpp"

#if defined(__has_include)
#if __has_include(<version>)
#include <version>
#endif
#endif
#if defined(__cpp_lib_expected)
#include <expected>
#endif

namespace vfio_unit_test_result {

namespace {

using vfio::errc;
using vfio::error;
using vfio::result;

const error odd(errc::invalid_argument, "halve");

result<int> halve(int v) noexcept {
  if (v % 2 != 0) return odd;
  return v / 2;
}

result<void> require_positive(int v) noexcept {
  if (v <= 0) return error(errc::out_of_bounds, "require_positive");
  return {};
}

// A noexcept-movable, move-only value.
using owned = std::unique_ptr<int>;

}  // namespace

TEST_CASE("and_then chains on a value and skips the callable on an error", "[result]") {
  int calls = 0;
  const auto counted = [&calls](int v) noexcept {
    ++calls;
    return halve(v);
  };
  auto ok = halve(8).and_then(counted).and_then(counted);
  REQUIRE(ok.has_value());
  CHECK(*ok == 1);
  CHECK(calls == 2);

  auto bad = halve(6).and_then(counted).and_then(counted);  // 3 is odd: the second step fails
  REQUIRE_FALSE(bad.has_value());
  CHECK(bad.error() == errc::invalid_argument);
  CHECK(std::string(bad.error().operation()) == "halve");
  CHECK(calls == 3);  // the second step ran and failed, the third never ran

  calls = 0;
  auto early = halve(3).and_then(counted);
  REQUIRE_FALSE(early);
  CHECK(calls == 0);
  CHECK(std::string(early.error().operation()) == "halve");
}

TEST_CASE("and_then changes the value type and reaches result<void>", "[result]") {
  const result<int> four(4);
  auto text = four.and_then([](const int& v) noexcept -> result<std::string> { return std::to_string(v); });
  static_assert(std::is_same<decltype(text), result<std::string>>::value, "and_then returns the callable's result");
  REQUIRE(text);
  CHECK(*text == "4");

  auto checked = result<int>(-1).and_then(require_positive);
  static_assert(std::is_same<decltype(checked), result<void>>::value, "");
  REQUIRE_FALSE(checked);
  CHECK(checked.error() == errc::out_of_bounds);

  // An rvalue result hands its value over: a move-only value moves through.
  auto moved = result<owned>(std::make_unique<int>(7)).and_then([](owned p) noexcept -> result<int> { return *p; });
  REQUIRE(moved);
  CHECK(*moved == 7);
}

TEST_CASE("transform wraps the callable's value, void included", "[result]") {
  auto text = halve(10).transform([](int v) noexcept { return std::to_string(v); });
  static_assert(std::is_same<decltype(text), result<std::string>>::value, "");
  REQUIRE(text);
  CHECK(*text == "5");

  int seen = 0;
  auto none = halve(10).transform([&seen](int v) noexcept { seen = v; });
  static_assert(std::is_same<decltype(none), result<void>>::value, "a void callable gives result<void>");
  CHECK(none.has_value());
  CHECK(seen == 5);

  seen = 0;
  auto skipped = halve(9).transform([&seen](int v) noexcept { seen = v; });
  REQUIRE_FALSE(skipped);
  CHECK(seen == 0);
  CHECK(skipped.error() == odd);

  auto boxed = halve(12).transform([](int v) noexcept { return std::make_unique<int>(v); });
  REQUIRE(boxed);
  CHECK(**boxed == 6);
}

TEST_CASE("or_else recovers from an error and leaves a value alone", "[result]") {
  int calls = 0;
  const auto fallback = [&calls](const error& e) noexcept -> result<int> {
    ++calls;
    if (e == errc::invalid_argument) return 0;
    return e;
  };
  auto recovered = halve(3).or_else(fallback);
  REQUIRE(recovered);
  CHECK(*recovered == 0);
  CHECK(calls == 1);

  auto kept = halve(4).or_else(fallback);
  REQUIRE(kept);
  CHECK(*kept == 2);
  CHECK(calls == 1);

  auto other = result<int>(error(errc::timed_out, "wait")).or_else(fallback);
  REQUIRE_FALSE(other);
  CHECK(other.error() == errc::timed_out);

  auto owned_kept =
      result<owned>(std::make_unique<int>(1)).or_else([](const error& e) noexcept -> result<owned> { return e; });
  REQUIRE(owned_kept);
  CHECK(**owned_kept == 1);
}

TEST_CASE("transform_error rewrites the error and nothing else", "[result]") {
  const auto rename = [](const error& e) noexcept { return error(e.code(), "bring-up"); };
  auto renamed = halve(5).transform_error(rename);
  REQUIRE_FALSE(renamed);
  CHECK(renamed.error() == errc::invalid_argument);  // the code survives
  CHECK(std::string(renamed.error().operation()) == "bring-up");

  auto value = halve(6).transform_error(rename);
  REQUIRE(value);
  CHECK(*value == 3);

  auto v = require_positive(0).transform_error(rename);
  REQUIRE_FALSE(v);
  CHECK(std::string(v.error().operation()) == "bring-up");
  CHECK(require_positive(1).transform_error(rename).has_value());
}

TEST_CASE("value_or and error_or", "[result]") {
  CHECK(halve(4).value_or(-1) == 2);
  CHECK(halve(3).value_or(-1) == -1);
  const result<std::string> text(std::string("x"));
  CHECK(text.value_or("fallback") == "x");
  CHECK(result<std::string>(odd).value_or("fallback") == "fallback");
  // The rvalue overload moves a move-only value out.
  owned p = result<owned>(std::make_unique<int>(3)).value_or(nullptr);
  REQUIRE(p);
  CHECK(*p == 3);
  CHECK(result<owned>(odd).value_or(nullptr) == nullptr);

  const error fallback(errc::timed_out, "none");
  CHECK(halve(3).error_or(fallback) == errc::invalid_argument);
  CHECK(halve(4).error_or(fallback) == errc::timed_out);
  CHECK(require_positive(0).error_or(fallback) == errc::out_of_bounds);
  CHECK(require_positive(1).error_or(fallback) == errc::timed_out);
}

namespace {

// A failure propagates into any result<U>, by error() or by unexpected().
result<std::string> describe(int v) noexcept {
  auto h = halve(v);
  if (!h) return h.error();
  if (auto r = require_positive(*h); !r) return vfio::unexpected(r.error());
  return std::to_string(*h);
}
result<void> check_even(int v) noexcept {
  auto h = halve(v);
  if (!h) return vfio::unexpected(h.error());
  return {};
}

}  // namespace

TEST_CASE("a failure returns as any result<U>", "[result]") {
  CHECK(*describe(8) == "4");
  REQUIRE_FALSE(describe(7));
  CHECK(describe(7).error() == errc::invalid_argument);
  REQUIRE_FALSE(describe(-2));
  CHECK(std::string(describe(-2).error().operation()) == "require_positive");
  CHECK(check_even(2).has_value());
  CHECK(check_even(1).error() == odd);
  const result<int> from_unexpected = vfio::unexpected(odd);
  CHECK_FALSE(from_unexpected.has_value());
}

TEST_CASE("result<void> speaks the same vocabulary", "[result]") {
  int calls = 0;
  auto next = require_positive(1).and_then([&calls]() noexcept {
    ++calls;
    return halve(4);
  });
  static_assert(std::is_same<decltype(next), result<int>>::value, "");
  REQUIRE(next);
  CHECK(*next == 2);
  CHECK(calls == 1);

  auto skipped = require_positive(0).and_then([&calls]() noexcept {
    ++calls;
    return halve(4);
  });
  REQUIRE_FALSE(skipped);
  CHECK(skipped.error() == errc::out_of_bounds);
  CHECK(calls == 1);

  auto value = require_positive(3).transform([]() noexcept { return 42; });
  REQUIRE(value);
  CHECK(*value == 42);
  auto still_void = require_positive(3).transform([&calls]() noexcept { ++calls; });
  static_assert(std::is_same<decltype(still_void), result<void>>::value, "");
  CHECK(still_void.has_value());
  CHECK(calls == 2);

  auto recovered = require_positive(0).or_else([](const error& e) noexcept -> result<void> {
    if (e == errc::out_of_bounds) return {};
    return e;
  });
  CHECK(recovered.has_value());
  auto not_recovered =
      require_positive(0).or_else([](const error&) noexcept -> result<void> { return error(errc::timed_out, "x"); });
  CHECK(not_recovered.error() == errc::timed_out);

  const result<void> ok(std::in_place);
  CHECK(ok.has_value());
  *ok;  // unchecked access compiles to nothing, as std::expected<void, E>'s does
}

namespace {
struct base_record {
  int size = 4;
  int twice() const { return size * 2; }
  result<int> checked() const { return size > 0 ? result<int>(size) : result<int>(odd); }
};
struct derived_record : base_record {};
}  // namespace

TEST_CASE("and_then and transform take pointers to members, as std::invoke does", "[result]") {
  const result<base_record> r(base_record{});
  CHECK(*r.transform(&base_record::twice) == 8);  // member function on the object
  CHECK(*r.and_then(&base_record::checked) == 4);
  const result<derived_record> d(derived_record{});
  CHECK(*d.transform(&base_record::twice) == 8);  // a base's member on a derived object
  base_record rec;
  rec.size = 5;
  const result<const base_record*> p(&rec);
  CHECK(*p.transform(&base_record::twice) == 10);  // through a pointer
  const result<base_record> failed(odd);
  CHECK(failed.transform(&base_record::twice).error() == errc::invalid_argument);
}

TEST_CASE("noexcept follows the callable", "[result]") {
  auto r = halve(4);
  const auto nothrow = [](int v) noexcept { return halve(v); };
  const auto may_throw = [](int v) { return halve(v); };
  static_assert(noexcept(r.and_then(nothrow)), "a noexcept callable keeps and_then noexcept");
  const auto identity = [](int v) noexcept { return v; };
  const auto pass = [](const error& e) noexcept -> result<int> { return e; };
  const auto same = [](const error& e) noexcept { return e; };
  const auto then = []() noexcept { return halve(2); };
  static_assert(noexcept(r.transform(identity)), "");
  static_assert(noexcept(r.or_else(pass)), "");
  static_assert(noexcept(r.transform_error(same)), "");
  static_assert(noexcept(r.value_or(0)), "");
  static_assert(noexcept(r.error_or(odd)), "");
  static_assert(noexcept(require_positive(1).and_then(then)), "");
#if defined(__cpp_exceptions) || defined(__EXCEPTIONS)
  // Only with exceptions can a callable without noexcept throw through.
  static_assert(!noexcept(r.and_then(may_throw)), "a callable that may throw makes and_then may-throw");
#endif
  CHECK(*r.and_then(may_throw) == 1);
}

// std::expected's and_then / transform arrived in C++23's final text (202211).
#if defined(__cpp_lib_expected) && __cpp_lib_expected >= 202211L
namespace {
template <class T>
using std_result = std::expected<T, error>;

// The one line that differs: how a fresh error is spelled.
template <class R>
R failure(const error& e) {
  if constexpr (std::is_same<R, result<typename R::value_type>>::value)
    return vfio::unexpected(e);
  else
    return std::unexpected(e);
}

// The same code over vfio::result and std::expected<T, vfio::error>.
template <template <class> class R>
R<std::string> pipeline(R<int> start) {
  return std::move(start)
      .and_then([](int v) -> R<int> {
        if (v % 2 != 0) return failure<R<int>>(odd);
        return v / 2;
      })
      .transform([](int v) { return std::to_string(v); })
      .transform_error([](const error& e) { return error(e.code(), "pipeline"); });
}
}  // namespace

TEST_CASE("code reads the same over std::expected", "[result]") {
  CHECK(*pipeline<result>(result<int>(8)) == "4");
  CHECK(*pipeline<std_result>(std_result<int>(8)) == "4");
  CHECK(pipeline<result>(result<int>(3)).value_or("none") == "none");
  CHECK(pipeline<std_result>(std_result<int>(3)).value_or("none") == "none");
  CHECK(std::string(pipeline<result>(result<int>(3)).error().operation()) == "pipeline");
  CHECK(std::string(pipeline<std_result>(std_result<int>(3)).error().operation()) == "pipeline");
}
#endif

}  // namespace vfio_unit_test_result
