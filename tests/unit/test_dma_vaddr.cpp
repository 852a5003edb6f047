// Live update of DMA vaddrs (container::invalidate_dma_vaddr, invalidate_all_dma_vaddr,
// update_dma_vaddr behind VFIO_UPDATE_VADDR): the exact arguments against the scripted
// mock, and type1's rules (vfio_dma_do_map / vfio_dma_do_unmap in
// drivers/vfio/vfio_iommu_type1.c) against the simulated kernel.
#include <vfio/container.hpp>
#include <vfio/group.hpp>
#include <vfio/testing/scripted_syscalls.hpp>
#include <vfio/testing/simulated_kernel.hpp>

#include <cerrno>
#include <cstdint>
#include <utility>

#include "../catch.hpp"
#include "mock_fixture.hpp"
#include "test_simulated_kernel_support.hpp"

namespace vfio_unit_test_dma_vaddr {

namespace {

namespace abi = vfio::abi;
using vfio::errc;
using vfio::testing::simulated_kernel;

constexpr std::uint64_t page = 4096;

}  // namespace

TEST_CASE("dma vaddr: the UNMAP and MAP arguments carry FLAG_VADDR only", "[container][vaddr]") {
  vfio_test::seam s;
  auto& mock = s.mock;
  mock.expect_open("/dev/vfio/vfio").returns_fd(3);
  mock.expect_ioctl(3, abi::req::get_api_version).returns(0);
  auto c = vfio::container::open("/dev/vfio/vfio", mock);
  REQUIRE(c);

  mock.expect_ioctl_value(3, abi::req::check_extension, abi::extension::update_vaddr).returns(1);
  abi::iommu_type1_dma_unmap unmap{};
  unmap.argsz = sizeof unmap;
  unmap.flags = abi::dma_unmap_flags::vaddr;
  unmap.iova = 0x100000;
  unmap.size = 0x4000;
  abi::iommu_type1_dma_unmap done = unmap;
  done.size = 0x2000;  // the kernel writes back what it invalidated
  mock.expect_ioctl(3, abi::req::iommu_unmap_dma).with(unmap).fills(done).returns(0);
  auto n = c->invalidate_dma_vaddr(0x100000, 0x4000);
  REQUIRE(n);
  CHECK(*n == 0x2000);

  mock.expect_ioctl_value(3, abi::req::check_extension, abi::extension::update_vaddr).returns(1);
  abi::iommu_type1_dma_map map{};
  map.argsz = sizeof map;
  map.flags = abi::dma_map_flags::vaddr;  // no READ / WRITE
  map.vaddr = 0x7f0000000000;
  map.iova = 0x100000;
  map.size = 0x2000;
  mock.expect_ioctl(3, abi::req::iommu_map_dma).with(map).returns(0);
  CHECK(c->update_dma_vaddr(0x7f0000000000, 0x100000, 0x2000));

  mock.expect_ioctl_value(3, abi::req::check_extension, abi::extension::update_vaddr).returns(1);
  mock.expect_ioctl_value(3, abi::req::check_extension, abi::extension::unmap_all).returns(1);
  abi::iommu_type1_dma_unmap all{};
  all.argsz = sizeof all;
  all.flags = abi::dma_unmap_flags::vaddr | abi::dma_unmap_flags::all;
  mock.expect_ioctl(3, abi::req::iommu_unmap_dma).with(all).returns(0);
  CHECK(c->invalidate_all_dma_vaddr());

  // Without the extension nothing else is asked.
  mock.expect_ioctl_value(3, abi::req::check_extension, abi::extension::update_vaddr).returns(0);
  auto r = c->update_dma_vaddr(0x7f0000000000, 0x100000, 0x2000);
  REQUIRE_FALSE(r);
  CHECK(r.error() == errc::extension_unsupported);
  mock.expect_close(3).returns(0);
  c = vfio::container();
  CHECK(mock.verify_done());
  CHECK(s.mismatches.empty());
}

TEST_CASE("dma vaddr: invalidate, update, and type1's refusals", "[container][vaddr][simulated_kernel]") {
  // The vaddrs below are stand-ins for guest RAM: tell the model's pinning they are
  // mapped read/write (the default would look them up in this process's maps).
  vfio::testing::sim::kernel_options o;
  o.user_memory = [](std::uint64_t, std::uint64_t, bool) { return 0; };
  simulated_kernel k(o);
  sim_test::add_qemu_machine(k);
  auto c = vfio::container::open("/dev/vfio/vfio", k);
  REQUIRE(c);
  auto g = vfio::group::open(3, k);
  REQUIRE(g);
  REQUIRE(g->set_container(*c));
  // Before SET_IOMMU the extension reads 0 (no IOMMU to ask).
  auto before = c->supports_update_vaddr();
  REQUIRE(before);
  CHECK_FALSE(*before);
  auto early = c->invalidate_dma_vaddr(0, page);
  REQUIRE_FALSE(early);
  CHECK(early.error() == errc::extension_unsupported);
  REQUIRE(c->set_best_iommu());
  auto after = c->supports_update_vaddr();
  REQUIRE(after);
  CHECK(*after);

  REQUIRE(c->map_dma(0x10000000, 0x100000, 4 * page));
  REQUIRE(c->map_dma(0x20000000, 0x200000, page));
  // A valid vaddr cannot be replaced: EINVAL.
  auto r = c->update_dma_vaddr(0x30000000, 0x100000, 4 * page);
  REQUIRE_FALSE(r);
  CHECK(r.error() == std::errc::invalid_argument);

  auto n = c->invalidate_dma_vaddr(0x100000, 4 * page);
  REQUIRE(n);
  CHECK(*n == 4 * page);
  auto maps = k.dma_mappings(c->fd());
  REQUIRE(maps.size() == 2);
  CHECK(maps[0].vaddr_invalid);
  CHECK_FALSE(maps[1].vaddr_invalid);
  // Invalidating a range that holds an invalid one again: EINVAL, and nothing changes.
  n = c->invalidate_dma_vaddr(0x100000, 0x200000);
  REQUIRE_FALSE(n);
  CHECK(n.error() == std::errc::invalid_argument);
  CHECK_FALSE(k.dma_mappings(c->fd())[1].vaddr_invalid);
  // While a vaddr is invalid, another group cannot join the container: EBUSY.
  auto g5 = vfio::group::open(5, k);
  REQUIRE(g5);
  auto join = g5->set_container(*c);
  REQUIRE_FALSE(join);
  CHECK(join.error() == std::errc::device_or_resource_busy);
  // The new vaddr must name the whole mapping: another size is EINVAL, no mapping ENOENT.
  r = c->update_dma_vaddr(0x30000000, 0x100000, 2 * page);
  REQUIRE_FALSE(r);
  CHECK(r.error() == std::errc::invalid_argument);
  r = c->update_dma_vaddr(0x30000000, 0x900000, page);
  REQUIRE_FALSE(r);
  CHECK(r.error() == std::errc::no_such_file_or_directory);
  r = c->update_dma_vaddr(0x30000001, 0x100000, 4 * page);  // misaligned
  REQUIRE_FALSE(r);
  CHECK(r.error() == std::errc::invalid_argument);
  REQUIRE(c->update_dma_vaddr(0x30000000, 0x100000, 4 * page));
  maps = k.dma_mappings(c->fd());
  CHECK(maps[0].vaddr == 0x30000000);
  CHECK_FALSE(maps[0].vaddr_invalid);
  CHECK(maps[0].readable);  // the access rights stay
  CHECK(maps[0].writable);
  CHECK(g5->set_container(*c));  // valid again: the group joins

  // All at once, then each back.
  n = c->invalidate_all_dma_vaddr();
  REQUIRE(n);
  CHECK(*n == 5 * page);
  for (const auto& m : k.dma_mappings(c->fd())) CHECK(m.vaddr_invalid);
  REQUIRE(c->update_dma_vaddr(0x40000000, 0x100000, 4 * page));
  REQUIRE(c->update_dma_vaddr(0x50000000, 0x200000, page));
  for (const auto& m : k.dma_mappings(c->fd())) CHECK_FALSE(m.vaddr_invalid);
  auto unmapped = c->unmap_all_dma();
  REQUIRE(unmapped);
  CHECK(*unmapped == 5 * page);
}

}  // namespace vfio_unit_test_dma_vaddr
