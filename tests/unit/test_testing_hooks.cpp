// The simulated kernel's hook and table types: vfio::testing::callback (what
// kernel_options::user_memory and fault_rule::argument hold) and
// sim::group_node_table (host_environment::group_nodes).
#include <cstdint>
#include <string>
#include <utility>

#include <vfio/testing/callback.hpp>
#include <vfio/testing/sim/fault_injection.hpp>
#include <vfio/testing/sim/fault_injector.hpp>
#include <vfio/testing/sim/function_ref.hpp>
#include <vfio/testing/sim/host_environment.hpp>
#include <vfio/testing/sim/options.hpp>

#include "../catch.hpp"

namespace vfio_unit_test_testing_hooks {

namespace {

using vfio::testing::callback;
namespace sim = vfio::testing::sim;

// Counts the live copies of itself, to check that callback owns what it holds.
struct counted {
  static inline int alive = 0;
  int bias;
  explicit counted(int b) : bias(b) { ++alive; }
  counted(const counted& o) : bias(o.bias) { ++alive; }
  counted(counted&& o) noexcept : bias(o.bias) { ++alive; }
  counted& operator=(const counted&) = default;
  counted& operator=(counted&&) = default;
  ~counted() { --alive; }
  int operator()(int x) const { return x + bias; }
};

int twice(int x) { return 2 * x; }

}  // namespace

TEST_CASE("callback: empty by default, set by a lambda, emptied by nullptr", "[testing][callback]") {
  callback<int(int)> f;
  CHECK_FALSE(f);
  CHECK(f == nullptr);
  f = [](int x) { return x + 1; };
  REQUIRE(f);
  CHECK(f != nullptr);
  CHECK(f(41) == 42);
  f = nullptr;
  CHECK_FALSE(f);
  f = twice;
  REQUIRE(f);
  CHECK(f(21) == 42);
  int (*null_fn)(int) = nullptr;
  f = null_fn;  // as std::function: a null function pointer gives an empty callback
  CHECK_FALSE(f);
}

TEST_CASE("callback: copies are independent, a move empties the source", "[testing][callback]") {
  callback<int()> counter = [n = 0]() mutable { return ++n; };
  CHECK(counter() == 1);
  callback<int()> copy = counter;  // copies the lambda's state as it is now
  CHECK(counter() == 2);
  CHECK(copy() == 2);
  CHECK(copy() == 3);
  CHECK(counter() == 3);
  callback<int()> moved = std::move(counter);
  CHECK_FALSE(counter);  // NOLINT(bugprone-use-after-move): the moved-from state is specified
  CHECK(moved() == 4);
  moved = copy;  // copy assignment
  CHECK(moved() == 4);
  CHECK(copy() == 4);
  callback<int()>& same = moved;
  moved = same;  // self-assignment keeps the object
  CHECK(moved() == 5);
}

TEST_CASE("callback: owns the held object and releases it", "[testing][callback]") {
  REQUIRE(counted::alive == 0);
  {
    callback<int(int)> f = counted(10);
    CHECK(counted::alive == 1);
    CHECK(f(1) == 11);
    callback<int(int)> g = f;
    CHECK(counted::alive == 2);
    g = [](int x) { return x; };
    CHECK(counted::alive == 1);
    callback<int(int)> h = std::move(f);
    CHECK(counted::alive == 1);
    CHECK(h(2) == 12);
  }
  CHECK(counted::alive == 0);
}

TEST_CASE("callback: a capture by reference sees the caller's variables", "[testing][callback]") {
  int calls = 0;
  callback<bool(unsigned long, const void*)> match = [&calls](unsigned long request, const void* arg) {
    ++calls;
    return request == 7 && arg == nullptr;
  };
  CHECK(match(7, nullptr));
  CHECK_FALSE(match(8, nullptr));
  CHECK(calls == 2);
}

TEST_CASE("callback: the simulated kernel's hooks hold lambdas", "[testing][callback]") {
  sim::kernel_options o;
  CHECK_FALSE(o.user_memory);
  o.user_memory = [](std::uint64_t vaddr, std::uint64_t, bool write) { return vaddr == 0 || write ? -14 : 0; };
  const sim::kernel_options copy = o;
  REQUIRE(copy.user_memory);
  CHECK(copy.user_memory(0x1000, 4096, false) == 0);
  CHECK(copy.user_memory(0x1000, 4096, true) == -14);

  sim::fault_rule r;
  r.argument = [](unsigned long request, const void*) { return request == 42; };
  sim::fault_injector faults;
  faults.add(r);
  CHECK(faults.check(vfio::testing::call_kind::ioctl, 3, 42, nullptr, &r) == r.error);
  CHECK_FALSE(faults.check(vfio::testing::call_kind::ioctl, 3, 43, nullptr, &r));
}

namespace {
int call_twice(sim::function_ref<int(int)> f, int x) { return f(x) + f(x); }
}  // namespace

TEST_CASE("function_ref: calls the referenced callable, its state included", "[testing][sim]") {
  int calls = 0;
  auto count = [&calls](int x) {
    ++calls;
    return x * 10;
  };
  CHECK(call_twice(count, 4) == 80);
  CHECK(calls == 2);

  // A mutable lambda bound to a name keeps its state across calls through the reference.
  auto counter = [n = 0](int step) mutable { return n += step; };
  const sim::function_ref<int(int)> ref = counter;
  CHECK(ref(3) == 3);
  CHECK(ref(4) == 7);
  CHECK(counter(0) == 7);

  // A temporary lambda lives for the call it is passed to; the result converts to R.
  CHECK(call_twice([](int x) -> short { return static_cast<short>(x + 1); }, 1) == 4);
  const auto const_callable = [](int x) { return -x; };
  CHECK(call_twice(const_callable, 5) == -10);
}

TEST_CASE("group_node_table: operator[] adds a default entry, find reports what was set", "[testing][sim]") {
  sim::group_node_table t;
  CHECK(t.empty());
  CHECK(t.find(3) == nullptr);
  t[3] = sim::node_access{0, 1000, 0660};
  t[5].mode = 0666;  // added as node_access{}, then changed
  REQUIRE(t.size() == 2);
  REQUIRE(t.find(3));
  CHECK(t.find(3)->gid == 1000);
  CHECK(t.find(3)->mode == 0660);
  REQUIRE(t.find(5));
  CHECK(t.find(5)->uid == 0);
  CHECK(t.find(5)->mode == 0666);
  t[3].uid = 1000;  // the same entry, not a second one
  CHECK(t.size() == 2);
  CHECK(t.find(3)->uid == 1000);

  sim::host_environment host;
  host.group_nodes = t;
  CHECK(host.group_node(3).mode == 0660);
  CHECK(host.group_node(7).mode == 0600);  // absent: root's, 0600
  t.clear();
  CHECK(t.empty());
  CHECK(host.group_nodes.size() == 2);  // a copy
}

}  // namespace vfio_unit_test_testing_hooks
