// The VFIO config region of a simulated vfio-pci device: virtualization of
// PCI configuration space as drivers/vfio/pci/vfio_pci_config.c does it
// (per-capability permission bits, a virtual copy "vconfig", capability
// hiding, BAR sizing, PM/MSI/PCIe/AF special cases).
#ifndef VFIO_TESTING_SIM_CONFIG_SPACE_HPP_INCLUDED
#define VFIO_TESTING_SIM_CONFIG_SPACE_HPP_INCLUDED

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <vector>

#include "../../abi/pci.hpp"
#include "device_profile.hpp"

namespace vfio::testing::sim {

/// What the virtualization needs from the function and from the rest of
/// vfio-pci. All offsets are config-space offsets; values little-endian.
class config_host {
 public:
  /// pci_user_read_config_{byte,word,dword}.
  virtual std::uint32_t hw_read(unsigned pos, unsigned count) = 0;
  /// pci_user_write_config_*; the hardware applies its own writable masks.
  virtual void hw_write(unsigned pos, std::uint32_t value, unsigned count) = 0;
  /// A PowerState written to PM_CTRL: vfio_lock_and_set_power_state (the
  /// result of vfio_pci_set_power_state is ignored by vfio_pm_config_write).
  virtual void pm_ctrl_state_written(unsigned state) = 0;
  /// The FLR bit of PCIe DEVCTL or AF CTRL on a device that supports FLR:
  /// pci_try_reset_function.
  virtual void function_reset() = 0;
  /// vdev->irq_type == VFIO_PCI_MSI_IRQ_INDEX.
  virtual bool msi_enabled() const = 0;
  /// vdev->msi_qmax (set when MSI is enabled through SET_IRQS).
  virtual unsigned msi_qmax() const = 0;
  /// The virtual INTx disable bit changed (vfio_pci_intx_mask/unmask).
  virtual void intx_disable_written(bool disabled) = 0;
  virtual ~config_host() = default;
};

namespace detail {

inline constexpr std::uint8_t cap_invalid = 0xff;  // PCI_CAP_ID_INVALID
inline constexpr std::uint8_t cap_basic = 0;       // PCI_CAP_ID_BASIC (vfio's fake id)

enum class read_kind { direct, raw, standard, basic, msi };
enum class write_kind { none, raw, standard, basic, pm, exp, af, msi };

/// struct perm_bits: per-bit "virtualized" and "writable" masks of one
/// capability, plus the read/write handlers (vfio_pci_config.c).
struct perm_bits {
  std::vector<std::uint8_t> virt;
  std::vector<std::uint8_t> write;
  read_kind read = read_kind::direct;
  write_kind write_fn = write_kind::none;

