// Definitions of sim::config_builder's capability builders and of the
// ready-made profiles declared in device_profile.hpp: inline when that header
// includes them (the default), or compiled once with the simulated kernel's model
// under VFIO_TESTING_SEPARATE_COMPILATION (see <vfio/testing/simulated_kernel.hpp>).
#ifndef VFIO_TESTING_SIM_DEVICE_PROFILE_IMPL_HPP_INCLUDED
#define VFIO_TESTING_SIM_DEVICE_PROFILE_IMPL_HPP_INCLUDED

#include <cstdint>
#include <cstring>
#include <string>
#include <utility>
#include <vector>

#include "../../abi/pci.hpp"
#include "device_profile.hpp"

#if defined(VFIO_TESTING_SEPARATE_COMPILATION)
#define VFIO_TESTING_PROFILE_DEF
#else
#define VFIO_TESTING_PROFILE_DEF inline
#endif

namespace vfio::testing::sim {

VFIO_TESTING_PROFILE_DEF config_builder::config_builder(std::uint16_t vendor, std::uint16_t device,
                                                        std::uint32_t class_code, std::uint8_t revision, bool express) {
  const std::size_t size = express ? abi::pci::cfg_space_exp_size : abi::pci::cfg_space_size;
  d_.config.assign(size, 0);
  d_.wmask.assign(size, 0);
  d_.w1cmask.assign(size, 0);
  put16(abi::pci::vendor_id, vendor);
  put16(abi::pci::device_id, device);
  put8(abi::pci::revision_id, revision);
  put8(abi::pci::class_prog, static_cast<std::uint8_t>(class_code & 0xff));
  put16(abi::pci::class_device, static_cast<std::uint16_t>(class_code >> 8));
  // Writable header bits of a typical function: I/O, memory, bus master,
  // parity, SERR, INTx disable; cache line size; interrupt line.
  mask16(abi::pci::command, 0x0547);
  d_.w1cmask[abi::pci::status + 1] = 0xf9;  // error bits of the status register
  d_.wmask[abi::pci::cache_line_size] = 0xff;
  d_.wmask[abi::pci::interrupt_line] = 0xff;
}

VFIO_TESTING_PROFILE_DEF config_builder& config_builder::pm(std::uint8_t offset, std::uint16_t pmc,
                                                            std::uint16_t pmcsr) {
  link(offset, abi::pci::cap::pm);
  put16(offset + abi::pci::pm_pmc, pmc);
  put16(offset + abi::pci::pm_ctrl, pmcsr);
  std::uint16_t w = abi::pci::pm::ctrl_state_mask | abi::pci::pm::ctrl_data_sel_mask;
  if (pmc & abi::pci::pm::pmc_pme_mask) w |= abi::pci::pm::ctrl_pme_enable;
  mask16(offset + abi::pci::pm_ctrl, w);
  d_.w1cmask[offset + abi::pci::pm_ctrl + 1] = 0x80;  // PME_Status
  return *this;
}

VFIO_TESTING_PROFILE_DEF config_builder& config_builder::msi(std::uint8_t offset, unsigned log2_vectors, bool is64,
                                                             bool maskbit) {
  link(offset, abi::pci::cap::msi);
  std::uint16_t flags = static_cast<std::uint16_t>((log2_vectors & 7) << 1);
  if (is64) flags |= abi::pci::msi::flags_64bit;
  if (maskbit) flags |= abi::pci::msi::flags_maskbit;
  put16(offset + abi::pci::msi_flags, flags);
  mask16(offset + abi::pci::msi_flags, abi::pci::msi::flags_enable | abi::pci::msi::flags_qsize);
  mask32(offset + abi::pci::msi_address_lo, 0xfffffffc);
  if (is64) {
    mask32(offset + abi::pci::msi_address_hi, 0xffffffff);
    mask16(offset + abi::pci::msi_data_64, 0xffff);
    if (maskbit) mask32(offset + abi::pci::msi_mask_64, 0xffffffff);
  } else {
    mask16(offset + abi::pci::msi_data_32, 0xffff);
    if (maskbit) mask32(offset + abi::pci::msi_mask_32, 0xffffffff);
  }
  return *this;
}

VFIO_TESTING_PROFILE_DEF config_builder& config_builder::msix(std::uint8_t offset, unsigned vectors, unsigned table_bar,
                                                              std::uint32_t table_offset, unsigned pba_bar,
                                                              std::uint32_t pba_offset) {
  link(offset, abi::pci::cap::msix);
  put16(offset + abi::pci::msix_flags, static_cast<std::uint16_t>((vectors - 1) & abi::pci::msix::flags_qsize));
  put32(offset + abi::pci::msix_table, (table_offset & abi::pci::msix::table_offset) | (table_bar & 7));
  put32(offset + abi::pci::msix_pba, (pba_offset & abi::pci::msix::pba_offset) | (pba_bar & 7));
  mask16(offset + abi::pci::msix_flags, abi::pci::msix::flags_enable | abi::pci::msix::flags_maskall);
  return *this;
}

VFIO_TESTING_PROFILE_DEF config_builder& config_builder::pcie(std::uint8_t offset, unsigned version, std::uint16_t type,
                                                              bool flr) {
  link(offset, abi::pci::cap::exp);
  put16(offset + abi::pci::exp_flags, static_cast<std::uint16_t>((version & 0xf) | ((type & 0xf) << 4)));
  // What QEMU's pcie_cap_v1_fill / pcie_cap_init leave there, as a QEMU
  // 7.2 guest reads it: DEVCAP Role-Based Error Reporting (MPS 128) plus
  // FLR; DEVCTL 0; LNKCAP 2.5 GT/s x1 with ASPM L0s; DEVCAP2 (v2) extended
  // fmt field and end-end TLP prefix supported.
  std::uint32_t devcap = 0x00008000;
  if (flr) devcap |= abi::pci::pcie::devcap_flr;
  put32(offset + abi::pci::exp_devcap, devcap);
  put32(offset + abi::pci::exp_lnkcap, 0x00000411);
  put16(offset + abi::pci::exp_lnksta, 0x0011);
  if (version >= 2) put32(offset + abi::pci::exp_devcap2, 0x00300000);
  mask16(offset + abi::pci::exp_devctl, 0xffff);
  d_.w1cmask[offset + abi::pci::exp_devsta] = 0x0f;
  mask16(offset + abi::pci::exp_lnkctl, 0x0fff);
  if (version >= 2) mask16(offset + abi::pci::exp_devctl2, 0xffff);
  return *this;
}

VFIO_TESTING_PROFILE_DEF config_builder& config_builder::vendor_cap(std::uint8_t offset,
                                                                    const std::vector<std::uint8_t>& body) {
  link(offset, abi::pci::cap::vndr);
  for (std::size_t i = 0; i < body.size() && offset + 2 + i < 256; ++i) put8(offset + 2 + i, body[i]);
  return *this;
}

VFIO_TESTING_PROFILE_DEF config_builder& config_builder::ext_cap(std::uint16_t offset, std::uint16_t id,
                                                                 std::uint8_t version,
                                                                 const std::vector<std::uint8_t>& body) {
  if (d_.config.size() <= abi::pci::cfg_space_size) return *this;
  put32(offset, static_cast<std::uint32_t>(id) | (static_cast<std::uint32_t>(version & 0xf) << 16));
  if (last_ext_ != 0) {
    std::uint32_t prev = get32(last_ext_);
    prev = (prev & 0x000fffffU) | (static_cast<std::uint32_t>(offset) << 20);
    put32(last_ext_, prev);
  }
  last_ext_ = offset;
  for (std::size_t i = 0; i < body.size() && offset + 4 + i < d_.config.size(); ++i)
    put8(static_cast<std::uint16_t>(offset + 4 + i), body[i]);
  return *this;
}

VFIO_TESTING_PROFILE_DEF config_builder& config_builder::aer(std::uint16_t offset) {
  ext_cap(offset, abi::pci::ext_cap::err, 2, std::vector<std::uint8_t>(0x44, 0));
  for (unsigned i = 0; i < 4; ++i) {
    d_.w1cmask[offset + 0x04 + i] = 0xff;  // uncorrectable status
    d_.wmask[offset + 0x08 + i] = 0xff;    // uncorrectable mask
    d_.wmask[offset + 0x0c + i] = 0xff;    // uncorrectable severity
    d_.w1cmask[offset + 0x10 + i] = 0xff;  // correctable status
    d_.wmask[offset + 0x14 + i] = 0xff;    // correctable mask
  }
  d_.wmask[offset + 0x18] = 0x40;  // ECRC generation enable
  d_.wmask[offset + 0x19] = 0x01;  // ECRC check enable
  return *this;
}

namespace profiles {

VFIO_TESTING_PROFILE_DEF std::uint16_t endpoint_type(const std::string& bdf) {
  const bool root_bus = bdf.size() == 12 && bdf.compare(5, 2, "00") == 0;
  return root_bus ? abi::pci::pcie::type_rc_end : abi::pci::pcie::type_endpoint;
}

VFIO_TESTING_PROFILE_DEF device_description e1000e(std::string bdf, unsigned group) {
  config_builder b(0x8086, 0x10d3, 0x020000, 0x00, true);
  b.subsystem(0x8086, 0x0000).interrupt_pin(1);
  b.bar(0, {std::uint64_t{128} * 1024, false, false, false, 0, true, {}});
  b.bar(1, {std::uint64_t{128} * 1024, false, false, false, 0, true, {}});
  b.bar(2, {32, true, false, false, 0, true, {}});
  b.bar(3, {std::uint64_t{16} * 1024, false, false, false, 0, true, {}});
  b.msix(0xa0, 5, 3, 0x0000, 3, 0x2000);
  b.pcie(0xe0, 1, endpoint_type(bdf), false);
  b.msi(0xd0, 0, true, false);
  b.pm(0xc8, 0x0002 | abi::pci::pm::pmc_dsi, 0x0000);
  b.aer(0x100);
  b.ext_cap(0x140, abi::pci::ext_cap::dsn, 1, {0x56, 0x34, 0x12, 0xff, 0xff, 0x00, 0x54, 0x52});
  device_description d = b.build(std::move(bdf));
  d.iommu_group = group;
  d.native_driver = "e1000e";
  return d;
}

VFIO_TESTING_PROFILE_DEF device_description nvme(std::string bdf, unsigned group) {
  config_builder b(0x1b36, 0x0010, 0x010802, 0x02, true);
  b.subsystem(0x1af4, 0x1100).interrupt_pin(1);
  b.bar(0, {std::uint64_t{16} * 1024, false, true, false, 0, true, {}});
  b.pm(0x60, 0x0003, abi::pci::pm::ctrl_no_soft_reset);
  b.pcie(0x80, 2, endpoint_type(bdf), true);
  b.msix(0x40, 65, 0, 0x2000, 0, 0x3000);
  device_description d = b.build(std::move(bdf));
  d.iommu_group = group;
  d.native_driver = "nvme";
  return d;
}

VFIO_TESTING_PROFILE_DEF bridge_description pcie_root_port(std::string bdf, unsigned group) {
  bridge_description br;
  br.bdf = std::move(bdf);
  br.iommu_group = group;
  return br;
}

VFIO_TESTING_PROFILE_DEF device_description virtio_net(std::string bdf, unsigned group, std::string bridge) {
  config_builder b(0x1af4, 0x1041, 0x020000, 0x01, true);
  b.subsystem(0x1af4, 0x1100).interrupt_pin(1);
  b.bar(1, {4096, false, false, false, 0, true, {}});
  b.bar(4, {std::uint64_t{16} * 1024, false, true, true, 0, true, {}});
  b.pcie(0x40, 2, abi::pci::pcie::type_endpoint, true);
  b.pm(0x7c, 0x0003, 0x0000);
  b.vendor_cap(0x84, {16, 1, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0x10, 0, 0});
  b.vendor_cap(0x94, {16, 3, 4, 0, 0, 0, 0, 0x10, 0, 0, 0, 0x10, 0, 0});
  b.vendor_cap(0xa4, {16, 4, 4, 0, 0, 0, 0, 0x20, 0, 0, 0, 0x10, 0, 0});
  b.vendor_cap(0xb4, {20, 2, 4, 0, 0, 0, 0, 0x30, 0, 0, 0, 0x10, 0, 0, 4, 0, 0, 0});
  b.vendor_cap(0xc8, {20, 5, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0});
  b.msix(0xdc, 4, 1, 0x0000, 1, 0x0800);
  device_description d = b.build(std::move(bdf));
  d.iommu_group = group;
  d.native_driver = "virtio-pci";
  d.upstream_bridge = std::move(bridge);
  return d;
}

VFIO_TESTING_PROFILE_DEF device_description edu(std::string bdf, unsigned group) {
  config_builder b(0x1234, 0x11e8, 0x00ff00, 0x10, false);
  b.subsystem(0x1af4, 0x1100).interrupt_pin(1);
  b.bar(0, {std::uint64_t{1024} * 1024, false, false, false, 0, true, {}});
  b.msi(0x40, 0, true, false);
  device_description d = b.build(std::move(bdf));
  d.iommu_group = group;
  return d;
}

VFIO_TESTING_PROFILE_DEF device_description gpu(std::string bdf, unsigned group, std::string bridge) {
  config_builder b(0x10de, 0x1eb8, 0x030200, 0xa1, true);
  b.subsystem(0x10de, 0x12a2).interrupt_pin(1);
  b.bar(0, {std::uint64_t{16} * 1024 * 1024, false, false, false, 0, true, {}});
  b.bar(1, {std::uint64_t{64} * 1024 * 1024, false, true, true, 0, true, {}});
  b.bar(3, {std::uint64_t{32} * 1024 * 1024, false, true, true, 0, true, {}});
  b.pm(0x60, 0x0003, 0x0000);
  b.msi(0x68, 0, true, false);
  b.pcie(0x78, 2, abi::pci::pcie::type_endpoint, false);
  b.aer(0x100);
  device_description d = b.build(std::move(bdf));
  d.iommu_group = group;
  d.native_driver = "nouveau";
  d.upstream_bridge = std::move(bridge);
  d.power_resources = true;
  return d;
}

VFIO_TESTING_PROFILE_DEF device_description mtty(std::string bdf, unsigned group, unsigned ports) {
  config_builder b(0x4348, 0x3253, 0x070002, 0x10, false);
  b.subsystem(0x4348, 0x3253).interrupt_pin(1);
  for (unsigned i = 0; i < ports && i < 6; ++i) b.bar(i, {8, true, false, false, 0, true, {}});
  device_description d = b.build(std::move(bdf));
  d.iommu_group = group;
  d.native_driver = "mtty";
  d.reset_works = true;     // mtty_reset always succeeds (a deferred migration reset)
  d.reports_reset = false;  // mtty_get_device_info: VFIO_DEVICE_FLAGS_PCI only
  migration_description m;
  m.nr_ports = ports;
  d.migration = m;
  return d;
}

}  // namespace profiles

}  // namespace vfio::testing::sim

#undef VFIO_TESTING_PROFILE_DEF

#endif  // VFIO_TESTING_SIM_DEVICE_PROFILE_IMPL_HPP_INCLUDED
