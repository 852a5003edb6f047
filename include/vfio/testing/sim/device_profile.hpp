// Descriptions of the PCI functions and bridges a simulated_kernel holds, a
// builder for their configuration-space images, and ready-made profiles of
// the devices QEMU offers for VFIO testing (e1000e, nvme, virtio-net behind a
// pcie-root-port, edu) plus a GPU-like function with NoSoftRst- and the
// migratable mtty sample.
#ifndef VFIO_TESTING_SIM_DEVICE_PROFILE_HPP_INCLUDED
#define VFIO_TESTING_SIM_DEVICE_PROFILE_HPP_INCLUDED

#include <array>
#include <cstdint>
#include <cstring>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "../../abi/pci.hpp"
#include "../../abi/vfio.hpp"
#include "migration_profile.hpp"

namespace vfio::testing::sim {

/// One base address register as the host PCI core assigned it.
struct bar_description {
  std::uint64_t size = 0;  ///< bytes, a power of two; 0 = BAR not implemented
  bool io = false;         ///< I/O port BAR (never mmap-able through vfio-pci)
  bool mem64 = false;      ///< 64-bit memory BAR (occupies this and the next BAR register)
  bool prefetchable = false;
  std::uint64_t address = 0;  ///< assigned bus address; 0 = let the simulated kernel assign one
  /// vfio-pci reports FLAG_MMAP for memory BARs of at least a page (and for
  /// page-aligned smaller ones): vfio_pci_core.c vfio_pci_probe_mmaps. false
  /// models a kernel built without CONFIG_VFIO_PCI_MMAP.
  bool mmap = true;
  /// Reported as a VFIO_REGION_INFO_CAP_SPARSE_MMAP capability. vfio-pci-core
  /// itself never emits one (only variant drivers do); leave empty to match it.
  std::vector<abi::sparse_mmap_area> sparse_areas;
};

/// A device-specific region (index >= VFIO_PCI_NUM_REGIONS), reported with a
/// VFIO_REGION_INFO_CAP_TYPE capability (vfio_pci_core_register_dev_region).
struct device_region_description {
  std::uint32_t type = 0;
  std::uint32_t subtype = 0;
  std::uint64_t size = 0;
  std::uint32_t flags = abi::region_flags::read;  ///< region_flags::read / write
};

/// A PCI function. The configuration-space image is what the hardware holds
/// (the simulated kernel virtualizes it the way vfio_pci_config.c does); the
/// rest is the host's view: driver binding, IOMMU group, platform power.
struct device_description {
  std::string bdf;                    ///< "DDDD:BB:DD.F", lower-case hex
  std::vector<std::uint8_t> config;   ///< 256 (conventional) or 4096 (PCIe) bytes
  std::vector<std::uint8_t> wmask;    ///< hardware-writable bits, same size as config
  std::vector<std::uint8_t> w1cmask;  ///< write-1-to-clear bits, same size as config
  std::array<bar_description, 6> bars{};
  std::uint64_t rom_size = 0;     ///< expansion ROM BAR size (0: none, as with QEMU's romfile=)
  std::uint64_t rom_address = 0;  ///< assigned ROM BAR address; 0 = assigned by the simulated kernel
  std::vector<device_region_description> regions;
  unsigned iommu_group = 0;
  std::string driver = "vfio-pci";  ///< bound driver at start: "vfio-pci", another name, or "" (none)
  std::string native_driver;        ///< driver drivers_probe binds when driver_override is empty
  std::string upstream_bridge;      ///< BDF of the bridge above it; empty = root bus
  /// ACPI power resources (_PR0 and _PR3) on the function:
  /// firmware_node/power_resources_D3hot exists, the platform manages the
  /// function's power, and runtime suspend may reach D3cold (pci_target_state
  /// via acpi_pci_choose_state; needs d3cold_allowed too). Each resource _ON /
  /// _OFF is an "on" / "off" in simulated_kernel::firmware_log.
  bool power_resources = false;
  /// ACPI _PS0/_PS3 methods on the function: the platform manages its power
  /// (acpi_bus_get_power_flags: _PS0 or _PR0 makes an ACPI device
  /// power-manageable), so pci_target_state asks acpi_pci_choose_state and
  /// runtime suspend reaches D3hot even without a PM capability
  /// (pci_platform_power_transition runs _PS3). Each _PS0 / _PS3 evaluation
  /// is an "on" / "off" in simulated_kernel::firmware_log.
  bool power_methods = false;
  bool acpi_node = true;  ///< firmware_node exists (QEMU q35 describes every slot)
  /// pci_pm_init sets it; a function without a PM capability reads 0 (the
  /// function returns before it), whatever this says.
  bool d3cold_allowed = true;
  /// VFIO_DEVICE_FLAGS_RESET. Default (nullopt): derived as the kernel would find
  /// a reset method: FLR (PCIe DEVCAP), PM reset (PM capability with
  /// NoSoftRst-: drivers/pci/pci.c pci_pm_reset), or a bus reset behind a bridge.
  std::optional<bool> reset_works;
  /// Whether VFIO_DEVICE_GET_INFO reports VFIO_DEVICE_FLAGS_RESET. Unset: as
  /// reset_works (vfio_pci_ioctl_get_info). A driver of its own may take
  /// VFIO_DEVICE_RESET without reporting it: the mtty sample answers GET_INFO
  /// with VFIO_DEVICE_FLAGS_PCI alone (mtty.c, mtty_get_device_info) while
  /// mtty_ioctl resets (mtty_reset).
  std::optional<bool> reports_reset;
  /// VFIO_REGION_INFO_CAP_MSIX_MAPPABLE on the MSI-X BAR (vfio-pci since v4.16).
  bool msix_mappable = true;
  /// false models a vfio driver without a device_feature op: VFIO_DEVICE_FEATURE
  /// then fails with EINVAL before v6.18 and ENOTTY since.
  bool driver_has_feature_op = true;
  bool vga = false;  ///< VGA-class device with the VGA region (index 8)
  /// A migration driver (mig_ops / log_ops); unset: the migration features are ENOTTY.
  std::optional<migration_description> migration;
};

/// A bridge above devices (root port). It is not a VFIO device; only its sysfs
/// power attributes are simulated.
struct bridge_description {
  std::string bdf;
  std::string upstream_bridge;
  unsigned iommu_group = 0;
  std::string driver = "pcieport";
  bool power_resources = false;
  bool acpi_node = true;
  /// QEMU's root ports have no PM capability and read d3cold_allowed 0:
  /// pci_pm_init returns before setting it (drivers/pci/pci.c).
  bool d3cold_allowed = false;
  std::string power_control = "on";
  std::string power_state = "D0";
  std::string runtime_status = "active";
};

/// Builds a configuration-space image. Standard capabilities are inserted at
/// the head of the list, the way QEMU's pci_add_capability links them, so add
/// them in the order the device model does; extended capabilities are appended.
class config_builder {
 public:
  config_builder(std::uint16_t vendor, std::uint16_t device, std::uint32_t class_code, std::uint8_t revision,
                 bool express);