  void alloc(std::size_t size, read_kind r, write_kind w) {
    size = (size + 3) & ~std::size_t{3};  // alloc_perm_bits rounds to dwords
    virt.assign(size, 0);
    write.assign(size, 0);
    read = r;
    write_fn = w;
  }
  void setb(std::size_t off, std::uint8_t v, std::uint8_t w) {
    virt[off] = v;
    write[off] = w;
  }
  void setw(std::size_t off, std::uint16_t v, std::uint16_t w) {
    for (unsigned i = 0; i < 2; ++i)
      setb(off + i, static_cast<std::uint8_t>(v >> (8 * i)), static_cast<std::uint8_t>(w >> (8 * i)));
  }
  void setd(std::size_t off, std::uint32_t v, std::uint32_t w) {
    for (unsigned i = 0; i < 4; ++i)
      setb(off + i, static_cast<std::uint8_t>(v >> (8 * i)), static_cast<std::uint8_t>(w >> (8 * i)));
  }
  std::uint32_t get(const std::vector<std::uint8_t>& bits, std::size_t off, unsigned count) const {
    std::uint32_t v = 0;
    for (unsigned i = 0; i < count; ++i)
      if (off + i < bits.size()) v |= static_cast<std::uint32_t>(bits[off + i]) << (8 * i);
    return v;
  }
};

/// vfio_pci_init_perm_bits: the shared tables for standard capabilities.
inline const perm_bits& cap_perm(std::uint8_t id) {
  static const std::array<perm_bits, 0x15> table = [] {
    std::array<perm_bits, 0x15> t{};
    // init_pci_cap_basic_perm
    perm_bits& b = t[cap_basic];
    b.alloc(abi::pci::std_header_sizeof, read_kind::basic, write_kind::basic);
    b.setw(abi::pci::vendor_id, 0xffff, 0);
    b.setw(abi::pci::device_id, 0xffff, 0);
    b.setw(abi::pci::command, abi::pci::command_bits::intx_disable, 0xffff);
    b.setw(abi::pci::status, abi::pci::status_bits::cap_list, 0);
    b.setb(abi::pci::cache_line_size, 0, 0xff);
    b.setb(abi::pci::latency_timer, 0, 0xff);
    b.setb(abi::pci::bist, 0, 0xff);
    for (std::uint16_t bar = abi::pci::base_address_0; bar <= abi::pci::base_address_5; bar += 4)
      b.setd(bar, 0xffffffff, 0xffffffff);
    b.setd(abi::pci::rom_address, 0xffffffff, 0xffffffff);
    b.setb(abi::pci::cap_list, 0xff, 0);
    b.setb(abi::pci::interrupt_line, 0xff, 0xff);
    b.setb(abi::pci::interrupt_pin, 0xff, 0);
    // init_pci_cap_pm_perm: PME_Support virtualized (cleared in vconfig), the
    // PowerState bits read-only (changed through vfio_pm_config_write), PME_En
    // and PME_Status virtualized and not writable.
    perm_bits& pm = t[abi::pci::cap::pm];
    pm.alloc(abi::pci::pm_sizeof, read_kind::standard, write_kind::pm);
    pm.setb(abi::pci::cap_list_next, 0xff, 0);
    pm.setw(abi::pci::pm_pmc, abi::pci::pm::pmc_pme_mask, 0);
    pm.setd(abi::pci::pm_ctrl, abi::pci::pm::ctrl_pme_enable | abi::pci::pm::ctrl_pme_status,
            ~static_cast<std::uint32_t>(abi::pci::pm::ctrl_pme_enable | abi::pci::pm::ctrl_pme_status |
                                        abi::pci::pm::ctrl_state_mask));
    // init_pci_cap_exp_perm: DEVCTL FLR/payload/MRRS virtualized, phantom
    // functions not writable; DEVCTL2 writable except ARI.
    perm_bits& exp = t[abi::pci::cap::exp];
    exp.alloc(0x3c, read_kind::standard, write_kind::exp);  // PCI_CAP_EXP_ENDPOINT_SIZEOF_V2
    exp.setb(abi::pci::cap_list_next, 0xff, 0);
    exp.setw(abi::pci::exp_devctl, 0x8000 | 0x00e0 | 0x7000, static_cast<std::uint16_t>(~0x0200));
    exp.setw(abi::pci::exp_devctl2, 0, static_cast<std::uint16_t>(~0x0020));
    // init_pci_cap_af_perm
    perm_bits& af = t[abi::pci::cap::af];
    af.alloc(abi::pci::cap_af_sizeof, read_kind::standard, write_kind::af);
    af.setb(abi::pci::cap_list_next, 0xff, 0);
    af.setb(abi::pci::af_ctrl, abi::pci::af::ctrl_flr, abi::pci::af::ctrl_flr);
    // Vendor-specific: direct read, raw write (cap_perms[PCI_CAP_ID_VNDR].writefn).
    t[abi::pci::cap::vndr].write_fn = write_kind::raw;
    // Everything else keeps the default: vfio_direct_config_read, no write.
    // VPD (virtualized address/data in the kernel) and PCI-X are left at the
    // default here: no profile carries them (not modelled).
    return t;
  }();
  return id < table.size() ? table[id] : table[abi::pci::cap::slotid];
}

/// The shared tables for extended capabilities (ecap_perms).
inline const perm_bits& ecap_perm(std::uint16_t id) {
  static const std::array<perm_bits, 0x30> table = [] {
    std::array<perm_bits, 0x30> t{};
    // init_pci_ext_cap_err_perm
    perm_bits& err = t[abi::pci::ext_cap::err];
    err.alloc(0x2c, read_kind::standard, write_kind::standard);  // PCI_ERR_ROOT_COMMAND
    err.setd(0, 0xffffffff, 0);
    const std::uint32_t uncor = 0x00000001 | 0x00000010 | 0x00000020 | 0x00001000 | 0x00002000 | 0x00004000 |
                                0x00008000 | 0x00010000 | 0x00020000 | 0x00040000 | 0x00080000 | 0x00100000 |
                                0x00200000 | 0x00400000 | 0x00800000 | 0x01000000 | 0x02000000;
    err.setd(0x04, 0, uncor);
    err.setd(0x08, 0, uncor);
    err.setd(0x0c, 0, uncor);
    const std::uint32_t cor = 0x0001 | 0x0040 | 0x0080 | 0x0100 | 0x1000 | 0x2000 | 0x4000 | 0x8000;
    err.setd(0x10, 0, cor);
    err.setd(0x14, 0, cor);
    err.setd(0x18, 0, 0x0040 | 0x0100);
    // init_pci_ext_cap_pwr_perm
    perm_bits& pwr = t[abi::pci::ext_cap::pwr];
    pwr.alloc(0x10, read_kind::standard, write_kind::standard);
    pwr.setd(0, 0xffffffff, 0);
    pwr.setb(4, 0, 0xff);
    t[abi::pci::ext_cap::vndr].write_fn = write_kind::raw;
    t[abi::pci::ext_cap::dvsec].write_fn = write_kind::raw;
    return t;
  }();
  static const perm_bits direct_ro{};  // direct_ro_perms
  return id < table.size() ? table[id] : direct_ro;
}

/// pci_cap_length: 0 = hidden from the user's chain; 0xff = variable.
inline unsigned std_cap_length(std::uint8_t id) {
  switch (id) {
    case cap_basic: return abi::pci::std_header_sizeof;
    case abi::pci::cap::pm: return abi::pci::pm_sizeof;
    case abi::pci::cap::agp: return 48;  // PCI_AGP_SIZEOF
    case abi::pci::cap::vpd: return 8;   // PCI_CAP_VPD_SIZEOF
    case abi::pci::cap::msi:
    case abi::pci::cap::pcix:
    case abi::pci::cap::ht:
    case abi::pci::cap::vndr:
    case abi::pci::cap::exp:
    case abi::pci::cap::sata: return 0xff;
    case abi::pci::cap::msix: return abi::pci::cap_msix_sizeof;
    case abi::pci::cap::af: return abi::pci::cap_af_sizeof;
    default: return 0;  // SLOTID, CHSWP, DBG, CCRC, SHPC, SSVID, AGP3, SECDEV, EA, unknown
  }
}

/// pci_ext_cap_length.
inline unsigned ext_cap_length(std::uint16_t id) {
  namespace e = abi::pci::ext_cap;
  switch (id) {
    case e::err: return 0x2c;
    case e::vc:
    case e::mfvc:
    case e::vc9:
    case e::vndr:
    case e::acs:
    case e::rebar:
    case e::dpa:
    case e::tph:
    case e::dvsec: return 0xff;
    case e::dsn: return 12;
    case e::pwr: return 16;
    case e::ari:
    case e::ats: return 8;
    case e::sriov: return 0x40;
    case e::mcast: return 40;
    case e::pri: return 16;
    case e::ltr: return 8;
    default: return 0;
  }
}

}  // namespace detail

/// vconfig, the capability map and the handlers for one open vfio-pci device.
/// Built at each first open (vfio_config_init) and dropped at the last close
/// (vfio_config_free).
class config_virtualizer {
 public:
  /// vfio_config_init: fills vconfig from the hardware, walks and maps the
  /// standard (vfio_cap_init) and extended (vfio_ecap_init) capabilities.
  void init(config_host& hw, const device_description& d, std::size_t cfg_size) {
    cfg_size_ = cfg_size;
    bars_ = d.bars;
    rom_size_ = d.rom_size;
    rom_address_ = rom_size_ ? d.rom_address : 0;
    map_.assign(cfg_size, detail::cap_invalid);
    vconfig_.assign(cfg_size, 0);
    std::fill(map_.begin(), map_.begin() + abi::pci::std_header_sizeof, detail::cap_basic);
    fill(hw, 0, abi::pci::std_header_sizeof);
    bardirty_ = true;
    extended_caps_ = false;
    msi_perm_ = detail::perm_bits{};
    cap_init(hw);
    ecap_init(hw);
    intx_disabled_ = virtual_command() & abi::pci::command_bits::intx_disable;
  }

