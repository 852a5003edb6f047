// Fault rules that look into an ioctl's argument: fail one feature id, one
// direction of it, or one IRQ / region index, and nothing else.
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <utility>

#include <vfio/container.hpp>
#include <vfio/device.hpp>
#include <vfio/group.hpp>

#include "catch.hpp"
#include "test_simulated_kernel_support.hpp"

namespace vfio_unit_test_ergonomics_faults {

using namespace sim_test;

namespace {

std::size_t injected_count(const simulated_kernel& k) {
  std::size_t n = 0;
  for (const auto& r : k.trace()) n += r.injected ? 1 : 0;
  return n;
}

int set_irq_trigger(simulated_kernel& k, int device, std::uint32_t index, int efd) {
  struct {
    abi::irq_set hdr;
    std::int32_t fd;
  } s{};
  s.hdr.argsz = sizeof s;
  s.hdr.flags = abi::irq_set_flags::data_eventfd | abi::irq_set_flags::action_trigger;
  s.hdr.index = index;
  s.hdr.start = 0;
  s.hdr.count = 1;
  s.fd = efd;
  return k.ioctl(device, abi::req::device_set_irqs, &s);
}

}  // namespace

TEST_CASE("a fault rule fails only LOW_POWER_ENTRY_WITH_WAKEUP", "[simulated_kernel][faults]") {
  simulated_kernel k;
  add_qemu_machine(k);
  stack s(k, 3, e1000e_bdf);
  REQUIRE(s.ok());

  sim::fault_rule only_wakeup_entry;
  only_wakeup_entry.request = abi::req::device_feature;
  only_wakeup_entry.feature = abi::feature_id::low_power_entry_with_wakeup;
  only_wakeup_entry.feature_op = SET;
  only_wakeup_entry.error = EBUSY;
  k.inject(std::move(only_wakeup_entry));

  // The PROBE of the same feature passes: feature_op names SET alone.
  CHECK(feature(k, s.device, PROBE | SET | abi::feature_id::low_power_entry_with_wakeup) == 0);
  const int efd = k.eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  REQUIRE(efd >= 0);
  CHECK(entry_with_wakeup(k, s.device, efd) == -EBUSY);
  CHECK(injected_count(k) == 1);

  // Every other feature reaches the model; that plain entry succeeds also shows
  // the refused entry never did (a second entry would be -EINVAL).
  CHECK(entry(k, s.device) == 0);
  CHECK(exit_low_power(k, s.device) == 0);
  CHECK(injected_count(k) == 1);
  k.close(efd);
}

TEST_CASE("a fault rule on the feature id alone matches every direction", "[simulated_kernel][faults]") {
  simulated_kernel k;
  add_qemu_machine(k);
  stack s(k, 3, e1000e_bdf);
  REQUIRE(s.ok());
  sim::fault_rule any_exit;
  any_exit.feature = abi::feature_id::low_power_exit;
  any_exit.error = EIO;
  k.inject(std::move(any_exit));
  CHECK(feature(k, s.device, PROBE | SET | abi::feature_id::low_power_exit) == -EIO);
  CHECK(exit_low_power(k, s.device) == -EIO);
  CHECK(feature(k, s.device, PROBE | SET | abi::feature_id::low_power_entry) == 0);
  // Not a VFIO_DEVICE_FEATURE call: the rule does not apply.
  abi::device_info info{};
  info.argsz = sizeof info;
  CHECK(k.ioctl(s.device, abi::req::device_get_info, &info) == 0);
  CHECK(injected_count(k) == 2);
}

TEST_CASE("a fault rule fails only SET_IRQS on index 4", "[simulated_kernel][faults]") {
  simulated_kernel k;
  add_qemu_machine(k);
  stack s(k, 3, e1000e_bdf);
  REQUIRE(s.ok());
  sim::fault_rule req_irq;
  req_irq.request = abi::req::device_set_irqs;
  req_irq.index = abi::pci_irq::req;
  req_irq.error = EINVAL;
  k.inject(std::move(req_irq));

  const int efd = k.eventfd(0, EFD_CLOEXEC);
  REQUIRE(efd >= 0);
  CHECK(set_irq_trigger(k, s.device, abi::pci_irq::req, efd) == -EINVAL);
  CHECK(set_irq_trigger(k, s.device, abi::pci_irq::intx, efd) == 0);
  // GET_IRQ_INFO of the same index is another request: untouched.
  abi::irq_info info{};
  info.argsz = sizeof info;
  info.index = abi::pci_irq::req;
  CHECK(k.ioctl(s.device, abi::req::device_get_irq_info, &info) == 0);
  CHECK(injected_count(k) == 1);

  // Without `request`, the index matches in every ioctl that carries one.
  k.clear_faults();
  sim::fault_rule index_two;
  index_two.index = 2;
  index_two.error = ENXIO;
  k.inject(std::move(index_two));
  info.index = 2;
  CHECK(k.ioctl(s.device, abi::req::device_get_irq_info, &info) == -ENXIO);
  abi::region_info region{};
  region.argsz = sizeof region;
  region.index = 2;
  CHECK(k.ioctl(s.device, abi::req::device_get_region_info, &region) == -ENXIO);
  region.index = 0;
  CHECK(k.ioctl(s.device, abi::req::device_get_region_info, &region) == 0);
  CHECK(k.ioctl_value(s.container, abi::req::check_extension, 2) >= 0);  // no argument struct: no match
  k.close(efd);
}

TEST_CASE("an argument field is read only when argsz covers it", "[simulated_kernel][faults]") {
  simulated_kernel k;
  add_qemu_machine(k);
  stack s(k, 3, e1000e_bdf);
  REQUIRE(s.ok());
  sim::fault_rule region_zero;
  region_zero.index = 0;
  region_zero.error = EIO;
  k.inject(std::move(region_zero));
  abi::region_info short_info{};
  short_info.argsz = 8;  // stops before index: the kernel's minsz check refuses it
  CHECK(k.ioctl(s.device, abi::req::device_get_region_info, &short_info) == -EINVAL);
  CHECK(injected_count(k) == 0);
  // A null argument never matches an argument rule (the model answers EFAULT).
  CHECK(k.ioctl(s.device, abi::req::device_get_region_info, nullptr) == -EFAULT);
  CHECK(injected_count(k) == 0);
}

TEST_CASE("a fault rule with the caller's own argument test", "[simulated_kernel][faults]") {
  simulated_kernel k;
  add_qemu_machine(k);
  auto c = vfio::container::open("/dev/vfio/vfio", k);
  auto g = vfio::group::open(3, k);
  REQUIRE((c && g && g->set_container(*c) && c->set_best_iommu()));
  auto d = g->open_device(e1000e_bdf);
  REQUIRE(d);

  // Fail only the DMA mapping that targets IOVA 0x100000.
  sim::fault_rule one_iova;
  one_iova.request = abi::req::iommu_map_dma;
  one_iova.fd = c->fd();
  one_iova.argument = [](unsigned long, const void* arg) {
    abi::iommu_type1_dma_map m{};
    std::memcpy(&m, arg, sizeof m);
    return m.iova == 0x100000;
  };
  one_iova.error = ENOSPC;
  k.inject(std::move(one_iova));

  alignas(4096) static unsigned char page[4096];
  const auto vaddr = reinterpret_cast<std::uintptr_t>(page);
  auto refused = c->map_dma(vaddr, 0x100000, sizeof page);
  REQUIRE_FALSE(refused);
  CHECK(refused.error() == std::errc::no_space_on_device);
  CHECK(c->map_dma(vaddr, 0x200000, sizeof page));
  CHECK(injected_count(k) == 1);
}

}  // namespace vfio_unit_test_ergonomics_faults