  config_builder& subsystem(std::uint16_t vendor, std::uint16_t id) {
    put16(abi::pci::subsystem_vendor_id, vendor);
    put16(abi::pci::subsystem_id, id);
    return *this;
  }
  config_builder& interrupt_pin(std::uint8_t pin) {
    put8(abi::pci::interrupt_pin, pin);
    return *this;
  }
  config_builder& cache_line(std::uint8_t v) {
    put8(abi::pci::cache_line_size, v);
    return *this;
  }
  config_builder& header_byte(std::uint16_t offset, std::uint8_t v) {
    put8(offset, v);
    return *this;
  }
  config_builder& bar(unsigned index, bar_description b) {
    if (index < d_.bars.size()) d_.bars[index] = std::move(b);
    return *this;
  }
  config_builder& rom(std::uint64_t size) {
    d_.rom_size = size;
    return *this;
  }

  /// Power Management capability with the given PMC and initial PMCSR (the
  /// NoSoftRst bit lives in PMCSR).
  config_builder& pm(std::uint8_t offset, std::uint16_t pmc, std::uint16_t pmcsr);
  /// MSI capability: 2^log2_vectors vectors, 32/64-bit, optional per-vector masking.
  config_builder& msi(std::uint8_t offset, unsigned log2_vectors, bool is64, bool maskbit);
  /// MSI-X capability: `vectors` entries, table and PBA in the given BARs.
  config_builder& msix(std::uint8_t offset, unsigned vectors, unsigned table_bar, std::uint32_t table_offset,
                       unsigned pba_bar, std::uint32_t pba_offset);
  /// PCI Express capability (version 1 or 2) of the given device/port type.
  config_builder& pcie(std::uint8_t offset, unsigned version, std::uint16_t type, bool flr);
  /// Vendor-specific capability: `body` follows the id/next bytes; byte 2 of a
  /// vendor capability is its length (vfio_cap_len reads it there).
  config_builder& vendor_cap(std::uint8_t offset, const std::vector<std::uint8_t>& body);
  /// Extended capability at `offset` (the first one must be at 0x100);
  /// `body` follows the 4-byte header.
  config_builder& ext_cap(std::uint16_t offset, std::uint16_t id, std::uint8_t version,
                          const std::vector<std::uint8_t>& body);
  /// Advanced Error Reporting with writable masks and write-1-to-clear status.
  config_builder& aer(std::uint16_t offset);