  /// vfio_pci_config_rw: one pread/pwrite on the config region. pos is the
  /// offset inside the region. Returns bytes done or -errno.
  long access(config_host& hw, std::uint64_t pos, unsigned char* buf, std::size_t count, bool write) {
    std::size_t done = 0;
    while (count) {
      const long r = do_rw(hw, pos, buf, count, write);
      if (r < 0) return r;
      count -= static_cast<std::size_t>(r);
      done += static_cast<std::size_t>(r);
      buf += r;
      pos += static_cast<std::uint64_t>(r);
    }
    return static_cast<long>(done);
  }

  /// The COMMAND register as vconfig holds it (memory/io enable as last
  /// written by the user, INTx disable).
  std::uint16_t virtual_command() const noexcept {
    return static_cast<std::uint16_t>(vconfig_[abi::pci::command] | (vconfig_[abi::pci::command + 1] << 8));
  }
  const std::vector<std::uint8_t>& vconfig() const noexcept { return vconfig_; }

 private:
  // --- init ---
  void fill(config_host& hw, std::size_t offset, std::size_t size) {
    // vfio_fill_vconfig_bytes: dword, word or byte reads from the hardware.
    while (size) {
      unsigned n = (size >= 4 && offset % 4 == 0) ? 4 : (size >= 2 && offset % 2 == 0) ? 2 : 1;
      const std::uint32_t v = hw.hw_read(static_cast<unsigned>(offset), n);
      for (unsigned i = 0; i < n; ++i) vconfig_[offset + i] = static_cast<std::uint8_t>(v >> (8 * i));
      offset += n;
      size -= n;
    }
  }

