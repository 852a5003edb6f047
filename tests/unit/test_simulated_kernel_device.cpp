// The simulated vfio-pci device through raw seam calls: info replies,
// SET_IRQS, resets, region I/O and mmap (vfio_pci_core.c, vfio_pci_intrs.c,
// vfio_pci_rdwr.c, vfio_main.c).
#include <poll.h>
#include <sys/mman.h>

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <vector>

#include "../catch.hpp"
#include "test_simulated_kernel_support.hpp"

namespace vfio_unit_test_simulated_kernel_device {

namespace {

using namespace sim_test;

abi::region_info region_info(simulated_kernel& k, int d, std::uint32_t index, std::uint32_t argsz,
                             std::vector<unsigned char>* raw = nullptr, int* result = nullptr) {
  std::vector<unsigned char> buf(std::max<std::size_t>(argsz, sizeof(abi::region_info)), 0xee);
  abi::region_info ri{};
  ri.argsz = argsz;
  ri.index = index;
  ri.cap_offset = 0x5a5a;
  std::memcpy(buf.data(), &ri, sizeof ri);
  const int r = k.ioctl(d, abi::req::device_get_region_info, buf.data());
  if (result) *result = r;
  std::memcpy(&ri, buf.data(), sizeof ri);
  if (raw) *raw = buf;
  return ri;
}

abi::irq_info irq_info(simulated_kernel& k, int d, std::uint32_t index, int* result) {
  abi::irq_info ii{sizeof ii, 0, index, 0};
  *result = k.ioctl(d, abi::req::device_get_irq_info, &ii);
  return ii;
}

int set_irqs(simulated_kernel& k, int d, std::uint32_t flags, std::uint32_t index, std::uint32_t start,
             std::uint32_t count, const void* data = nullptr, std::size_t size = 0, std::uint32_t argsz = 0) {
  std::vector<unsigned char> buf(sizeof(abi::irq_set) + size);
  const abi::irq_set hdr{argsz ? argsz : static_cast<std::uint32_t>(buf.size()), flags, index, start, count};
  std::memcpy(buf.data(), &hdr, sizeof hdr);
  if (size) std::memcpy(buf.data() + sizeof hdr, data, size);
  return k.ioctl(d, abi::req::device_set_irqs, buf.data());
}

std::uint64_t drain(simulated_kernel& k, int efd) {
  std::uint64_t v = 0;
  return k.read(efd, &v, sizeof v) == 8 ? v : 0;
}

namespace f = abi::irq_set_flags;

TEST_CASE("simulated device: GET_INFO", "[simulated_kernel]") {
  simulated_kernel k;
  add_qemu_machine(k);
  {
    stack s(k, 3, e1000e_bdf);
    REQUIRE(s.ok());
    abi::device_info info{24, 0, 0, 0, 0x77, 0x99};
    CHECK(k.ioctl(s.device, abi::req::device_get_info, &info) == 0);
    CHECK(info.flags == (abi::device_flags::pci | abi::device_flags::reset));  // PM reset: NoSoftRst-
    CHECK(info.num_regions == abi::pci_region::count);
    CHECK(info.num_irqs == abi::pci_irq::count);
    CHECK(info.cap_offset == 0);
    CHECK(info.pad == 0x99);  // only offsetofend(cap_offset) = 20 bytes come back
    abi::device_info old{16, 0, 0, 0, 0x77, 0};
    CHECK(k.ioctl(s.device, abi::req::device_get_info, &old) == 0);
    CHECK(old.cap_offset == 0x77);  // argsz 16: cap_offset not written
    abi::device_info tiny{12, 0, 0, 0, 0, 0};
    CHECK(k.ioctl(s.device, abi::req::device_get_info, &tiny) == -EINVAL);
    CHECK(k.ioctl(s.device, abi::req::device_get_info, nullptr) == -EFAULT);
    CHECK(k.ioctl(s.device, abi::req::group_get_status, nullptr) == -ENOTTY);  // not a device ioctl
    CHECK(k.ioctl(s.device, abi::req::device_reset, nullptr) == 0);
  }
  {
    stack s(k, 6, edu_bdf);  // no FLR, no PM capability, root bus: no reset method
    REQUIRE(s.ok());
    abi::device_info info{24, 0, 0, 0, 0, 0};
    CHECK(k.ioctl(s.device, abi::req::device_get_info, &info) == 0);
    CHECK(info.flags == abi::device_flags::pci);
    CHECK(k.ioctl(s.device, abi::req::device_reset, nullptr) == -EINVAL);
  }
  CHECK(k.open_descriptors() == 0);
}

TEST_CASE("simulated device: GET_REGION_INFO offsets, flags and capabilities", "[simulated_kernel]") {
  simulated_kernel k;
  add_qemu_machine(k);
  stack s(k, 3, e1000e_bdf);
  REQUIRE(s.ok());
  int r = 0;
  for (std::uint32_t i = 0; i < abi::pci_region::vga; ++i) {
    const auto ri = region_info(k, s.device, i, 32, nullptr, &r);
    CHECK(r == 0);
    CHECK(ri.offset == (std::uint64_t{i} << 40));  // VFIO_PCI_INDEX_TO_OFFSET
  }
  namespace rf = abi::region_flags;
  auto bar0 = region_info(k, s.device, 0, 32);
  CHECK(bar0.flags == (rf::read | rf::write | rf::mmap));
  CHECK(bar0.size == 128 * 1024);
  CHECK(bar0.cap_offset == 0x5a5a);             // no capabilities: the caller's value comes back
  auto bar2 = region_info(k, s.device, 2, 32);  // 32-byte I/O BAR: no mmap
  CHECK(bar2.flags == (rf::read | rf::write));
  CHECK(bar2.size == 32);
  auto bar4 = region_info(k, s.device, 4, 32);
  CHECK(bar4.flags == 0);
  CHECK(bar4.size == 0);
  auto rom = region_info(k, s.device, abi::pci_region::rom, 32);
  CHECK(rom.size == 0);
  auto config = region_info(k, s.device, abi::pci_region::config, 32);
  CHECK(config.flags == (rf::read | rf::write));
  CHECK(config.size == 4096);

  // The MSI-X BAR carries MSIX_MAPPABLE: too small a buffer raises argsz.
  auto msix = region_info(k, s.device, 3, 32);
  CHECK(msix.flags == (rf::read | rf::write | rf::mmap | rf::caps));
  CHECK(msix.argsz == 40);
  CHECK(msix.cap_offset == 0);
  std::vector<unsigned char> raw;
  msix = region_info(k, s.device, 3, 40, &raw);
  CHECK(msix.cap_offset == 32);
  abi::info_cap_header h{};
  std::memcpy(&h, raw.data() + 32, sizeof h);
  CHECK(h.id == abi::region_cap::msix_mappable);
  CHECK(h.version == 1);
  CHECK(h.next == 0);

  region_info(k, s.device, abi::pci_region::vga, 32, nullptr, &r);
  CHECK(r == -EINVAL);  // no VGA
  region_info(k, s.device, abi::pci_region::count, 32, nullptr, &r);
  CHECK(r == -EINVAL);
  region_info(k, s.device, 0, 16, nullptr, &r);
  CHECK(r == -EINVAL);
}

TEST_CASE("simulated device: device-specific regions carry the TYPE capability", "[simulated_kernel]") {
  simulated_kernel k;
  auto d = sim::profiles::edu();
  d.regions.push_back({abi::region_type::pci_vendor(0x1234), 1, 0x1000, abi::region_flags::read});
  REQUIRE(k.add_device(d));
  stack s(k, 6, edu_bdf);
  REQUIRE(s.ok());
  abi::device_info info{24, 0, 0, 0, 0, 0};
  CHECK(k.ioctl(s.device, abi::req::device_get_info, &info) == 0);
  CHECK(info.num_regions == abi::pci_region::count + 1);
  std::vector<unsigned char> raw;
  const auto ri = region_info(k, s.device, 9, 64, &raw);
  CHECK(ri.offset == (std::uint64_t{9} << 40));
  CHECK(ri.size == 0x1000);
  CHECK(ri.flags == (abi::region_flags::read | abi::region_flags::caps));
  abi::region_info_cap_type t{};
  std::memcpy(&t, raw.data() + ri.cap_offset, sizeof t);
  CHECK(t.header.id == abi::region_cap::type);
  CHECK(t.type == abi::region_type::pci_vendor(0x1234));
  CHECK(t.subtype == 1);
  std::uint32_t v = 0;
  CHECK(k.pread(s.device, &v, 4, region(9)) == 4);
  CHECK(k.pwrite(s.device, &v, 4, region(9)) == -EINVAL);  // read-only region
  CHECK(k.pread(s.device, &v, 4, region(10)) == -EINVAL);
}

TEST_CASE("simulated device: GET_IRQ_INFO", "[simulated_kernel]") {
  namespace i = abi::irq_info_flags;
  for (auto version : {sim::kernel_version::v6_1, sim::kernel_version::v6_12}) {
    sim::kernel_options o;
    o.version = version;
    simulated_kernel k(o);
    add_qemu_machine(k);
    stack s(k, 3, e1000e_bdf);
    REQUIRE(s.ok());
    int r = 0;
    auto intx = irq_info(k, s.device, abi::pci_irq::intx, &r);
    CHECK(r == 0);
    CHECK(intx.count == 1);
    CHECK(intx.flags == (i::eventfd | i::maskable | i::automasked));
    auto msi = irq_info(k, s.device, abi::pci_irq::msi, &r);
    CHECK(msi.count == 1);
    CHECK(msi.flags == (i::eventfd | i::noresize));
    auto msix = irq_info(k, s.device, abi::pci_irq::msix, &r);
    CHECK(msix.count == 5);
    // Dynamic MSI-X (v6.5) drops NORESIZE.
    CHECK(msix.flags == (version == sim::kernel_version::v6_1 ? (i::eventfd | i::noresize) : i::eventfd));
    CHECK(irq_info(k, s.device, abi::pci_irq::err, &r).count == 1);
    CHECK(irq_info(k, s.device, abi::pci_irq::req, &r).count == 1);
    irq_info(k, s.device, abi::pci_irq::count, &r);
    CHECK(r == -EINVAL);
    abi::irq_info small{8, 0, 0, 0};
    CHECK(k.ioctl(s.device, abi::req::device_get_irq_info, &small) == -EINVAL);
  }
  simulated_kernel k;
  add_qemu_machine(k);
  stack s(k, 6, edu_bdf);
  int r = 0;
  irq_info(k, s.device, abi::pci_irq::err, &r);
  CHECK(r == -EINVAL);  // ERR exists only on PCIe in 6.x
  CHECK(irq_info(k, s.device, abi::pci_irq::msix, &r).count == 0);
  stack v(k, 7, virtio_bdf);
  CHECK(irq_info(k, v.device, abi::pci_irq::msix, &r).count == 4);

  sim::kernel_options o7;
  o7.version = sim::kernel_version::v7;
  simulated_kernel k7(o7);
  add_qemu_machine(k7);
  stack s7(k7, 6, edu_bdf);
  const auto err = irq_info(k7, s7.device, abi::pci_irq::err, &r);
  CHECK(r == 0);  // 7.x reports ERR for every function
  CHECK(err.count == 1);
  CHECK(err.flags == (i::eventfd | i::noresize));
}

TEST_CASE("simulated device: SET_IRQS validation", "[simulated_kernel]") {
  simulated_kernel k;
  add_qemu_machine(k);
  stack s(k, 3, e1000e_bdf);
  REQUIRE(s.ok());
  const int efd = k.eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  const std::int32_t fds[2] = {efd, efd};
  CHECK(set_irqs(k, s.device, f::data_none | f::action_trigger, abi::pci_irq::msix, 0, 1, nullptr, 0, 16) == -EINVAL);
  CHECK(set_irqs(k, s.device, f::data_none | f::action_trigger, abi::pci_irq::count, 0, 1) == -EINVAL);
  CHECK(set_irqs(k, s.device, f::data_eventfd | f::action_trigger, abi::pci_irq::msix, 4, 2, fds, 8) == -EINVAL);
  CHECK(set_irqs(k, s.device, f::data_none | f::data_bool | f::action_trigger, abi::pci_irq::msix, 0, 1) == -EINVAL);
  CHECK(set_irqs(k, s.device, 0x100 | f::action_trigger, abi::pci_irq::msix, 0, 1) == -EINVAL);
  CHECK(set_irqs(k, s.device, f::data_eventfd | f::action_trigger, abi::pci_irq::msix, 0, 2, fds, 4) == -EINVAL);
  CHECK(set_irqs(k, s.device, f::data_none | f::action_mask, abi::pci_irq::msix, 0, 1) == -ENOTTY);
  CHECK(set_irqs(k, s.device, f::data_none | f::action_mask | f::action_trigger, abi::pci_irq::msix, 0, 1) == -ENOTTY);
  CHECK(set_irqs(k, s.device, f::data_none | f::action_trigger, abi::pci_irq::msix, 0, 1) == -EINVAL);  // not enabled
  const std::int32_t bad[1] = {4242};
  CHECK(set_irqs(k, s.device, f::data_eventfd | f::action_trigger, abi::pci_irq::msix, 0, 1, bad, 4) == -EBADF);
  const std::int32_t not_eventfd[1] = {s.group};
  CHECK(set_irqs(k, s.device, f::data_eventfd | f::action_trigger, abi::pci_irq::msix, 0, 1, not_eventfd, 4) ==
        -EINVAL);
  CHECK(drain(k, efd) == 0);
  k.close(efd);
}

TEST_CASE("simulated device: MSI-X and MSI eventfds with loopback triggers", "[simulated_kernel]") {
  simulated_kernel k;
  add_qemu_machine(k);
  stack s(k, 3, e1000e_bdf);
  REQUIRE(s.ok());
  const int a = k.eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  const int b = k.eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  const std::int32_t fds[2] = {a, b};
  REQUIRE(set_irqs(k, s.device, f::data_eventfd | f::action_trigger, abi::pci_irq::msix, 0, 2, fds, 8) == 0);
  // The hardware's MSI-X enable bit is set (MSI-X flags read through).
  std::uint16_t flags = 0;
  CHECK(cfg_read16(k, s.device, 0xa0 + abi::pci::msix_flags, flags) == 2);
  CHECK((flags & abi::pci::msix::flags_enable) != 0);
  CHECK(set_irqs(k, s.device, f::data_none | f::action_trigger, abi::pci_irq::msix, 0, 2) == 0);
  CHECK(drain(k, a) == 1);
  CHECK(drain(k, b) == 1);
  const std::uint8_t bools[2] = {0, 1};
  CHECK(set_irqs(k, s.device, f::data_bool | f::action_trigger, abi::pci_irq::msix, 0, 2, bools, 2) == 0);
  CHECK(drain(k, a) == 0);
  CHECK(drain(k, b) == 1);
  CHECK(k.raise_interrupt(e1000e_bdf, abi::pci_irq::msix, 1));
  CHECK(drain(k, b) == 1);
  // Another type cannot be enabled while MSI-X is.
  CHECK(set_irqs(k, s.device, f::data_eventfd | f::action_trigger, abi::pci_irq::msi, 0, 1, fds, 4) == -EINVAL);
  // count 0 with DATA_NONE disables; a trigger is then refused.
  CHECK(set_irqs(k, s.device, f::data_none | f::action_trigger, abi::pci_irq::msix, 0, 0) == 0);
  CHECK(set_irqs(k, s.device, f::data_none | f::action_trigger, abi::pci_irq::msix, 0, 1) == -EINVAL);
  CHECK(cfg_read16(k, s.device, 0xa0 + abi::pci::msix_flags, flags) == 2);
  CHECK((flags & abi::pci::msix::flags_enable) == 0);

  REQUIRE(set_irqs(k, s.device, f::data_eventfd | f::action_trigger, abi::pci_irq::msi, 0, 1, fds, 4) == 0);
  CHECK(set_irqs(k, s.device, f::data_none | f::action_trigger, abi::pci_irq::msi, 0, 1) == 0);
  CHECK(drain(k, a) == 1);
  k.close(a);
  k.close(b);
}

TEST_CASE("simulated device: INTx masking, ERR and REQ triggers", "[simulated_kernel]") {
  simulated_kernel k;
  add_qemu_machine(k);
  stack s(k, 3, e1000e_bdf);
  REQUIRE(s.ok());
  const int e = k.eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  const std::int32_t fd[1] = {e};
  CHECK(set_irqs(k, s.device, f::data_none | f::action_unmask, abi::pci_irq::intx, 0, 1) == -EINVAL);  // not enabled
  REQUIRE(set_irqs(k, s.device, f::data_eventfd | f::action_trigger, abi::pci_irq::intx, 0, 1, fd, 4) == 0);
  // vfio_intx_handler: the first interrupt masks (AUTOMASKED), the next is held.
  CHECK(k.raise_interrupt(e1000e_bdf, abi::pci_irq::intx, 0));
  CHECK_FALSE(k.raise_interrupt(e1000e_bdf, abi::pci_irq::intx, 0));
  CHECK(drain(k, e) == 1);
  CHECK(set_irqs(k, s.device, f::data_none | f::action_unmask, abi::pci_irq::intx, 0, 1) == 0);
  CHECK(k.raise_interrupt(e1000e_bdf, abi::pci_irq::intx, 0));
  CHECK(drain(k, e) == 1);
  CHECK(set_irqs(k, s.device, f::data_eventfd | f::action_mask, abi::pci_irq::intx, 0, 1, fd, 4) == -ENOTTY);
  // INTx disable in the virtual COMMAND register stops loopback delivery.
  std::uint16_t cmd = 0;
  REQUIRE(cfg_read16(k, s.device, abi::pci::command, cmd) == 2);
  CHECK(cfg_write16(k, s.device, abi::pci::command, cmd | abi::pci::command_bits::intx_disable) == 2);
  CHECK(set_irqs(k, s.device, f::data_none | f::action_trigger, abi::pci_irq::intx, 0, 1) == 0);
  CHECK(drain(k, e) == 0);
  CHECK(cfg_write16(k, s.device, abi::pci::command, cmd) == 2);
  CHECK(set_irqs(k, s.device, f::data_none | f::action_trigger, abi::pci_irq::intx, 0, 1) == 0);
  CHECK(drain(k, e) == 1);
  CHECK(set_irqs(k, s.device, f::data_none | f::action_trigger, abi::pci_irq::intx, 0, 0) == 0);  // disable

  // ERR / REQ: DATA_NONE without a trigger is -EINVAL; with one it signals.
  CHECK(set_irqs(k, s.device, f::data_none | f::action_trigger, abi::pci_irq::req, 0, 1) == -EINVAL);
  CHECK(set_irqs(k, s.device, f::data_eventfd | f::action_trigger, abi::pci_irq::req, 0, 1, fd, 4) == 0);
  CHECK(set_irqs(k, s.device, f::data_none | f::action_trigger, abi::pci_irq::req, 0, 1) == 0);
  CHECK(drain(k, e) == 1);
  CHECK(set_irqs(k, s.device, f::data_eventfd | f::action_trigger, abi::pci_irq::err, 0, 1, fd, 4) == 0);
  CHECK(set_irqs(k, s.device, f::data_none | f::action_unmask, abi::pci_irq::err, 0, 1) == -ENOTTY);
  k.close(e);
}

TEST_CASE("simulated device: hot reset info and hot reset", "[simulated_kernel]") {
  simulated_kernel k;
  add_qemu_machine(k);
  {
    stack s(k, 3, e1000e_bdf);
    abi::pci_hot_reset_info hdr{sizeof hdr, 0, 0};
    CHECK(k.ioctl(s.device, abi::req::device_get_pci_hot_reset_info, &hdr) == -ENODEV);  // root bus
  }
  stack s(k, 7, virtio_bdf);
  REQUIRE(s.ok());
  abi::pci_hot_reset_info hdr{sizeof hdr, 0x55, 0};
  CHECK(k.ioctl(s.device, abi::req::device_get_pci_hot_reset_info, &hdr) == -ENOSPC);
  CHECK(hdr.count == 1);
  CHECK(hdr.flags == 0);
  unsigned char buf[sizeof hdr + sizeof(abi::pci_dependent_device)] = {};
  hdr = {sizeof buf, 0, 0};
  std::memcpy(buf, &hdr, sizeof hdr);
  REQUIRE(k.ioctl(s.device, abi::req::device_get_pci_hot_reset_info, buf) == 0);
  abi::pci_dependent_device dep{};
  std::memcpy(&dep, buf + sizeof hdr, sizeof dep);
  CHECK(dep.group_id == 7);
  CHECK(dep.segment == 0);
  CHECK(dep.bus == 1);
  CHECK(dep.devfn == 0);
  abi::pci_hot_reset_info small{8, 0, 0};
  CHECK(k.ioctl(s.device, abi::req::device_get_pci_hot_reset_info, &small) == -EINVAL);

  auto hot_reset = [&](std::uint32_t flags, std::vector<std::int32_t> groups) {
    std::vector<unsigned char> b(sizeof(abi::pci_hot_reset) + groups.size() * 4);
    const abi::pci_hot_reset h{static_cast<std::uint32_t>(b.size()), flags, static_cast<std::uint32_t>(groups.size())};
    std::memcpy(b.data(), &h, sizeof h);
    if (!groups.empty()) std::memcpy(b.data() + sizeof h, groups.data(), groups.size() * 4);
    return k.ioctl(s.device, abi::req::device_pci_hot_reset, b.data());
  };
  CHECK(hot_reset(0, {s.group}) == 0);
  CHECK(hot_reset(1, {s.group}) == -EINVAL);
  CHECK(hot_reset(0, {}) == -EINVAL);
  CHECK(hot_reset(0, {s.group, s.group}) == -EINVAL);  // more than the affected devices
  CHECK(hot_reset(0, {4242}) == -EBADF);
  CHECK(hot_reset(0, {s.container}) == -EINVAL);  // not a group
}

TEST_CASE("simulated device: region reads and writes", "[simulated_kernel]") {
  simulated_kernel k;
  add_qemu_machine(k);
  stack s(k, 3, e1000e_bdf);
  REQUIRE(s.ok());
  std::uint32_t ids = 0;
  CHECK(k.pread(s.device, &ids, 4, cfg) == 4);
  CHECK(ids == 0x10d38086);
  std::uint16_t word = 0;
  CHECK(cfg_read16(k, s.device, abi::pci::command, word) == 2);
  CHECK(word == 0x0103);  // firmware's I/O, memory, SERR#; bus master cleared at open
  CHECK(cfg_read16(k, s.device, 0xe0 + abi::pci::exp_flags, word) == 2);
  CHECK(word == 0x0091);                                     // PCIe v1, integrated endpoint on the root bus
  CHECK(k.pread(s.device, &ids, 4, cfg + 4096) == -EFAULT);  // vfio_config_do_rw
  CHECK(k.pread(s.device, &ids, 0, cfg) == 0);
  std::uint32_t v = 0xdeadbeef;
  CHECK(k.pwrite(s.device, &v, 4, region(0) + 0x100) == 4);
  std::uint32_t back = 0;
  CHECK(k.pread(s.device, &back, 4, region(0) + 0x100) == 4);
  CHECK(back == 0xdeadbeef);
  CHECK(k.pread(s.device, &back, 4, region(0) + 128 * 1024) == -EINVAL);  // past the BAR
  unsigned char wide[8] = {};
  CHECK(k.pread(s.device, wide, 8, region(0) + 128 * 1024 - 4) == 4);  // clamped to the BAR's end
  // The MSI-X table (BAR3 at 0, 5 x 16 bytes) reads as 0xff and drops writes.
  CHECK(k.pwrite(s.device, &v, 4, region(3)) == 4);
  CHECK(k.pread(s.device, &back, 4, region(3)) == 4);
  CHECK(back == 0xffffffff);
  CHECK(k.pwrite(s.device, &v, 4, region(3) + 0x100) == 4);  // past the table
  CHECK(k.pread(s.device, &back, 4, region(3) + 0x100) == 4);
  CHECK(back == 0xdeadbeef);
  CHECK(k.pread(s.device, &back, 4, region(2)) == 4);        // the I/O BAR
  CHECK(k.pread(s.device, &back, 4, region(4)) == -EINVAL);  // unimplemented BAR
  CHECK(k.pwrite(s.device, &v, 4, region(abi::pci_region::rom)) == -EINVAL);
  CHECK(k.pread(s.device, &back, 4, region(abi::pci_region::vga)) == -EINVAL);
  CHECK(k.pread(s.device, &back, 4, region(abi::pci_region::count)) == -EINVAL);
  CHECK(k.pread(s.device, &back, 4, -1) == -EINVAL);
  // read(2)/write(2) use the file position.
  CHECK(k.read(s.device, &back, 4) == 4);  // offset 0: BAR0
}

TEST_CASE("simulated device: config-space virtualization of the PM capability", "[simulated_kernel]") {
  // A function whose PMC advertises PME from D3hot/D3cold and whose PMCSR
  // has PME_Status and PME_En set in hardware.
  sim::config_builder b(0x1af4, 0x1000, 0x020000, 0, false);
  b.bar(0, {4096, false, false, false, 0, true, {}});
  b.pm(0x40, 0xc003, 0x8100);
  auto d = b.build("0000:00:09.0");
  d.iommu_group = 11;
  simulated_kernel k;
  REQUIRE(k.add_device(d));
  stack s(k, 11, "0000:00:09.0");
  REQUIRE(s.ok());
  std::uint16_t pmc = 0, pmcsr = 0;
  CHECK(cfg_read16(k, s.device, 0x40 + abi::pci::pm_pmc, pmc) == 2);
  CHECK(pmc == 0x0003);  // PME_Support hidden (vfio_update_pm_vconfig_bytes)
  CHECK(cfg_read16(k, s.device, 0x40 + abi::pci::pm_ctrl, pmcsr) == 2);
  CHECK(pmcsr == 0x0000);  // PME_Status and PME_En virtualized, read as 0
  const int hw = k.open(dev_attr("0000:00:09.0", "config").c_str(), O_RDONLY | O_CLOEXEC, 0);
  std::uint16_t raw = 0;
  CHECK(k.pread(hw, &raw, 2, 0x40 + abi::pci::pm_ctrl) == 2);
  CHECK(raw == 0x8100);  // the hardware's view
  // PME_En cannot be set through vfio. vfio_default_config_write reads the
  // hardware register, replaces the writable non-virtual bits and writes it
  // back: the PME_Status it read as 1 goes back as 1 and clears itself
  // (write-1-to-clear), while PME_En keeps its hardware value.
  CHECK(cfg_write16(k, s.device, 0x40 + abi::pci::pm_ctrl, 0x8100) == 2);
  CHECK(cfg_read16(k, s.device, 0x40 + abi::pci::pm_ctrl, pmcsr) == 2);
  CHECK(pmcsr == 0x0000);
  CHECK(k.pread(hw, &raw, 2, 0x40 + abi::pci::pm_ctrl) == 2);
  CHECK(raw == 0x0100);
  // PowerState changes only through a write that starts at PM_CTRL.
  const std::uint32_t pmc_and_ctrl = 0x00030003;  // a dword at PMC: PMCSR's state bits ride along
  CHECK(k.pwrite(s.device, &pmc_and_ctrl, 4, cfg + 0x40) == 4);
  CHECK(k.power_state("0000:00:09.0") == "D0");
  CHECK(cfg_write16(k, s.device, 0x40 + abi::pci::pm_ctrl, 3) == 2);
  CHECK(k.power_state("0000:00:09.0") == "D3hot");
  CHECK(cfg_read16(k, s.device, 0x40 + abi::pci::pm_ctrl, pmcsr) == 2);
  CHECK(pmcsr == 0x0003);
  CHECK(k.pread(hw, &raw, 2, 0x40 + abi::pci::pm_ctrl) == 2);
  CHECK(raw == 0x0103);
  k.close(hw);
  // Read-only header bits keep their value.
  CHECK(cfg_write16(k, s.device, abi::pci::vendor_id, 0x1234) == 2);
  std::uint16_t vendor = 0;
  CHECK(cfg_read16(k, s.device, abi::pci::vendor_id, vendor) == 2);
  CHECK(vendor == 0x1af4);
}

TEST_CASE("simulated device: ROM reads", "[simulated_kernel]") {
  simulated_kernel k;
  auto d = sim::profiles::edu();
  d.rom_size = 0x10000;
  REQUIRE(k.add_device(d));
  stack s(k, 6, edu_bdf);
  REQUIRE(s.ok());
  const auto rom = region_info(k, s.device, abi::pci_region::rom, 32);
  CHECK(rom.flags == abi::region_flags::read);
  CHECK(rom.size == 0x10000);
  std::uint16_t sig = 0;
  CHECK(k.pread(s.device, &sig, 2, region(abi::pci_region::rom)) == 2);
  CHECK(sig == 0xaa55);
}

TEST_CASE("simulated device: mmap of BARs", "[simulated_kernel]") {
  simulated_kernel k;
  add_qemu_machine(k);
  stack s(k, 3, e1000e_bdf);
  REQUIRE(s.ok());
  void* p = nullptr;
  CHECK(k.mmap(&p, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE, s.device, region(0)) == -EINVAL);
  CHECK(k.mmap(&p, 4096, PROT_READ, MAP_SHARED, s.device, cfg) == -EINVAL);
  CHECK(k.mmap(&p, 4096, PROT_READ, MAP_SHARED, s.device, region(2)) == -EINVAL);  // I/O BAR
  CHECK(k.mmap(&p, 4096, PROT_READ, MAP_SHARED, s.device, region(0) + 8) == -EINVAL);
  CHECK(k.mmap(&p, 0, PROT_READ, MAP_SHARED, s.device, region(0)) == -EINVAL);
  CHECK(k.mmap(&p, 2 * 128 * 1024, PROT_READ, MAP_SHARED, s.device, region(0)) == -EINVAL);
  CHECK(k.mmap(&p, 4096, PROT_READ, MAP_SHARED, s.container, 0) == -ENODEV);
  CHECK(k.mmap(&p, 4096, PROT_READ, MAP_SHARED, 4242, 0) == -EBADF);
  CHECK(k.live_mappings() == 0);

  void* bar0 = nullptr;
  REQUIRE(k.mmap(&bar0, 128 * 1024, PROT_READ | PROT_WRITE, MAP_SHARED, s.device, region(0)) == 0);
  REQUIRE(bar0 != nullptr);
  CHECK(k.live_mappings() == 1);
  CHECK_FALSE(k.mapping_faults(bar0));
  // The mapping and the device file see the same bytes.
  static_cast<volatile std::uint32_t*>(bar0)[1] = 0x12345678;
  std::uint32_t v = 0;
  CHECK(k.pread(s.device, &v, 4, region(0) + 4) == 4);
  CHECK(v == 0x12345678);
  void* tail = nullptr;
  REQUIRE(k.mmap(&tail, 4096, PROT_READ, MAP_SHARED, s.device, region(0) + 0x1000) == 0);
  CHECK(static_cast<unsigned char*>(tail) == static_cast<unsigned char*>(bar0) + 0x1000);

  // The mapping holds the device file: closing the descriptor leaves it open.
  CHECK(k.close(s.device) == 0);
  s.device = -1;
  CHECK(k.open_count(e1000e_bdf) == 1);
  CHECK(k.munmap(tail, 4096) == 0);
  CHECK(k.munmap(tail, 4096) == -EINVAL);  // not a mapping any more
  CHECK(k.open_count(e1000e_bdf) == 1);
  CHECK(k.munmap(bar0, 128 * 1024) == 0);
  CHECK(k.open_count(e1000e_bdf) == 0);
  CHECK(k.live_mappings() == 0);
}

TEST_CASE("simulated device: IOEVENTFD", "[simulated_kernel]") {
  simulated_kernel k;
  add_qemu_machine(k);
  stack s(k, 3, e1000e_bdf);
  REQUIRE(s.ok());
  const int e = k.eventfd(0, EFD_CLOEXEC);
  auto ioeventfd = [&](std::uint32_t flags, std::int64_t offset, std::int32_t fd) {
    abi::device_ioeventfd io{};
    io.argsz = sizeof io;
    io.flags = flags;
    io.offset = static_cast<std::uint64_t>(offset);
    io.data = 1;
    io.fd = fd;
    return k.ioctl(s.device, abi::req::device_ioeventfd, &io);
  };
  namespace sz = abi::ioeventfd_flags;
  CHECK(ioeventfd(sz::size_32, region(0) + 0x40, e) == 0);
  CHECK(ioeventfd(sz::size_32, region(0) + 0x40, e) == -EEXIST);
  CHECK(ioeventfd(sz::size_32, region(0) + 0x40, -1) == 0);  // removed
  CHECK(ioeventfd(sz::size_32, region(0) + 0x40, -1) == -ENODEV);
  CHECK(ioeventfd(sz::size_32 | sz::size_16, region(0), e) == -EINVAL);
  // x86 has iowrite64: 8 bytes are accepted (the real 6.1.192 and later).
  CHECK(ioeventfd(sz::size_64, region(0), e) == 0);
  CHECK(ioeventfd(sz::size_32, region(3), e) == -EINVAL);  // inside the MSI-X table
  CHECK(ioeventfd(sz::size_32, cfg, e) == -EINVAL);        // BARs only
  CHECK(ioeventfd(sz::size_32, region(0), -2) == -EINVAL);
  k.close(e);
}

}  // namespace

}  // namespace vfio_unit_test_simulated_kernel_device
