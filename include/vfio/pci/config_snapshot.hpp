// A copy of PCI configuration space taken at one moment, and bounded,
// cycle-checked walks of its standard and extended capability lists (also over
// bytes held elsewhere: config_view). Pure parsing: no syscall, no device;
// vfio::pci::config takes snapshots through a device, and vfio::device walks the
// bytes it just read (a view, no 4 KiB copy) to find the PM capability it tracks.
#ifndef VFIO_PCI_CONFIG_SNAPSHOT_HPP_INCLUDED
#define VFIO_PCI_CONFIG_SNAPSHOT_HPP_INCLUDED

#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <optional>

#include "../abi/pci.hpp"
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

/// Config space bytes held elsewhere (a snapshot, a buffer just read), with the
/// reads and capability walks of a snapshot: no copy. Reads past size() return
/// all-ones, as a PCI read of an absent register does.
/// Preconditions: the bytes outlive the view.
class config_view {
 public:
  constexpr config_view() noexcept = default;
  /// A view of data[0, size); size is capped at config_snapshot::max_size (4096).
  constexpr config_view(const std::uint8_t* data, std::uint32_t size) noexcept
      : data_(data), size_(size < abi::pci::cfg_space_exp_size ? size : abi::pci::cfg_space_exp_size) {}

  /// Bytes viewed.
  std::uint32_t size() const noexcept { return size_; }
  const std::uint8_t* data() const noexcept { return data_; }

  /// Little-endian reads at `off`; every byte past size() reads as 0xff (offsets are
  /// not wrapped: u16(0xffff) is 0xffff, never byte 0 as its high byte).
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
  std::uint8_t byte_at(std::uint32_t off) const noexcept { return off < size_ ? data_[off] : std::uint8_t{0xff}; }

  const std::uint8_t* data_ = nullptr;
  std::uint32_t size_ = 0;
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

  /// Little-endian reads at `off`; every byte past size() reads as 0xff (offsets are
  /// not wrapped: u16(0xffff) is 0xffff, never byte 0 as its high byte).
  std::uint8_t u8(std::uint16_t off) const noexcept { return view().u8(off); }
  std::uint16_t u16(std::uint16_t off) const noexcept { return view().u16(off); }
  std::uint32_t u32(std::uint16_t off) const noexcept { return view().u32(off); }

  /// The bytes as a config_view (valid while this snapshot lives).
  config_view view() const noexcept { return config_view(bytes_.data(), size_); }

  /// The walks of config_view over this snapshot's bytes: see there.
  template <class F>
  result<void> for_each_capability(F f) const noexcept {
    return view().for_each_capability(f);
  }
  /// The offset of the first standard capability with `id`, or nullopt.
  /// Errors: errc::malformed_capability_chain (met before a match).
  result<std::optional<std::uint16_t>> find_capability(std::uint8_t id) const noexcept {
    return view().find_capability(id);
  }
  template <class F>
  result<void> for_each_ext_capability(F f) const noexcept {
    return view().for_each_ext_capability(f);
  }
  /// The offset of the first extended capability with `id`, or nullopt.
  /// Errors: errc::malformed_capability_chain (met before a match).
  result<std::optional<std::uint16_t>> find_ext_capability(std::uint16_t id) const noexcept {
    return view().find_ext_capability(id);
  }

 private:
  friend class config;  // snapshot() reads straight into bytes_

  std::array<std::uint8_t, max_size> bytes_{};
  std::uint32_t size_ = 0;
};

}  // namespace vfio::pci

#endif  // VFIO_PCI_CONFIG_SNAPSHOT_HPP_INCLUDED