  unsigned cap_len(config_host& hw, std::uint8_t cap, unsigned pos) {
    // vfio_cap_len
    switch (cap) {
      case abi::pci::cap::msi: {
        const std::uint16_t flags = static_cast<std::uint16_t>(hw.hw_read(pos + abi::pci::msi_flags, 2));
        unsigned len = 10;
        if (flags & abi::pci::msi::flags_64bit) len += 4;
        if (flags & abi::pci::msi::flags_maskbit) len += 10;
        init_msi_perm(len, flags);
        return len;
      }
      case abi::pci::cap::pcix: {
        const std::uint16_t cmd = static_cast<std::uint16_t>(hw.hw_read(pos + 2, 2));
        if ((cmd >> 12) & 3) {
          if (cfg_size_ > abi::pci::cfg_space_size) extended_caps_ = hw.hw_read(abi::pci::ext_cap_start, 4) != 0;
          return 24;
        }
        return 8;
      }
      case abi::pci::cap::vndr: return hw.hw_read(pos + abi::pci::cap_flags, 1);
      case abi::pci::cap::exp: {
        if (cfg_size_ > abi::pci::cfg_space_size) extended_caps_ = hw.hw_read(abi::pci::ext_cap_start, 4) != 0;
        const std::uint16_t flags = static_cast<std::uint16_t>(hw.hw_read(pos + abi::pci::exp_flags, 2));
        const bool rc_end = abi::pci::pcie::port_type(flags) == abi::pci::pcie::type_rc_end;
        if ((flags & abi::pci::pcie::flags_vers) == 1) return rc_end ? 0xc : 20;
        return rc_end ? 0x2c : 0x3c;
      }
      case abi::pci::cap::ht: return (hw.hw_read(pos + 3, 1) & 0xe0) ? 24 : 28;
      case abi::pci::cap::sata: return (hw.hw_read(pos + 4, 1) & 0xf) == 0xf ? 16 : 8;
      default: return 0;
    }
  }

  unsigned ext_len(config_host& hw, std::uint16_t ecap, unsigned epos) {
    // vfio_ext_cap_len
    namespace e = abi::pci::ext_cap;
    switch (ecap) {
      case e::vndr: return hw.hw_read(epos + 4, 4) >> 20;
      case e::vc:
      case e::vc9:
      case e::mfvc: {
        const unsigned evcc = hw.hw_read(epos + 4, 4) & 7;
        const std::uint32_t cap2 = hw.hw_read(epos + 8, 4);
        const unsigned phases = (cap2 & 0x8) ? 128 : (cap2 & 0x4) ? 64 : (cap2 & 0x2) ? 32 : 0;
        unsigned len = 0x10 + (1 + evcc) * 0x0c;
        if (phases) len = ((len + 15) & ~15U) + phases * 4 / 8;
        return len;
      }
      case e::acs: {
        const unsigned cap = hw.hw_read(epos + 4, 1);
        if (cap & 0x20) {
          const unsigned byte = hw.hw_read(epos + 5, 1);
          const unsigned bits = byte ? ((byte + 31) & ~31U) : 256;
          return 8 + bits / 8;
        }
        return 8;
      }
      case e::rebar: return 4 + ((hw.hw_read(epos + 8, 1) & 0xe0) >> 5) * 8;
      case e::dpa: return 16 + (hw.hw_read(epos + 4, 1) & 0x1f) + 1;
      case e::tph: {
        const std::uint32_t cap = hw.hw_read(epos + 4, 4);
        if ((cap & 0x600) == 0x200) return 12 + ((cap & 0x07ff0000) >> 16) * 2 + 2;
        return 12;
      }
      case e::dvsec: return (hw.hw_read(epos + 4, 4) >> 20) & 0xfff;
      default: return 0;
    }
  }

  void init_msi_perm(unsigned len, std::uint16_t flags) {
    // init_pci_cap_msi_perm
    detail::perm_bits& p = msi_perm_;
    p.alloc(len, detail::read_kind::msi, detail::write_kind::msi);
    p.setb(abi::pci::cap_list_next, 0xff, 0);
    p.setb(abi::pci::msi_flags, 0xff, 0xff);
    p.setd(abi::pci::msi_address_lo, 0xffffffff, 0xffffffff);
    if (flags & abi::pci::msi::flags_64bit) {
      p.setd(abi::pci::msi_address_hi, 0xffffffff, 0xffffffff);
      p.setw(abi::pci::msi_data_64, 0xffff, 0xffff);
      if (flags & abi::pci::msi::flags_maskbit) {
        p.setd(abi::pci::msi_mask_64, 0, 0xffffffff);
        p.setd(abi::pci::msi_pending_64, 0, 0xffffffff);
      }
    } else {
      p.setw(abi::pci::msi_data_32, 0xffff, 0xffff);
      if (flags & abi::pci::msi::flags_maskbit) {
        p.setd(abi::pci::msi_mask_32, 0, 0xffffffff);
        p.setd(abi::pci::msi_pending_32, 0, 0xffffffff);
      }
    }
  }

