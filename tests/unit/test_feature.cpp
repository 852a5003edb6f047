// VFIO_DEVICE_FEATURE framing against the scripted syscall mock: exact bytes of
// every call, the errno mapping, and the survey.
#include <vfio/feature.hpp>
#include <vfio/testing/scripted_syscalls.hpp>

#include <cstring>
#include <string>
#include <vector>

#include "../catch.hpp"

namespace vfio_unit_test_feature {

namespace {

namespace feature = vfio::feature;
namespace abi = vfio::abi;
using vfio::testing::scripted_syscalls;

constexpr int device_fd = 30;
constexpr unsigned long feature_req = abi::req::device_feature;
constexpr std::uint32_t GET = abi::feature_flags::get;
constexpr std::uint32_t SET = abi::feature_flags::set;
constexpr std::uint32_t PROBE = abi::feature_flags::probe;

struct feature_fixture {
  std::vector<std::string> mismatches;
  scripted_syscalls mock{[this](const std::string& m) { mismatches.push_back(m); }};
  vfio::device dev{vfio::unique_fd(device_fd, mock), "0000:00:03.0"};

  /// Closes the device through the mock and checks the script was played in full.
  bool done() {
    mock.expect_close(device_fd);
    (void)dev.close();
    const bool ok = mock.verify_done();
    for (const auto& m : mismatches) UNSCOPED_INFO(m);
    return ok && mismatches.empty() && mock.open_descriptors() == 0;
  }
};

/// The bytes the library must pass: header {argsz, flags} then the payload.
std::vector<std::uint8_t> frame(std::uint32_t argsz, std::uint32_t flags, const void* payload = nullptr,
                                std::size_t size = 0) {
  std::vector<std::uint8_t> b(8 + size);
  std::memcpy(b.data(), &argsz, 4);
  std::memcpy(b.data() + 4, &flags, 4);
  if (size) std::memcpy(b.data() + 8, payload, size);
  return b;
}

void expect_feature(scripted_syscalls& m, const std::vector<std::uint8_t>& bytes, long result = 0) {
  m.expect_ioctl(device_fd, feature_req).with_bytes(bytes.data(), bytes.size()).returns(result);
}

// A feature declared by a user: a vendor driver's GET-only feature.
struct vendor_counter {
  std::uint32_t value;
  std::uint32_t reserved;
};
struct vendor_counter_feature {
  static constexpr std::uint32_t id = 0x100;
  using payload = vendor_counter;
  static constexpr bool can_get = true, can_set = false;
};
// The same declared through the one-line helper.
struct vendor_counter_short : feature::basic_traits<0x100, vendor_counter, true, false> {};

}  // namespace

// Compile-time properties of the traits.
static_assert(feature::is_feature_traits_v<feature::low_power_entry>);
static_assert(feature::is_feature_traits_v<vendor_counter_feature>);
static_assert(feature::is_feature_traits_v<vendor_counter_short>);
static_assert(vendor_counter_short::id == vendor_counter_feature::id && vendor_counter_short::can_get &&
              !vendor_counter_short::can_set);
static_assert(!feature::is_feature_traits_v<int>);
static_assert(feature::detail::argsz_of<void>() == 8);
static_assert(feature::detail::argsz_of<abi::feature_bus_master>() == 12);  // not the padded 16
static_assert(feature::detail::argsz_of<feature::dma_buf::payload>() == 40);
static_assert(alignof(feature::detail::frame<abi::feature_bus_master>) == 8);
static_assert(offsetof(feature::detail::frame<abi::feature_low_power_entry_with_wakeup>, payload) == 8);
static_assert(feature::low_power_entry::id == 3 && feature::low_power_entry_with_wakeup::id == 4 &&
              feature::low_power_exit::id == 5 && feature::dma_buf::id == 11);

TEST_CASE("feature: SET without payload sends argsz 8 and id|SET", "[feature]") {
  feature_fixture f;
  expect_feature(f.mock, frame(8, 3 | SET));
  expect_feature(f.mock, frame(8, 5 | SET));
  expect_feature(f.mock, frame(8, 7 | SET));
  CHECK(feature::set<feature::low_power_entry>(f.dev));
  CHECK(feature::set<feature::low_power_exit>(f.dev));
  CHECK(feature::set<feature::dma_logging_stop>(f.dev));
  CHECK(f.done());
}

TEST_CASE("feature: SET with payload sends argsz 8 + sizeof(payload) and the payload bytes", "[feature]") {
  feature_fixture f;
  const abi::feature_low_power_entry_with_wakeup wake{7, 0};
  expect_feature(f.mock, frame(16, 4 | SET, &wake, sizeof wake));
  const abi::feature_bus_master bm{abi::bus_master_op::set_master};
  expect_feature(f.mock, frame(12, 10 | SET, &bm, sizeof bm));
  feature::vf_token_uuid token{};
  for (int i = 0; i < 16; ++i) token.bytes[i] = static_cast<std::uint8_t>(0xa0 + i);
  expect_feature(f.mock, frame(24, 0 | SET, &token, sizeof token));
  abi::feature_dma_logging_control ctl{};
  ctl.page_size = 4096;
  ctl.num_ranges = 1;
  ctl.ranges = 0x1234;
  expect_feature(f.mock, frame(32, 6 | SET, &ctl, sizeof ctl));
  const abi::seed::feature_power_management enter{abi::seed::low_power_state_enter};
  expect_feature(f.mock, frame(16, 3 | SET, &enter, sizeof enter));

  CHECK(feature::set<feature::low_power_entry_with_wakeup>(f.dev, wake));
  CHECK(feature::set<feature::bus_master>(f.dev, bm));
  CHECK(feature::set<feature::pci_vf_token>(f.dev, token));
  CHECK(feature::set<feature::dma_logging_start>(f.dev, ctl));
  CHECK(feature::set<feature::seed_power_management>(f.dev, enter));
  CHECK(f.done());
}

TEST_CASE("feature: GET sends a zeroed payload and returns what the kernel wrote", "[feature]") {
  feature_fixture f;
  const abi::feature_migration zero_mig{};
  const abi::feature_migration caps{abi::migration_flags::stop_copy | abi::migration_flags::pre_copy};
  f.mock.expect_ioctl(device_fd, feature_req)
      .with_bytes(frame(16, 1 | GET, &zero_mig, sizeof zero_mig).data(), 16)
      .fills(caps, 8)
      .returns(0);
  const abi::feature_mig_data_size size{0x10000};
  f.mock.expect_ioctl(device_fd, feature_req).with_bytes(frame(16, 9 | GET, &zero_mig, 8).data(), 16).fills(size, 8);
  const abi::seed::feature_power_management engaged{abi::seed::low_power_state_enter};
  f.mock.expect_ioctl(device_fd, feature_req).with_bytes(frame(16, 3 | GET, &zero_mig, 8).data(), 16).fills(engaged, 8);
  const vendor_counter counter{41, 0};
  f.mock.expect_ioctl(device_fd, feature_req)
      .with_bytes(frame(16, 0x100 | GET, &zero_mig, 8).data(), 16)
      .fills(counter, 8);

  auto m = feature::get<feature::migration>(f.dev);
  REQUIRE(m);
  CHECK(m->flags == (abi::migration_flags::stop_copy | abi::migration_flags::pre_copy));
  auto s = feature::get<feature::mig_data_size>(f.dev);
  REQUIRE(s);
  CHECK(s->stop_copy_length == 0x10000);
  auto pm = feature::get<feature::seed_power_management>(f.dev);
  REQUIRE(pm);
  CHECK(pm->low_power_state == abi::seed::low_power_state_enter);
  auto c = feature::get<vendor_counter_feature>(f.dev);
  REQUIRE(c);
  CHECK(c->value == 41);
  CHECK(f.done());
}

TEST_CASE("feature: GET and SET with in/out payloads and a returned descriptor", "[feature]") {
  feature_fixture f;
  abi::feature_dma_logging_report report{};
  report.iova = 0x100000;
  report.length = 0x200000;
  report.page_size = 4096;
  report.bitmap = 0xdead000;
  expect_feature(f.mock, frame(40, 8 | GET, &report, sizeof report));
  abi::feature_mig_state to_stop_copy{abi::mig_device_state::stop_copy, -1};
  const abi::feature_mig_state with_fd{abi::mig_device_state::stop_copy, 55};
  f.mock.expect_ioctl(device_fd, feature_req)
      .with_bytes(frame(16, 2 | SET, &to_stop_copy, sizeof to_stop_copy).data(), 16)
      .fills(with_fd, 8);
  feature::dma_buf::payload request{};
  request.header.region_index = 0;
  request.header.nr_ranges = 1;
  request.ranges[0].offset = 0;
  request.ranges[0].length = 0x1000;
  f.mock.expect_ioctl(device_fd, feature_req)
      .with_bytes(frame(40, 11 | GET, &request, sizeof request).data(), 40)
      .returns_fd(42);

  auto r = feature::get_inout<feature::dma_logging_report>(f.dev, report);
  REQUIRE(r);
  CHECK(*r == 0);
  auto s = feature::set_inout<feature::mig_device_state>(f.dev, to_stop_copy);
  REQUIRE(s);
  CHECK(to_stop_copy.data_fd == 55);
  {
    auto buf = feature::get_fd<feature::dma_buf>(f.dev, request);
    REQUIRE(buf);
    CHECK(buf->get() == 42);
    CHECK(f.mock.open_descriptors() == 1);
    f.mock.expect_close(42);
  }
  CHECK(f.mock.open_descriptors() == 0);
  CHECK(f.done());
}

TEST_CASE("feature: GET/SET errno mapping", "[feature]") {
  feature_fixture f;
  expect_feature(f.mock, frame(8, 3 | SET), -ENOTTY);
  expect_feature(f.mock, frame(8, 3 | SET), -EINVAL);
  expect_feature(f.mock, frame(8, 3 | SET), -EIO);
  f.mock.expect_ioctl(device_fd, feature_req).returns(-ENOTTY);

  auto unsupported = feature::set<feature::low_power_entry>(f.dev);
  REQUIRE_FALSE(unsupported);
  CHECK(unsupported.error() == vfio::errc::feature_unsupported);
  CHECK(std::strcmp(unsupported.error().operation(), "VFIO_DEVICE_FEATURE") == 0);

  // EINVAL is ambiguous on a real call (second entry, short payload, wrong
  // direction, or no handler before 6.18): it stays the kernel's errno.
  auto einval = feature::set<feature::low_power_entry>(f.dev);
  REQUIRE_FALSE(einval);
  CHECK(einval.error() == std::errc::invalid_argument);
  CHECK(einval.error().code().category() == std::system_category());
  CHECK(std::strcmp(einval.error().operation(), "VFIO_DEVICE_FEATURE") == 0);

  auto eio = feature::set<feature::low_power_entry>(f.dev);
  REQUIRE_FALSE(eio);
  CHECK(eio.error() == std::errc::io_error);

  auto get = feature::get<feature::migration>(f.dev);
  REQUIRE_FALSE(get);
  CHECK(get.error() == vfio::errc::feature_unsupported);
  CHECK(f.done());
}

TEST_CASE("feature: probe answers and their mapping", "[feature]") {
  SECTION("bare PROBE: 0 means the feature exists") {
    feature_fixture f;
    expect_feature(f.mock, frame(8, 3 | PROBE));
    CHECK(feature::probe(f.dev, 3));
    CHECK(f.done());
  }
  SECTION("bare PROBE: ENOTTY is unsupported") {
    feature_fixture f;
    expect_feature(f.mock, frame(8, 4 | PROBE), -ENOTTY);
    auto r = feature::probe(f.dev, 4);
    REQUIRE_FALSE(r);
    CHECK(r.error() == vfio::errc::feature_unsupported);
    CHECK(f.done());
  }
  SECTION("bare PROBE: EINVAL (no feature handler, kernels before 6.18) is unsupported") {
    feature_fixture f;
    expect_feature(f.mock, frame(8, 5 | PROBE), -EINVAL);
    auto r = feature::probe(f.dev, 5);
    REQUIRE_FALSE(r);
    CHECK(r.error() == vfio::errc::feature_unsupported);
    CHECK(f.done());
  }
  SECTION("PROBE|GET of an existing SET-only feature: direction invalid") {
    feature_fixture f;
    expect_feature(f.mock, frame(8, 3 | PROBE | GET), -EINVAL);
    expect_feature(f.mock, frame(8, 3 | PROBE));
    auto r = feature::probe(f.dev, 3, feature::direction::get);
    REQUIRE_FALSE(r);
    CHECK(r.error() == vfio::errc::feature_direction_invalid);
    CHECK(f.done());
  }
  SECTION("PROBE|GET with EINVAL and a bare PROBE with EINVAL: no handler, unsupported") {
    feature_fixture f;
    expect_feature(f.mock, frame(8, 3 | PROBE | GET), -EINVAL);
    expect_feature(f.mock, frame(8, 3 | PROBE), -EINVAL);
    auto r = feature::probe(f.dev, 3, feature::direction::get);
    REQUIRE_FALSE(r);
    CHECK(r.error() == vfio::errc::feature_unsupported);
    CHECK(f.done());
  }
  SECTION("PROBE|SET with ENOTTY: one ioctl, unsupported") {
    feature_fixture f;
    expect_feature(f.mock, frame(8, 4 | PROBE | SET), -ENOTTY);
    auto r = feature::probe(f.dev, 4, feature::direction::set);
    REQUIRE_FALSE(r);
    CHECK(r.error() == vfio::errc::feature_unsupported);
    CHECK(f.done());
  }
  SECTION("other errnos stay system errors") {
    feature_fixture f;
    expect_feature(f.mock, frame(8, 3 | PROBE), -EIO);
    auto r = feature::probe(f.dev, 3);
    REQUIRE_FALSE(r);
    CHECK(r.error() == std::errc::io_error);
    CHECK(std::strcmp(r.error().operation(), "VFIO_DEVICE_FEATURE") == 0);
    CHECK(f.done());
  }
  SECTION("typed probe uses the trait's directions") {
    feature_fixture f;
    expect_feature(f.mock, frame(8, 3 | PROBE | SET));
    expect_feature(f.mock, frame(8, 2 | PROBE | GET | SET));
    expect_feature(f.mock, frame(8, 1 | PROBE | GET));
    CHECK(feature::probe<feature::low_power_entry>(f.dev));
    CHECK(feature::probe<feature::mig_device_state>(f.dev));
    CHECK(feature::probe<feature::migration>(f.dev));
    CHECK(f.done());
  }
  SECTION("an id beyond 16 bits is refused without a syscall") {
    feature_fixture f;
    auto r = feature::probe(f.dev, 0x10000);
    REQUIRE_FALSE(r);
    CHECK(r.error() == vfio::errc::invalid_argument);
    CHECK(f.done());
  }
}

TEST_CASE("feature: untyped call", "[feature]") {
  feature_fixture f;
  std::uint8_t payload[12] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12};
  const std::uint8_t reply[12] = {9, 9, 9, 9, 0, 0, 0, 0, 1, 1, 1, 1};
  f.mock.expect_ioctl(device_fd, feature_req)
      .with_bytes(frame(20, 0x123 | GET, payload, sizeof payload).data(), 20)
      .fills_bytes(reply, sizeof reply, 8)
      .returns(0);
  auto r = feature::call(f.dev, 0x123, feature::direction::get, payload, sizeof payload);
  REQUIRE(r);
  CHECK(std::memcmp(payload, reply, sizeof reply) == 0);

