// vfio::open_device (open.hpp): the automatic choice between the cdev and group paths,
// the path asked for, DMA mapping the same way on both, and every descriptor closed on
// every failure; against the simulated kernel (Debian's kernel without iommufd, the
// project's with it) and the scripted mock (the exact calls and their order).
#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <string>

#include <vfio/abi/iommufd.hpp>
#include <vfio/abi/vfio.hpp>
#include <vfio/device.hpp>
#include <vfio/error.hpp>
#include <vfio/open.hpp>
#include <vfio/testing/scripted_syscalls.hpp>
#include <vfio/testing/simulated_kernel.hpp>

#include "../catch.hpp"
#include "iommufd_fixture.hpp"
#include "test_simulated_kernel_support.hpp"

namespace vfio_unit_test_open {

namespace {

using namespace sim_test;
namespace ia = vfio::abi::iommufd;
using vfio::open_path;

sim::kernel_options project() {
  sim::kernel_options o = sim::kernel_options::project_kernel();
  o.user_memory = [](std::uint64_t, std::uint64_t, bool) { return 0; };
  return o;
}
sim::kernel_options debian() {
  sim::kernel_options o;
  o.user_memory = [](std::uint64_t, std::uint64_t, bool) { return 0; };
  return o;
}

int err(const vfio::error& e) { return e.code().value(); }

}  // namespace

TEST_CASE("open_device: the cdev path when the host has it, the group path otherwise", "[open]") {
  for (const bool with_cdev : {true, false}) {
    INFO("cdev host " << with_cdev);
    simulated_kernel k(with_cdev ? project() : debian());
    add_qemu_machine(k);
    {
      auto d = vfio::open_device(e1000e_bdf, k);
      REQUIRE(d.has_value());
      CHECK(d->path() == (with_cdev ? open_path::cdev : open_path::group));
      CHECK(static_cast<bool>(*d));
      CHECK(k.open_count(e1000e_bdf) == 1);
      CHECK(static_cast<bool>(d->iommu_fd()) == with_cdev);
      CHECK(static_cast<bool>(d->iommu_container()) == !with_cdev);
      CHECK(static_cast<bool>(d->iommu_group()) == !with_cdev);
      if (with_cdev) {
        CHECK(d->devid().value != 0);
        CHECK(k.attached_hwpt(e1000e_bdf) != 0);
        CHECK(static_cast<bool>(d->address_space()));
      }
      // DMA maps the same way on both paths.
      REQUIRE(d->map_dma(std::uint64_t{0x10000000}, 0x100000, 0x2000).has_value());
      REQUIRE(d->map_dma(std::uint64_t{0x10002000}, 0x200000, 0x1000, vfio::dma_access::read).has_value());
      CHECK(k.device_dma(e1000e_bdf, 0x100000, 0x2000, true));
      CHECK(k.device_dma(e1000e_bdf, 0x200000, 0x1000, false));
      CHECK_FALSE(k.device_dma(e1000e_bdf, 0x200000, 0x1000, true));  // read-only
      auto twice = d->map_dma(std::uint64_t{0x10000000}, 0x100000, 0x1000);
      REQUIRE_FALSE(twice.has_value());
      CHECK(err(twice.error()) == EEXIST);
      auto bad = d->map_dma(std::uint64_t{0x10000000}, 0x300000, 0x1000, 0);
      REQUIRE_FALSE(bad.has_value());
      CHECK(bad.error().code() == vfio::errc::invalid_argument);
      auto gone = d->unmap_dma(0x100000, 0x2000);
      REQUIRE(gone.has_value());
      CHECK(*gone == 0x2000);
      CHECK_FALSE(k.device_dma(e1000e_bdf, 0x100000, 0x1000, false));
      // The device is a vfio::device as usual.
      auto info = d->dev().info();
      REQUIRE(info.has_value());
      CHECK(info->is_pci());
      // Moving keeps everything working.
      vfio::opened_device moved = std::move(*d);
      CHECK_FALSE(static_cast<bool>(*d));
      CHECK(moved.path() == (with_cdev ? open_path::cdev : open_path::group));
      REQUIRE(moved.map_dma(std::uint64_t{0x10000000}, 0x400000, 0x1000).has_value());
      REQUIRE(moved.close().has_value());
      CHECK(moved.path() == open_path::automatic);
      CHECK(err(moved.map_dma(std::uint64_t{0x10000000}, 0x400000, 0x1000).error()) == EBADF);
    }
    CHECK(k.open_count(e1000e_bdf) == 0);
    CHECK(k.open_descriptors() == 0);
  }
}

TEST_CASE("open_device: the path asked for, and failures that close what was opened", "[open]") {
  simulated_kernel k(project());
  add_qemu_machine(k);
  vfio::open_options group_path;
  group_path.path = open_path::group;
  auto g = vfio::open_device(e1000e_bdf, k, group_path);
  REQUIRE(g.has_value());
  CHECK(g->path() == open_path::group);
  const std::size_t held = k.open_descriptors();  // container, group, device
  CHECK(held == 3);
  // Automatic picks the cdev path here, whose bind finds the group open.
  auto c = vfio::open_device(e1000e_bdf, k);
  REQUIRE_FALSE(c.has_value());
  CHECK(err(c.error()) == EBUSY);
  CHECK(std::string(c.error().operation()) == "VFIO_DEVICE_BIND_IOMMUFD");
  CHECK(k.open_descriptors() == held);  // the iommufd and the cdev were closed again
  REQUIRE(g->close().has_value());
  CHECK(k.open_descriptors() == 0);

  // A cdev-opened device blocks the group path (its group node is EBUSY).
  auto c2 = vfio::open_device(e1000e_bdf, k);
  REQUIRE(c2.has_value());
  CHECK(c2->path() == open_path::cdev);
  auto g2 = vfio::open_device(e1000e_bdf, k, group_path);
  REQUIRE_FALSE(g2.has_value());
  CHECK(err(g2.error()) == EBUSY);
  CHECK(g2.error().about() == vfio::subject::group_node(3));
  CHECK(k.open_descriptors() == 2);  // the iommufd and the cdev of c2
  c2 = vfio::opened_device{};
  CHECK(k.open_descriptors() == 0);

  // A failure after the bind (IOAS_ALLOC) destroys and closes in order.
  sim::fault_rule rule;
  rule.request = ia::req::ioas_alloc;
  rule.error = ENOMEM;
  k.inject(rule);
  auto c3 = vfio::open_device(e1000e_bdf, k);
  REQUIRE_FALSE(c3.has_value());
  CHECK(err(c3.error()) == ENOMEM);
  CHECK(k.open_descriptors() == 0);
  CHECK(k.open_count(e1000e_bdf) == 0);
  k.clear_faults();

  // The cdev path asked for on a host without iommufd: the node is missing.
  simulated_kernel plain(debian());
  add_qemu_machine(plain);
  vfio::open_options cdev_path;
  cdev_path.path = open_path::cdev;
  auto none = vfio::open_device(e1000e_bdf, plain, cdev_path);
  REQUIRE_FALSE(none.has_value());
  CHECK(err(none.error()) == ENOENT);
  CHECK(none.error().about() == vfio::subject::host(vfio::subject::host_object::iommu_node));
  CHECK(plain.open_descriptors() == 0);
  // An unknown device fails the group path (no iommu_group link) without leaking.
  auto bad = vfio::open_device("0000:00:99.0", plain);
  REQUIRE_FALSE(bad.has_value());
  CHECK(plain.open_descriptors() == 0);
  auto text = vfio::open_device("not a bdf", plain);
  REQUIRE_FALSE(text.has_value());
  CHECK(text.error().code() == vfio::errc::invalid_bdf);
}

TEST_CASE("open_device: the calls of the automatic choice and of the cdev path (scripted)", "[open]") {
  vfio_test::seam s;
  constexpr int iommu_fd = 5, dir_fd = 20, cdev_fd = 21;
  const std::string vfio_dev = "/sys/bus/pci/devices/0000:00:03.0/vfio-dev";
  // One listing of vfio-dev holding "vfio3".
  std::vector<std::uint8_t> records;
  for (const char* name : {".", "..", "vfio3"}) {
    const std::size_t len = std::strlen(name);
    const std::size_t reclen = (19 + len + 1 + 7) / 8 * 8;
    std::vector<std::uint8_t> rec(reclen, 0);
    const auto r16 = static_cast<std::uint16_t>(reclen);
    std::memcpy(rec.data() + 16, &r16, 2);
    std::memcpy(rec.data() + 19, name, len);
    records.insert(records.end(), rec.begin(), rec.end());
  }
  const auto listing = [&] {
    s.mock.expect_open(vfio_dev).with_flags(O_RDONLY | O_DIRECTORY | O_CLOEXEC).returns(dir_fd);
    s.mock.expect_getdents64(dir_fd).fills_bytes(records.data(), records.size());
    s.mock.expect_getdents64(dir_fd).returns(0);
    s.mock.expect_close(dir_fd);
  };
  s.mock.expect_access("/dev/iommu").returns(0);
  listing();
  s.mock.expect_access("/dev/vfio/devices/vfio3").returns(0);
  s.mock.expect_open("/dev/iommu").with_flags(O_RDWR | O_CLOEXEC).returns(iommu_fd);
  listing();
  s.mock.expect_open("/dev/vfio/devices/vfio3").with_flags(O_RDWR | O_CLOEXEC).returns(cdev_fd);
  vfio::abi::device_bind_iommufd bind{};
  bind.argsz = sizeof bind;
  bind.iommufd = iommu_fd;
  vfio::abi::device_bind_iommufd bound = bind;
  bound.out_devid = 1;
  s.mock.expect_ioctl(cdev_fd, vfio::abi::req::device_bind_iommufd).with(bind).fills(bound);
  ia::ioas_alloc alloc{};
  alloc.size = sizeof alloc;
  ia::ioas_alloc allocated = alloc;
  allocated.out_ioas_id = 2;
  s.mock.expect_ioctl(iommu_fd, ia::req::ioas_alloc).with(alloc).fills(allocated);
  vfio::abi::device_attach_iommufd_pt attach{};
  attach.argsz = sizeof attach;
  attach.pt_id = 2;
  s.mock.expect_ioctl(cdev_fd, vfio::abi::req::device_attach_iommufd_pt).with(attach).fails(EADDRINUSE);
  // The failed attach: the device closes first, then the IOAS is destroyed, then the iommufd.
  s.mock.expect_close(cdev_fd);
  ia::destroy destroy{sizeof destroy, 2};
  s.mock.expect_ioctl(iommu_fd, ia::req::destroy).with(destroy).returns(0);
  s.mock.expect_close(iommu_fd);
  auto d = vfio::open_device("0000:00:03.0", s.mock);
  REQUIRE_FALSE(d.has_value());
  CHECK(err(d.error()) == EADDRINUSE);
  CHECK(std::string(d.error().operation()) == "VFIO_DEVICE_ATTACH_IOMMUFD_PT");
  CHECK(s.mock.open_descriptors() == 0);
  CHECK(s.mock.verify_done());
  CHECK(s.mismatches.empty());
}

TEST_CASE("open_device: no /dev/iommu falls back to the group path (scripted)", "[open]") {
  vfio_test::seam s;
  constexpr int container_fd = 3, group_fd = 4, device_fd = 6;
  s.mock.expect_access("/dev/iommu").fails(ENOENT);
  s.mock.expect_readlink("/sys/bus/pci/devices/0000:00:03.0/iommu_group").fills_text("../../../kernel/iommu_groups/3");
  s.mock.expect_open("/dev/vfio/vfio").with_flags(O_RDWR | O_CLOEXEC).returns(container_fd);
  s.mock.expect_ioctl(container_fd, vfio::abi::req::get_api_version).returns(vfio::abi::api_version);
  s.mock.expect_open("/dev/vfio/3").with_flags(O_RDWR | O_CLOEXEC).returns(group_fd);
  vfio::abi::group_status st{};
  st.argsz = sizeof st;
  vfio::abi::group_status viable = st;
  viable.flags = vfio::abi::group_flags::viable;
  s.mock.expect_ioctl(group_fd, vfio::abi::req::group_get_status).with(st).fills(viable);
  s.mock.expect_ioctl(group_fd, vfio::abi::req::group_set_container).with(container_fd).returns(0);
  s.mock.expect_ioctl_value(container_fd, vfio::abi::req::check_extension, vfio::abi::extension::type1v2_iommu)
      .returns(1);
  s.mock.expect_ioctl_value(container_fd, vfio::abi::req::set_iommu, vfio::abi::extension::type1v2_iommu).returns(0);
  s.mock.expect_ioctl(group_fd, vfio::abi::req::group_get_device_fd).returns_fd(device_fd);
  {
    auto d = vfio::open_device("0000:00:03.0", s.mock);
    REQUIRE(d.has_value());
    CHECK(d->path() == open_path::group);
    CHECK(d->dev().fd() == device_fd);
    CHECK(d->iommu_group().number() == 3);
    vfio::abi::iommu_type1_dma_map map{};
    map.argsz = sizeof map;
    map.flags = vfio::abi::dma_map_flags::read | vfio::abi::dma_map_flags::write;
    map.vaddr = 0x10000000;
    map.iova = 0x100000;
    map.size = 0x1000;
    s.mock.expect_ioctl(container_fd, vfio::abi::req::iommu_map_dma).with(map).returns(0);
    REQUIRE(d->map_dma(std::uint64_t{0x10000000}, 0x100000, 0x1000).has_value());
    s.mock.expect_close(device_fd);  // the device, then the group, then the container
    s.mock.expect_close(group_fd);
    s.mock.expect_close(container_fd);
  }
  CHECK(s.mock.open_descriptors() == 0);
  CHECK(s.mock.verify_done());
  CHECK(s.mismatches.empty());
}

}  // namespace vfio_unit_test_open
