// PCI configuration space through the VFIO config region: typed access
// (vfio::pci::config) and a snapshot with bounded, cycle-checked walks of the
// standard and extended capability lists (vfio::pci::config_snapshot).
#ifndef VFIO_PCI_CONFIG_HPP_INCLUDED
#define VFIO_PCI_CONFIG_HPP_INCLUDED

#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <optional>

#include "../abi/pci.hpp"
#include "../abi/vfio.hpp"
#include "../device.hpp"
#include "../error.hpp"
#include "../result.hpp"

namespace vfio::pci {

class config;

/// One entry of a capability list.
struct capability {
  std::uint16_t id = 0;      ///< abi::pci::cap (standard) or abi::pci::ext_cap (extended)
  std::uint16_t offset = 0;  ///< config-space offset of the capability header
  std::uint8_t version = 0;  ///< extended capabilities only; 0 for standard ones
};

/// A copy of config space taken at one moment: a value type holding up to 4096 bytes.
/// Reads past size() return all-ones, as a PCI read of an absent register does.
class config_snapshot {
 public:
  /// The largest config space (PCIe extended).
  static constexpr std::uint32_t max_size = abi::pci::cfg_space_exp_size;

  config_snapshot() noexcept = default;

  /// A snapshot of `size` bytes from `data` (truncated to max_size), e.g. a sysfs
  /// `config` file or a test image. No syscall.
  /// Preconditions: data holds min(size, max_size) bytes.
  static config_snapshot from_bytes(const void* data, std::size_t size) noexcept {
    config_snapshot s;
    s.size_ = static_cast<std::uint32_t>(size < max_size ? size : max_size);
    if (s.size_ != 0) std::memcpy(s.bytes_.data(), data, s.size_);
    return s;
  }

  /// Bytes held: 256 for conventional PCI, 4096 for PCIe.
  std::uint32_t size() const noexcept { return size_; }
  const std::uint8_t* data() const noexcept { return bytes_.data(); }

  /// Little-endian reads at `off`; bytes past size() read as 0xff, also those a read
  /// near 0xffff reaches beyond the 16-bit offset range (no wrap to byte 0).
  std::uint8_t u8(std::uint16_t off) const noexcept { return byte_at(off); }
  std::uint16_t u16(std::uint16_t off) const noexcept {
    return static_cast<std::uint16_t>(byte_at(off) | (byte_at(std::uint32_t{off} + 1) << 8));
  }
  std::uint32_t u32(std::uint16_t off) const noexcept {
    std::uint32_t v = 0;
    for (std::uint32_t i = 4; i-- > 0;) v = (v << 8) | byte_at(std::uint32_t{off} + i);
    return v;
  }

  /// Standard capability list: starts at PCI_CAPABILITY_LIST (0x34) when PCI_STATUS has
  /// CAP_LIST (vfio-pci binds only header type 0 devices: vfio_pci_probe in
  /// drivers/vfio/pci/vfio_pci.c, so CardBus's 0x14 never applies). Pointers have their
  /// two reserved low bits masked; each must be >= 0x40 and < 256 with its header inside
  /// the snapshot. An id of 0xff ends the walk (an all-ones read, as in the PCI core's
  /// __pci_find_next_cap_ttl in drivers/pci/pci.c). Calls f(capability) for each entry;
  /// f returns false to stop. Bounded: at most 48 entries (every dword slot of
  /// [0x40, 0x100)), and a visited bitmap catches a loop at its first repeat.
  /// Errors: errc::malformed_capability_chain (bad pointer or loop), reported only when
  /// the walk reaches it.
  template <class F>
  result<void> for_each_capability(F f) const noexcept {
    constexpr const char* op = "PCI_CAPABILITY_LIST";
    constexpr unsigned max_entries = (abi::pci::cfg_space_size - abi::pci::std_header_sizeof) / 4;  // 48
    if (size_ < abi::pci::std_header_sizeof) return {};
    if ((u16(abi::pci::status) & abi::pci::status_bits::cap_list) == 0) return {};
    std::uint64_t visited = 0;  // bit k: dword 0x40 + 4k seen
    std::uint16_t pos = u8(abi::pci::cap_list) & abi::pci::cap_ptr_mask;
    for (unsigned n = 0; pos != 0; ++n) {
      if (n >= max_entries || pos < abi::pci::std_header_sizeof || pos >= abi::pci::cfg_space_size || pos + 2u > size_)
        return error(errc::malformed_capability_chain, op);
      const std::uint64_t bit = std::uint64_t{1} << ((pos - abi::pci::std_header_sizeof) / 4);
      if (visited & bit) return error(errc::malformed_capability_chain, op);
      visited |= bit;
      const std::uint8_t id = u8(pos);
      if (id == 0xff) return {};
      const std::uint16_t next = u8(static_cast<std::uint16_t>(pos + abi::pci::cap_list_next)) & abi::pci::cap_ptr_mask;
      if (!f(capability{id, pos, 0})) return {};
      pos = next;
    }
    return {};
  }