  std::uint8_t big[feature::max_untyped_payload + 1] = {};
  auto too_big = feature::call(f.dev, 0x123, feature::direction::set, big, sizeof big);
  REQUIRE_FALSE(too_big);
  CHECK(too_big.error() == vfio::errc::out_of_bounds);
  auto probe_dir = feature::call(f.dev, 0x123, feature::direction::none, payload, sizeof payload);
  REQUIRE_FALSE(probe_dir);
  CHECK(probe_dir.error() == vfio::errc::invalid_argument);
  CHECK(f.done());
}

TEST_CASE("feature: supported_features on a merged (6.1+) vfio-pci device", "[feature]") {
  feature_fixture f;
  for (std::uint32_t id = 0; id < 12; ++id) {
    const bool low_power = id >= 3 && id <= 5;
    expect_feature(f.mock, frame(8, id | PROBE), low_power ? 0 : -ENOTTY);
    if (!low_power) continue;  // ENOTTY comes before any direction check: not asked again
    expect_feature(f.mock, frame(8, id | PROBE | GET), -EINVAL);
    expect_feature(f.mock, frame(8, id | PROBE | SET), 0);
  }
  auto s = feature::supported_features(f.dev);
  REQUIRE(s);
  for (const auto& e : *s) {
    INFO("feature " << e.id << " " << e.name);
    const bool low_power = e.id >= 3 && e.id <= 5;
    CHECK(e.supported == low_power);
    CHECK_FALSE(e.can_get);
    CHECK(e.can_set == low_power);
    CHECK(e.probe_errno == (low_power ? 0 : ENOTTY));
    CHECK(e.get_errno == (low_power ? EINVAL : ENOTTY));
    CHECK(e.set_errno == (low_power ? 0 : ENOTTY));
  }
  CHECK(std::strcmp((*s)[4].name, "LOW_POWER_ENTRY_WITH_WAKEUP") == 0);
  CHECK(std::strcmp((*s)[11].name, "DMA_BUF") == 0);
  CHECK(f.done());
}

