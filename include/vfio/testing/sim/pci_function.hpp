// The "hardware" of a simulated PCI function: its configuration space with
// the device's writable and write-1-to-clear masks (as QEMU's
// pci_default_write_config applies them), assigned BARs, BAR memory, an
// optional expansion ROM image, and the PCI core's view of it (capability
// offsets, power state, reset methods).
#ifndef VFIO_TESTING_SIM_PCI_FUNCTION_HPP_INCLUDED
#define VFIO_TESTING_SIM_PCI_FUNCTION_HPP_INCLUDED

#include <array>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <memory>
#include <new>
#include <string>
#include <utility>
#include <vector>

#include "../../abi/pci.hpp"
#include "device_profile.hpp"
#include "runtime_pm.hpp"

namespace vfio::testing::sim {

/// Segment, bus and devfn of a "DDDD:BB:DD.F" address; ok false when malformed.
struct bdf_parts {
  std::uint16_t segment = 0;
  std::uint8_t bus = 0;
  std::uint8_t devfn = 0;
  bool ok = false;
};

inline bdf_parts parse_bdf(const std::string& s) noexcept {
  bdf_parts p;
  unsigned seg = 0, bus = 0, dev = 0, fn = 0;
  char tail = 0;
  if (s.size() != 12 || std::sscanf(s.c_str(), "%4x:%2x:%2x.%1x%c", &seg, &bus, &dev, &fn, &tail) != 4) return p;
  if (dev > 0x1f || fn > 7) return p;
  p.segment = static_cast<std::uint16_t>(seg);
  p.bus = static_cast<std::uint8_t>(bus);
  p.devfn = static_cast<std::uint8_t>((dev << 3) | fn);
  p.ok = true;
  return p;
}

/// Page-aligned memory behind a BAR or ROM, shared by the function and every
/// mapping of it (a mapping keeps it alive after the device goes away).
class device_memory {
 public:
  static constexpr std::size_t page_size = 4096;

  explicit device_memory(std::size_t size) noexcept
      : size_((size + page_size - 1) & ~(page_size - 1)),
        data_(static_cast<unsigned char*>(::operator new (size_, std::align_val_t{page_size}, std::nothrow))) {
    if (data_) std::memset(data_, 0, size_);
  }
  ~device_memory() {
    if (data_) ::operator delete (data_, std::align_val_t{page_size});
  }
  device_memory(const device_memory&) = delete;
  device_memory& operator=(const device_memory&) = delete;

  unsigned char* data() const noexcept { return data_; }
  std::size_t size() const noexcept { return size_; }

 private:
  std::size_t size_;
  unsigned char* data_;
};

/// Hands out bus addresses for BARs the description leaves at 0, from the
/// windows a q35 guest's firmware uses (32-bit MMIO below the 4 GiB hole's
/// top, 64-bit above 32 GiB, I/O from 0xc000). The exact values are never
/// compared: they are firmware policy, not kernel behaviour.
class address_allocator {
 public:
  std::uint64_t allocate(std::uint64_t size, bool io, bool mem64) noexcept {
    std::uint64_t& next = io ? io_ : mem64 ? mem64_ : mem32_;
    const std::uint64_t align = size < 16 ? 16 : size;
    next = (next + align - 1) & ~(align - 1);
    const std::uint64_t at = next;
    next += size;
    return at;
  }

 private:
  std::uint64_t mem32_ = 0xfc000000ULL;
  std::uint64_t mem64_ = 0x800000000ULL;
  std::uint64_t io_ = 0xc000ULL;
};

class pci_function {
 public:
  /// Copies the description, assigns the BARs and writes them into the
  /// configuration space as the firmware would.
  pci_function(device_description d, address_allocator& alloc) : d_(std::move(d)) {
    if (d_.config.size() < abi::pci::cfg_space_size) d_.config.resize(abi::pci::cfg_space_size, 0);
    d_.wmask.resize(d_.config.size(), 0);
    d_.w1cmask.resize(d_.config.size(), 0);
    for (unsigned i = 0; i < 6; ++i) {
      bar_description& b = d_.bars[i];
      if (!b.size) continue;
      if (!b.address) b.address = alloc.allocate(b.size, b.io, b.mem64);
      std::uint32_t lo = static_cast<std::uint32_t>(b.address);
      if (b.io)
        lo |= abi::pci::base_address_bits::space_io;
      else {
        if (b.mem64) lo |= abi::pci::base_address_bits::mem_type_64;
        if (b.prefetchable) lo |= abi::pci::base_address_bits::mem_prefetch;
      }
      poke(abi::pci::base_address_0 + 4 * i, lo, 4);
      if (!b.io && b.mem64 && i < 5)
        poke(abi::pci::base_address_0 + 4 * (i + 1), static_cast<std::uint32_t>(b.address >> 32), 4);
      if (!b.io && b.mem64) ++i;
    }
    if (d_.rom_size) {
      if (!d_.rom_address) d_.rom_address = alloc.allocate(d_.rom_size, false, false);
      poke(abi::pci::rom_address, static_cast<std::uint32_t>(d_.rom_address), 4);
    }
    // SeaBIOS pci_bios_init_device enables I/O, memory and SERR# on every
    // function (the device keeps the bits it implements); Linux leaves them.
    write(abi::pci::command,
          command() | abi::pci::command_bits::io | abi::pci::command_bits::memory | abi::pci::command_bits::serr, 2);
    pm_cap_ = find_cap(abi::pci::cap::pm);
    msi_cap_ = find_cap(abi::pci::cap::msi);
    msix_cap_ = find_cap(abi::pci::cap::msix);
    exp_cap_ = find_cap(abi::pci::cap::exp);
    af_cap_ = find_cap(abi::pci::cap::af);
    addr_ = parse_bdf(d_.bdf);
  }

