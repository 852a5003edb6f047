// PCI configuration space through the VFIO config region: typed access
// (vfio::pci::config) and snapshots (vfio::pci::config_snapshot, in
// config_snapshot.hpp, with the capability walks).
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
#include "config_snapshot.hpp"

namespace vfio::pci {

/// pread(2) of the 2 bytes at config offset `offset` of `dev`, little-endian: what
/// config::read16 does, for code that holds the device itself and no config view.
/// Preconditions: offset 2-aligned. Errors: as config::read16.
inline result<std::uint16_t> read_config16(device& dev, std::uint16_t offset) noexcept {
  std::uint8_t b[2];
  if (auto r = detail::config_access::read<2>(dev, offset, b); !r) return r.error();
  return static_cast<std::uint16_t>(b[0] | (b[1] << 8));
}

/// pwrite(2) of `value` to the 2 bytes at config offset `offset` of `dev`,
/// little-endian: what config::write16 does, without a config view.
/// Preconditions: offset 2-aligned. Errors: as config::write16.
inline result<void> write_config16(device& dev, std::uint16_t offset, std::uint16_t value) noexcept {
  const std::uint8_t b[2] = {static_cast<std::uint8_t>(value), static_cast<std::uint8_t>(value >> 8)};
  return detail::config_access::write<2>(dev, offset, b);
}

/// Typed access to a PCI device's config space through its VFIO config region
/// (abi::pci_region::config): region() gives the region's file offset and size, and
/// every access is one pread/pwrite at that offset plus the config offset. The device
/// records what the accesses tell about its mapping safety (writes of COMMAND and
/// PMCSR: see <vfio/device.hpp>).
///
/// Lifetime: a view of the device (detail::device_view): it follows the device when the
/// device is moved, and fails every call with EBADF once the device is destroyed or
/// move-assigned over. Copies view the same device.
///
/// vfio-pci services config access in aligned chunks of at most 4 bytes, splitting
/// anything else (vfio_config_do_rw / vfio_pci_config_rw in
/// drivers/vfio/pci/vfio_pci_config.c): an unaligned 16- or 32-bit access would become
/// several separate register accesses, so natural alignment is required.
class config : private detail::device_view {
 public:
  explicit config(device& dev) noexcept : device_view(dev) {}

  /// The device viewed (an empty device, failing with EBADF, once it is gone).
  device& dev() const noexcept { return viewed(); }

  // The accessors are not const: each access updates the viewed device's
  // mapping state.
  // NOLINTBEGIN(readability-make-member-function-const)

  /// One pread(2) of 1, 2 or 4 bytes at the config offset; little-endian.
  /// Preconditions: offset aligned to the access size.
  /// Errors: errc::invalid_argument (misaligned); errc::out_of_bounds (past the region,
  /// 256 or 4096 bytes: the kernel sizes it as pdev->cfg_size in
  /// vfio_pci_ioctl_get_region_info); EIO (runtime resume failed); errors of
  /// device::read and device::region.
  result<std::uint8_t> read8(std::uint16_t offset) noexcept {
    std::uint8_t b[1];
    auto r = detail::config_access::read<1>(dev(), offset, b);
    if (!r) return r.error();
    return b[0];
  }
  /// As read8, 2 bytes at a 2-aligned offset. Errors: as read8.
  result<std::uint16_t> read16(std::uint16_t offset) noexcept { return read_config16(dev(), offset); }
  /// As read8, 4 bytes at a 4-aligned offset. Errors: as read8.
  result<std::uint32_t> read32(std::uint16_t offset) noexcept {
    std::uint8_t b[4];
    auto r = detail::config_access::read<4>(dev(), offset, b);
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
    return detail::config_access::write<1>(dev(), offset, b);
  }
  /// As write8, 2 bytes at a 2-aligned offset. Errors: as write8.
  result<void> write16(std::uint16_t offset, std::uint16_t value) noexcept {
    return write_config16(dev(), offset, value);
  }
  /// As write8, 4 bytes at a 4-aligned offset. Errors: as write8.
  result<void> write32(std::uint16_t offset, std::uint32_t value) noexcept {
    const std::uint8_t b[4] = {static_cast<std::uint8_t>(value), static_cast<std::uint8_t>(value >> 8),
                               static_cast<std::uint8_t>(value >> 16), static_cast<std::uint8_t>(value >> 24)};
    return detail::config_access::write<4>(dev(), offset, b);
  }
  // NOLINTEND(readability-make-member-function-const)

  /// Reads the whole config region, min(region size, 4096) bytes, with one pread(2) (the
  /// kernel loops over its aligned chunks internally, vfio_pci_config_rw); should a pread
  /// return short, the rest is read with further preads.
  /// Errors: errc::short_transfer; EIO, EFAULT; errors of device::read and device::region.
  result<config_snapshot> snapshot() const noexcept {
    auto ri = dev().region(abi::pci_region::config);
    if (!ri) return ri.error();
    const std::uint64_t region_size = (*ri)->size;
    const auto n =
        static_cast<std::uint32_t>(region_size < config_snapshot::max_size ? region_size : config_snapshot::max_size);
    config_snapshot s;
    auto r = dev().read(abi::pci_region::config, 0, s.bytes_.data(), n);
    if (!r) return r.error();
    s.size_ = n;
    return s;
  }
};

}  // namespace vfio::pci

#endif  // VFIO_PCI_CONFIG_HPP_INCLUDED