  void cap_init(config_host& hw) {
    // vfio_cap_init
    if (!(hw.hw_read(abi::pci::status, 2) & abi::pci::status_bits::cap_list)) return;
    unsigned pos = hw.hw_read(abi::pci::cap_list, 1);
    std::size_t prev = abi::pci::cap_list;
    int loops = (abi::pci::cfg_space_size - abi::pci::std_header_sizeof) / abi::pci::cap_sizeof;
    int caps = 0;
    while (pos && loops--) {
      const auto cap = static_cast<std::uint8_t>(hw.hw_read(pos, 1));
      const auto next = static_cast<std::uint8_t>(hw.hw_read(pos + abi::pci::cap_list_next, 1));
      unsigned len = 0;
      if (cap && cap <= abi::pci::cap::max) {
        len = detail::std_cap_length(cap);
        if (len == 0xff) len = cap_len(hw, cap, pos);
      }
      if (!len) {
        vconfig_[prev] = next;  // hiding the capability
        pos = next;
        continue;
      }
      for (unsigned i = 0; i < len && pos + i < abi::pci::cfg_space_size; ++i) map_[pos + i] = cap;
      fill(hw, pos, std::min<std::size_t>(len, abi::pci::cfg_space_size - pos));
      if (cap == abi::pci::cap::pm) {
        // vfio_update_pm_vconfig_bytes: clear PME_Support, PME_Status, PME_En.
        vconfig_[pos + abi::pci::pm_pmc + 1] &= static_cast<std::uint8_t>(~(abi::pci::pm::pmc_pme_mask >> 8));
        vconfig_[pos + abi::pci::pm_ctrl + 1] &=
            static_cast<std::uint8_t>(~((abi::pci::pm::ctrl_pme_enable | abi::pci::pm::ctrl_pme_status) >> 8));
      }
      prev = pos + abi::pci::cap_list_next;
      pos = next;
      ++caps;
    }
    if (!caps) vconfig_[abi::pci::status] &= static_cast<std::uint8_t>(~abi::pci::status_bits::cap_list);
  }

  void ecap_init(config_host& hw) {
    // vfio_ecap_init
    if (!extended_caps_) return;
    unsigned epos = abi::pci::ext_cap_start;
    int loops = static_cast<int>((cfg_size_ - abi::pci::cfg_space_size) / abi::pci::cap_sizeof);
    std::size_t prev = 0;
    bool have_prev = false;
    int ecaps = 0;
    while (loops-- && epos >= abi::pci::cfg_space_size && epos + 4 <= cfg_size_) {
      const std::uint32_t header = hw.hw_read(epos, 4);
      const std::uint16_t ecap = abi::pci::ext_cap_id(header);
      unsigned len = detail::ext_cap_length(ecap);
      bool hidden = false;
      if (len == 0xff) len = ext_len(hw, ecap, epos);
      if (!len) {
        if (have_prev) {
          epos = abi::pci::ext_cap_next(header);
          std::uint32_t p = get32(prev);
          p = (p & ~(0xffcU << 20)) | (static_cast<std::uint32_t>(epos) << 20);
          put32(prev, p);
          continue;
        }
        len = abi::pci::cap_sizeof;  // placeholder anchoring the list
        hidden = true;
      }
      for (unsigned i = 0; i < len && epos + i < cfg_size_; ++i) map_[epos + i] = static_cast<std::uint8_t>(ecap);
      fill(hw, epos, std::min<std::size_t>(len, cfg_size_ - epos));
      if (hidden)
        put32(epos, get32(epos) & (0xffcU << 20));
      else
        ++ecaps;
      prev = epos;
      have_prev = true;
      epos = abi::pci::ext_cap_next(header);
    }
    if (!ecaps) put32(abi::pci::ext_cap_start, 0);
  }

  // --- access ---
  unsigned find_cap_start(unsigned pos) const {
    // vfio_find_cap_start
    const unsigned base = pos >= abi::pci::cfg_space_size ? abi::pci::cfg_space_size : abi::pci::std_header_sizeof;
    const std::uint8_t cap = map_[pos];
    if (cap == detail::cap_basic && pos < abi::pci::std_header_sizeof) return 0;
    while (pos >= base + 1 && map_[pos - 1] == cap) --pos;
    return pos;
  }
  std::size_t remaining_dword(std::size_t pos) const {
    // vfio_pci_cap_remaining_dword
    const std::uint8_t cap = map_[pos];
    std::size_t i = 1;
    while ((pos + i) % 4 && pos + i < map_.size() && map_[pos + i] == cap) ++i;
    return i;
  }