  const device_description& desc() const noexcept { return d_; }
  const bdf_parts& address() const noexcept { return addr_; }
  std::size_t cfg_size() const noexcept { return d_.config.size(); }

  // --- configuration space -------------------------------------------------

  /// pci_read_config_*: little-endian bytes from the hardware.
  std::uint32_t read(unsigned pos, unsigned n) const noexcept {
    std::uint32_t v = 0;
    for (unsigned i = 0; i < n && pos + i < d_.config.size(); ++i)
      v |= static_cast<std::uint32_t>(d_.config[pos + i]) << (8 * i);
    return v;
  }
  /// A configuration write the device decodes: writable bits take the new
  /// value, then write-1-to-clear bits written as 1 are cleared
  /// (QEMU pci_default_write_config).
  void write(unsigned pos, std::uint32_t v, unsigned n) noexcept {
    for (unsigned i = 0; i < n && pos + i < d_.config.size(); ++i) {
      const auto b = static_cast<std::uint8_t>(v >> (8 * i));
      std::uint8_t& c = d_.config[pos + i];
      c = static_cast<std::uint8_t>((c & ~d_.wmask[pos + i]) | (b & d_.wmask[pos + i]));
      c = static_cast<std::uint8_t>(c & ~(b & d_.w1cmask[pos + i]));
    }
  }
  /// A register change the device makes itself (or the simulation on its
  /// behalf): no masks.
  void poke(unsigned pos, std::uint32_t v, unsigned n) noexcept {
    for (unsigned i = 0; i < n && pos + i < d_.config.size(); ++i)
      d_.config[pos + i] = static_cast<std::uint8_t>(v >> (8 * i));
  }
  std::uint16_t command() const noexcept { return static_cast<std::uint16_t>(read(abi::pci::command, 2)); }

  /// The capability's offset in the standard list (pci_find_capability), 0 if absent.
  std::uint8_t find_cap(std::uint8_t id) const noexcept {
    if (!(read(abi::pci::status, 2) & abi::pci::status_bits::cap_list)) return 0;
    unsigned pos = read(abi::pci::cap_list, 1) & abi::pci::cap_ptr_mask;
    for (int ttl = 48; ttl-- && pos >= abi::pci::std_header_sizeof;) {
      if (read(pos, 1) == id) return static_cast<std::uint8_t>(pos);
      pos = read(pos + abi::pci::cap_list_next, 1) & abi::pci::cap_ptr_mask;
    }
    return 0;
  }
  std::uint8_t pm_cap() const noexcept { return pm_cap_; }
  std::uint8_t msi_cap() const noexcept { return msi_cap_; }
  std::uint8_t msix_cap() const noexcept { return msix_cap_; }
  std::uint8_t exp_cap() const noexcept { return exp_cap_; }
  bool is_pcie() const noexcept { return exp_cap_ != 0; }

  // --- reset methods (drivers/pci/pci.c pci_reset_fn_methods) ------------------

  /// pcie_has_flr: DEVCAP FLR on a PCIe function.
  bool has_flr() const noexcept {
    return exp_cap_ && (read(exp_cap_ + abi::pci::exp_devcap, 4) & abi::pci::pcie::devcap_flr);
  }
  /// pci_af_flr probe: the AF capability with both TP and FLR.
  bool has_af_flr() const noexcept {
    if (!af_cap_) return false;
    const std::uint32_t cap = read(af_cap_ + abi::pci::af_cap, 1);
    return (cap & abi::pci::af::cap_tp) && (cap & abi::pci::af::cap_flr);
  }
  /// pci_pm_reset probe: a PM capability without NoSoftRst.
  bool has_pm_reset() const noexcept {
    return pm_cap_ && !(read(pm_cap_ + abi::pci::pm_ctrl, 2) & abi::pci::pm::ctrl_no_soft_reset);
  }
  bool no_soft_reset() const noexcept {
    return pm_cap_ && (read(pm_cap_ + abi::pci::pm_ctrl, 2) & abi::pci::pm::ctrl_no_soft_reset);
  }