  /// The offset of the first standard capability with `id`, or nullopt.
  /// Errors: errc::malformed_capability_chain (met before a match).
  result<std::optional<std::uint16_t>> find_capability(std::uint8_t id) const noexcept {
    std::optional<std::uint16_t> found;
    auto walked = for_each_capability([&](const capability& c) noexcept {
      if (c.id != id) return true;
      found = c.offset;
      return false;
    });
    if (!walked) return walked.error();
    return found;
  }

  /// Extended capability list: only when size() > 256; starts at 0x100, where a header
  /// of 0 or 0xffffffff means there is none. Each header is {id:16, version:4, next:12}
  /// with the next pointer's low two bits masked; a next of 0 ends the list, any other
  /// must be >= 0x100 with its header inside the snapshot. Calls f(capability) for each
  /// entry; f returns false to stop. Bounded: at most (4096 - 256) / 4 entries and a
  /// visited bitmap.
  /// Errors: errc::malformed_capability_chain (bad pointer, loop, or an all-ones header
  /// inside the list), reported only when the walk reaches it.
  template <class F>
  result<void> for_each_ext_capability(F f) const noexcept {
    constexpr const char* op = "PCI_EXT_CAP_NEXT";
    constexpr unsigned slots = (abi::pci::cfg_space_exp_size - abi::pci::cfg_space_size) / 4;  // 960
    if (size_ <= abi::pci::cfg_space_size) return {};
    std::uint16_t pos = abi::pci::ext_cap_start;
    const std::uint32_t first = u32(pos);
    if (first == 0 || first == 0xffffffffU) return {};
    std::array<std::uint64_t, (slots + 63) / 64> visited{};
    for (unsigned n = 0;; ++n) {
      if (n >= slots || pos < abi::pci::ext_cap_start || pos + 4u > size_)
        return error(errc::malformed_capability_chain, op);
      const unsigned slot = (pos - abi::pci::ext_cap_start) / 4u;
      const std::uint64_t bit = std::uint64_t{1} << (slot % 64);
      if (visited[slot / 64] & bit) return error(errc::malformed_capability_chain, op);
      visited[slot / 64] |= bit;
      const std::uint32_t header = u32(pos);
      if (header == 0xffffffffU) return error(errc::malformed_capability_chain, op);
      if (!f(capability{abi::pci::ext_cap_id(header), pos, abi::pci::ext_cap_ver(header)})) return {};
      const std::uint16_t next = abi::pci::ext_cap_next(header);
      if (next == 0) return {};
      pos = next;
    }
  }

  /// The offset of the first extended capability with `id`, or nullopt.
  /// Errors: errc::malformed_capability_chain (met before a match).
  result<std::optional<std::uint16_t>> find_ext_capability(std::uint16_t id) const noexcept {
    std::optional<std::uint16_t> found;
    auto walked = for_each_ext_capability([&](const capability& c) noexcept {
      if (c.id != id) return true;
      found = c.offset;
      return false;
    });
    if (!walked) return walked.error();
    return found;
  }

 private:
  friend class config;  // snapshot() reads straight into bytes_

  std::array<std::uint8_t, max_size> bytes_{};
  // Offsets are 32-bit here so that off + 3 never wraps.
  std::uint8_t byte_at(std::uint32_t off) const noexcept { return off < size_ ? bytes_[off] : std::uint8_t{0xff}; }

  std::uint32_t size_ = 0;
};

/// Typed access to a PCI device's config space through its VFIO config region
/// (abi::pci_region::config): region() gives the region's file offset and size, and
/// every access is one pread/pwrite at that offset plus the config offset. The device
/// must outlive this object.
///
/// vfio-pci services config access in aligned chunks of at most 4 bytes, splitting
/// anything else (vfio_config_do_rw / vfio_pci_config_rw in
/// drivers/vfio/pci/vfio_pci_config.c): an unaligned 16- or 32-bit access would become
/// several separate register accesses, so natural alignment is required.
class config {
 public:
  explicit config(device& dev) noexcept : dev_(&dev) {}