  long do_rw(config_host& hw, std::uint64_t pos64, unsigned char* buf, std::size_t count, bool write) {
    // vfio_config_do_rw
    if (pos64 >= cfg_size_ || pos64 + count > cfg_size_) return -EFAULT;
    const auto pos = static_cast<unsigned>(pos64);
    count = std::min(count, remaining_dword(pos));
    if (count >= 4 && pos % 4 == 0)
      count = 4;
    else if (count >= 2 && pos % 2 == 0)
      count = 2;
    else
      count = 1;
    const auto n = static_cast<unsigned>(count);

    const detail::perm_bits* perm = nullptr;
    static const detail::perm_bits unassigned = [] {
      detail::perm_bits p;
      p.read = detail::read_kind::raw;
      p.write_fn = detail::write_kind::raw;
      return p;
    }();
    unsigned cap_start = 0;
    const std::uint8_t cap_id = map_[pos];
    if (cap_id == detail::cap_invalid) {
      perm = &unassigned;
      cap_start = pos;
    } else if (pos >= abi::pci::cfg_space_size) {
      perm = &detail::ecap_perm(cap_id);
      cap_start = find_cap_start(pos);
    } else {
      perm = cap_id == abi::pci::cap::msi ? &msi_perm_ : &detail::cap_perm(cap_id);
      if (cap_id > detail::cap_basic) cap_start = find_cap_start(pos);
    }
    const unsigned offset = pos - cap_start;

    if (write) {
      if (perm->write_fn == detail::write_kind::none) return static_cast<long>(n);  // dropped
      std::uint32_t val = 0;
      std::memcpy(&val, buf, n);
      return write_dispatch(hw, *perm, pos, n, offset, cap_start, val);
    }
    std::uint32_t val = read_dispatch(hw, *perm, pos, n, offset);
    std::memcpy(buf, &val, n);
    return static_cast<long>(n);
  }

  std::uint32_t vget(unsigned pos, unsigned n) const {
    std::uint32_t v = 0;
    for (unsigned i = 0; i < n; ++i) v |= static_cast<std::uint32_t>(vconfig_[pos + i]) << (8 * i);
    return v;
  }
  void vset(unsigned pos, std::uint32_t v, unsigned n) {
    for (unsigned i = 0; i < n; ++i) vconfig_[pos + i] = static_cast<std::uint8_t>(v >> (8 * i));
  }
  std::uint32_t get32(std::size_t pos) const { return vget(static_cast<unsigned>(pos), 4); }
  void put32(std::size_t pos, std::uint32_t v) { vset(static_cast<unsigned>(pos), v, 4); }
  static std::uint32_t all_ones(unsigned n) { return n == 4 ? 0xffffffffU : ((1U << (8 * n)) - 1); }

  std::uint32_t default_read(config_host& hw, const detail::perm_bits& perm, unsigned pos, unsigned n,
                             unsigned offset) const {
    // vfio_default_config_read
    std::uint32_t val = vget(pos, n);
    const std::uint32_t virt = perm.get(perm.virt, offset, n);
    if (virt != all_ones(n)) {
      const std::uint32_t phys = hw.hw_read(pos, n);
      val = (phys & ~virt) | (val & virt);
    }
    return val & all_ones(n);
  }

  void default_write(config_host& hw, const detail::perm_bits& perm, unsigned pos, unsigned n, unsigned offset,
                     std::uint32_t val) {
    // vfio_default_config_write
    const std::uint32_t w = perm.get(perm.write, offset, n);
    if (!w) return;
    const std::uint32_t virt = perm.get(perm.virt, offset, n);
    if (w & virt) {
      std::uint32_t v = vget(pos, n);
      v &= ~(w & virt);
      v |= val & (w & virt);
      vset(pos, v, n);
    }
    if (w & ~virt) {
      std::uint32_t phys = hw.hw_read(pos, n);
      phys &= ~(w & ~virt);
      phys |= val & (w & ~virt);
      hw.hw_write(pos, phys, n);
    }
  }

