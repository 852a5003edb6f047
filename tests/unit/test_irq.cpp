// Unit tests for IRQ info and VFIO_DEVICE_SET_IRQS wrappers against the scripted
// syscall seam: exact request numbers, argsz values and payload bytes.
#include <vfio/device.hpp>
#include <vfio/irq.hpp>
#include <vfio/testing/scripted_syscalls.hpp>

#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <string>
#include <utility>
#include <vector>

#include "../catch.hpp"
#include "mock_fixture.hpp"

namespace vfio_unit_test_irq {

namespace {

namespace abi = vfio::abi;
using vfio::errc;
using vfio::testing::scripted_syscalls;

using vfio_test::op;
using vfio_test::seam;

constexpr int group_fd = 4;
constexpr int device_fd = 9;

vfio::device open_device(scripted_syscalls& mock) {
  return vfio_test::open_scripted_device(mock, group_fd, device_fd, "0000:00:03.0");
}

void expect_info(scripted_syscalls& mock, std::uint32_t irqs) {
  vfio_test::expect_device_info(mock, device_fd, abi::device_flags::pci, 9, irqs);
}

template <class T>
void put(std::vector<std::uint8_t>& buf, const T& v) {
  const auto* p = reinterpret_cast<const std::uint8_t*>(&v);
  buf.insert(buf.end(), p, p + sizeof v);
}

/// The bytes of a vfio_irq_set header, field by field (not through abi::irq_set).
std::vector<std::uint8_t> irq_set_bytes(std::uint32_t argsz, std::uint32_t flags, std::uint32_t index,
                                        std::uint32_t start, std::uint32_t count) {
  std::vector<std::uint8_t> b;
  put(b, argsz);
  put(b, flags);
  put(b, index);
  put(b, start);
  put(b, count);
  return b;
}

abi::irq_info irq_info_arg(std::uint32_t index, std::uint32_t flags = 0, std::uint32_t count = 0) {
  abi::irq_info a{};
  a.argsz = sizeof a;
  a.flags = flags;
  a.index = index;
  a.count = count;
  return a;
}

}  // namespace

// --- irq_info ---------------------------------------------------------------------

TEST_CASE("irq: irq_info decodes each flag on its own", "[irq]") {
  vfio::irq_info none;
  CHECK(!none.eventfd());
  CHECK(!none.maskable());
  CHECK(!none.automasked());
  CHECK(!none.noresize());

  vfio::irq_info intx{abi::pci_irq::intx,
                      abi::irq_info_flags::eventfd | abi::irq_info_flags::maskable | abi::irq_info_flags::automasked,
                      1};
  CHECK(intx.eventfd());
  CHECK(intx.maskable());
  CHECK(intx.automasked());
  CHECK(!intx.noresize());

  vfio::irq_info msix{abi::pci_irq::msix, abi::irq_info_flags::noresize, 64};
  CHECK(!msix.eventfd());
  CHECK(msix.noresize());
  CHECK(!msix.maskable());
}

TEST_CASE("irq: irq() passes argsz 16 and the index and returns flags and count", "[irq]") {
  seam s;
  {
    auto dev = open_device(s.mock);
    expect_info(s.mock, 5);
    s.mock.expect_ioctl(device_fd, abi::req::device_get_irq_info)
        .with(irq_info_arg(abi::pci_irq::intx))
        .fills(irq_info_arg(
            abi::pci_irq::intx,
            abi::irq_info_flags::eventfd | abi::irq_info_flags::maskable | abi::irq_info_flags::automasked, 1));
    auto intx = dev.irq(abi::pci_irq::intx);
    REQUIRE(intx.has_value());
    CHECK(intx->index == abi::pci_irq::intx);
    CHECK(intx->count == 1);
    CHECK(intx->automasked());

    s.mock.expect_ioctl(device_fd, abi::req::device_get_irq_info)
        .with(irq_info_arg(abi::pci_irq::msix))
        .fills(irq_info_arg(abi::pci_irq::msix, abi::irq_info_flags::eventfd | abi::irq_info_flags::noresize, 5));
    auto msix = dev.irq(abi::pci_irq::msix);
    REQUIRE(msix.has_value());
    CHECK(msix->count == 5);
    CHECK(msix->noresize());
    CHECK(!msix->maskable());
    s.mock.expect_close(device_fd);
  }
  CHECK(s.mock.verify_done());
}

TEST_CASE("irq: irq() checks the index against num_irqs before the ioctl", "[irq]") {
  seam s;
  {
    auto dev = open_device(s.mock);
    expect_info(s.mock, 5);
    auto r = dev.irq(5);
    REQUIRE(!r);
    CHECK(r.error() == errc::index_out_of_range);
    CHECK(op(r.error()) == "IRQ index check");
    CHECK(r.error().message() == "IRQ index check (IRQ 5): region or IRQ index out of range");

    // ERR on a conventional PCI device: the kernel says EINVAL.
    s.mock.expect_ioctl(device_fd, abi::req::device_get_irq_info).with(irq_info_arg(abi::pci_irq::err)).fails(EINVAL);
    auto err = dev.irq(abi::pci_irq::err);
    REQUIRE(!err);
    CHECK(err.error() == std::errc::invalid_argument);
    CHECK(op(err.error()) == "VFIO_DEVICE_GET_IRQ_INFO");
    s.mock.expect_close(device_fd);
  }
  CHECK(s.mock.verify_done());
}

// --- SET_IRQS -----------------------------------------------------------------------

TEST_CASE("irq: set_irq_eventfds() sends a 20-byte header and 3 s32 fds in one ioctl", "[irq]") {
  seam s;
  {
    auto dev = open_device(s.mock);
    auto want = irq_set_bytes(20 + 3 * 4, abi::irq_set_flags::data_eventfd | abi::irq_set_flags::action_trigger,
                              abi::pci_irq::msix, 0, 3);
    put(want, std::int32_t{20});
    put(want, std::int32_t{21});
    put(want, std::int32_t{-1});  // vector 2 stays unassigned
    REQUIRE(want.size() == 32);
    s.mock.expect_ioctl(device_fd, abi::req::device_set_irqs).with_bytes(want.data(), want.size());
    const int fds[] = {20, 21, -1};
    CHECK(dev.set_irq_eventfds(abi::pci_irq::msix, 0, fds).has_value());

    // A later block starting at vector 2, as a resize of a dynamic MSI-X set would.
    auto more = irq_set_bytes(20 + 4, abi::irq_set_flags::data_eventfd | abi::irq_set_flags::action_trigger,
                              abi::pci_irq::msix, 2, 1);
    put(more, std::int32_t{22});
    s.mock.expect_ioctl(device_fd, abi::req::device_set_irqs).with_bytes(more.data(), more.size()).fails(EINVAL);
    const int one[] = {22};
    auto r = dev.set_irq_eventfds(abi::pci_irq::msix, 2, one);
    REQUIRE(!r);
    CHECK(r.error() == std::errc::invalid_argument);
    CHECK(op(r.error()) == "VFIO_DEVICE_SET_IRQS");
    s.mock.expect_close(device_fd);
  }
  CHECK(s.mock.verify_done());
}

TEST_CASE("irq: set_irq_eventfds() takes up to 2048 fds and refuses more without a syscall", "[irq]") {
  seam s;
  {
    auto dev = open_device(s.mock);
    std::vector<int> fds(vfio::max_irq_eventfds);
    for (std::size_t i = 0; i < fds.size(); ++i) fds[i] = static_cast<int>(100 + i);
    auto want = irq_set_bytes(static_cast<std::uint32_t>(20 + 4 * fds.size()),
                              abi::irq_set_flags::data_eventfd | abi::irq_set_flags::action_trigger, abi::pci_irq::msix,
                              0, static_cast<std::uint32_t>(fds.size()));
    for (int fd : fds) put(want, static_cast<std::int32_t>(fd));
    s.mock.expect_ioctl(device_fd, abi::req::device_set_irqs).with_bytes(want.data(), want.size());
    CHECK(dev.set_irq_eventfds(abi::pci_irq::msix, 0, fds).has_value());

    fds.push_back(5000);
    auto over = dev.set_irq_eventfds(abi::pci_irq::msix, 0, fds);
    REQUIRE(!over);
    CHECK(over.error() == errc::too_many_descriptors);
    CHECK(op(over.error()) == "eventfd count check");
    CHECK(over.error().about() == vfio::subject::irq(abi::pci_irq::msix));

    auto empty = dev.set_irq_eventfds(abi::pci_irq::msix, 0, {});
    REQUIRE(!empty);
    CHECK(empty.error() == errc::invalid_argument);
    s.mock.expect_close(device_fd);
  }
  CHECK(s.mock.verify_done());
}

TEST_CASE("irq: set_irq_unmask_eventfd() sends DATA_EVENTFD|ACTION_UNMASK with one fd", "[irq]") {
  seam s;
  {
    auto dev = open_device(s.mock);
    auto want = irq_set_bytes(24, abi::irq_set_flags::data_eventfd | abi::irq_set_flags::action_unmask,
                              abi::pci_irq::intx, 0, 1);
    put(want, std::int32_t{33});
    s.mock.expect_ioctl(device_fd, abi::req::device_set_irqs).with_bytes(want.data(), want.size());
    CHECK(dev.set_irq_unmask_eventfd(abi::pci_irq::intx, 0, 33).has_value());

    auto off = irq_set_bytes(24, abi::irq_set_flags::data_eventfd | abi::irq_set_flags::action_unmask,
                             abi::pci_irq::intx, 0, 1);
    put(off, std::int32_t{-1});
    s.mock.expect_ioctl(device_fd, abi::req::device_set_irqs).with_bytes(off.data(), off.size());
    CHECK(dev.set_irq_unmask_eventfd(abi::pci_irq::intx, 0, -1).has_value());
    s.mock.expect_close(device_fd);
  }
  CHECK(s.mock.verify_done());
}

TEST_CASE("irq: trigger, mask, unmask and disable send DATA_NONE headers of 20 bytes", "[irq]") {
  seam s;
  {
    auto dev = open_device(s.mock);
    const auto none = abi::irq_set_flags::data_none;

    auto trig = irq_set_bytes(20, none | abi::irq_set_flags::action_trigger, abi::pci_irq::msi, 1, 2);
    s.mock.expect_ioctl(device_fd, abi::req::device_set_irqs).with_bytes(trig.data(), trig.size());
    CHECK(dev.trigger_irq(abi::pci_irq::msi, 1, 2).has_value());

    auto mask = irq_set_bytes(20, none | abi::irq_set_flags::action_mask, abi::pci_irq::intx, 0, 1);
    s.mock.expect_ioctl(device_fd, abi::req::device_set_irqs).with_bytes(mask.data(), mask.size());
    CHECK(dev.mask_irq(abi::pci_irq::intx, 0, 1).has_value());

    auto unmask = irq_set_bytes(20, none | abi::irq_set_flags::action_unmask, abi::pci_irq::intx, 0, 1);
    s.mock.expect_ioctl(device_fd, abi::req::device_set_irqs).with_bytes(unmask.data(), unmask.size());
    CHECK(dev.unmask_irq(abi::pci_irq::intx, 0, 1).has_value());

    auto disable = irq_set_bytes(20, none | abi::irq_set_flags::action_trigger, abi::pci_irq::msix, 0, 0);
    s.mock.expect_ioctl(device_fd, abi::req::device_set_irqs).with_bytes(disable.data(), disable.size());
    CHECK(dev.disable_irq(abi::pci_irq::msix).has_value());

    auto bad_mask = irq_set_bytes(20, none | abi::irq_set_flags::action_mask, abi::pci_irq::msix, 0, 1);
    s.mock.expect_ioctl(device_fd, abi::req::device_set_irqs)
        .with_bytes(bad_mask.data(), bad_mask.size())
        .fails(EINVAL);  // vfio-pci masks INTx only
    auto r = dev.mask_irq(abi::pci_irq::msix, 0, 1);
    REQUIRE(!r);
    CHECK(r.error() == std::errc::invalid_argument);
    CHECK(op(r.error()) == "VFIO_DEVICE_SET_IRQS");
    s.mock.expect_close(device_fd);
  }
  CHECK(s.mock.open_descriptors() == 0);
  CHECK(s.mock.verify_done());
}

TEST_CASE("irq: the SET_IRQS wrappers on an empty device fail with EBADF and no syscall", "[irq]") {
  seam s;
  vfio::device dev;
  const int fds[] = {3};
  CHECK(dev.set_irq_eventfds(0, 0, fds).error() == std::errc::bad_file_descriptor);
  CHECK(dev.set_irq_unmask_eventfd(0, 0, 3).error() == std::errc::bad_file_descriptor);
  CHECK(dev.trigger_irq(0, 0, 1).error() == std::errc::bad_file_descriptor);
  CHECK(dev.disable_irq(0).error() == std::errc::bad_file_descriptor);
  CHECK(dev.irq(0).error() == std::errc::bad_file_descriptor);
  CHECK(s.mock.verify_done());
}

TEST_CASE("irq: build_irq_eventfds lays out header and fds exactly", "[irq]") {
  vfio::detail::irq_set_buffer<16> buf;
  const int fds[] = {7, -1, 9};
  vfio::detail::build_irq_eventfds(buf, abi::irq_set_flags::action_trigger, 2, 4, vfio::span<const int>(fds, 3));
  CHECK(buf.size() == 32);
  auto want = irq_set_bytes(32, abi::irq_set_flags::data_eventfd | abi::irq_set_flags::action_trigger, 2, 4, 3);
  put(want, std::int32_t{7});
  put(want, std::int32_t{-1});
  put(want, std::int32_t{9});
  CHECK(std::memcmp(buf.arg(), want.data(), want.size()) == 0);

  auto h = vfio::detail::make_irq_set_none(abi::irq_set_flags::action_unmask, 0, 0, 1);
  auto none = irq_set_bytes(20, abi::irq_set_flags::data_none | abi::irq_set_flags::action_unmask, 0, 0, 1);
  CHECK(std::memcmp(&h, none.data(), none.size()) == 0);
}

}  // namespace vfio_unit_test_irq
