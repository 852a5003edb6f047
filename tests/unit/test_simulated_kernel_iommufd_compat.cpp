// iommufd's VFIO compatibility container in the simulated kernel
// (drivers/iommu/iommufd/vfio_compat.c, group.c's iommufd branches): a /dev/iommu
// descriptor, or /dev/vfio/vfio with kernel_options::iommufd_vfio_container, used
// through vfio::container and vfio::group, and the raw ioctls where its answers
// differ from type1's.
#include <fcntl.h>
#include <sys/mman.h>

#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <vector>

#include <vfio/abi/iommufd.hpp>
#include <vfio/container.hpp>
#include <vfio/group.hpp>
#include <vfio/open.hpp>
#include <vfio/testing/simulated_kernel.hpp>

#include "../catch.hpp"
#include "test_simulated_kernel_support.hpp"

namespace vfio_unit_test_simulated_kernel_iommufd_compat {

namespace {

using namespace sim_test;
namespace x = vfio::abi::extension;

int err(const vfio::error& e) { return e.code().value(); }

sim::kernel_options project() {
  sim::kernel_options o = sim::kernel_options::project_kernel();
  o.user_memory = [](std::uint64_t, std::uint64_t, bool) { return 0; };  // every address pins
  return o;
}

int vfio_ioas(simulated_kernel& k, int fd, std::uint16_t op, std::uint32_t* id = nullptr) {
  vfio::abi::iommufd::vfio_ioas cmd{};
  cmd.size = sizeof cmd;
  cmd.op = op;
  if (id) cmd.ioas_id = *id;
  const int r = k.ioctl(fd, vfio::abi::iommufd::req::vfio_ioas, &cmd);
  if (id) *id = cmd.ioas_id;
  return r;
}

int map_raw(simulated_kernel& k, int fd, std::uint64_t vaddr, std::uint64_t iova, std::uint64_t size,
            std::uint32_t flags) {
  abi::iommu_type1_dma_map m{sizeof m, flags, vaddr, iova, size};
  return k.ioctl(fd, abi::req::iommu_map_dma, &m);
}

int unmap_raw(simulated_kernel& k, int fd, std::uint64_t iova, std::uint64_t size, std::uint32_t flags = 0,
              std::uint64_t* done = nullptr) {
  abi::iommu_type1_dma_unmap u{sizeof u, flags, iova, size};
  const int r = k.ioctl(fd, abi::req::iommu_unmap_dma, &u);
  if (done) *done = u.size;
  return r;
}

}  // namespace

TEST_CASE("simulated compat container: provider() tells iommufd from VFIO's container", "[simulated_kernel][iommufd]") {
  SECTION("VFIO's own /dev/vfio/vfio: EINVAL before SET_IOMMU, type1's ENOTTY after") {
    simulated_kernel k(project());
    add_qemu_machine(k);
    auto c = vfio::container::open("/dev/vfio/vfio", k);
    REQUIRE(c.has_value());
    CHECK(c->provider().value() == vfio::container_provider::vfio);
    auto g = vfio::group::open(3, k);
    REQUIRE(g.has_value());
    REQUIRE(g->set_container(*c).has_value());
    REQUIRE(c->set_best_iommu().has_value());
    CHECK(c->provider().value() == vfio::container_provider::vfio);
  }
  SECTION("/dev/iommu opened as a container: ENODEV before a group, 0 after") {
    simulated_kernel k(project());
    add_qemu_machine(k);
    auto c = vfio::container::open("/dev/iommu", k);
    REQUIRE(c.has_value());
    CHECK(c->provider().value() == vfio::container_provider::iommufd);
    auto g = vfio::group::open(3, k);
    REQUIRE(g.has_value());
    REQUIRE(g->set_container(*c).has_value());
    CHECK(c->provider().value() == vfio::container_provider::iommufd);
  }
  SECTION("CONFIG_IOMMUFD_VFIO_CONTAINER: /dev/vfio/vfio is an iommufd") {
    sim::kernel_options o = project();
    o.iommufd_vfio_container = true;
    simulated_kernel k(std::move(o));
    add_qemu_machine(k);
    auto c = vfio::container::open("/dev/vfio/vfio", k);
    REQUIRE(c.has_value());
    CHECK(c->provider().value() == vfio::container_provider::iommufd);
    // The same node without iommufd in the kernel stays VFIO's.
    sim::kernel_options plain;
    plain.iommufd_vfio_container = true;
    simulated_kernel k2(std::move(plain));
    add_qemu_machine(k2);
    auto c2 = vfio::container::open("/dev/vfio/vfio", k2);
    REQUIRE(c2.has_value());
    CHECK(c2->provider().value() == vfio::container_provider::vfio);
  }
  SECTION("an empty container: EBADF, no syscall") {
    vfio::container empty;
    CHECK(err(empty.provider().error()) == EBADF);
  }
}

TEST_CASE("simulated compat container: before a group (vfio_compat.c get_compat_ioas: ENODEV)",
          "[simulated_kernel][iommufd]") {
  simulated_kernel k(project());
  add_qemu_machine(k);
  const int c = k.open("/dev/iommu", O_RDWR, 0);
  REQUIRE(c >= 0);
  CHECK(k.ioctl(c, abi::req::get_api_version, nullptr) == abi::api_version);
  CHECK(k.ioctl_value(c, abi::req::check_extension, x::type1_iommu) == 1);
  CHECK(k.ioctl_value(c, abi::req::check_extension, x::type1v2_iommu) == 1);
  CHECK(k.ioctl_value(c, abi::req::check_extension, x::unmap_all) == 1);
  CHECK(k.ioctl_value(c, abi::req::check_extension, x::update_vaddr) == 0);
  CHECK(k.ioctl_value(c, abi::req::check_extension, x::type1_nesting_iommu) == 0);
  CHECK(k.ioctl_value(c, abi::req::check_extension, x::noiommu_iommu) == 1);
  CHECK(k.ioctl_value(c, abi::req::check_extension, x::dma_cc_iommu) == -ENODEV);
  CHECK(k.ioctl_value(c, abi::req::set_iommu, x::type1v2_iommu) == -ENODEV);
  CHECK(k.ioctl_value(c, abi::req::set_iommu, x::type1_nesting_iommu) == -EINVAL);  // the type first
  abi::iommu_type1_info info{sizeof info, 0, 0, 0, 0};
  CHECK(k.ioctl(c, abi::req::iommu_get_info, &info) == -ENODEV);
  info.argsz = 8;
  CHECK(k.ioctl(c, abi::req::iommu_get_info, &info) == -EINVAL);  // argsz before the IOAS
  pages mem(4096);
  CHECK(map_raw(k, c, mem.va(), 0x100000, 4096, abi::dma_map_flags::read) == -ENODEV);
  CHECK(map_raw(k, c, mem.va(), 0x100000, 4096, abi::dma_map_flags::vaddr) == -EINVAL);  // flags first
  CHECK(unmap_raw(k, c, 0, 0, abi::dma_unmap_flags::all) == -ENODEV);
  CHECK(k.ioctl(c, abi::req::iommu_dirty_pages, nullptr) == -ENOTTY);
  CHECK(vfio_ioas(k, c, vfio::abi::iommufd::vfio_ioas_op::get) == -ENODEV);
  k.close(c);
}

TEST_CASE("simulated compat container: a group and a device through the library", "[simulated_kernel][iommufd]") {
  simulated_kernel k(project());
  add_qemu_machine(k);
  auto c = vfio::container::open("/dev/iommu", k);
  REQUIRE(c.has_value());
  auto g = vfio::group::open(6, k);  // edu
  REQUIRE(g.has_value());
  REQUIRE(g->set_container(*c).has_value());
  CHECK(group_flags(k, g->fd()) == static_cast<int>(abi::group_flags::viable | abi::group_flags::container_set));

  // No domain yet: every page size from 4K, the whole space.
  auto before = c->get_iommu_info();
  REQUIRE(before.has_value());
  CHECK(before->iova_pgsizes == 0xfffffffffffff000ULL);
  REQUIRE(before->iova_ranges.size() == 1);
  CHECK(before->iova_ranges[0].start == 0);
  CHECK(before->iova_ranges[0].end == ~0ULL);
  CHECK(before->dma_avail == 0xffffffffU);
  CHECK_FALSE(before->migration.has_value());

  REQUIRE(c->set_best_iommu().value() == x::type1v2_iommu);
  CHECK(k.ioctl_value(c->fd(), abi::req::set_iommu, x::type1v2_iommu) == 0);  // again: no driver to refuse it
  CHECK(c->supports_update_vaddr().value() == false);

  auto d = g->open_device(edu_bdf);
  REQUIRE(d.has_value());
  auto after = c->get_iommu_info();
  REQUIRE(after.has_value());
  CHECK(after->iova_pgsizes == sim::kernel_options{}.iova_pgsizes);
  const auto& want = sim::kernel_options{}.iova_ranges;
  REQUIRE(after->iova_ranges.size() == want.size());
  for (std::size_t i = 0; i < want.size(); ++i) {
    CHECK(after->iova_ranges[i].start == want[i].start);
    CHECK(after->iova_ranges[i].end == want[i].end);
  }
  CHECK(k.ioctl_value(c->fd(), abi::req::check_extension, x::dma_cc_iommu) == 1);

  pages mem(4 * 4096);
  REQUIRE(c->map_dma(mem.p, 0x100000, mem.n).has_value());
  CHECK(k.device_dma(edu_bdf, 0x100000, 4096, true));
  CHECK_FALSE(k.device_dma(edu_bdf, 0x200000, 4096, false));
  // A part of the mapping: ENOENT (type1v2 says EINVAL); nothing there: 0 bytes.
  auto part = c->unmap_dma(0x100000, 4096);
  REQUIRE_FALSE(part.has_value());
  CHECK(err(part.error()) == ENOENT);
  CHECK(c->unmap_dma(0x800000, 4096).value() == 0);
  std::uint64_t done = 1;
  CHECK(unmap_raw(k, c->fd(), 0x100000, 0, 0, &done) == -EINVAL);
  CHECK(done == 0);  // written back even then
  CHECK(unmap_raw(k, c->fd(), 0x100000, mem.n, abi::dma_unmap_flags::get_dirty_bitmap) == -EINVAL);
  CHECK(map_raw(k, c->fd(), mem.va(), 0x900000, 4096, 0) == -EINVAL);  // neither READ nor WRITE, with a domain
  CHECK(k.ioctl(c->fd(), abi::req::iommu_dirty_pages, nullptr) == -ENOTTY);
  CHECK(c->unmap_all_dma().value() == mem.n);
  CHECK_FALSE(k.device_dma(edu_bdf, 0x100000, 4096, true));

  // UNSET_CONTAINER with the device open: allowed; the IOAS stays with the iommufd.
  REQUIRE(c->map_dma(mem.p, 0x100000, mem.n).has_value());
  CHECK(g->unset_container().has_value());
  CHECK(k.device_dma(edu_bdf, 0x100000, 4096, false));
  std::uint32_t id = 0;
  CHECK(vfio_ioas(k, c->fd(), vfio::abi::iommufd::vfio_ioas_op::get, &id) == 0);
  CHECK(k.ioas_mappings(c->fd(), id).size() == 1);
  *d = vfio::device();
  CHECK(k.ioas_mappings(c->fd(), id).size() == 1);
  CHECK(c->get_iommu_info().value().iova_pgsizes == 0xfffffffffffff000ULL);  // the domain went with the device
}

TEST_CASE("simulated compat container: GET_INFO's capabilities where argsz leaves no room",
          "[simulated_kernel][iommufd]") {
  simulated_kernel k(project());
  add_qemu_machine(k);
  const int c = k.open("/dev/iommu", O_RDWR, 0);
  const int g = k.open("/dev/vfio/3", O_RDWR, 0);
  REQUIRE(set_container(k, g, c) == 0);
  abi::iommu_type1_info info{sizeof info, 0, 0, 0, 0};
  REQUIRE(k.ioctl(c, abi::req::iommu_get_info, &info) == 0);
  CHECK(info.argsz == 24 + 16 + 32);  // DMA_AVAIL, then one IOVA range
  CHECK(info.cap_offset == 0);
  CHECK(info.flags == (abi::iommu_info_flags::pgsizes | abi::iommu_info_flags::caps));
  alignas(8) unsigned char buf[24 + 16 + 32] = {};
  const std::uint32_t argsz = sizeof buf;
  std::memcpy(buf, &argsz, 4);
  REQUIRE(k.ioctl(c, abi::req::iommu_get_info, buf) == 0);
  std::memcpy(&info, buf, sizeof info);
  CHECK(info.cap_offset == 24);
  abi::info_cap_header first{}, second{};
  std::memcpy(&first, buf + 24, sizeof first);
  std::memcpy(&second, buf + 40, sizeof second);
  CHECK(first.id == abi::iommu_cap::dma_avail);
  CHECK(first.next == 40);
  CHECK(second.id == abi::iommu_cap::iova_range);
  CHECK(second.next == 0);
  k.close(g);
  k.close(c);
}

TEST_CASE("simulated compat container: SET_IOMMU(TYPE1) lets an unmap split a mapping", "[simulated_kernel][iommufd]") {
  simulated_kernel k(project());
  add_qemu_machine(k);
  auto c = vfio::container::open("/dev/iommu", k);
  REQUIRE(c.has_value());
  auto g = vfio::group::open(6, k);
  REQUIRE(g.has_value());
  REQUIRE(g->set_container(*c).has_value());
  REQUIRE(c->set_iommu(x::type1_iommu).has_value());
  auto d = g->open_device(edu_bdf);
  REQUIRE(d.has_value());
  pages mem(4 * 4096);
  REQUIRE(c->map_dma(mem.p, 0x100000, mem.n).has_value());
  CHECK(c->unmap_dma(0x101000, 4096).value() == 4096);
  CHECK(k.device_dma(edu_bdf, 0x100000, 4096, false));
  CHECK_FALSE(k.device_dma(edu_bdf, 0x101000, 4096, false));
  CHECK(k.device_dma(edu_bdf, 0x102000, 2 * 4096, false));
  // Large pages can no longer be turned off once a domain holds mappings.
  CHECK(c->unmap_all_dma().value() == 3 * 4096);
}

TEST_CASE("simulated compat container: GET_DEVICE_FD claims DMA ownership, not SET_CONTAINER",
          "[simulated_kernel][iommufd]") {
  simulated_kernel k(project());
  add_qemu_machine(k);
  const int c = k.open("/dev/iommu", O_RDWR, 0);
  const int g = k.open("/dev/vfio/6", O_RDWR, 0);
  REQUIRE(set_container(k, g, c) == 0);
  CHECK(set_container(k, g, c) == -EINVAL);  // already set
  // Before a device (no domain) a mapping with neither READ nor WRITE is taken;
  // the device's attach then fails to fill the domain with it.
  pages mem(4096);
  REQUIRE(map_raw(k, c, mem.va(), 0x100000, 4096, 0) == 0);
  CHECK(get_device_fd(k, g, edu_bdf) == -EINVAL);
  REQUIRE(unmap_raw(k, c, 0, 0, abi::dma_unmap_flags::all) == 0);
  const int d = get_device_fd(k, g, edu_bdf);
  REQUIRE(d >= 0);
  const int d2 = get_device_fd(k, g, edu_bdf);  // a second file of the open device: no second bind
  REQUIRE(d2 >= 0);
  k.close(d2);
  CHECK(k.device_dma(edu_bdf, 0, 4096, false) == false);  // nothing mapped
  k.close(d);
  CHECK(k.ioctl(g, abi::req::group_unset_container, nullptr) == 0);
  CHECK(k.ioctl(g, abi::req::group_unset_container, nullptr) == -EINVAL);
  // Closing the group releases the iommufd's reference; the descriptor keeps the context.
  k.close(g);
  std::uint32_t id = 0;
  CHECK(vfio_ioas(k, c, vfio::abi::iommufd::vfio_ioas_op::get, &id) == 0);
  CHECK(vfio_ioas(k, c, vfio::abi::iommufd::vfio_ioas_op::clear) == 0);
  CHECK(vfio_ioas(k, c, vfio::abi::iommufd::vfio_ioas_op::get) == -ENODEV);
  CHECK(vfio_ioas(k, c, vfio::abi::iommufd::vfio_ioas_op::set, &id) == 0);
  std::uint32_t bogus = 99;
  CHECK(vfio_ioas(k, c, vfio::abi::iommufd::vfio_ioas_op::set, &bogus) == -ENOENT);
  CHECK(vfio_ioas(k, c, 7) == -EOPNOTSUPP);
  k.close(c);
}

TEST_CASE("simulated compat container: vfio::open_device's group path with /dev/iommu as the container",
          "[simulated_kernel][iommufd]") {
  simulated_kernel k(project());
  add_qemu_machine(k);
  vfio::open_options o;
  o.path = vfio::open_path::group;
  o.container_path = "/dev/iommu";
  auto d = vfio::open_device(edu_bdf, k, o);
  REQUIRE(d.has_value());
  CHECK(d->path() == vfio::open_path::group);
  pages mem(2 * 4096);
  REQUIRE(d->map_dma(mem.va(), 0x100000, mem.n, vfio::dma_access::read).has_value());
  CHECK(k.device_dma(edu_bdf, 0x100000, mem.n, false));
  CHECK_FALSE(k.device_dma(edu_bdf, 0x100000, 4096, true));  // read-only for the device
  CHECK(d->unmap_dma(0x100000, mem.n).value() == mem.n);
}

}  // namespace vfio_unit_test_simulated_kernel_iommufd_compat