  /// The description (bars, config image and masks); the caller fills in the
  /// host-side fields (group, driver, bridge, power resources).
  device_description build(std::string bdf) {
    d_.bdf = std::move(bdf);
    return d_;
  }

 private:
  void link(std::uint8_t offset, std::uint8_t id) {
    put8(offset + abi::pci::cap_list_id, id);
    put8(offset + abi::pci::cap_list_next, get8(abi::pci::cap_list));
    put8(abi::pci::cap_list, offset);
    d_.config[abi::pci::status] |= abi::pci::status_bits::cap_list;
  }
  std::uint8_t get8(std::size_t at) const { return d_.config[at]; }
  std::uint32_t get32(std::size_t at) const {
    std::uint32_t v = 0;
    std::memcpy(&v, d_.config.data() + at, 4);
    return v;
  }
  void put8(std::size_t at, std::uint8_t v) { d_.config[at] = v; }
  void put16(std::size_t at, std::uint16_t v) {
    d_.config[at] = static_cast<std::uint8_t>(v);
    d_.config[at + 1] = static_cast<std::uint8_t>(v >> 8);
  }
  void put32(std::size_t at, std::uint32_t v) {
    for (unsigned i = 0; i < 4; ++i) d_.config[at + i] = static_cast<std::uint8_t>(v >> (8 * i));
  }
  void mask16(std::size_t at, std::uint16_t m) {
    d_.wmask[at] = static_cast<std::uint8_t>(m);
    d_.wmask[at + 1] = static_cast<std::uint8_t>(m >> 8);
  }
  void mask32(std::size_t at, std::uint32_t m) {
    for (unsigned i = 0; i < 4; ++i) d_.wmask[at + i] = static_cast<std::uint8_t>(m >> (8 * i));
  }