  // --- power state ---------------------------------------------------------

  d_state state() const noexcept { return state_; }
  /// Whether pci_set_power_state can reach `s` natively: D1/D2 need the PMC
  /// support bits (pci_pm_init d1_support/d2_support), D3hot a PM capability.
  bool supports(d_state s) const noexcept {
    if (s == d_state::d0) return true;
    if (!pm_cap_) return false;
    const std::uint32_t pmc = read(pm_cap_ + abi::pci::pm_pmc, 2);
    if (s == d_state::d1) return pmc & abi::pci::pm::pmc_d1;
    if (s == d_state::d2) return pmc & abi::pci::pm::pmc_d2;
    return true;
  }
  /// The function's state changes: PMCSR PowerState follows (D3cold leaves
  /// it at D3hot, the state written before the platform cut power).
  void set_state(d_state s) noexcept {
    state_ = s;
    if (!pm_cap_) return;
    unsigned bits = 3;
    if (s == d_state::d0)
      bits = 0;
    else if (s == d_state::d1)
      bits = 1;
    else if (s == d_state::d2)
      bits = 2;
    const unsigned at = pm_cap_ + abi::pci::pm_ctrl;
    poke(at, (read(at, 2) & ~static_cast<std::uint32_t>(abi::pci::pm::ctrl_state_mask)) | bits, 2);
  }

  /// pci_enable_device: decoding on for the resources the function has
  /// (pci_enable_resources sets MEMORY / IO).
  void enable_decoding() noexcept {
    std::uint16_t cmd = command();
    for (const auto& b : d_.bars) {
      if (!b.size) continue;
      cmd = static_cast<std::uint16_t>(cmd | (b.io ? abi::pci::command_bits::io : abi::pci::command_bits::memory));
    }
    poke(abi::pci::command, cmd, 2);
  }
  /// pci_clear_master.
  void clear_master() noexcept {
    poke(abi::pci::command, command() & ~static_cast<std::uint32_t>(abi::pci::command_bits::master), 2);
  }

  // --- BARs and ROM ----------------------------------------------------------

  const bar_description& bar(unsigned i) const noexcept { return d_.bars[i]; }
  /// The memory behind BAR i (allocated on first use); null if out of memory.
  std::shared_ptr<device_memory> bar_memory(unsigned i) {
    if (i >= 6 || !d_.bars[i].size) return nullptr;
    if (!bars_[i]) {
      auto m = std::make_shared<device_memory>(static_cast<std::size_t>(d_.bars[i].size));
      if (!m->data()) return nullptr;
      bars_[i] = std::move(m);
    }
    return bars_[i];
  }
  /// The expansion ROM image: a valid x86 option-ROM header ("55 AA" and a
  /// "PCIR" structure marking the last image) so that pci_map_rom accepts
  /// it; the rest is zero.
  std::vector<std::uint8_t>& rom_image() {
    if (rom_.empty() && d_.rom_size) {
      rom_.assign(static_cast<std::size_t>(d_.rom_size), 0);
      const std::size_t blocks = rom_.size() / 512;
      rom_[0] = 0x55;
      rom_[1] = 0xaa;
      rom_[2] = static_cast<std::uint8_t>(blocks > 0xff ? 0xff : blocks);
      rom_[0x18] = 0x1c;
      std::memcpy(&rom_[0x1c], "PCIR", 4);
      std::memcpy(&rom_[0x20], &d_.config[0], 4);  // vendor, device
      rom_[0x1c + 0x0a] = 0x18;                    // structure length
      rom_[0x1c + 0x10] = static_cast<std::uint8_t>(blocks);
      rom_[0x1c + 0x11] = static_cast<std::uint8_t>(blocks >> 8);
      rom_[0x1c + 0x15] = 0x80;  // last image
    }
    return rom_;
  }

 private:
  device_description d_;
  bdf_parts addr_;
  std::uint8_t pm_cap_ = 0, msi_cap_ = 0, msix_cap_ = 0, exp_cap_ = 0, af_cap_ = 0;
  d_state state_ = d_state::d0;
  std::array<std::shared_ptr<device_memory>, 6> bars_{};
  std::vector<std::uint8_t> rom_;
};

}  // namespace vfio::testing::sim

#endif  // VFIO_TESTING_SIM_PCI_FUNCTION_HPP_INCLUDED