  std::uint32_t read_dispatch(config_host& hw, const detail::perm_bits& perm, unsigned pos, unsigned n,
                              unsigned offset) {
    switch (perm.read) {
      case detail::read_kind::raw: return hw.hw_read(pos, n);
      case detail::read_kind::standard: return default_read(hw, perm, pos, n, offset);
      case detail::read_kind::basic: {
        // vfio_basic_config_read: BAR sizing happens on reads of the BARs.
        if (is_bar(offset)) bar_fixup();
        return default_read(hw, perm, pos, n, offset);
      }
      case detail::read_kind::msi: {
        // vfio_msi_config_read: the queue-size fix-up lands on the first word of
        // the capability (vconfig[start]), not on the flags: the upstream code
        // indexes vconfig with the capability start.
        if (offset <= abi::pci::msi_flags && offset + n >= abi::pci::msi_flags) {
          const unsigned start = find_cap_start(pos);
          std::uint16_t w = static_cast<std::uint16_t>(vget(start, 2));
          w = static_cast<std::uint16_t>((w & ~abi::pci::msi::flags_qmask) | (hw.msi_qmax() << 1));
          vset(start, w, 2);
        }
        return default_read(hw, perm, pos, n, offset);
      }
      case detail::read_kind::direct:
      default: {
        // vfio_direct_config_read: hardware, except the capability id/next
        // (standard) or the whole header dword (extended) from vconfig.
        std::uint32_t val = hw.hw_read(pos, n);
        if (pos >= abi::pci::cfg_space_size) {
          if (offset < 4) val = vget(pos, n);
        } else if (pos >= abi::pci::std_header_sizeof) {
          if (offset == abi::pci::cap_list_id && n > 1) {
            const std::uint32_t m = 0xffff;
            val = (val & ~m) | (vget(pos, 2) & m);
          } else if (offset == abi::pci::cap_list_next) {
            val = (val & ~0xffU) | vget(pos, 1);
          }
        }
        return val;
      }
    }
  }

  long write_dispatch(config_host& hw, const detail::perm_bits& perm, unsigned pos, unsigned n, unsigned offset,
                      unsigned cap_start, std::uint32_t val) {
    switch (perm.write_fn) {
      case detail::write_kind::none: return static_cast<long>(n);
      case detail::write_kind::raw: hw.hw_write(pos, val, n); return static_cast<long>(n);
      case detail::write_kind::standard: default_write(hw, perm, pos, n, offset, val); return static_cast<long>(n);
      case detail::write_kind::basic: basic_write(hw, perm, pos, n, offset, val); return static_cast<long>(n);
      case detail::write_kind::pm: {
        // vfio_pm_config_write: only a write starting at PM_CTRL changes the state.
        default_write(hw, perm, pos, n, offset, val);
        if (offset == abi::pci::pm_ctrl) hw.pm_ctrl_state_written(val & abi::pci::pm::ctrl_state_mask);
        return static_cast<long>(n);
      }
      case detail::write_kind::exp: exp_write(hw, perm, pos, n, offset, cap_start, val); return static_cast<long>(n);
      case detail::write_kind::af: {
        // vfio_af_config_write
        default_write(hw, perm, pos, n, offset, val);
        const unsigned ctrl = cap_start + abi::pci::af_ctrl;
        if (vconfig_[ctrl] & abi::pci::af::ctrl_flr) {
          vconfig_[ctrl] &= static_cast<std::uint8_t>(~abi::pci::af::ctrl_flr);
          const std::uint32_t cap = hw.hw_read(cap_start + abi::pci::af_cap, 1);
          if ((cap & abi::pci::af::cap_flr) && (cap & abi::pci::af::cap_tp)) hw.function_reset();
        }
        return static_cast<long>(n);
      }
      case detail::write_kind::msi: {
        // vfio_msi_config_write: MSI enable only through SET_IRQS; QSIZE clamped.
        default_write(hw, perm, pos, n, offset, val);
        if (offset <= abi::pci::msi_flags && offset + n >= abi::pci::msi_flags) {
          const unsigned start = find_cap_start(pos);
          std::uint16_t flags = static_cast<std::uint16_t>(vget(start + abi::pci::msi_flags, 2));
          if (!hw.msi_enabled()) flags &= static_cast<std::uint16_t>(~abi::pci::msi::flags_enable);
          if (((flags & abi::pci::msi::flags_qsize) >> 4) > hw.msi_qmax()) {
            flags &= static_cast<std::uint16_t>(~abi::pci::msi::flags_qsize);
            flags |= static_cast<std::uint16_t>(hw.msi_qmax() << 4);
          }
          vset(start + abi::pci::msi_flags, flags, 2);
          hw.hw_write(start + abi::pci::msi_flags, flags, 2);
        }
        return static_cast<long>(n);
      }
    }
    return static_cast<long>(n);
  }

  static bool is_bar(unsigned offset) {
    return (offset >= abi::pci::base_address_0 && offset < abi::pci::base_address_5 + 4) ||
           (offset >= abi::pci::rom_address && offset < abi::pci::rom_address + 4);
  }

