// VFIO_DEVICE_IOEVENTFD (add_ioeventfd, remove_ioeventfd, ioeventfd_registration) and
// the REQ / ERR notification IRQ helpers: the exact argument against the scripted mock,
// and the kernel's answers against the simulated kernel of each version.
#include <vfio/container.hpp>
#include <vfio/device.hpp>
#include <vfio/group.hpp>
#include <vfio/ioeventfd.hpp>
#include <vfio/notify_irq.hpp>
#include <vfio/testing/scripted_syscalls.hpp>
#include <vfio/testing/simulated_kernel.hpp>

#include <sys/eventfd.h>

#include <cerrno>
#include <cstdint>
#include <utility>
#include <vector>

#include "../catch.hpp"
#include "mock_fixture.hpp"
#include "test_simulated_kernel_support.hpp"

namespace vfio_unit_test_ioeventfd {

namespace {

namespace abi = vfio::abi;
namespace sim = vfio::testing::sim;
using vfio::errc;
using vfio::ioeventfd_registration;
using vfio::ioeventfd_spec;
using vfio::testing::simulated_kernel;

constexpr std::uint64_t region_offset(std::uint32_t index) { return std::uint64_t{index} << 40; }

/// A library stack on the simulated kernel: container, group, type1v2, device.
struct lib_stack {
  vfio::container container;
  vfio::group group;
  vfio::device device;
  lib_stack(simulated_kernel& k, unsigned group_id, const char* bdf) {
    auto c = vfio::container::open("/dev/vfio/vfio", k);
    REQUIRE(c);
    container = std::move(*c);
    auto g = vfio::group::open(group_id, k);
    REQUIRE(g);
    group = std::move(*g);
    REQUIRE(group.set_container(container));
    REQUIRE(container.set_best_iommu());
    auto d = group.open_device(bdf);
    REQUIRE(d);
    device = std::move(*d);
  }
};

int make_eventfd(simulated_kernel& k) {
  const int e = k.eventfd(0, EFD_CLOEXEC);
  REQUIRE(e >= 0);
  return e;
}

}  // namespace

TEST_CASE("ioeventfd: the argument is the BAR's file offset, data, width and fd", "[ioeventfd]") {
  vfio_test::seam s;
  auto& mock = s.mock;
  vfio::device dev = vfio_test::open_scripted_device(mock, 4, 9, "0000:00:03.0");
  vfio_test::expect_device_info(mock, 9, abi::device_flags::pci, 9, 5);
  abi::region_info ri_call{};
  ri_call.argsz = vfio::detail::region_info_stack_size;  // the first call's 256-byte buffer
  ri_call.index = 1;
  abi::region_info ri = ri_call;
  ri.flags = abi::region_flags::read | abi::region_flags::write;
  ri.size = 0x20000;
  ri.offset = region_offset(1);
  mock.expect_ioctl(9, abi::req::device_get_region_info).with(ri_call).fills(ri);

  abi::device_ioeventfd add{};
  add.argsz = 32;
  add.flags = 2;  // VFIO_DEVICE_IOEVENTFD_16
  add.offset = region_offset(1) + 0x40;
  add.data = 0xbeef;
  add.fd = 21;
  mock.expect_ioctl(9, abi::req::device_ioeventfd).with(add).returns(0);
  abi::device_ioeventfd del = add;
  del.fd = -1;
  mock.expect_ioctl(9, abi::req::device_ioeventfd).with(del).returns(0);
  {
    auto reg = ioeventfd_registration::add(dev, 21, ioeventfd_spec{1, 0x40, 0xbeef, 2});
    REQUIRE(reg);
    CHECK(reg->active());
    CHECK(reg->file_offset() == region_offset(1) + 0x40);
    CHECK(reg->size() == 2);
    ioeventfd_registration moved = std::move(*reg);  // the moved-from one removes nothing
    CHECK_FALSE(reg->active());
    CHECK(moved.active());
  }  // removed here, once
  // Refused before any ioctl: a width that is not 1/2/4/8, a region that is not a BAR,
  // a negative eventfd.
  auto r = vfio::add_ioeventfd(dev, 21, ioeventfd_spec{1, 0, 0, 3});
  REQUIRE_FALSE(r);
  CHECK(r.error() == errc::invalid_argument);
  r = vfio::add_ioeventfd(dev, 21, ioeventfd_spec{abi::pci_region::rom, 0, 0, 4});
  REQUIRE_FALSE(r);
  CHECK(r.error() == errc::invalid_argument);
  r = vfio::add_ioeventfd(dev, -1, ioeventfd_spec{1, 0, 0, 4});
  REQUIRE_FALSE(r);
  CHECK(r.error() == std::errc::bad_file_descriptor);
  mock.expect_close(9).returns(0);
  CHECK(dev.close());
  CHECK(mock.verify_done());
  CHECK(s.mismatches.empty());
}

TEST_CASE("ioeventfd: kernel answers on the simulated vfio-pci", "[ioeventfd][simulated_kernel]") {
  simulated_kernel k;
  sim_test::add_qemu_machine(k);
  lib_stack st(k, 3, sim_test::e1000e_bdf);  // BAR3 holds the MSI-X table (5 vectors: bytes 0..79)
  const int efd = make_eventfd(k);
  const int efd2 = make_eventfd(k);

  REQUIRE(vfio::add_ioeventfd(st.device, efd, {0, 0x3818, 1, 4}));
  CHECK(k.ioeventfd_count(sim_test::e1000e_bdf) == 1);
  // The same (BAR, offset, data, size) again: EEXIST, whatever the eventfd.
  auto r = vfio::add_ioeventfd(st.device, efd2, {0, 0x3818, 1, 4});
  REQUIRE_FALSE(r);
  CHECK(r.error() == std::errc::file_exists);
  CHECK(r.error().operation() == std::string("VFIO_DEVICE_IOEVENTFD"));
  // Another data value at the same offset is another registration (DATAMATCH).
  CHECK(vfio::add_ioeventfd(st.device, efd2, {0, 0x3818, 2, 4}));
  // Another width at the same offset and data too.
  CHECK(vfio::add_ioeventfd(st.device, efd2, {0, 0x3818, 1, 2}));
  CHECK(k.ioeventfd_count(sim_test::e1000e_bdf) == 3);
  // Removal matches all four fields.
  r = vfio::remove_ioeventfd(st.device, {0, 0x3818, 3, 4});
  REQUIRE_FALSE(r);
  CHECK(r.error() == std::errc::no_such_device);
  CHECK(vfio::remove_ioeventfd(st.device, {0, 0x3818, 2, 4}));
  CHECK(vfio::remove_ioeventfd(st.device, {0, 0x3818, 1, 2}));
  CHECK(vfio::remove_ioeventfd(st.device, {0, 0x3818, 1, 4}));
  CHECK(k.ioeventfd_count(sim_test::e1000e_bdf) == 0);

  // Widths 1, 2, 4 and 8.
  for (std::uint32_t size : {1U, 2U, 4U, 8U}) {
    CHECK(vfio::add_ioeventfd(st.device, efd, {0, 0x100, 7, size}));
    CHECK(vfio::remove_ioeventfd(st.device, {0, 0x100, 7, size}));
  }
  // Outside the BAR, across its end, over the MSI-X table: EINVAL.
  for (const ioeventfd_spec bad : {ioeventfd_spec{0, 0x20000, 0, 4}, ioeventfd_spec{0, 0x1fffe, 0, 4},
                                   ioeventfd_spec{3, 0x40, 0, 4}, ioeventfd_spec{3, 0x4c, 0, 8}}) {
    r = vfio::add_ioeventfd(st.device, efd, bad);
    REQUIRE_FALSE(r);
    CHECK(r.error() == std::errc::invalid_argument);
  }
  CHECK(vfio::add_ioeventfd(st.device, efd, {3, 0x50, 0, 4}));  // just past the table
  CHECK(vfio::remove_ioeventfd(st.device, {3, 0x50, 0, 4}));
  // Not an eventfd: EINVAL; not open: EBADF.
  r = vfio::add_ioeventfd(st.device, st.group.fd(), {0, 0, 0, 4});
  REQUIRE_FALSE(r);
  CHECK(r.error() == std::errc::invalid_argument);
  r = vfio::add_ioeventfd(st.device, 4242, {0, 0, 0, 4});
  REQUIRE_FALSE(r);
  CHECK(r.error() == std::errc::bad_file_descriptor);
  CHECK(k.ioeventfd_count(sim_test::e1000e_bdf) == 0);
  k.close(efd);
  k.close(efd2);
}

TEST_CASE("ioeventfd: raw flags the kernel refuses", "[ioeventfd][simulated_kernel]") {
  simulated_kernel k;
  sim_test::add_qemu_machine(k);
  sim_test::stack s(k, 3, sim_test::e1000e_bdf);
  REQUIRE(s.ok());
  const int efd = make_eventfd(k);
  const auto call = [&](std::uint32_t flags, std::int32_t fd, std::uint32_t argsz = 32) {
    abi::device_ioeventfd a{};
    a.argsz = argsz;
    a.flags = flags;
    a.offset = 0x100;
    a.fd = fd;
    return k.ioctl(s.device, abi::req::device_ioeventfd, &a);
  };
  CHECK(call(0, efd) == -EINVAL);      // no width
  CHECK(call(3, efd) == -EINVAL);      // two widths
  CHECK(call(0x10, efd) == -EINVAL);   // an unknown flag
  CHECK(call(4, -2) == -EINVAL);       // fd < -1
  CHECK(call(4, efd, 27) == -EINVAL);  // argsz below offsetofend(fd)
  CHECK(call(4, -1) == -ENODEV);       // removing what is not there
  CHECK(call(4, efd, 28) == 0);        // minsz is enough
  k.close(efd);
}

TEST_CASE("ioeventfd: 8-byte writes are accepted by every kernel (x86 has iowrite64)",
          "[ioeventfd][simulated_kernel]") {
  for (const auto v : {sim::kernel_version::v6_1, sim::kernel_version::v6_12, sim::kernel_version::v7}) {
    sim::kernel_options o;
    o.version = v;
    simulated_kernel k(o);
    sim_test::add_qemu_machine(k);
    lib_stack st(k, 5, sim_test::nvme_bdf);
    const int efd = make_eventfd(k);
    CHECK(vfio::add_ioeventfd(st.device, efd, {0, 0x1000, 1, 8}));
    CHECK(vfio::remove_ioeventfd(st.device, {0, 0x1000, 1, 8}));
    k.close(efd);
  }
}

TEST_CASE("ioeventfd: at most 1000 per device (ENOSPC)", "[ioeventfd][simulated_kernel]") {
  simulated_kernel k;
  sim_test::add_qemu_machine(k);
  lib_stack st(k, 3, sim_test::e1000e_bdf);
  const int efd = make_eventfd(k);
  for (std::uint64_t i = 0; i < vfio::max_ioeventfds; ++i) REQUIRE(vfio::add_ioeventfd(st.device, efd, {0, 0, i, 4}));
  auto r = vfio::add_ioeventfd(st.device, efd, {0, 0, vfio::max_ioeventfds, 4});
  REQUIRE_FALSE(r);
  CHECK(r.error() == std::errc::no_space_on_device);
  // A duplicate is still EEXIST (the list is searched first).
  r = vfio::add_ioeventfd(st.device, efd, {0, 0, 0, 4});
  REQUIRE_FALSE(r);
  CHECK(r.error() == std::errc::file_exists);
  CHECK(vfio::remove_ioeventfd(st.device, {0, 0, 5, 4}));
  CHECK(vfio::add_ioeventfd(st.device, efd, {0, 0, vfio::max_ioeventfds, 4}));
  k.close(efd);
}

TEST_CASE("ioeventfd: the registration removes itself, survives a device move, reports remove errors",
          "[ioeventfd][simulated_kernel]") {
  simulated_kernel k;
  sim_test::add_qemu_machine(k);
  lib_stack st(k, 3, sim_test::e1000e_bdf);
  const int efd = make_eventfd(k);
  {
    auto reg = ioeventfd_registration::add(st.device, efd, {0, 0x2000, 9, 4});
    REQUIRE(reg);
    CHECK(k.ioeventfd_count(sim_test::e1000e_bdf) == 1);
    std::vector<vfio::device> devices;
    devices.push_back(std::move(st.device));  // the registration keeps working
    CHECK(k.ioeventfd_count(sim_test::e1000e_bdf) == 1);
    CHECK(reg->remove());
    CHECK_FALSE(reg->active());
    CHECK(k.ioeventfd_count(sim_test::e1000e_bdf) == 0);
    CHECK(reg->remove());  // inactive: nothing to do
    st.device = std::move(devices.front());
  }
  {
    auto reg = ioeventfd_registration::add(st.device, efd, {0, 0x2000, 9, 4});
    REQUIRE(reg);
    // Closing the eventfd leaves the registration listed (and a re-add EEXIST).
    k.close(efd);
    CHECK(k.ioeventfd_count(sim_test::e1000e_bdf) == 1);
    // Someone else removes it: the owner's remove() reports ENODEV.
    REQUIRE(vfio::remove_ioeventfd(st.device, {0, 0x2000, 9, 4}));
    auto r = reg->remove();
    REQUIRE_FALSE(r);
    CHECK(r.error() == std::errc::no_such_device);
  }
  const int efd2 = make_eventfd(k);
  {
    auto reg = ioeventfd_registration::add(st.device, efd2, {0, 0x2000, 9, 4});
    REQUIRE(reg);
    CHECK(k.ioeventfd_count(sim_test::e1000e_bdf) == 1);
  }  // the destructor removes it
  CHECK(k.ioeventfd_count(sim_test::e1000e_bdf) == 0);
  {
    auto reg = ioeventfd_registration::add(st.device, efd2, {0, 0x2000, 9, 4});
    REQUIRE(reg);
    reg->release();
  }
  CHECK(k.ioeventfd_count(sim_test::e1000e_bdf) == 1);
  CHECK(st.device.close());  // the last close frees every registration
  k.close(efd2);
}

TEST_CASE("notify IRQs: REQ and ERR eventfds set, signalled and cleared", "[notify_irq][simulated_kernel]") {
  simulated_kernel k;
  sim_test::add_qemu_machine(k);
  lib_stack st(k, 3, sim_test::e1000e_bdf);  // PCIe: ERR exists on every kernel
  const int req = make_eventfd(k);
  const int err = make_eventfd(k);
  CHECK_FALSE(k.request_release(sim_test::e1000e_bdf));
  REQUIRE(vfio::set_request_eventfd(st.device, req));
  CHECK(k.request_release(sim_test::e1000e_bdf));
  auto supported = vfio::error_irq_supported(st.device);
  REQUIRE(supported);
  CHECK(*supported);
  REQUIRE(vfio::set_error_eventfd(st.device, err));
  CHECK(k.report_error(sim_test::e1000e_bdf));
  std::uint64_t n = 0;
  CHECK(k.read(req, &n, sizeof n) == 8);
  CHECK(n == 1);
  CHECK(k.read(err, &n, sizeof n) == 8);
  CHECK(n == 1);
  REQUIRE(vfio::clear_request_eventfd(st.device));
  REQUIRE(vfio::clear_error_eventfd(st.device));
  CHECK_FALSE(k.request_release(sim_test::e1000e_bdf));
  CHECK_FALSE(k.report_error(sim_test::e1000e_bdf));
  CHECK(vfio::clear_request_eventfd(st.device));  // clearing twice is fine
  // Not an eventfd: EINVAL; negative: EBADF without a call.
  auto r = vfio::set_request_eventfd(st.device, st.group.fd());
  REQUIRE_FALSE(r);
  CHECK(r.error() == std::errc::invalid_argument);
  r = vfio::set_error_eventfd(st.device, -3);
  REQUIRE_FALSE(r);
  CHECK(r.error() == std::errc::bad_file_descriptor);
  k.close(req);
  k.close(err);
}

TEST_CASE("notify IRQs: ERR on a conventional PCI function per kernel version", "[notify_irq][simulated_kernel]") {
  for (const auto v : {sim::kernel_version::v6_1, sim::kernel_version::v6_12, sim::kernel_version::v7}) {
    sim::kernel_options o;
    o.version = v;
    simulated_kernel k(o);
    sim_test::add_qemu_machine(k);
    lib_stack st(k, 6, sim_test::edu_bdf);  // edu: conventional PCI
    const bool v7 = v == sim::kernel_version::v7;
    auto supported = vfio::error_irq_supported(st.device);
    REQUIRE(supported);
    CHECK(*supported == v7);
    const int err = make_eventfd(k);
    auto r = vfio::set_error_eventfd(st.device, err);
    CHECK(static_cast<bool>(r) == v7);
    if (!r) CHECK(r.error() == std::errc::invalid_argument);
    CHECK(k.report_error(sim_test::edu_bdf) == v7);
    CHECK(static_cast<bool>(vfio::clear_error_eventfd(st.device)) == v7);
    CHECK(vfio::set_request_eventfd(st.device, err));  // REQ exists everywhere
    k.close(err);
  }
}

TEST_CASE("notify IRQs: the SET_IRQS argument", "[notify_irq]") {
  vfio_test::seam s;
  auto& mock = s.mock;
  vfio::device dev = vfio_test::open_scripted_device(mock, 4, 9, "0000:00:03.0");
  const auto expect = [&](std::uint32_t index, std::int32_t fd) {
    struct {
      abi::irq_set h;
      std::int32_t fd;
    } arg{};
    arg.h.argsz = 24;
    arg.h.flags = abi::irq_set_flags::data_eventfd | abi::irq_set_flags::action_trigger;
    arg.h.index = index;
    arg.h.start = 0;
    arg.h.count = 1;
    arg.fd = fd;
    mock.expect_ioctl(9, abi::req::device_set_irqs).with_bytes(&arg, 24).returns(0);
  };
  expect(abi::pci_irq::req, 30);
  expect(abi::pci_irq::req, -1);
  expect(abi::pci_irq::err, 31);
  expect(abi::pci_irq::err, -1);
  CHECK(vfio::set_request_eventfd(dev, 30));
  CHECK(vfio::clear_request_eventfd(dev));
  CHECK(vfio::set_error_eventfd(dev, 31));
  CHECK(vfio::clear_error_eventfd(dev));
  mock.expect_close(9).returns(0);
  CHECK(dev.close());
  CHECK(mock.verify_done());
  CHECK(s.mismatches.empty());
}

}  // namespace vfio_unit_test_ioeventfd