TEST_CASE("feature: supported_features keeps the raw errno of a pre-6.18 driver without handler", "[feature]") {
  feature_fixture f;
  for (std::uint32_t id = 0; id < 12; ++id) {
    // The core's own features give ENOTTY without mig_ops/log_ops; the rest reach
    // the missing handler and give EINVAL.
    const bool core = (id >= 1 && id <= 2) || (id >= 6 && id <= 9);
    const long e = core ? -ENOTTY : -EINVAL;
    expect_feature(f.mock, frame(8, id | PROBE), e);
    if (core) continue;  // ENOTTY: the directions answer the same, not asked
    expect_feature(f.mock, frame(8, id | PROBE | GET), e);
    expect_feature(f.mock, frame(8, id | PROBE | SET), e);
  }
  auto s = feature::supported_features(f.dev);
  REQUIRE(s);
  CHECK_FALSE((*s)[3].supported);
  CHECK((*s)[3].probe_errno == EINVAL);
  CHECK((*s)[3].get_errno == EINVAL);
  CHECK((*s)[1].probe_errno == ENOTTY);
  CHECK((*s)[1].get_errno == ENOTTY);
  CHECK((*s)[1].set_errno == ENOTTY);
  for (const auto& e : *s) CHECK_FALSE(e.supported);
  CHECK(f.done());
}

TEST_CASE("feature: supported_features stops on EIO", "[feature]") {
  feature_fixture f;
  expect_feature(f.mock, frame(8, 0 | PROBE), -EIO);
  auto s = feature::supported_features(f.dev);
  REQUIRE_FALSE(s);
  CHECK(s.error() == std::errc::io_error);
  CHECK(std::strcmp(s.error().operation(), "VFIO_DEVICE_FEATURE") == 0);
  CHECK(f.done());
}

TEST_CASE("feature: names", "[feature]") {
  CHECK(std::strcmp(feature::feature_name(3), "LOW_POWER_ENTRY") == 0);
  CHECK(std::strcmp(feature::feature_name(5), "LOW_POWER_EXIT") == 0);
  CHECK(std::strcmp(feature::feature_name(12), "unknown") == 0);
}

}  // namespace vfio_unit_test_feature
