#ifndef VFIO_ABI_PCI_HPP_INCLUDED
#define VFIO_ABI_PCI_HPP_INCLUDED

// PCI configuration-space registers (include/uapi/linux/pci_regs.h) as C++17 constants,
// for reading and writing config space through the VFIO config region.
//
// Naming: PCI_FOO_BAR becomes foo_bar. Register offsets are flat (`command`, `pm_ctrl`,
// `msix_flags`); the bits of a register or capability live in a small namespace
// (`command_bits::memory`, `pm::ctrl_state_mask`, `msix::flags_enable`). Types are the
// register's width; offsets are std::uint16_t (config space is 4 KiB).
// Where a name differs from Debian 12's (6.1) <linux/pci_regs.h>, or does not exist
// there, a comment says so.

#include <cstddef>
#include <cstdint>

namespace vfio::abi::pci {

// Config space sizes.
inline constexpr std::uint16_t std_header_sizeof = 64;
inline constexpr std::uint16_t cfg_space_size = 256;       // conventional PCI
inline constexpr std::uint16_t cfg_space_exp_size = 4096;  // PCIe / PCI-X mode 2
inline constexpr unsigned std_num_bars = 6;

// Common header (type 0 unless noted) register offsets.
inline constexpr std::uint16_t vendor_id = 0x00;       // 16 bits
inline constexpr std::uint16_t device_id = 0x02;       // 16 bits
inline constexpr std::uint16_t command = 0x04;         // 16 bits, command_bits
inline constexpr std::uint16_t status = 0x06;          // 16 bits, status_bits
inline constexpr std::uint16_t class_revision = 0x08;  // 32 bits: class << 8 | revision
inline constexpr std::uint16_t revision_id = 0x08;
inline constexpr std::uint16_t class_prog = 0x09;    // programming interface
inline constexpr std::uint16_t class_device = 0x0a;  // 16 bits: base class << 8 | subclass
inline constexpr std::uint16_t cache_line_size = 0x0c;
inline constexpr std::uint16_t latency_timer = 0x0d;
inline constexpr std::uint16_t header_type = 0x0e;  // header_type_bits
inline constexpr std::uint16_t bist = 0x0f;
inline constexpr std::uint16_t base_address_0 = 0x10;  // 32 bits each, base_address_bits
inline constexpr std::uint16_t base_address_1 = 0x14;
inline constexpr std::uint16_t base_address_2 = 0x18;
inline constexpr std::uint16_t base_address_3 = 0x1c;
inline constexpr std::uint16_t base_address_4 = 0x20;
inline constexpr std::uint16_t base_address_5 = 0x24;
inline constexpr std::uint16_t cardbus_cis = 0x28;
inline constexpr std::uint16_t subsystem_vendor_id = 0x2c;
inline constexpr std::uint16_t subsystem_id = 0x2e;
inline constexpr std::uint16_t rom_address = 0x30;  // rom_address_bits
inline constexpr std::uint16_t cap_list = 0x34;     // kernel: PCI_CAPABILITY_LIST
inline constexpr std::uint16_t cb_cap_list = 0x14;  // CardBus; kernel: PCI_CB_CAPABILITY_LIST
inline constexpr std::uint16_t interrupt_line = 0x3c;
inline constexpr std::uint16_t interrupt_pin = 0x3d;
inline constexpr std::uint16_t min_gnt = 0x3e;
inline constexpr std::uint16_t max_lat = 0x3f;

// Command register bits.
namespace command_bits {
inline constexpr std::uint16_t io = 0x0001;
inline constexpr std::uint16_t memory = 0x0002;
inline constexpr std::uint16_t master = 0x0004;
inline constexpr std::uint16_t special = 0x0008;
inline constexpr std::uint16_t invalidate = 0x0010;
inline constexpr std::uint16_t vga_palette = 0x0020;
inline constexpr std::uint16_t parity = 0x0040;
inline constexpr std::uint16_t wait = 0x0080;
inline constexpr std::uint16_t serr = 0x0100;
inline constexpr std::uint16_t fast_back = 0x0200;
inline constexpr std::uint16_t intx_disable = 0x0400;
}  // namespace command_bits

// Status register bits. The error bits are write-1-to-clear.
namespace status_bits {
inline constexpr std::uint16_t imm_ready = 0x0001;
inline constexpr std::uint16_t interrupt = 0x0008;  // INTx asserted
inline constexpr std::uint16_t cap_list = 0x0010;   // capability list present
inline constexpr std::uint16_t mhz66 = 0x0020;      // kernel: PCI_STATUS_66MHZ
inline constexpr std::uint16_t udf = 0x0040;
inline constexpr std::uint16_t fast_back = 0x0080;
inline constexpr std::uint16_t parity = 0x0100;
inline constexpr std::uint16_t devsel_mask = 0x0600;
inline constexpr std::uint16_t devsel_fast = 0x0000;
inline constexpr std::uint16_t devsel_medium = 0x0200;
inline constexpr std::uint16_t devsel_slow = 0x0400;
inline constexpr std::uint16_t sig_target_abort = 0x0800;
inline constexpr std::uint16_t rec_target_abort = 0x1000;
inline constexpr std::uint16_t rec_master_abort = 0x2000;
inline constexpr std::uint16_t sig_system_error = 0x4000;
inline constexpr std::uint16_t detected_parity = 0x8000;
}  // namespace status_bits

// Header type register values.
namespace header_type_bits {
inline constexpr std::uint8_t mask = 0x7f;
inline constexpr std::uint8_t normal = 0;
inline constexpr std::uint8_t bridge = 1;
inline constexpr std::uint8_t cardbus = 2;
inline constexpr std::uint8_t multifunction = 0x80;  // PCI_HEADER_TYPE_MFD; not in 6.1 headers
}  // namespace header_type_bits

// BAR low bits.
namespace base_address_bits {
inline constexpr std::uint32_t space = 0x01;  // 0 = memory, 1 = I/O
inline constexpr std::uint32_t space_io = 0x01;
inline constexpr std::uint32_t space_memory = 0x00;
inline constexpr std::uint32_t mem_type_mask = 0x06;
inline constexpr std::uint32_t mem_type_32 = 0x00;
inline constexpr std::uint32_t mem_type_1m = 0x02;  // obsolete
inline constexpr std::uint32_t mem_type_64 = 0x04;  // the next BAR holds the upper half
inline constexpr std::uint32_t mem_prefetch = 0x08;
inline constexpr std::uint32_t mem_mask = 0xfffffff0;  // kernel: ~0x0fUL (unsigned long)
inline constexpr std::uint32_t io_mask = 0xfffffffc;   // kernel: ~0x03UL (unsigned long)
}  // namespace base_address_bits

// Expansion ROM BAR bits.
namespace rom_address_bits {
inline constexpr std::uint32_t enable = 0x01;
inline constexpr std::uint32_t mask = 0xfffff800;  // kernel: PCI_ROM_ADDRESS_MASK, ~0x7ffU
}  // namespace rom_address_bits

// Standard capability header, relative to the capability.
inline constexpr std::uint16_t cap_list_id = 0;
inline constexpr std::uint16_t cap_list_next = 1;
inline constexpr std::uint16_t cap_flags = 2;  // 16 bits, capability-specific
inline constexpr std::uint16_t cap_sizeof = 4;
// Capability pointers are dword aligned: the low two bits are reserved (the kernel masks
// them with ~3 when walking; not a pci_regs.h constant).
inline constexpr std::uint8_t cap_ptr_mask = 0xfc;

// Standard capability ids (PCI_CAP_ID_*).
namespace cap {
inline constexpr std::uint8_t pm = 0x01;
inline constexpr std::uint8_t agp = 0x02;
inline constexpr std::uint8_t vpd = 0x03;
inline constexpr std::uint8_t slotid = 0x04;
inline constexpr std::uint8_t msi = 0x05;
inline constexpr std::uint8_t chswp = 0x06;  // CompactPCI hot swap
inline constexpr std::uint8_t pcix = 0x07;
inline constexpr std::uint8_t ht = 0x08;    // HyperTransport
inline constexpr std::uint8_t vndr = 0x09;  // vendor-specific
inline constexpr std::uint8_t dbg = 0x0a;
inline constexpr std::uint8_t ccrc = 0x0b;
inline constexpr std::uint8_t shpc = 0x0c;
inline constexpr std::uint8_t ssvid = 0x0d;
inline constexpr std::uint8_t agp3 = 0x0e;
inline constexpr std::uint8_t secdev = 0x0f;
inline constexpr std::uint8_t exp = 0x10;  // PCI Express
inline constexpr std::uint8_t msix = 0x11;
inline constexpr std::uint8_t sata = 0x12;
inline constexpr std::uint8_t af = 0x13;  // advanced features (FLR on conventional PCI)
inline constexpr std::uint8_t ea = 0x14;  // enhanced allocation
inline constexpr std::uint8_t max = ea;
}  // namespace cap

// Extended capabilities start right after conventional config space.
inline constexpr std::uint16_t ext_cap_start = 0x100;  // not a pci_regs.h constant

// Extended capability header decoding (PCI_EXT_CAP_ID/VER/NEXT).
constexpr std::uint16_t ext_cap_id(std::uint32_t header) noexcept {
  return static_cast<std::uint16_t>(header & 0xffffU);
}
constexpr std::uint8_t ext_cap_ver(std::uint32_t header) noexcept {
  return static_cast<std::uint8_t>((header >> 16) & 0xfU);
}
// Bits 20..31, with the two reserved low bits masked off (dword aligned).
constexpr std::uint16_t ext_cap_next(std::uint32_t header) noexcept {
  return static_cast<std::uint16_t>((header >> 20) & 0xffcU);
}

// Extended capability ids (PCI_EXT_CAP_ID_*).
namespace ext_cap {
inline constexpr std::uint16_t err = 0x01;  // AER
inline constexpr std::uint16_t vc = 0x02;
inline constexpr std::uint16_t dsn = 0x03;  // device serial number
inline constexpr std::uint16_t pwr = 0x04;  // power budgeting
inline constexpr std::uint16_t rcld = 0x05;
inline constexpr std::uint16_t rcilc = 0x06;
inline constexpr std::uint16_t rcec = 0x07;
inline constexpr std::uint16_t mfvc = 0x08;
inline constexpr std::uint16_t vc9 = 0x09;
inline constexpr std::uint16_t rcrb = 0x0a;
inline constexpr std::uint16_t vndr = 0x0b;  // vendor-specific (VSEC)
inline constexpr std::uint16_t cac = 0x0c;   // obsolete
inline constexpr std::uint16_t acs = 0x0d;
inline constexpr std::uint16_t ari = 0x0e;
inline constexpr std::uint16_t ats = 0x0f;
inline constexpr std::uint16_t sriov = 0x10;
inline constexpr std::uint16_t mriov = 0x11;
inline constexpr std::uint16_t mcast = 0x12;
inline constexpr std::uint16_t pri = 0x13;
inline constexpr std::uint16_t amd_xxx = 0x14;
inline constexpr std::uint16_t rebar = 0x15;  // resizable BAR
inline constexpr std::uint16_t dpa = 0x16;
inline constexpr std::uint16_t tph = 0x17;
inline constexpr std::uint16_t ltr = 0x18;
inline constexpr std::uint16_t secpci = 0x19;
inline constexpr std::uint16_t pmux = 0x1a;
inline constexpr std::uint16_t pasid = 0x1b;
inline constexpr std::uint16_t dpc = 0x1d;
inline constexpr std::uint16_t l1ss = 0x1e;
inline constexpr std::uint16_t ptm = 0x1f;
inline constexpr std::uint16_t dvsec = 0x23;
inline constexpr std::uint16_t vf_rebar = 0x24;  // not in 6.1 headers (version unverified)
inline constexpr std::uint16_t dlf = 0x25;
inline constexpr std::uint16_t pl_16gt = 0x26;
inline constexpr std::uint16_t npem = 0x29;     // not in 6.1 headers (version unverified)
inline constexpr std::uint16_t pl_32gt = 0x2a;  // not in 6.1 headers (version unverified)
inline constexpr std::uint16_t doe = 0x2e;
inline constexpr std::uint16_t ide = 0x30;      // not in 6.1 headers (version unverified)
inline constexpr std::uint16_t pl_64gt = 0x31;  // not in 6.1 headers (version unverified)
}  // namespace ext_cap

// Power Management capability register offsets, relative to the capability.
inline constexpr std::uint16_t pm_pmc = 2;             // 16 bits, PMC
inline constexpr std::uint16_t pm_ctrl = 4;            // 16 bits, PMCSR
inline constexpr std::uint16_t pm_ppb_extensions = 6;  // 8 bits
inline constexpr std::uint16_t pm_data_register = 7;   // 8 bits
inline constexpr std::uint16_t pm_sizeof = 8;

// Power Management bits: PMC (kernel PCI_PM_CAP_*), PMCSR (PCI_PM_CTRL_*), PPB
// extensions, and the PowerState values.
namespace pm {
inline constexpr std::uint16_t pmc_ver_mask = 0x0007;
inline constexpr std::uint16_t pmc_pme_clock = 0x0008;
inline constexpr std::uint16_t pmc_reserved = 0x0010;
inline constexpr std::uint16_t pmc_dsi = 0x0020;
inline constexpr std::uint16_t pmc_aux_power = 0x01c0;
inline constexpr std::uint16_t pmc_d1 = 0x0200;  // D1 supported
inline constexpr std::uint16_t pmc_d2 = 0x0400;  // D2 supported
inline constexpr std::uint16_t pmc_pme = 0x0800;
inline constexpr std::uint16_t pmc_pme_mask = 0xf800;  // vfio-pci reads these as 0
inline constexpr std::uint16_t pmc_pme_d0 = 0x0800;
inline constexpr std::uint16_t pmc_pme_d1 = 0x1000;
inline constexpr std::uint16_t pmc_pme_d2 = 0x2000;
// PCI_PM_CAP_PME_D3hot in 6.1 headers, PCI_PM_CAP_PME_D3 in older ones.
inline constexpr std::uint16_t pmc_pme_d3hot = 0x4000;
inline constexpr std::uint16_t pmc_pme_d3cold = 0x8000;
inline constexpr unsigned pmc_pme_shift = 11;

inline constexpr std::uint16_t ctrl_state_mask = 0x0003;     // PowerState, the d* values
inline constexpr std::uint16_t ctrl_no_soft_reset = 0x0008;  // state kept across D3hot->D0
inline constexpr std::uint16_t ctrl_pme_enable = 0x0100;
inline constexpr std::uint16_t ctrl_data_sel_mask = 0x1e00;
inline constexpr std::uint16_t ctrl_data_scale_mask = 0x6000;
// Write-1-to-clear: a read-modify-write of PMCSR must clear it before writing back.
inline constexpr std::uint16_t ctrl_pme_status = 0x8000;

inline constexpr std::uint8_t ppb_b2_b3 = 0x40;    // kernel: PCI_PM_PPB_B2_B3
inline constexpr std::uint8_t bpcc_enable = 0x80;  // kernel: PCI_PM_BPCC_ENABLE

// PowerState field values (the kernel's PCI_D0.. live in <linux/pci.h>, not uapi).
inline constexpr std::uint16_t d0 = 0;
inline constexpr std::uint16_t d1 = 1;
inline constexpr std::uint16_t d2 = 2;
inline constexpr std::uint16_t d3hot = 3;
}  // namespace pm

// MSI capability register offsets, relative to the capability.
inline constexpr std::uint16_t msi_flags = 2;  // 16 bits, Message Control
inline constexpr std::uint16_t msi_rfu = 3;
inline constexpr std::uint16_t msi_address_lo = 4;
inline constexpr std::uint16_t msi_address_hi = 8;  // only with msi::flags_64bit
inline constexpr std::uint16_t msi_data_32 = 8;
inline constexpr std::uint16_t msi_mask_32 = 12;
inline constexpr std::uint16_t msi_pending_32 = 16;
inline constexpr std::uint16_t msi_data_64 = 12;
inline constexpr std::uint16_t msi_mask_64 = 16;
inline constexpr std::uint16_t msi_pending_64 = 20;

// MSI Message Control bits.
namespace msi {
inline constexpr std::uint16_t flags_enable = 0x0001;
inline constexpr std::uint16_t flags_qmask = 0x000e;  // log2(vectors capable) << 1
inline constexpr std::uint16_t flags_qsize = 0x0070;  // log2(vectors enabled) << 4
inline constexpr std::uint16_t flags_64bit = 0x0080;
inline constexpr std::uint16_t flags_maskbit = 0x0100;  // per-vector masking
}  // namespace msi

// MSI-X capability register offsets, relative to the capability.
inline constexpr std::uint16_t msix_flags = 2;  // 16 bits, Message Control
inline constexpr std::uint16_t msix_table = 4;  // 32 bits: offset | BIR
inline constexpr std::uint16_t msix_pba = 8;    // 32 bits: offset | BIR
inline constexpr std::uint16_t cap_msix_sizeof = 12;

// MSI-X Message Control, Table/PBA and table entry fields.
namespace msix {
inline constexpr std::uint16_t flags_qsize = 0x07ff;  // table size - 1
inline constexpr std::uint16_t flags_maskall = 0x4000;
inline constexpr std::uint16_t flags_enable = 0x8000;
inline constexpr std::uint32_t table_bir = 0x00000007;
inline constexpr std::uint32_t table_offset = 0xfffffff8;
inline constexpr std::uint32_t pba_bir = 0x00000007;
inline constexpr std::uint32_t pba_offset = 0xfffffff8;
inline constexpr std::uint32_t entry_size = 16;
inline constexpr std::uint32_t entry_lower_addr = 0x0;
inline constexpr std::uint32_t entry_upper_addr = 0x4;
inline constexpr std::uint32_t entry_data = 0x8;
inline constexpr std::uint32_t entry_vector_ctrl = 0xc;
inline constexpr std::uint32_t entry_ctrl_maskbit = 0x1;
}  // namespace msix

// PCI Advanced Features capability register offsets, relative to the capability.
inline constexpr std::uint16_t af_length = 2;
inline constexpr std::uint16_t af_cap = 3;
inline constexpr std::uint16_t af_ctrl = 4;
inline constexpr std::uint16_t af_status = 5;
inline constexpr std::uint16_t cap_af_sizeof = 6;

// PCI Advanced Features bits.
namespace af {
inline constexpr std::uint8_t cap_tp = 0x01;
inline constexpr std::uint8_t cap_flr = 0x02;
inline constexpr std::uint8_t ctrl_flr = 0x01;
inline constexpr std::uint8_t status_tp = 0x01;
}  // namespace af

// PCI Express capability register offsets, relative to the capability.
inline constexpr std::uint16_t exp_flags = 0x02;   // 16 bits
inline constexpr std::uint16_t exp_devcap = 0x04;  // 32 bits
inline constexpr std::uint16_t exp_devctl = 0x08;  // 16 bits
inline constexpr std::uint16_t exp_devsta = 0x0a;  // 16 bits
inline constexpr std::uint16_t exp_lnkcap = 0x0c;  // 32 bits
inline constexpr std::uint16_t exp_lnkctl = 0x10;  // 16 bits
inline constexpr std::uint16_t exp_lnksta = 0x12;  // 16 bits
inline constexpr std::uint16_t exp_sltcap = 0x14;
inline constexpr std::uint16_t exp_sltctl = 0x18;
inline constexpr std::uint16_t exp_sltsta = 0x1a;
inline constexpr std::uint16_t exp_rtctl = 0x1c;
inline constexpr std::uint16_t exp_rtcap = 0x1e;
inline constexpr std::uint16_t exp_rtsta = 0x20;
inline constexpr std::uint16_t exp_devcap2 = 0x24;
inline constexpr std::uint16_t exp_devctl2 = 0x28;
inline constexpr std::uint16_t exp_devsta2 = 0x2a;
inline constexpr std::uint16_t exp_lnkcap2 = 0x2c;
inline constexpr std::uint16_t exp_lnkctl2 = 0x30;
inline constexpr std::uint16_t exp_lnksta2 = 0x32;

// PCI Express capability bits (kernel: PCI_EXP_*; not `exp`, which would collide with
// ::exp under a using-directive).
namespace pcie {
inline constexpr std::uint16_t flags_vers = 0x000f;
inline constexpr std::uint16_t flags_type = 0x00f0;  // device/port type, the type_* values << 4
inline constexpr std::uint16_t flags_slot = 0x0100;
inline constexpr std::uint16_t flags_irq = 0x3e00;
inline constexpr std::uint16_t type_endpoint = 0x0;
inline constexpr std::uint16_t type_leg_end = 0x1;
inline constexpr std::uint16_t type_root_port = 0x4;
inline constexpr std::uint16_t type_upstream = 0x5;
inline constexpr std::uint16_t type_downstream = 0x6;
inline constexpr std::uint16_t type_pci_bridge = 0x7;
inline constexpr std::uint16_t type_pcie_bridge = 0x8;
inline constexpr std::uint16_t type_rc_end = 0x9;
inline constexpr std::uint16_t type_rc_ec = 0xa;
inline constexpr std::uint32_t devcap_flr = 0x10000000;  // Function Level Reset capable
inline constexpr std::uint16_t devctl_bcr_flr = 0x8000;  // write 1: initiate FLR (endpoints)
inline constexpr std::uint16_t devsta_trpnd = 0x0020;    // transactions pending
inline constexpr std::uint32_t lnkcap_sls = 0x0000000f;  // max link speed
inline constexpr std::uint32_t lnkcap_mlw = 0x000003f0;  // max link width
inline constexpr std::uint16_t lnksta_cls = 0x000f;      // current link speed
inline constexpr std::uint16_t lnksta_nlw = 0x03f0;      // negotiated link width

// The device/port type (type_*) from the PCIe Capabilities register.
constexpr std::uint16_t port_type(std::uint16_t flags) noexcept {
  return static_cast<std::uint16_t>((flags & flags_type) >> 4);
}
}  // namespace pcie

static_assert(ext_cap_id(0x1481000eU) == 0x000e);
static_assert(ext_cap_ver(0x1481000eU) == 1);
static_assert(ext_cap_next(0x1481000eU) == 0x148);
static_assert(ext_cap_next(0xffffffffU) == 0xffc);
static_assert(pcie::port_type(0x0042) == pcie::type_root_port);

}  // namespace vfio::abi::pci

#endif  // VFIO_ABI_PCI_HPP_INCLUDED
