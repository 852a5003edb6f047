// A VMM's device set-up written three ways, each run against the simulated
// kernel: with explicit checks and casts (the vocabulary before result<T>
// grew and_then and the API took addresses and memory as such), with explicit
// checks on today's API, and as one and_then chain, as std::expected code
// reads. The lines between BEGIN/END markers are what the line counts in the
// project's notes measure: a "propagation line" is one whose work is to test
// a result and return its error.
#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <utility>

#include <sys/mman.h>

#include <vfio/container.hpp>
#include <vfio/device.hpp>
#include <vfio/group.hpp>
#include <vfio/host/pci_address.hpp>
#include <vfio/region.hpp>
#include <vfio/testing/simulated_kernel.hpp>

#include "catch.hpp"
#include "test_simulated_kernel_support.hpp"

namespace vfio_unit_test_ergonomics_setup {

namespace {

/// What a VMM keeps for an assigned device.
struct assignment {
  vfio::container container;
  vfio::group group;
  vfio::device device;
  vfio::region_mapping bar0;
};

// BEGIN explicit_with_casts
vfio::result<assignment> assign_explicit_with_casts(const char* bdf_text, void* ram, std::size_t ram_size,
                                                    vfio::syscalls& sys) noexcept {
  auto bdf = vfio::host::parse_pci_address(bdf_text);
  if (!bdf) return bdf.error();
  auto container = vfio::container::open("/dev/vfio/vfio", sys);
  if (!container) return container.error();
  auto group = vfio::group::open_for_device(*bdf, sys);
  if (!group) return group.error();
  if (auto r = group->set_container(*container); !r) return r.error();
  if (auto r = container->set_best_iommu(); !r) return r.error();
  auto device = group->open_device(bdf_text);
  if (!device) return device.error();
  auto info = device->info();
  if (!info) return info.error();
  if (info->num_regions == 0) return vfio::error(vfio::errc::index_out_of_range, "BAR0");
  auto bar0 = device->map(0);
  if (!bar0) return bar0.error();
  const auto vaddr = reinterpret_cast<std::uintptr_t>(ram);
  if (auto r = container->map_dma(vaddr, 0, ram_size); !r) return r.error();
  return assignment{std::move(*container), std::move(*group), std::move(*device), std::move(*bar0)};
}
// END explicit_with_casts

// BEGIN explicit
vfio::result<assignment> assign_explicit(const char* bdf, void* ram, std::size_t ram_size,
                                         vfio::syscalls& sys) noexcept {
  auto container = vfio::container::open("/dev/vfio/vfio", sys);
  if (!container) return container.error();
  auto group = vfio::group::open_for_device(bdf, sys);
  if (!group) return group.error();
  if (auto r = group->set_container(*container); !r) return r.error();
  if (auto r = container->set_best_iommu(); !r) return r.error();
  auto device = group->open_device(bdf);
  if (!device) return device.error();
  auto info = device->info();
  if (!info) return info.error();
  if (info->num_regions == 0) return vfio::error(vfio::errc::index_out_of_range, "BAR0");
  auto bar0 = device->map(0);
  if (!bar0) return bar0.error();
  if (auto r = container->map_dma(ram, 0, ram_size); !r) return r.error();
  return assignment{std::move(*container), std::move(*group), std::move(*device), std::move(*bar0)};
}
// END explicit

// BEGIN chained
vfio::result<assignment> assign_chained(const char* bdf, void* ram, std::size_t ram_size,
                                        vfio::syscalls& sys) noexcept {
  assignment a;
  return vfio::container::open("/dev/vfio/vfio", sys)
      .and_then([&](vfio::container c) noexcept {
        a.container = std::move(c);
        return vfio::group::open_for_device(bdf, sys);
      })
      .and_then([&](vfio::group g) noexcept {
        a.group = std::move(g);
        return a.group.set_container(a.container);
      })
      .and_then([&]() noexcept { return a.container.set_best_iommu(); })
      .and_then([&](std::uint32_t) noexcept { return a.group.open_device(bdf); })
      .and_then([&](vfio::device d) noexcept {
        a.device = std::move(d);
        return a.device.info();
      })
      .and_then([&](const vfio::device_info& info) noexcept -> vfio::result<vfio::region_mapping> {
        if (info.num_regions == 0) return vfio::error(vfio::errc::index_out_of_range, "BAR0");
        return a.device.map(0);
      })
      .and_then([&](vfio::region_mapping m) noexcept {
        a.bar0 = std::move(m);
        return a.container.map_dma(ram, 0, ram_size);
      })
      .transform([&]() noexcept { return std::move(a); });
}
// END chained

using setup_fn = vfio::result<assignment> (*)(const char*, void*, std::size_t, vfio::syscalls&) noexcept;

}  // namespace

TEST_CASE("the three set-ups do the same thing", "[ergonomics][setup]") {
  const setup_fn variants[] = {assign_explicit_with_casts, assign_explicit, assign_chained};
  for (const setup_fn setup : variants) {
    sim_test::simulated_kernel k;
    sim_test::add_qemu_machine(k);
    const std::size_t ram_size = 2 * 1024 * 1024;
    void* ram = ::mmap(nullptr, ram_size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    REQUIRE(ram != MAP_FAILED);
    {
      auto a = setup(sim_test::e1000e_bdf, ram, ram_size, k);
      REQUIRE(a);
      CHECK(a->group.number() == 3);
      CHECK(a->device.name() == "0000:00:03.0");
      CHECK_FALSE(a->bar0.empty());
      CHECK(a->bar0.region_index() == 0);
      const auto dma = k.dma_mappings(a->container.fd());
      REQUIRE(dma.size() == 1);
      CHECK(dma[0].vaddr == reinterpret_cast<std::uintptr_t>(ram));
      CHECK(dma[0].size == ram_size);
      CHECK(k.open_count(sim_test::e1000e_bdf) == 1);
    }
    CHECK(k.open_descriptors(sim_test::sim::descriptor_kind::device) == 0);
    CHECK(k.live_mappings() == 0);

    // A failure in the middle names its operation and leaks nothing, whichever way it is written.
    sim_test::sim::fault_rule no_iommu;
    no_iommu.request = vfio::abi::req::set_iommu;
    no_iommu.error = EPERM;
    k.inject(std::move(no_iommu));
    {
      auto failed = setup(sim_test::e1000e_bdf, ram, ram_size, k);
      REQUIRE_FALSE(failed);
      CHECK(failed.error() == std::errc::operation_not_permitted);
      CHECK(std::string(failed.error().operation()) == "VFIO_SET_IOMMU");
    }
    CHECK(k.open_descriptors(sim_test::sim::descriptor_kind::container) == 0);
    CHECK(k.open_descriptors(sim_test::sim::descriptor_kind::group) == 0);
    ::munmap(ram, ram_size);
  }
}

}  // namespace vfio_unit_test_ergonomics_setup