  device_description d_;
  std::uint16_t last_ext_ = 0;
};

/// Ready-made devices. Layouts follow QEMU's device models (offsets and the
/// order of pci_add_capability calls); BDFs default to the addresses the
/// real-kernel suite's q35 guest gives them (tests/kernel/boot.sh: e1000e
/// 03.0, pcie-root-port 04.0 with virtio-net behind it, nvme 05.0, edu 06.0).
namespace profiles {

/// QEMU turns a PCIe endpoint plugged into the root complex (bus 0 of q35's
/// pcie.0) into a Root Complex Integrated Endpoint (hw/pci/pcie.c
/// pcie_endpoint_cap_common_init: "Windows guests will report Code 10 ...").
/// vfio-pci sizes the PCIe capability by that type (vfio_cap_len).
std::uint16_t endpoint_type(const std::string& bdf);

/// QEMU e1000e (82574L), hw/net/e1000e.c e1000e_pci_realize: BAR0 128K MMIO,
/// BAR1 128K flash, BAR2 32-byte I/O, BAR3 16K MSI-X (table 0, PBA 0x2000);
/// capabilities MSI-X@0xa0 (5 vectors), PCIe v1@0xe0 (no FLR; an integrated
/// endpoint on the root bus), MSI@0xd0
/// (1 vector, 64-bit), PM@0xc8 (PMC = version 1.1 | DSI, NoSoftRst=0); AER@0x100,
/// DSN@0x140. Without FLR the kernel resets it with a PM reset (NoSoftRst-).
device_description e1000e(std::string bdf = "0000:00:03.0", unsigned group = 3);

/// QEMU nvme, hw/nvme/ctrl.c nvme_init_pci (QEMU 7.2 defaults): vendor 1b36:0010,
/// class 010802; PM@0x60 (PMC version 1.2, PMCSR NoSoftRst=1), PCIe v2@0x80 with
/// FLR (an integrated endpoint on the root bus), MSI-X@0x40 (65 vectors, table
/// 0x2000 and PBA 0x3000 in BAR0); BAR0 16K 64-bit. No MSI capability, no extended capabilities.
device_description nvme(std::string bdf = "0000:00:05.0", unsigned group = 5);

/// QEMU pcie-root-port: no PM capability, d3cold_allowed 0, bound to pcieport.
bridge_description pcie_root_port(std::string bdf = "0000:00:04.0", unsigned group = 4);

/// QEMU virtio-net-pci with disable-legacy=on behind a pcie-root-port,
/// hw/virtio/virtio-pci.c virtio_pci_realize / virtio_pci_device_plugged:
/// PCIe v2@0x40 (FLR), PM@0x7c (PMC 0x3, NoSoftRst=0), virtio vendor
/// capabilities @0x84/0x94/0xa4/0xb4/0xc8 (struct virtio_pci_cap: common,
/// ISR, device, notify and PCI-config windows in BAR4), MSI-X@0xdc (4
/// vectors: 2 x queue pairs + 2; BAR1 4K: table 0, PBA 0x800); BAR4 16K
/// 64-bit prefetchable. Offsets follow from QEMU allocating the first free
/// config space (pci_find_space).
device_description virtio_net(std::string bdf = "0000:01:00.0", unsigned group = 7,
                              std::string bridge = "0000:00:04.0");

/// QEMU edu (hw/misc/edu.c): 1234:11e8, class 00ff00, BAR0 1 MiB, MSI@0x40
/// (1 vector, 64-bit); conventional PCI, no PM capability (runtime suspend
/// leaves it in D0 unless the platform manages it: power_methods or
/// power_resources), no reset method (root bus, no FLR, no PM reset).
device_description edu(std::string bdf = "0000:00:06.0", unsigned group = 6);

/// A GPU-like function (3D controller) with NoSoftRst- (it loses its state in
/// D3hot->D0, so vfio-pci saves and restores it: vfio_pci_set_power_state),
/// no FLR, behind a root port; with platform power resources it reaches D3cold.
/// Not a QEMU model: a stand-in for the devices the low-power feature was
/// written for. BAR0 16M, BAR1 64M 64-bit prefetchable, BAR3 32M 64-bit
/// prefetchable; PM@0x60, MSI@0x68, PCIe v2@0x78; MSI-X none.
device_description gpu(std::string bdf = "0000:02:00.0", unsigned group = 9, std::string bridge = "0000:00:1c.0");

/// A migratable serial device modelled on the mtty sample (samples/vfio-mdev/mtty.c):
/// 4348:3253, class 070002 (16550-compatible), one 8-byte I/O BAR per port, INTA;
/// conventional PCI, no PM capability, VFIO_DEVICE_RESET taken but not reported by
/// GET_INFO (flags PCI only, as mtty_get_device_info). Its migration driver: STOP_COPY | P2P |
/// PRE_COPY, MIG_DATA_SIZE 24 + 36 per port (96 for two), DMA logging.
device_description mtty(std::string bdf = "0000:00:07.0", unsigned group = 10, unsigned ports = 2);

}  // namespace profiles

}  // namespace vfio::testing::sim

// The builder's and the profiles' definitions: inline here, or, with
// VFIO_TESTING_SEPARATE_COMPILATION, in the one file that includes
// <vfio/testing/simulated_kernel_impl.hpp>.
#if !defined(VFIO_TESTING_SEPARATE_COMPILATION)
#include "device_profile_impl.hpp"
#endif

#endif  // VFIO_TESTING_SIM_DEVICE_PROFILE_HPP_INCLUDED