  device& dev() const noexcept { return *dev_; }

  /// One pread(2) of 1, 2 or 4 bytes at the config offset; little-endian.
  /// Preconditions: offset aligned to the access size.
  /// Errors: errc::invalid_argument (misaligned); errc::out_of_bounds (past the region,
  /// 256 or 4096 bytes: the kernel sizes it as pdev->cfg_size in
  /// vfio_pci_ioctl_get_region_info); EIO (runtime resume failed); errors of
  /// device::read and device::region.
  result<std::uint8_t> read8(std::uint16_t offset) noexcept {
    std::uint8_t b[1];
    auto r = read_bytes(offset, b, 1);
    if (!r) return r.error();
    return b[0];
  }
  /// As read8, 2 bytes at a 2-aligned offset. Errors: as read8.
  result<std::uint16_t> read16(std::uint16_t offset) noexcept {
    std::uint8_t b[2];
    auto r = read_bytes(offset, b, 2);
    if (!r) return r.error();
    return static_cast<std::uint16_t>(b[0] | (b[1] << 8));
  }
  /// As read8, 4 bytes at a 4-aligned offset. Errors: as read8.
  result<std::uint32_t> read32(std::uint16_t offset) noexcept {
    std::uint8_t b[4];
    auto r = read_bytes(offset, b, 4);
    if (!r) return r.error();
    return static_cast<std::uint32_t>(b[0]) | (static_cast<std::uint32_t>(b[1]) << 8) |
           (static_cast<std::uint32_t>(b[2]) << 16) | (static_cast<std::uint32_t>(b[3]) << 24);
  }

  /// One pwrite(2) of 1, 2 or 4 bytes at the config offset; little-endian. vfio-pci
  /// applies its permission tables: read-only and virtualized bits are not written to
  /// the device (vfio_default_config_write), so read back what matters.
  /// Preconditions: offset aligned to the access size.
  /// Errors: errc::invalid_argument (misaligned); errc::out_of_bounds; EIO; errors of
  /// device::write and device::region.
  result<void> write8(std::uint16_t offset, std::uint8_t value) noexcept {
    const std::uint8_t b[1] = {value};
    return write_bytes(offset, b, 1);
  }
  /// As write8, 2 bytes at a 2-aligned offset. Errors: as write8.
  result<void> write16(std::uint16_t offset, std::uint16_t value) noexcept {
    const std::uint8_t b[2] = {static_cast<std::uint8_t>(value), static_cast<std::uint8_t>(value >> 8)};
    return write_bytes(offset, b, 2);
  }
  /// As write8, 4 bytes at a 4-aligned offset. Errors: as write8.
  result<void> write32(std::uint16_t offset, std::uint32_t value) noexcept {
    const std::uint8_t b[4] = {static_cast<std::uint8_t>(value), static_cast<std::uint8_t>(value >> 8),
                               static_cast<std::uint8_t>(value >> 16), static_cast<std::uint8_t>(value >> 24)};
    return write_bytes(offset, b, 4);
  }

  /// Reads the whole config region, min(region size, 4096) bytes, with one pread(2) (the
  /// kernel loops over its aligned chunks internally, vfio_pci_config_rw); should a pread
  /// return short, the rest is read with further preads.
  /// Errors: errc::short_transfer; EIO, EFAULT; errors of device::read and device::region.
  result<config_snapshot> snapshot() noexcept {
    auto ri = dev_->region(abi::pci_region::config);
    if (!ri) return ri.error();
    const std::uint64_t region_size = (*ri)->size;
    const auto n =
        static_cast<std::uint32_t>(region_size < config_snapshot::max_size ? region_size : config_snapshot::max_size);
    config_snapshot s;
    auto r = dev_->read(abi::pci_region::config, 0, s.bytes_.data(), n);
    if (!r) return r.error();
    s.size_ = n;
    return s;
  }

 private:
  result<void> read_bytes(std::uint16_t offset, std::uint8_t* out, std::size_t width) noexcept {
    if (offset % width != 0) return error(errc::invalid_argument, "pread");
    return dev_->read(abi::pci_region::config, offset, out, width);
  }
  result<void> write_bytes(std::uint16_t offset, const std::uint8_t* in, std::size_t width) noexcept {
    if (offset % width != 0) return error(errc::invalid_argument, "pwrite");
    return dev_->write(abi::pci_region::config, offset, in, width);
  }

  device* dev_;
};

}  // namespace vfio::pci

#endif  // VFIO_PCI_CONFIG_HPP_INCLUDED