  void bar_fixup() {
    // vfio_bar_fixup: the virtual BARs answer sizing like hardware.
    if (!bardirty_) return;
    for (unsigned i = 0; i < 6; ++i) {
      const unsigned at = abi::pci::base_address_0 + 4 * i;
      const bar_description& b = bars_[i];
      if (!b.size || !b.address) {
        put32(at, 0);  // unmapped by host = unimplemented to user
        continue;
      }
      const std::uint64_t mask = ~(b.size - 1);
      std::uint32_t v = get32(at) & static_cast<std::uint32_t>(mask);
      std::uint32_t flags = 0;
      if (b.io)
        flags = abi::pci::base_address_bits::space_io;
      else {
        if (b.prefetchable) flags |= abi::pci::base_address_bits::mem_prefetch;
        if (b.mem64) flags |= abi::pci::base_address_bits::mem_type_64;
      }
      put32(at, v | flags);
      if (!b.io && b.mem64 && i + 1 < 6) {
        ++i;
        const unsigned hi = abi::pci::base_address_0 + 4 * i;
        put32(hi, get32(hi) & static_cast<std::uint32_t>(mask >> 32));
      }
    }
    if (rom_size_ && rom_address_) {
      const std::uint32_t mask = static_cast<std::uint32_t>(~(rom_size_ - 1)) | abi::pci::rom_address_bits::enable;
      put32(abi::pci::rom_address, get32(abi::pci::rom_address) & mask);
    } else {
      put32(abi::pci::rom_address, 0);
    }
    bardirty_ = false;
  }

  void basic_write(config_host& hw, const detail::perm_bits& perm, unsigned pos, unsigned n, unsigned offset,
                   std::uint32_t val) {
    // vfio_basic_config_write. The BAR restore after a backdoor reset is not
    // modelled: the simulated hardware never loses its BARs.
    const std::uint16_t new_cmd = static_cast<std::uint16_t>(val);
    default_write(hw, perm, pos, n, offset, val);
    if (offset == abi::pci::command) {
      const std::uint16_t mask = abi::pci::command_bits::memory | abi::pci::command_bits::io;
      std::uint16_t cmd = virtual_command();
      cmd = static_cast<std::uint16_t>((cmd & ~mask) | (new_cmd & mask));
      vset(abi::pci::command, cmd, 2);
    }
    if (offset >= abi::pci::command && offset <= abi::pci::command + 1) {
      const bool disabled = virtual_command() & abi::pci::command_bits::intx_disable;
      if (disabled != intx_disabled_) {
        intx_disabled_ = disabled;
        hw.intx_disable_written(disabled);
      }
    }
    if (is_bar(offset)) bardirty_ = true;
  }

  void exp_write(config_host& hw, const detail::perm_bits& perm, unsigned pos, unsigned n, unsigned offset,
                 unsigned cap_start, std::uint32_t val) {
    // vfio_exp_config_write
    const unsigned ctrl = cap_start + abi::pci::exp_devctl;
    const unsigned readrq_before = vget(ctrl, 2) & 0x7000;
    default_write(hw, perm, pos, n, offset, val);
    std::uint16_t devctl = static_cast<std::uint16_t>(vget(ctrl, 2));
    if (devctl & abi::pci::pcie::devctl_bcr_flr) {
      devctl &= static_cast<std::uint16_t>(~abi::pci::pcie::devctl_bcr_flr);
      vset(ctrl, devctl, 2);
      if (hw.hw_read(cap_start + abi::pci::exp_devcap, 4) & abi::pci::pcie::devcap_flr) hw.function_reset();
    }
    if (readrq_before != (devctl & 0x7000u)) {
      // pcie_set_readrq with the floor at the device's MPS.
      unsigned readrq = 128u << ((devctl & 0x7000u) >> 12);
      const std::uint16_t phys = static_cast<std::uint16_t>(hw.hw_read(ctrl, 2));
      const unsigned mps = 128u << ((phys & 0x00e0u) >> 5);
      readrq = std::max(readrq, mps);
      unsigned code = 0;
      while ((128u << code) < readrq && code < 5) ++code;
      hw.hw_write(ctrl, static_cast<std::uint16_t>((phys & ~0x7000u) | (code << 12)), 2);
    }
  }

  std::size_t cfg_size_ = 0;
  std::array<bar_description, 6> bars_{};
  std::uint64_t rom_size_ = 0;
  std::uint64_t rom_address_ = 0;
  std::vector<std::uint8_t> map_;
  std::vector<std::uint8_t> vconfig_;
  detail::perm_bits msi_perm_;
  bool bardirty_ = true;
  bool extended_caps_ = false;
  bool intx_disabled_ = false;
};

}  // namespace vfio::testing::sim

#endif  // VFIO_TESTING_SIM_CONFIG_SPACE_HPP_INCLUDED
